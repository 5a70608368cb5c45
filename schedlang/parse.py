"""Source text → syntax tree, with syntax errors as diagnostics.

The grammar lives only in grammar/schedlang.lark and is loaded once (LALR, strict, cached).
A Lark parse error becomes one `Diagnostic` whose wording is chosen by matching the failing
parser state against a small corpus of known mistakes (`syntax_errors.py`), so an agent sees
"`return` must be the last statement of its block", not a list of terminal names.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import stat
import sys
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedInput, VisitError
from lark.lark import PostLex
from lark.tree import Meta

from schedlang import ast
from schedlang import codes as C
from schedlang.diagnostics import Diagnostics
from schedlang.source import SourceFile, Span

# Policies are small; these limits turn pathological input into a diagnostic instead of a
# slow parse or a RecursionError in the tree transformer.
MAX_SOURCE_BYTES = 1_000_000
MAX_NESTING = 64
# Depth of the parse tree (blocks and operator chains: `a + b + ... + z` nests one level per
# `+`). Every later pass walks trees recursively, so a bound here keeps them all safe.
MAX_TREE_DEPTH = 150


@functools.cache
def parser() -> Lark:
    grammar = resources.files("schedlang.grammar").joinpath("schedlang.lark").read_text()
    cache = _cache_file(grammar)
    lark = Lark(
        grammar,
        parser="lalr",
        strict=True,
        propagate_positions=True,
        maybe_placeholders=True,
        postlex=_WholeWords(),
        # Cached LALR tables take the cold start from ~250 ms to ~20 ms.
        cache=cache if cache is not None else False,
    )
    if cache is not None:  # Lark created it under the umask; a group-writable file is refused
        with contextlib.suppress(OSError):
            os.chmod(cache, 0o600)
    return lark


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

    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec says to ignore a relative path
        base = os.path.join(os.path.expanduser("~"), ".cache")
    directory = os.path.join(base, "schedlang")
    version = f"{lark_version} {sys.version_info[:2]}"
    key = hashlib.sha256(f"{version}\0{grammar}".encode()).hexdigest()[:16]
    path = os.path.join(directory, f"parser-{key}.lark")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if not _private(os.lstat(directory), stat.S_ISDIR):
            return None
        st = os.lstat(path)
    except FileNotFoundError:  # no tables cached yet: Lark writes them
        return path
    except OSError:  # no home, a read-only file system, ...
        return None
    return path if _private(st, stat.S_ISREG) else None


def _private(st: os.stat_result, is_kind: Callable[[int], bool]) -> bool:
    """A file of the expected kind (not a symlink), owned by us, writable by nobody else."""
    return is_kind(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o022


def _span(meta: Meta | Token) -> Span:
    if isinstance(meta, Token):
        return Span(
            meta.line or 1,
            meta.column or 1,
            meta.end_line or meta.line or 1,
            meta.end_column or meta.column or 1,
            meta.start_pos or 0,
            meta.end_pos or 0,
        )
    if getattr(meta, "empty", True):
        return Span(1, 1, 1, 1, 0, 0)
    return Span(
        meta.line, meta.column, meta.end_line, meta.end_column, meta.start_pos, meta.end_pos
    )


def _unquote(token: str) -> str:
    body = token[1:-1]
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t", "\\": "\\", '"': '"'}.get(nxt, nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


@v_args(meta=True)
class _ToAst(Transformer[Token, ast.Scheduler]):
    """Lark tree → ast nodes. One method per grammar rule or alias."""

    # --- top level and declarations
    def start(self, meta: Meta, c: list[Any]) -> ast.Scheduler:
        name, desc, *decls = c
        return ast.Scheduler(_span(meta), str(name), _unquote(desc), tuple(decls), _span(name))

    def param(self, meta: Meta, c: list[Any]) -> ast.Param:
        name, typ, default, lo, hi = c
        return ast.Param(_span(meta), str(name), _span(name), typ, default, lo, hi)

    def const(self, meta: Meta, c: list[Any]) -> ast.Const:
        name, typ, value = c
        return ast.Const(_span(meta), str(name), _span(name), typ, value)

    def queue(self, meta: Meta, c: list[Any]) -> ast.Queue:
        name, kind = c
        return ast.Queue(_span(meta), str(name), _span(name), kind)

    def queue_kind(self, meta: Meta, c: list[Any]) -> str:
        return str(c[0])

    def var(self, meta: Meta, c: list[Any]) -> ast.Var:
        name, typ, init = c
        return ast.Var(_span(meta), str(name), _span(name), typ, init)

    def task_var(self, meta: Meta, c: list[Any]) -> ast.TaskVar:
        name, typ, init = c
        return ast.TaskVar(_span(meta), str(name), _span(name), typ, init)

    def array(self, meta: Meta, c: list[Any]) -> ast.Array:
        name, elem, size = c
        return ast.Array(_span(meta), str(name), _span(name), elem, size)

    def array_size(self, meta: Meta, c: list[Any]) -> ast.Expr | None:
        return None if c[0] == "cpus" else c[0]

    def cpus(self, meta: Meta, c: list[Any]) -> str:
        return "cpus"

    def map(self, meta: Meta, c: list[Any]) -> ast.MapDecl:
        name, key, value, default, capacity = c
        return ast.MapDecl(_span(meta), str(name), _span(name), key, value, default, capacity)

    def fn(self, meta: Meta, c: list[Any]) -> ast.Fn:
        name, *params, ret, body = c
        ps = tuple(p for p in params if p is not None)
        return ast.Fn(_span(meta), str(name), _span(name), ps, ret, body)

    def fn_param(self, meta: Meta, c: list[Any]) -> ast.FnParam:
        return ast.FnParam(_span(meta), str(c[0]), c[1])

    def callback(self, meta: Meta, c: list[Any]) -> ast.Callback:
        name, *params, ret, body = c
        ps = tuple(p for p in params if p is not None)
        return ast.Callback(_span(meta), str(name), _span(name), ps, ret, body)

    def cb_param(self, meta: Meta, c: list[Any]) -> ast.CallbackParam:
        return ast.CallbackParam(_span(meta), str(c[0]))

    def type(self, meta: Meta, c: list[Any]) -> ast.TypeName:
        return ast.TypeName(_span(meta), str(c[0]))

    # --- statements
    def block(self, meta: Meta, c: list[Any]) -> ast.Block:
        return ast.Block(_span(meta), tuple(s for s in c if s is not None))

    def let(self, meta: Meta, c: list[Any]) -> ast.Let:
        name, typ, value = c
        return ast.Let(_span(meta), str(name), typ, value)

    def assign(self, meta: Meta, c: list[Any]) -> ast.Assign:
        target, op, value = c
        return ast.Assign(_span(meta), target, str(op), value)

    def if_stmt(self, meta: Meta, c: list[Any]) -> ast.If:
        cond, then, orelse = c
        return ast.If(_span(meta), cond, then, orelse)

    def for_range(self, meta: Meta, c: list[Any]) -> ast.ForRange:
        var, lo, hi, body = c
        return ast.ForRange(_span(meta), str(var), lo, hi, body)

    def for_cpus(self, meta: Meta, c: list[Any]) -> ast.ForCpus:
        var, _cpus, body = c
        return ast.ForCpus(_span(meta), str(var), body)

    def return_stmt(self, meta: Meta, c: list[Any]) -> ast.Return:
        return ast.Return(_span(meta), c[0])

    def insert(self, meta: Meta, c: list[Any]) -> ast.Insert:
        task, queue, on_cpu, slice_, vtime = c
        return ast.Insert(_span(meta), task, str(queue), _span(queue), on_cpu, slice_, vtime)

    def kick(self, meta: Meta, c: list[Any]) -> ast.Kick:
        return ast.Kick(_span(meta), c[0], c[1])

    def kick_mode(self, meta: Meta, c: list[Any]) -> str:
        return str(c[0])

    def expr_stmt(self, meta: Meta, c: list[Any]) -> ast.ExprStmt:
        return ast.ExprStmt(_span(meta), c[0])

    # --- expressions
    def or_op(self, meta: Meta, c: list[Any]) -> ast.Binary:
        return ast.Binary(_span(meta), "or", c[0], c[1])

    def and_op(self, meta: Meta, c: list[Any]) -> ast.Binary:
        return ast.Binary(_span(meta), "and", c[0], c[1])

    def not_op(self, meta: Meta, c: list[Any]) -> ast.Unary:
        return ast.Unary(_span(meta), "not", c[0])

    def binary(self, meta: Meta, c: list[Any]) -> ast.Binary:
        left, op, right = c
        return ast.Binary(_span(meta), str(op), left, right)

    def neg(self, meta: Meta, c: list[Any]) -> ast.Unary:
        return ast.Unary(_span(meta), "-", c[-1])

    def cast(self, meta: Meta, c: list[Any]) -> ast.Cast:
        return ast.Cast(_span(meta), c[0], c[1])

    def field(self, meta: Meta, c: list[Any]) -> ast.Field:
        obj, name = c
        return ast.Field(_span(meta), obj, str(name), _span(name))

    def index(self, meta: Meta, c: list[Any]) -> ast.Index:
        return ast.Index(_span(meta), c[0], c[1])

    def call(self, meta: Meta, c: list[Any]) -> ast.Call:
        func, *args = c
        return ast.Call(
            _span(meta), str(func), tuple(a for a in args if a is not None), _span(func)
        )

    def name(self, meta: Meta, c: list[Any]) -> ast.Name:
        return ast.Name(_span(meta), str(c[0]))

    def int_lit(self, meta: Meta, c: list[Any]) -> ast.IntLit:
        return ast.IntLit(_span(meta), int(str(c[0]).replace("_", ""), 0))

    def duration_lit(self, meta: Meta, c: list[Any]) -> ast.DurationLit:
        text = str(c[0]).replace("_", "")
        digits = text.rstrip("numsµ")
        return ast.DurationLit(_span(meta), int(digits), text[len(digits) :])

    def true_lit(self, meta: Meta, c: list[Any]) -> ast.BoolLit:
        return ast.BoolLit(_span(meta), True)

    def false_lit(self, meta: Meta, c: list[Any]) -> ast.BoolLit:
        return ast.BoolLit(_span(meta), False)

    def str_lit(self, meta: Meta, c: list[Any]) -> ast.StrLit:
        return ast.StrLit(_span(meta), _unquote(str(c[0])))


def _nesting_too_deep(text: str) -> int | None:
    """Offset where bracket nesting first exceeds MAX_NESTING, else None."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "({[":
            depth += 1
            if depth > MAX_NESTING:
                return i
        elif ch in ")}]":
            depth = max(0, depth - 1)
    return None


def parse_source(source: SourceFile, diags: Diagnostics) -> ast.Scheduler | None:
    """Parse one file; on failure add a diagnostic and return None."""
    from schedlang.syntax_errors import describe

    text = source.text
    if len(text.encode("utf-8", "surrogateescape")) > MAX_SOURCE_BYTES:
        diags.error(
            C.FILE_TOO_LARGE,
            source.span_at(0),
            f"file is larger than {MAX_SOURCE_BYTES // 1000} kB; a policy is a few hundred lines",
            "split the policy or remove generated content",
        )
        return None
    if "\x00" in text:
        diags.error(
            C.NOT_TEXT,
            source.span_at(text.index("\x00")),
            "file contains a NUL byte: this is not schedlang source text",
            "pass a .sched file",
        )
        return None
    if not text.strip():
        diags.error(
            C.EMPTY_FILE,
            source.span_at(0),
            'file is empty: expected `scheduler NAME "description" { ... }`',
            'start with: scheduler my_policy "what it does" { }',
        )
        return None
    deep = _nesting_too_deep(text)
    if deep is not None:
        diags.error(
            C.TOO_DEEP,
            source.span_at(deep),
            f"brackets nest more than {MAX_NESTING} deep",
            "move parts of the expression into `let` bindings or an `fn` helper",
        )
        return None
    try:
        tree = parser().parse(text)
    except UnexpectedInput as err:
        message, hints = describe(err, text)
        token = getattr(err, "token", None)
        pos = getattr(err, "pos_in_stream", None)
        if isinstance(token, Token) and token.type != "$END" and token.end_pos is not None:
            span = _span(token)
        else:
            span = source.span_at(pos) if isinstance(pos, int) else _error_span(err, source)
        diags.error(C.SYNTAX, span, message, *hints)
        return None
    deepest = _too_deep(tree)
    if deepest is not None:
        diags.error(
            C.TOO_DEEP,
            _span(deepest.meta),
            f"the program nests more than {MAX_TREE_DEPTH} levels deep here",
            "split long operator chains and deep nesting into `let` bindings or `fn` helpers",
        )
        return None
    try:
        return _ToAst().transform(tree)
    except VisitError as err:  # a literal too large for int(), etc.
        diags.error(C.SYNTAX, source.span_at(0), f"cannot read the program: {err.orig_exc}")
        return None


def _too_deep(tree: Tree[Token]) -> Tree[Token] | None:
    """The first subtree deeper than MAX_TREE_DEPTH, found without recursion."""
    depth: dict[int, int] = {}
    for sub in tree.iter_subtrees():  # children before parents
        kids = [depth[id(c)] for c in sub.children if isinstance(c, Tree)]
        depth[id(sub)] = 1 + max(kids, default=0)
        if depth[id(sub)] > MAX_TREE_DEPTH:
            return sub
    return None


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
