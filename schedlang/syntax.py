"""Source text → syntax tree, with syntax errors as diagnostics.

The grammar lives only in grammar/schedlang.lark and is loaded once (LALR, strict, cached).
The parser builds the `ast` directly: `_Build`'s rule callbacks run at each LALR reduction,
so no intermediate parse tree is made (that tree and its walk were most of the parse time).
A program that parses goes through `parser_loop`, a leaner loop over the same tables.
A Lark parse error becomes one `Diagnostic` whose wording is chosen by matching the failing
parser state against a small corpus of known mistakes (`syntax_errors.py`), so an agent sees
"`return` must be the last statement of its block", not a list of terminal names.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import sys
from collections.abc import Iterator
from importlib import resources
from itertools import accumulate
from typing import Any, NamedTuple, cast

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedInput
from lark.lark import PostLex

from schedlang import ast, literals, parser_loop, user_cache
from schedlang import codes as C
from schedlang.diagnostics import Diagnostics
from schedlang.source import SourceFile, Span
from schedlang.syntax_errors import describe

# Policies are small; these limits turn pathological input into a diagnostic instead of a
# slow parse or a RecursionError in a later pass.
MAX_SOURCE_BYTES = 1_000_000
MAX_NESTING = 64
# Depth of the parse tree (blocks and operator chains: `a + b + ... + z` nests one level per
# `+`; an `else if` link does not nest). Every later pass walks trees recursively, except
# along `else if` chains, which they walk in a loop, so a bound here keeps them all safe.
MAX_TREE_DEPTH = 150

_LONE_CR = re.compile(r"\r(?!\n)")
_SURROGATE = re.compile("[\ud800-\udfff]")
# A comment or a string, skipped as the lexer reads them (an unterminated block comment
# runs to the end of the text and an unterminated string to the end of its line); in
# _BRACKETS, a bracket or one of those.
_SKIPPED = r'//[^\r\n]*|/\*(?s:.*?)(?:\*/|\Z)|"(?:[^"\\\r\n]|\\[^\r\n])*"?'
_COMMENTS_AND_STRINGS = re.compile(_SKIPPED)
_BRACKETS = re.compile(_SKIPPED + r"|(?P<open>[({[])|(?P<close>[)}\]])")
_NOT_BRACKETS = re.compile(r"[^()[\]{}]+")
_STEP = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


@functools.cache
def parser() -> Lark:
    grammar = resources.files("schedlang.grammar").joinpath("schedlang.lark").read_text()
    cache = _cache_file(grammar)
    lark = Lark(
        grammar,
        parser="lalr",
        strict=True,
        maybe_placeholders=True,
        keep_all_tokens=True,
        transformer=_Build(),
        lexer_callbacks={"INT": _literal, "DURATION": _literal, "STRING": _literal},
        postlex=_WholeWords(),
        # Cached LALR tables take the cold start from ~250 ms to ~20 ms.
        cache=cache if cache is not None else False,
    )
    if cache is not None:  # Lark created it under the umask; a group-writable file is refused
        with contextlib.suppress(OSError):
            os.chmod(cache, 0o600)
    return lark


@functools.cache
def _loop() -> parser_loop.Loop | None:
    """The fast parse loop, or None where the installed Lark is not built the way the loop
    reads it (its internals may change in a release): then Lark's own loop parses, slower
    but alike. tests/parse/test_parser_loop.py fails if the loop is not in use."""
    try:
        return parser_loop.Loop(parser())
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def _parse(text: str) -> _Built:
    loop = _loop()
    if loop is not None:
        try:
            return cast(_Built, loop.parse(text))
        except parser_loop.Stop:  # an error: Lark's own parser finds it again and explains it
            pass
    return cast(_Built, parser().parse(text))


class _WholeWords(PostLex):
    """Lex every word whole, so a keyword ends at a word boundary.

    Lark's contextual lexer tries only the terminals the parser can accept next. Where a
    keyword is expected but a name is not, `schedulerlex` would lex as `scheduler` + `lex`
    and `onenqueue(` as `on enqueue(`. With NAME tried in every state, the longest word
    wins: a keyword is recognised only when the whole word is the keyword, and any other
    word is a NAME the parser rejects there.
    """

    always_accept = ("NAME",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        return stream


def _cache_file(grammar: str) -> str | None:
    """Where the parser tables may be cached, or None to build them each time.

    Lark *unpickles* its cache file, so whoever can write that file runs code in the next
    schedlang process. Lark's `cache=True` uses a predictable name in the shared temp dir,
    which anyone can plant first; so the file lives in the user's own cache dir instead
    (`$XDG_CACHE_HOME/schedlang`, default `~/.cache/schedlang`, created mode 0700), and only
    if that dir and the file are this user's and nobody else can write them. The name
    carries a hash of the grammar and the Lark and Python versions, so checkouts with
    different grammars do not overwrite each other's tables.
    """
    from lark import __version__ as lark_version

    folder = user_cache.directory()
    version = f"{lark_version} {sys.version_info[:2]}"
    key = hashlib.sha256(f"{version}\0{grammar}".encode()).hexdigest()[:16]
    path = folder / f"parser-{key}.lark"
    if not user_cache.private_folder(folder):
        return None
    try:
        st = os.lstat(path)
    except FileNotFoundError:  # no tables cached yet: Lark writes them
        return str(path)
    except OSError:
        return None
    return str(path) if user_cache.private(st) else None


class _Built(NamedTuple):
    """What a grammar rule leaves on the parser's value stack.

    `span` is where the construct sits in the text *including* any parentheses around it, so
    `(a + b) * c` starts at `(` while the `a + b` node's own span starts at `a`. `depth` is
    the height of the subtree, checked against MAX_TREE_DEPTH as the tree grows.
    """

    node: Any
    depth: int
    span: Span


class _Reject(Exception):
    """A diagnostic found while the tree is built; it ends the parse."""

    def __init__(self, message: C.Message, span: Span, **fields: object) -> None:
        super().__init__(message.text)
        self.message, self.span, self.fields = message, span, fields


def _span(line: int, col: int, end_line: int, end_col: int, start: int, end: int) -> Span:
    """`Span(line, col, end_line, end_col, start, end)`, made 3-4x faster: a frozen
    dataclass's `__init__` sets each of its 7 fields through `object.__setattr__`, and the
    parser makes a span for every token and node it keeps (about a fifth of a parse went
    there). The result is an ordinary Span, equal and hashing alike (a test holds that)."""
    span = _new_object(Span)
    span.__dict__.update(
        line=line, col=col, end_line=end_line, end_col=end_col, start=start, end=end, file=""
    )
    return span


_new_object = object.__new__


def _tok(t: Any) -> Span:
    """A token's span (Lark types its positions Optional; the lexer always sets them)."""
    return _span(t.line, t.column, t.end_line, t.end_column, t.start_pos, t.end_pos)


def _from(a: Any, b: Any) -> Span:
    """The span from the start of `a` to the end of `b`, each a Token or a `_Built`."""
    if isinstance(a, _Built):
        s = a.span
        line, col, start = s.line, s.col, s.start
    else:
        line, col, start = a.line, a.column, a.start_pos
    if isinstance(b, _Built):
        e = b.span
        return _span(line, col, e.end_line, e.end_col, start, e.end)
    return _span(line, col, b.end_line, b.end_column, start, b.end_pos)


def _built(node: ast.Node, *parts: _Built | None) -> _Built:
    """`node` on the value stack, one level above the deepest of its parts."""
    depth = 0
    for p in parts:  # (a loop: a list and max() for at most four parts cost twice as much)
        if p is not None and p.depth > depth:
            depth = p.depth
    depth += 1
    if depth > MAX_TREE_DEPTH:
        raise _Reject(C.TREE_TOO_DEEP, node.span, limit=MAX_TREE_DEPTH)
    return _Built(node, depth, node.span)


def _leaf(node: ast.Node) -> _Built:
    return _Built(node, 1, node.span)


def _opt(b: _Built | None) -> Any:
    return None if b is None else b.node


class _Build(Transformer[Token, _Built]):
    """Grammar rule → ast node, called by the LALR parser at each reduction.

    Lark runs these during the parse (`transformer=`), so no intermediate parse tree is
    built; `keep_all_tokens` hands every token to the rule, which is where spans start and
    end (`return x` starts at `return`). `[...]` that did not match gives one None per item.
    """

    # --- top level and declarations
    def start(self, c: list[Any]) -> _Built:
        decls = c[4:-1]
        node = ast.Scheduler(
            _from(c[0], c[-1]),
            str(c[1]),
            literals.string(c[2]),
            tuple(d.node for d in decls),
            _tok(c[1]),
        )
        return _built(node, *decls)

    def param(self, c: list[Any]) -> _Built:
        _, name, _, typ, _, default, _, lo, _, hi = c
        span = _from(c[0], hi)
        node = ast.Param(span, str(name), _tok(name), typ.node, default.node, lo.node, hi.node)
        return _built(node, typ, default, lo, hi)

    def const(self, c: list[Any]) -> _Built:
        _, name, _, typ, _, value = c
        node = ast.Const(_from(c[0], value), str(name), _tok(name), typ.node, value.node)
        return _built(node, typ, value)

    def queue(self, c: list[Any]) -> _Built:
        _, name, _, kind = c
        return _leaf(ast.Queue(_from(c[0], kind), str(name), _tok(name), str(kind)))

    def queue_kind(self, c: list[Token]) -> Token:
        return c[0]

    def var(self, c: list[Any]) -> _Built:
        _, name, _, typ, _, init = c
        node = ast.Var(_from(c[0], init), str(name), _tok(name), typ.node, init.node)
        return _built(node, typ, init)

    def task_var(self, c: list[Any]) -> _Built:
        _, _, name, _, typ, _, init = c
        node = ast.TaskVar(_from(c[0], init), str(name), _tok(name), typ.node, init.node)
        return _built(node, typ, init)

    def array(self, c: list[Any]) -> _Built:
        _, name, _, _, elem, _, size, close = c
        if not isinstance(size, _Built):  # `cpus`
            size = None
        node = ast.Array(_from(c[0], close), str(name), _tok(name), elem.node, _opt(size))
        return _built(node, elem, size)

    def array_size(self, c: list[Any]) -> Any:
        return c[0]

    def cpus(self, c: list[Token]) -> Token:
        return c[0]

    def map(self, c: list[Any]) -> _Built:
        _, name, _, key, _, value, _, default, _, capacity = c
        node = ast.MapDecl(
            _from(c[0], capacity),
            str(name),
            _tok(name),
            key.node,
            value.node,
            default.node,
            capacity.node,
        )
        return _built(node, key, value, default, capacity)

    def fn(self, c: list[Any]) -> _Built:
        return _routine(ast.Fn, c)

    def fn_param(self, c: list[Any]) -> _Built:
        name, _, typ = c
        return _built(ast.FnParam(_from(name, typ), str(name), typ.node), typ)

    def callback(self, c: list[Any]) -> _Built:
        return _routine(ast.Callback, c)

    def cb_param(self, c: list[Token]) -> _Built:
        return _leaf(ast.CallbackParam(_tok(c[0]), str(c[0])))

    def import_decl(self, c: list[Any]) -> _Built:
        lib = c[1]
        path = lib.type == "STRING"
        names = [n for n in c[3:-1] if isinstance(n, _Built)]
        node = ast.Import(
            _from(c[0], c[-1]),
            literals.string(lib) if path else str(lib),
            _tok(lib),
            path,
            tuple(n.node for n in names),
        )
        return _built(node, *names)

    def import_name(self, c: list[Any]) -> _Built:
        name, _, alias = c
        end = alias if alias is not None else name
        node = ast.ImportName(
            _from(name, end),
            str(name),
            None if alias is None else str(alias),
            None if alias is None else _tok(alias),
        )
        return _leaf(node)

    def type(self, c: list[Token]) -> _Built:
        return _leaf(ast.TypeName(_tok(c[0]), str(c[0])))

    # --- statements
    def block(self, c: list[Any]) -> _Built:
        stmts = [s for s in c[1:-1] if s is not None]
        return _built(ast.Block(_from(c[0], c[-1]), tuple(s.node for s in stmts)), *stmts)

    def let(self, c: list[Any]) -> _Built:
        _, name, _, typ, _, value = c
        return _built(ast.Let(_from(c[0], value), str(name), _opt(typ), value.node), typ, value)

    def assign(self, c: list[Any]) -> _Built:
        target, op, value = c
        node = ast.Assign(_from(target, value), target.node, str(op), value.node)
        return _built(node, target, value)

    def if_stmt(self, c: list[Any]) -> _Built:
        _, cond, then, _, orelse = c
        node = ast.If(_from(c[0], orelse or then), cond.node, then.node, _opt(orelse))
        if orelse is not None and isinstance(orelse.node, ast.If):
            # An `else if` link reads as flat, so it adds no level: the chain is as deep as
            # its deepest link. Every pass walks a chain's links in a loop, not recursively.
            link = _built(node, cond, then)
            return link if link.depth >= orelse.depth else link._replace(depth=orelse.depth)
        return _built(node, cond, then, orelse)

    def for_range(self, c: list[Any]) -> _Built:
        _, var, _, lo, _, hi, body = c
        node = ast.ForRange(_from(c[0], body), str(var), lo.node, hi.node, body.node)
        return _built(node, lo, hi, body)

    def for_cpus(self, c: list[Any]) -> _Built:
        _, var, _, _, body = c
        return _built(ast.ForCpus(_from(c[0], body), str(var), body.node), body)

    def return_stmt(self, c: list[Any]) -> _Built:
        _, value = c
        return _built(ast.Return(_from(c[0], value or c[0]), _opt(value)), value)

    def insert(self, c: list[Any]) -> _Built:
        _, task, _, queue, _, on_cpu, _, slice_, _, vtime = c
        last = next(x for x in (vtime, slice_, on_cpu, queue) if x is not None)
        node = ast.Insert(
            _from(c[0], last),
            task.node,
            str(queue),
            _tok(queue),
            _opt(on_cpu),
            _opt(slice_),
            _opt(vtime),
        )
        return _built(node, task, on_cpu, slice_, vtime)

    def kick(self, c: list[Any]) -> _Built:
        _, cpu, mode = c
        node = ast.Kick(_from(c[0], mode or cpu), cpu.node, None if mode is None else str(mode))
        return _built(node, cpu)

    def kick_mode(self, c: list[Token]) -> Token:
        return c[0]

    def expr_stmt(self, c: list[_Built]) -> _Built:
        return _built(ast.ExprStmt(c[0].span, c[0].node), c[0])

    # --- expressions
    def atom(self, c: list[Any]) -> _Built:  # `( expr )`: the node keeps its own span
        return c[1]._replace(span=_from(c[0], c[2]))

    def or_op(self, c: list[_Built]) -> _Built:
        left, _, right = c
        return _built(ast.Binary(_from(left, right), "or", left.node, right.node), left, right)

    def and_op(self, c: list[_Built]) -> _Built:
        left, _, right = c
        return _built(ast.Binary(_from(left, right), "and", left.node, right.node), left, right)

    def binary(self, c: list[Any]) -> _Built:
        left, op, right = c
        node = ast.Binary(_from(left, right), str(op), left.node, right.node)
        return _built(node, left, right)

    def not_op(self, c: list[Any]) -> _Built:
        return _built(ast.Unary(_from(c[0], c[1]), "not", c[1].node), c[1])

    def neg(self, c: list[Any]) -> _Built:
        return _built(ast.Unary(_from(c[0], c[1]), "-", c[1].node), c[1])

    def cast(self, c: list[Any]) -> _Built:
        value, _, typ = c
        return _built(ast.Cast(_from(value, typ), value.node, typ.node), value, typ)

    def field(self, c: list[Any]) -> _Built:
        obj, _, name = c
        node = ast.Field(_from(obj, name), obj.node, str(name), _tok(name))
        return _built(node, obj)

    def index(self, c: list[Any]) -> _Built:
        obj, _, idx, close = c
        return _built(ast.Index(_from(obj, close), obj.node, idx.node), obj, idx)

    def call(self, c: list[Any]) -> _Built:
        args = [a for a in c[2:-1] if isinstance(a, _Built)]
        node = ast.Call(_from(c[0], c[-1]), str(c[0]), tuple(a.node for a in args), _tok(c[0]))
        return _built(node, *args)

    def name(self, c: list[Token]) -> _Built:
        return _leaf(ast.Name(_tok(c[0]), str(c[0])))

    def int_lit(self, c: list[Token]) -> _Built:  # _literal has read it already
        return _leaf(ast.IntLit(_tok(c[0]), literals.integer(c[0])))

    def duration_lit(self, c: list[Token]) -> _Built:
        return _leaf(ast.DurationLit(_tok(c[0]), *literals.duration(c[0])))

    def true_lit(self, c: list[Token]) -> _Built:
        return _leaf(ast.BoolLit(_tok(c[0]), True))

    def false_lit(self, c: list[Token]) -> _Built:
        return _leaf(ast.BoolLit(_tok(c[0]), False))

    def str_lit(self, c: list[Token]) -> _Built:
        return _leaf(ast.StrLit(_tok(c[0]), literals.string(c[0])))


def _literal(token: Token) -> Token:
    """Lexer callback for INT, DURATION and STRING: a malformed literal is reported where it
    is, before the parser trips over the token after it."""
    try:
        if token.type == "STRING":
            literals.string(token)
        elif token.type == "DURATION":
            literals.duration(token)
        else:
            literals.integer(token)
    except literals.LiteralError as err:
        span = _tok(token)
        if err.offset:  # at the offending character(s); a literal is on one line
            at = span.start + err.offset
            col = span.col + err.offset
            span = Span(span.line, col, span.line, col + 2, at, at + 2)
        raise _Reject(C.BAD_LITERAL, span, problem=err.message, fix=err.hint) from None
    return token


def _signature(c: list[Any]) -> tuple[list[_Built], _Built | None, _Built]:
    """Parameters, return type and body of `fn`/`on NAME(PARAMS) [-> TYPE] BLOCK`."""
    params = [p for p in c[3:-4] if isinstance(p, _Built)]
    return params, c[-2], c[-1]


def _routine(kind: type[ast.Fn] | type[ast.Callback], c: list[Any]) -> _Built:
    """An `fn` or an `on` callback: the same shape (name, params, result, body)."""
    params, ret, body = _signature(c)
    node = kind(
        _from(c[0], body),
        str(c[1]),
        _tok(c[1]),
        tuple(p.node for p in params),
        _opt(ret),
        body.node,
    )
    return _built(node, *params, ret, body)


def _nesting_too_deep(text: str) -> int | None:
    """Offset where bracket nesting first exceeds MAX_NESTING, else None.

    Brackets in comments and strings do not nest anything, so they are skipped (a comment
    full of `(` is not too deep). The usual text, whose brackets balance, is answered from
    the running sum of its brackets outside comments and strings, in C (a Python loop over
    a stdlib policy's few hundred brackets took 3% of checking it); a text with a closing
    bracket too many (where the depth stays at 0) or one too deep is scanned here.
    """
    brackets = _NOT_BRACKETS.sub("", _COMMENTS_AND_STRINGS.sub("", text))
    depths = list(accumulate(map(_STEP.__getitem__, brackets)))
    if not depths or (min(depths) >= 0 and max(depths) <= MAX_NESTING):
        return None
    depth = 0
    for m in _BRACKETS.finditer(text):
        kind = m.lastgroup
        if kind == "open":
            depth += 1
            if depth > MAX_NESTING:
                return m.start()
        elif kind == "close":
            depth = max(0, depth - 1)
    return None


def _for_lexer(text: str) -> str:
    """The text as the lexer reads it: same length, so every offset and column still holds.

    Lark counts only \\n as a line end, so a lone \\r becomes one; a leading byte-order mark
    (an editor's "UTF-8 with BOM") is not text and reads as a space.
    """
    if "\r" in text:
        text = _LONE_CR.sub("\n", text)
    if text.startswith("\ufeff"):
        text = " " + text[1:]
    return text


def parse_source(source: SourceFile, diags: Diagnostics) -> ast.Scheduler | None:
    """Parse one file; on failure add a diagnostic and return None."""
    text = source.text
    if (
        len(text) > MAX_SOURCE_BYTES
        or len(text.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES
    ):
        diags.error(C.LARGER_THAN_LIMIT, source.span_at(0), kb=MAX_SOURCE_BYTES // 1000)
        return None
    if "\x00" in text:
        diags.error(C.NUL_BYTE, source.span_at(text.index("\x00")))
        return None
    surrogate = _SURROGATE.search(text)
    if surrogate is not None:  # only a str made in Python has one; no UTF-8 file decodes to it
        diags.error(
            C.LONE_SURROGATE, source.span_at(surrogate.start()), codepoint=ord(surrogate.group())
        )
        return None
    if not text.removeprefix("\ufeff").strip(" \t\f\r\n"):  # the lexer's whitespace
        diags.error(C.FILE_IS_EMPTY, source.span_at(0))
        return None
    deep = _nesting_too_deep(text)
    if deep is not None:
        diags.error(C.BRACKETS_TOO_DEEP, source.span_at(deep), limit=MAX_NESTING)
        return None
    try:
        built = _parse(_for_lexer(text))
    except UnexpectedInput as err:
        message, fields = describe(err, text, parser())
        token = getattr(err, "token", None)
        pos = getattr(err, "pos_in_stream", None)
        if isinstance(token, Token) and token.type != "$END" and token.end_pos is not None:
            span = _tok(token)
        else:
            span = source.span_at(pos) if isinstance(pos, int) else _error_span(err, source)
        diags.report(message, span, fields)
        return None
    except _Reject as err:
        diags.report(err.message, err.span, err.fields)
        return None
    node: ast.Scheduler = built.node
    return node


def comments(text: str) -> list[tuple[Span, str]]:
    """The comments of `text` (which parses), in order: the parser skips them, `fmt` keeps
    them. Lark's plain lexer reads them (the parser's contextual one skips them): it may split
    an operator differently, but a `"` or `/` starts the same string or comment in both."""
    kinds = ("COMMENT", "BLOCK_COMMENT")
    lexed = parser().lex(_for_lexer(text), dont_ignore=True)
    return [(_tok(t), text[t.start_pos : t.end_pos]) for t in lexed if t.type in kinds]


def _error_span(err: UnexpectedInput, source: SourceFile) -> Span:
    line = max(1, getattr(err, "line", 1) or 1)
    col = max(1, getattr(err, "column", 1) or 1)
    return Span(line, col, line, col + 1)


def parse(text: str, path: str = "<string>") -> ast.Scheduler:
    """Parse text or raise `SchedlangError` carrying the diagnostics (public API)."""
    from schedlang.errors import SchedlangError

    source = SourceFile(path, text)
    diags = Diagnostics(source)
    tree = parse_source(source, diags)
    if tree is None:
        raise SchedlangError(source, list(diags))
    return tree
