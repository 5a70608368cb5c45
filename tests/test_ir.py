"""ir.subexprs finds every subexpression of every kind of IR expression, in order."""

from __future__ import annotations

import dataclasses

import pytest

from schedlang import ir
from schedlang.source import NOWHERE
from schedlang.types import Type


def _kinds(cls: type) -> list[type]:
    return [k for sub in cls.__subclasses__() for k in (sub, *_kinds(sub))]


@pytest.mark.parametrize("kind", _kinds(ir.Expr), ids=lambda k: k.__name__)
def test_subexprs_sees_every_expression_field(kind: type[ir.Expr]) -> None:
    """Each field that holds an expression (or a tuple of them) is a child, in field order;
    a kind of expression missing from ir.CHILDREN would look like a leaf."""
    values: dict[str, object] = {}
    children: list[ir.Expr] = []
    for f in dataclasses.fields(kind):
        if f.name in ("type", "span"):
            continue
        if "tuple[Expr" in str(f.type):
            values[f.name] = tuple(ir.Lit(Type.U64, NOWHERE, len(children) + i) for i in (0, 1))
            children += values[f.name]  # type: ignore[arg-type]
        elif "Expr" in str(f.type):
            values[f.name] = ir.Lit(Type.U64, NOWHERE, len(children))
            children.append(values[f.name])  # type: ignore[arg-type]
        else:
            values[f.name] = None  # a name, an operator, a value: not an expression
    node = kind(Type.U64, NOWHERE, **values)  # type: ignore[arg-type]
    outer = ir.Binary(Type.U64, NOWHERE, "+", node, node)
    assert [id(x) for x in ir.subexprs(node)] == [id(x) for x in (node, *children)]
    assert [id(x) for x in ir.subexprs(outer)][1:] == [id(x) for x in (node, *children)] * 2
