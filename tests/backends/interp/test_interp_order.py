"""The order rule (passes/order.py) on generated expressions: every expression the checker
accepts has one value whichever order its operands run in, which is what lets the kernel's
C (whose operand order is the compiler's) and the simulator agree (docs/semantics.md).

A seeded generator writes expressions over two vars, fns that bump one of them and return
it, a fn that only reads one, and literals; a small evaluator in this file computes each
expression with operands left to right and right to left. Accepted: both orders give the
same value and the interpreter computes it. Rejected: only with `unordered-effects`.
"""

from __future__ import annotations

import random

import pytest
from simhost import ToyHost

from schedlang.backends.interp import compile_for_sim
from schedlang.backends.interp.policy import InterpPolicy
from schedlang.checker import check_source
from schedlang.source import SourceFile

# a node: ("lit", n) | ("var", name) | ("call", fn) | (op, left, right)
Node = tuple
FNS = {"bump_x": "x", "bump_y": "y"}  # fn -> the var it increments and returns
HEADER = """scheduler order "generated" {
    var x: u64 = 1
    var y: u64 = 10
    var r: u64 = 0
    fn bump_x() -> u64 {
        x += 1
        return x
    }
    fn bump_y() -> u64 {
        y += 3
        return y
    }
    fn twice_x() -> u64 {
        return x * 2
    }
"""


def _gen(rng: random.Random, depth: int) -> Node:
    if depth == 0 or rng.random() < 0.3:
        return rng.choice(
            [("lit", rng.randint(0, 9)), ("var", "x"), ("var", "y"), ("call", "twice_x")]
            + [("call", f) for f in FNS]
        )
    op, left, right = rng.choice(["+", "*", "-"]), _gen(rng, depth - 1), _gen(rng, depth - 1)
    if op == "-" and _constant(left):
        op = "+"  # constants fold as exact integers: `3 - 5` would be a negative u64
    return (op, left, right)


def _constant(n: Node) -> bool:
    return n[0] == "lit" or (len(n) == 3 and _constant(n[1]) and _constant(n[2]))


def _text(n: Node) -> str:
    if n[0] == "lit":
        return str(n[1])
    if n[0] == "var":
        return n[1]
    if n[0] == "call":
        return f"{n[1]}()"
    return f"({_text(n[1])} {n[0]} {_text(n[2])})"


def _eval(n: Node, env: dict[str, int], reverse: bool) -> int:
    if n[0] == "lit":
        return n[1]
    if n[0] == "var":
        return env[n[1]]
    if n[0] == "call":
        if n[1] == "twice_x":
            return env["x"] * 2
        var = FNS[n[1]]
        env[var] += 1 if var == "x" else 3
        return env[var]
    if reverse:
        b = _eval(n[2], env, reverse)
        a = _eval(n[1], env, reverse)
    else:
        a = _eval(n[1], env, reverse)
        b = _eval(n[2], env, reverse)
    m = 2**64
    return {"+": (a + b) % m, "*": (a * b) % m, "-": max(0, a - b)}[n[0]]


@pytest.mark.parametrize("seed", range(4))
def test_accepted_expressions_have_one_value_in_either_order(seed: int) -> None:
    rng = random.Random(seed)
    accepted = rejected = 0
    for _ in range(40):
        tree = _gen(rng, 3)
        text = HEADER + f"    on init() {{\n        r = {_text(tree)}\n    }}\n}}\n"
        checked, diags = check_source(SourceFile("order.sched", text))
        forward = _eval(tree, {"x": 1, "y": 10}, reverse=False)
        backward = _eval(tree, {"x": 1, "y": 10}, reverse=True)
        if checked is None:
            assert {d.code for d in diags} == {"unordered-effects"}, [str(d) for d in diags]
            rejected += 1
            continue
        accepted += 1
        assert forward == backward, _text(tree)
        policy = compile_for_sim(checked)
        assert isinstance(policy, InterpPolicy)
        policy.call("init", ToyHost(1))
        assert policy.state.vars["r"] == forward, _text(tree)
    assert accepted >= 5 and rejected >= 5  # both sides of the rule are exercised
