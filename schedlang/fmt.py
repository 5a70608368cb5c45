"""Syntax tree → canonical source text, keeping the file's comments.

`parse(format_program(tree)) == tree` for every tree the parser can produce (a property test
checks it), so agents can normalise a policy, and tests can generate programs as trees.
Parentheses are printed only where precedence needs them.

The tree has no comments, so they are put back by position (`Comments`): a comment before a
declaration or statement is printed on its own lines above it, one after it on the line where
it ends stays at the end of that line, one at the end of a block stays at the end of the
block. A comment inside a statement but outside its blocks (in a condition, between `}` and
`else`) moves above the statement: moved, never dropped.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Any

from schedlang import ast
from schedlang.source import Span

INDENT = "    "

# Binding strength, loosest first; mirrors the precedence ladder in grammar/schedlang.lark.
PREC: dict[str, int] = {"or": 1, "and": 2}
PREC.update({op: 4 for op in ("==", "!=", "<", "<=", ">", ">=")})
PREC.update({"|": 5, "^": 6, "&": 7, "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10})
NOT_PREC, CAST_PREC, NEG_PREC, POSTFIX_PREC, ATOM_PREC = 3, 11, 12, 13, 14


def _prec(e: ast.Expr) -> int:
    if isinstance(e, ast.Binary):
        return PREC[e.op]
    if isinstance(e, ast.Unary):
        return NOT_PREC if e.op == "not" else NEG_PREC
    if isinstance(e, ast.Cast):
        return CAST_PREC
    if isinstance(e, ast.Field | ast.Index | ast.Call):
        return POSTFIX_PREC
    return ATOM_PREC


def _wrap(e: ast.Expr, min_prec: int) -> str:
    text = format_expr(e)
    return f"({text})" if _prec(e) < min_prec else text


def _quote(s: str) -> str:
    escaped = s.replace("\\", "\\\\").replace('"', '\\"')
    for raw, escape in (("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        escaped = escaped.replace(raw, escape)
    return f'"{escaped}"'


def format_expr(e: ast.Expr) -> str:
    match e:
        case ast.IntLit(value=v):
            return str(v)
        case ast.DurationLit(amount=a, unit=u):
            return f"{a}{u}"
        case ast.BoolLit(value=v):
            return "true" if v else "false"
        case ast.StrLit(value=v):
            return _quote(v)
        case ast.Name(ident=n):
            return n
        case ast.Field(obj=o, name=n):
            return f"{_wrap(o, POSTFIX_PREC)}.{n}"
        case ast.Index(base=b, index=i):
            return f"{_wrap(b, POSTFIX_PREC)}[{format_expr(i)}]"
        case ast.Call(func=f, args=args):
            return f"{f}({', '.join(format_expr(a) for a in args)})"
        case ast.Unary(op="not", operand=o):
            return f"not {_wrap(o, NOT_PREC)}"
        case ast.Unary(op=op, operand=o):
            return f"{op}{_wrap(o, NEG_PREC)}"
        case ast.Cast(expr=x, to=t):
            return f"{_wrap(x, CAST_PREC)} as {t.name}"
        case ast.Binary(op=op, left=left, right=right):
            p = PREC[op]
            # comparisons do not chain: both sides must bind tighter
            left_min = p + 1 if p == PREC["=="] else p
            return f"{_wrap(left, left_min)} {op} {_wrap(right, p + 1)}"
    raise TypeError(f"format_expr: unknown node {type(e).__name__}")


class Comments:
    """The comments of one file, each handed out once, as the printer passes its position.

    `comments` are (span, text) pairs in source order. Printing takes every comment that is
    not inside a block first, so what is left inside a construct once its blocks are printed
    is exactly what has to move above it.
    """

    def __init__(self, comments: Sequence[tuple[Span, str]] = ()) -> None:
        self._left = sorted(comments, key=lambda c: c[0].start)
        self._starts = [c[0].start for c in self._left]

    def take(self, lo: int, hi: int, on_line: int | None = None) -> list[str]:
        """The texts of the comments starting in [lo, hi) (only those starting on line
        `on_line`, if given), removed from those left."""
        i, j = bisect.bisect_left(self._starts, lo), bisect.bisect_left(self._starts, hi)
        picked = [k for k in range(i, j) if on_line in (None, self._left[k][0].line)]
        texts = [_comment_text(self._left[k][1]) for k in picked]
        for k in reversed(picked):
            del self._left[k], self._starts[k]
        return texts

    def rest(self) -> list[str]:
        """Every comment not handed out yet."""
        return self.take(0, 1 << 62)


def _comment_text(text: str) -> str:
    """A comment as printed: a line comment without trailing blanks, every line end a newline."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.rstrip() if text.startswith("//") else text


def _items(
    nodes: Sequence[ast.Node],
    lo: int,
    hi: int,
    show: Callable[[Any], list[str]],
    comments: Comments,
) -> list[str]:
    """The lines of declarations or statements that sit between offsets lo and hi, each with
    its comments: those before it above, those after it on its last line beside it."""
    lines: list[str] = []
    cursor = lo
    for k, node in enumerate(nodes):
        span = node.span
        limit = nodes[k + 1].span.start if k + 1 < len(nodes) else hi
        before = comments.take(cursor, span.start)
        body = show(node)
        before += comments.take(span.start, span.end)  # inside it, outside its blocks
        after = comments.take(span.end, limit, on_line=span.end_line)
        blank = body[:1] == [""]  # a fn or callback: a blank line above it and its comments
        lines += [""] * blank + before + body[blank:]
        if after:
            lines[-1] += "  " + " ".join(after)
        cursor = span.end
    return lines + comments.take(cursor, hi)


def _block(b: ast.Block, depth: int, comments: Comments) -> list[str]:
    def show(s: ast.Stmt) -> list[str]:
        return _stmt(s, depth + 1, comments)

    body = _items(b.stmts, b.span.start + 1, b.span.end - 1, show, comments)
    return ["{"] + [INDENT * (depth + 1) + line for line in body] + [INDENT * depth + "}"]


def _join_block(head: str, b: ast.Block, depth: int, comments: Comments) -> list[str]:
    body = _block(b, depth, comments)
    return [f"{head} {body[0]}"] + [line[len(INDENT * depth) :] for line in body[1:]]


def _stmt(s: ast.Stmt, depth: int, comments: Comments) -> list[str]:
    """Lines of one statement, relative to the current indentation."""
    match s:
        case ast.Let(name=n, type=t, value=v):
            typ = f": {t.name}" if t else ""
            return [f"let {n}{typ} = {format_expr(v)}"]
        case ast.Assign(target=t, op=op, value=v):
            return [f"{format_expr(t)} {op} {format_expr(v)}"]
        case ast.If():
            return _if(s, depth, comments)
        case ast.ForRange(var=v, lo=lo, hi=hi, body=b):
            head = f"for {v} in {format_expr(lo)}..{format_expr(hi)}"
            return _join_block(head, b, depth, comments)
        case ast.ForCpus(var=v, body=b):
            return _join_block(f"for {v} in cpus", b, depth, comments)
        case ast.Return(value=v):
            return ["return" if v is None else f"return {format_expr(v)}"]
        case ast.Insert(task=t, queue=q, on_cpu=on, slice=sl, vtime=vt):
            text = f"insert {format_expr(t)} into {q}"
            if on is not None:
                text += f" on {format_expr(on)}"
            if sl is not None:
                text += f" slice {format_expr(sl)}"
            if vt is not None:
                text += f" vtime {format_expr(vt)}"
            return [text]
        case ast.Kick(cpu=c, mode=m):
            return [f"kick {format_expr(c)}" + (f" {m}" if m else "")]
        case ast.ExprStmt(expr=e):
            return [format_expr(e)]
    raise TypeError(f"format: unknown statement {type(s).__name__}")


def _if(s: ast.If, depth: int, comments: Comments) -> list[str]:
    """An `if` and its `else if` links, in a loop: a chain may be longer than the recursion
    limit (the parser counts a link as no extra depth)."""
    lines = _join_block(f"if {format_expr(s.cond)}", s.then, depth, comments)
    link: ast.Block | ast.If | None = s.orelse
    while isinstance(link, ast.If):
        rest = _join_block(f"if {format_expr(link.cond)}", link.then, depth, comments)
        lines[-1] += " else " + rest[0]
        lines += rest[1:]
        link = link.orelse
    if link is not None:
        rest = _join_block("", link, depth, comments)
        lines[-1] += " else" + rest[0]
        lines += rest[1:]
    return lines


def _decl(d: ast.Decl, comments: Comments) -> list[str]:
    match d:
        case ast.Param(name=n, type=t, default=v, lo=lo, hi=hi):
            rng = f"{format_expr(lo)}..{format_expr(hi)}"
            return [f"param {n}: {t.name} = {format_expr(v)} in {rng}"]
        case ast.Const(name=n, type=t, value=v):
            return [f"const {n}: {t.name} = {format_expr(v)}"]
        case ast.Queue(name=n, kind=k):
            return [f"queue {n}: {k}"]
        case ast.Var(name=n, type=t, init=v):
            return [f"var {n}: {t.name} = {format_expr(v)}"]
        case ast.TaskVar(name=n, type=t, init=v):
            return [f"task var {n}: {t.name} = {format_expr(v)}"]
        case ast.Array(name=n, elem=t, size=size):
            return [f"array {n}: [{t.name}; {'cpus' if size is None else format_expr(size)}]"]
        case ast.MapDecl(name=n, key=k, value=v, default=dflt, capacity=cap):
            head = f"map {n}: {k.name} -> {v.name}"
            return [f"{head} = {format_expr(dflt)} capacity {format_expr(cap)}"]
        case ast.Fn(name=n, params=ps, ret=r, body=b):
            args = ", ".join(f"{p.name}: {p.type.name}" for p in ps)
            ret = f" -> {r.name}" if r else ""
            return [""] + _join_block(f"fn {n}({args}){ret}", b, 0, comments)
        case ast.Import(name=n, path=is_path, names=names):
            listed = ", ".join(f"{i.name} as {i.alias}" if i.alias else i.name for i in names)
            return [f"import {_quote(n) if is_path else n} {{ {listed} }}"]
        case ast.Callback(name=n, params=ps, ret=r, body=b):
            ret = f" -> {r.name}" if r else ""
            head = f"on {n}({', '.join(p.name for p in ps)}){ret}"
            return [""] + _join_block(head, b, 0, comments)
    raise TypeError(f"format: unknown declaration {type(d).__name__}")


def format_program(prog: ast.Scheduler, comments: Comments | None = None) -> str:
    """The canonical text of `prog`, with `comments` (from its source text) put back."""
    comments = comments or Comments()
    span = prog.span
    lines = comments.take(0, span.start)
    lines.append(f"scheduler {prog.name} {_quote(prog.description)} {{")

    def show(d: ast.Decl) -> list[str]:
        return _decl(d, comments)

    body = _items(prog.decls, span.start, span.end - 1, show, comments)
    lines += [(INDENT + line) if line else "" for line in body]
    lines.append("}")
    after = comments.take(span.end, 1 << 62, on_line=span.end_line)
    if after:
        lines[-1] += "  " + " ".join(after)
    lines += comments.rest()
    return "\n".join(lines) + "\n"
