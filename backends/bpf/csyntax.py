"""A small C syntax tree and its printer, so generated C reads like a person wrote it.

The lowering builds these nodes instead of strings; the printer then decides what text they
become, as `schedlang/fmt.py` does for the DSL:

* **Parentheses** only where C's precedence needs them, plus where a reader (and clang's
  -Wparentheses) expects them: around any operation inside a bitwise or shift operation,
  around `&&` inside `||`, and around a comparison inside a comparison.
* **Declarations before statements**: a `Block`'s declarations print first, then a blank
  line, then its statements (the kernel's style; the lowering hoists `let`s, see lower.py).
* **At most 100 columns** (tabs count 8), the position comment included: a statement too
  long is broken after the operators or commas of its outermost level that has any
  (`&&`/`||` first, then commas, then other operators), continuation lines one tab deeper.

A statement may carry a `Span`: its first line then ends with the position marker that
`render.py` turns into the `/* file.sched:LINE */` comment and a `line_map` row (code an
`import` brought names its own file in both the marker and the comment).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from schedlang.source import Span

MAX_WIDTH = 100  # kernel style allows 100 columns (tabs count as 8)
_ALIGN_MAX = 64  # a continuation lines up inside its parenthesis only up to this column
MARK = "/*@@{line}:{col}@@*/"
# A line of code an `import` brought: its file, in hex so no path can end the marker early.
IMPORTED_MARK = "/*@@{line}:{col}@{file}@@*/"


def mark(span: Span) -> str:
    if span.file:
        hexed = span.file.encode("utf-8", "surrogatepass").hex()
        return IMPORTED_MARK.format(line=span.line, col=span.col, file=hexed)
    return MARK.format(line=span.line, col=span.col)


# ------------------------------------------------------------------------- expressions

PRIMARY, POSTFIX, UNARY = 17, 16, 15
BINARY_PREC: dict[str, int] = {
    **dict.fromkeys(("*", "/", "%"), 13),
    **dict.fromkeys(("+", "-"), 12),
    **dict.fromkeys(("<<", ">>"), 11),
    **dict.fromkeys(("<", "<=", ">", ">="), 10),
    **dict.fromkeys(("==", "!="), 9),
    "&": 8,
    "^": 7,
    "|": 6,
    "&&": 5,
    "||": 4,
}
_BITWISE = frozenset({"&", "^", "|", "<<", ">>"})
_COMPARE = frozenset({"<", "<=", ">", ">=", "==", "!="})


class Expr:
    """A C expression."""


@dataclass(frozen=True)
class Atom(Expr):
    """A name, a constant or a macro: text the printer never looks into. A negative number
    binds like a unary minus (`prec=UNARY`)."""

    text: str
    prec: int = PRIMARY


@dataclass(frozen=True)
class Call(Expr):
    fn: str
    args: tuple[Expr, ...] = ()


@dataclass(frozen=True)
class Member(Expr):
    """`obj->name` (arrow) or `obj.name`; name may be a path such as `scx.weight`."""

    obj: Expr
    name: str
    arrow: bool = False


@dataclass(frozen=True)
class Index(Expr):
    obj: Expr
    index: Expr


@dataclass(frozen=True)
class Unary(Expr):
    op: str  # "-", "!", "~", "*", "&"
    operand: Expr


@dataclass(frozen=True)
class Cast(Expr):
    ctype: str
    operand: Expr


@dataclass(frozen=True)
class Binary(Expr):
    op: str  # a key of BINARY_PREC
    left: Expr
    right: Expr


def number(text: str) -> Atom:
    """A literal as cnames spells it (`-5`, `5ULL`, `(-2147483647 - 1)`)."""
    return Atom(text, UNARY if text.startswith("-") else PRIMARY)


def conj(op: str, terms: list[Expr]) -> Expr:
    """`a op b op c`, left to right (op is `&&` or `||`)."""
    out = terms[0]
    for term in terms[1:]:
        out = Binary(op, out, term)
    return out


def _prec(e: Expr) -> int:
    if isinstance(e, Atom):
        return e.prec
    if isinstance(e, Call | Member | Index):
        return POSTFIX
    if isinstance(e, Unary | Cast):
        return UNARY
    assert isinstance(e, Binary)
    return BINARY_PREC[e.op]


def _needs_parens(parent: Binary, child: Expr, right: bool) -> bool:
    if not isinstance(child, Binary):
        return _prec(child) < BINARY_PREC[parent.op]
    p, c = BINARY_PREC[parent.op], BINARY_PREC[child.op]
    if c < p or (c == p and (right or child.op != parent.op and parent.op in _BITWISE)):
        return True
    if parent.op in _BITWISE or (parent.op == "||" and child.op == "&&"):
        return child.op != parent.op
    return parent.op in _COMPARE and child.op in _COMPARE


# Break opportunities, by rank (lower first, at the shallowest nesting): after `&&`/`||`,
# after a comma, after any other operator (the loosest-binding first: `+` before `*`).
_AFTER_LOGIC, _AFTER_COMMA, _AFTER_OP = 0, 1, 2


@dataclass(frozen=True)
class _Break:
    """A place the text may be broken: its offset, how deep in parentheses or argument lists
    it is, its rank, and where a continuation line lines up (the offset just inside the
    enclosing `(`, or -1: one indent deeper than the statement)."""

    at: int
    depth: int
    rank: int
    align: int = -1


@dataclass
class _Text:
    """Printed text with the places it may be broken."""

    text: str = ""
    breaks: list[_Break] = field(default_factory=list)

    def add(self, other: _Text, depth: int = 0, align: int = -1) -> None:
        """Append `other` (nested `depth` deeper); its breaks that line up nowhere yet line
        up at `align`, an offset of `self.text` (-1: nowhere)."""
        base = len(self.text)
        for b in other.breaks:
            inner = base + b.align if b.align >= 0 else align
            self.breaks.append(_Break(base + b.at, b.depth + depth, b.rank, inner))
        self.text += other.text

    def put(self, text: str) -> None:
        self.text += text

    def may_break(self, depth: int, rank: int, align: int = -1) -> None:
        self.breaks.append(_Break(len(self.text), depth, rank, align))


def _expr(e: Expr) -> _Text:
    out = _Text()
    if isinstance(e, Atom):
        out.put(e.text)
    elif isinstance(e, Call):
        out.put(e.fn + "(")
        inside = len(out.text)  # continuation lines of the arguments line up here
        for i, arg in enumerate(e.args):
            if i:
                out.put(",")
                out.may_break(1, _AFTER_COMMA, inside)
                out.put(" ")
            out.add(_expr(arg), 1, inside)
        out.put(")")
    elif isinstance(e, Member):
        out.add(_operand(e.obj, POSTFIX))
        out.put(("->" if e.arrow else ".") + e.name)
    elif isinstance(e, Index):
        out.add(_operand(e.obj, POSTFIX))
        out.put("[")
        out.add(_expr(e.index), 1, len(out.text))
        out.put("]")
    elif isinstance(e, Unary):
        inner = _operand(e.operand, UNARY)
        if e.op in "-&" and inner.text.startswith(e.op):  # `- -x` must not become `--x`
            inner = _parens(inner)
        out.put(e.op)
        out.add(inner)
    elif isinstance(e, Cast):
        out.put(f"({e.ctype})")
        out.add(_operand(e.operand, UNARY))
    elif isinstance(e, Binary):
        left, right = _expr(e.left), _expr(e.right)
        if _needs_parens(e, e.left, right=False):
            left = _parens(left)
        if _needs_parens(e, e.right, right=True):
            right = _parens(right)
        out.add(left)
        out.put(f" {e.op}")
        logic = e.op in ("&&", "||")
        out.may_break(0, _AFTER_LOGIC if logic else _AFTER_OP + BINARY_PREC[e.op])
        out.put(" ")
        out.add(right)
    else:
        raise TypeError(f"not a C expression: {e!r}")
    return out


def _operand(e: Expr, prec: int) -> _Text:
    text = _expr(e)
    return _parens(text) if _prec(e) < prec else text


def _parens(t: _Text) -> _Text:
    out = _Text("(")
    out.add(t, 1, 1)
    out.put(")")
    return out


def expr(e: Expr) -> str:
    """The expression on one line."""
    return _expr(e).text


# -------------------------------------------------------------------------- statements


class Stmt:
    """A C statement."""


@dataclass(frozen=True)
class ExprStmt(Stmt):
    expr: Expr


@dataclass(frozen=True)
class Assign(Stmt):
    """`target op value;`, op `=` or a compound `+=`, ..."""

    target: Expr
    value: Expr
    op: str = "="


@dataclass(frozen=True)
class Decl(Stmt):
    """`ctype name = init;` (the `*` of a pointer type sticks to the name)."""

    ctype: str
    name: str
    init: Expr | None = None


@dataclass(frozen=True)
class Return(Stmt):
    value: Expr | None = None


@dataclass(frozen=True)
class Jump(Stmt):
    """`break;`, `continue;`, `goto label;`."""

    text: str


@dataclass
class Block:
    """Declarations, then statements, each statement with the span it came from."""

    decls: list[tuple[Decl, Span | None]] = field(default_factory=list)
    stmts: list[tuple[Stmt, Span | None]] = field(default_factory=list)

    def add(self, s: Stmt, span: Span | None = None) -> None:
        self.stmts.append((s, span))

    def declare(self, d: Decl, span: Span | None = None) -> None:
        self.decls.append((d, span))


@dataclass(frozen=True)
class If(Stmt):
    """`if (c) {...} else if (c) {...} else {...}`: arms are (condition, block, span)."""

    arms: tuple[tuple[Expr, Block, Span | None], ...]
    orelse: Block | None = None


@dataclass(frozen=True)
class Loop(Stmt):
    """A loop written as a macro call followed by a block: `sl_for(v, lo, hi) {...}`."""

    head: Call
    body: Block


@dataclass(frozen=True)
class Compound(Stmt):
    """`{ ... }`: a block of its own, for declarations that must not reach the enclosing
    block (a loop variable whose name the enclosing block uses for something else)."""

    body: Block


class Printer:
    """Prints blocks of statements at a depth (one tab each). `comment_width(span)` is the
    width of the position comment that will end the statement's first line."""

    def __init__(self, comment_width: Callable[[Span], int]) -> None:
        self.comment_width = comment_width

    def block(self, b: Block, depth: int) -> list[str]:
        out: list[str] = []
        for d, span in b.decls:
            out += self._line(depth, _decl(d), ";", span)
        if b.decls and b.stmts:
            out.append("")
        for s, span in b.stmts:
            out += self.stmt(s, span, depth)
        return out

    def stmt(self, s: Stmt, span: Span | None, depth: int) -> list[str]:
        pad = "\t" * depth
        if isinstance(s, ExprStmt):
            return self._line(depth, _expr(s.expr), ";", span)
        if isinstance(s, Assign):
            text = _expr(s.target)
            text.put(f" {s.op} ")
            text.add(_expr(s.value))
            return self._line(depth, text, ";", span)
        if isinstance(s, Decl):
            return self._line(depth, _decl(s), ";", span)
        if isinstance(s, Return):
            text = _Text("return")
            if s.value is not None:
                text.put(" ")
                text.add(_expr(s.value))
            return self._line(depth, text, ";", span)
        if isinstance(s, Jump):
            return self._line(depth, _Text(s.text), ";", span)
        if isinstance(s, If):
            return self._if(s, depth)
        if isinstance(s, Compound):
            return [pad + "{", *self.block(s.body, depth + 1), pad + "}"]
        if isinstance(s, Loop):
            return [
                *self._line(depth, _expr(s.head), " {", span),
                *self.block(s.body, depth + 1),
                pad + "}",
            ]
        raise TypeError(f"not a C statement: {s!r}")

    def _if(self, s: If, depth: int) -> list[str]:
        """Kernel style: no braces when every branch is one simple statement."""
        pad = "\t" * depth
        blocks = [body for _, body, _ in s.arms] + ([s.orelse] if s.orelse else [])
        braces = not all(_simple(b) for b in blocks)
        out: list[str] = []
        for i, (cond, body, arm_span) in enumerate(s.arms):
            opening = "if (" if i == 0 else ("} else if (" if braces else "else if (")
            head = _Text(opening)
            head.add(_expr(cond), 1)
            # continuation lines of a condition line up after its parenthesis
            inside = _indent_to(width(pad + opening))
            out += self._line(depth, head, ") {" if braces else ")", arm_span, inside)
            out += self.block(body, depth + 1)
        if s.orelse is not None:
            out.append(pad + ("} else {" if braces else "else"))
            out += self.block(s.orelse, depth + 1)
        if braces:
            out.append(pad + "}")
        return out

    def _line(
        self, depth: int, text: _Text, end: str, span: Span | None, cont: str | None = None
    ) -> list[str]:
        """A statement's text at `depth`, wrapped (continuation lines start with `cont`,
        by default one tab deeper), then `end` and the position marker."""
        pad = "\t" * depth
        reserve = self.comment_width(span) if span is not None else 0
        lines = _wrap(text, pad, pad + "\t" if cont is None else cont, reserve, len(end))
        lines[-1] += end
        if span is not None:
            lines[0] += " " + mark(span)
        return lines


def _decl(d: Decl) -> _Text:
    head = f"{d.ctype}{d.name}" if d.ctype.endswith("*") else f"{d.ctype} {d.name}"
    out = _Text(head)
    if d.init is not None:
        out.put(" = ")
        out.add(_expr(d.init))
    return out


def _simple(b: Block) -> bool:
    return not b.decls and len(b.stmts) == 1 and not isinstance(b.stmts[0][0], If | Loop | Compound)


def width(text: str) -> int:
    return len(text.expandtabs(8))


def _indent_to(col: int) -> str:
    """Kernel style: tabs, then spaces, up to column `col`."""
    return "\t" * (col // 8) + " " * (col % 8)


def _wrap(t: _Text, pad: str, cont: str, first: int, last: int) -> list[str]:
    """`t` after `pad` in lines of at most MAX_WIDTH columns; the first line keeps `first`
    columns free (the position comment), the last `last` (`;`, `) {`). Each line is broken
    at the best place that fits, preferring one after which the rest fits on a line: the
    shallowest nesting, then `&&`/`||`, commas, the loosest operator, then the farthest. A
    continuation line lines up just inside the parenthesis it is in (kernel style: tabs,
    then spaces), or starts after `cont` outside any."""
    out: list[str] = []
    starts: list[tuple[int, str]] = []  # (offset, lead) of each line so far
    pos, lead = 0, pad

    def lead_after(b: _Break) -> str:
        if b.align < 0:
            return cont
        start, line_lead = next((o, x) for o, x in reversed([*starts, (pos, lead)]) if o <= b.align)
        col = width(line_lead + t.text[start : b.align])
        return _indent_to(col) if col <= _ALIGN_MAX else cont

    while True:
        reserve = 0 if out else first
        rest = t.text[pos:]
        if width(lead + rest) + reserve + last <= MAX_WIDTH:
            return [*out, lead + rest]
        later = [b for b in t.breaks if b.at > pos]
        fits = [b for b in later if width(lead + t.text[pos : b.at]) + reserve <= MAX_WIDTH]
        if not (fits or later):
            return [*out, lead + rest]
        # a break after which the rest fits on one line saves lines: those come first
        done = [
            b for b in fits if width(lead_after(b) + t.text[b.at :].lstrip(" ")) + last <= MAX_WIDTH
        ]
        best = done or fits
        cut = min(best, key=lambda b: (b.depth, b.rank, -b.at)) if best else later[0]
        out.append(lead + t.text[pos : cut.at].rstrip())
        starts.append((pos, lead))
        lead = lead_after(cut)
        pos = cut.at + len(t.text[cut.at :]) - len(t.text[cut.at :].lstrip(" "))
