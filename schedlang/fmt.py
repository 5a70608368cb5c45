"""Syntax tree → canonical source text.

`parse(format_program(tree)) == tree` for every tree the parser can produce (a property test
checks it), so agents can normalise a policy, and tests can generate programs as trees.
Parentheses are printed only where precedence needs them.
"""

from __future__ import annotations

from schedlang import ast

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


def _block(b: ast.Block, depth: int) -> list[str]:
    lines = ["{"]
    for s in b.stmts:
        lines += [INDENT * (depth + 1) + line for line in _stmt(s, depth + 1)]
    lines.append(INDENT * depth + "}")
    return lines


def _join_block(head: str, b: ast.Block, depth: int) -> list[str]:
    body = _block(b, depth)
    return [f"{head} {body[0]}"] + [line[len(INDENT * depth) :] for line in body[1:]]


def _stmt(s: ast.Stmt, depth: int) -> list[str]:
    """Lines of one statement, relative to the current indentation."""
    match s:
        case ast.Let(name=n, type=t, value=v):
            typ = f": {t.name}" if t else ""
            return [f"let {n}{typ} = {format_expr(v)}"]
        case ast.Assign(target=t, op=op, value=v):
            return [f"{format_expr(t)} {op} {format_expr(v)}"]
        case ast.If():
            return _if(s, depth)
        case ast.ForRange(var=v, lo=lo, hi=hi, body=b):
            return _join_block(f"for {v} in {format_expr(lo)}..{format_expr(hi)}", b, depth)
        case ast.ForCpus(var=v, body=b):
            return _join_block(f"for {v} in cpus", b, depth)
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


def _if(s: ast.If, depth: int) -> list[str]:
    lines = _join_block(f"if {format_expr(s.cond)}", s.then, depth)
    if isinstance(s.orelse, ast.If):
        rest = _if(s.orelse, depth)
        lines[-1] += " else " + rest[0]
        lines += rest[1:]
    elif isinstance(s.orelse, ast.Block):
        rest = _join_block("", s.orelse, depth)
        lines[-1] += " else" + rest[0]
        lines += rest[1:]
    return lines


def _decl(d: ast.Decl) -> list[str]:
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
            return [""] + _join_block(f"fn {n}({args}){ret}", b, 0)
        case ast.Callback(name=n, params=ps, ret=r, body=b):
            ret = f" -> {r.name}" if r else ""
            return [""] + _join_block(f"on {n}({', '.join(p.name for p in ps)}){ret}", b, 0)
    raise TypeError(f"format: unknown declaration {type(d).__name__}")


def format_program(prog: ast.Scheduler) -> str:
    lines = [f"scheduler {prog.name} {_quote(prog.description)} {{"]
    for d in prog.decls:
        lines += [(INDENT + line) if line else "" for line in _decl(d)]
    lines.append("}")
    return "\n".join(lines) + "\n"
