"""`import` declarations: one program out of several files, before anything is checked.

`import least_loaded { score, busy_penalty as penalty }` names a library policy (a file of
`stdlib/`); `import "parts/pick.sched" { pick }` names a file relative to the importing
one. Resolution runs between the parser and the type checker and replaces each `import`
with the declarations it names, so the type checker and every safety rule see one
`ast.Scheduler`, exactly as if the imported text had been written in the importing file:
nothing is trusted because it was checked elsewhere, and every proof runs on the
combination.

What an import brings:
* the names it lists (any declaration but a callback), under their alias if one is given;
* the `fn`s and `const`s those use, transitively (code and values, re-checked where they
  land), under their own names;
* never state silently: a param, queue, var, task var, array or map that an imported
  declaration uses must be listed in the `import` (then the library's declaration comes
  along) or be declared by the importing policy with the same kind and type (then the
  imported code uses that one). Otherwise `import-needs` says which and how to add it.

Every name an import brings is renamed in the imported code too, so `busy_penalty as
penalty` leaves no `busy_penalty` behind. Imported declarations keep the spans of their
own file (`Span.file`), so a diagnostic inside one points at the line where it is written;
the import's problems (a missing file, an unknown name, a clash, a cycle) are reported at
the import, with notes at the imported file's positions.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from schedlang import ast, ir
from schedlang import codes as C
from schedlang.diagnostics import Diagnostics, Note
from schedlang.passes.typecheck import RESERVED
from schedlang.source import SourceFile, Span
from schedlang.syntax import MAX_SOURCE_BYTES, parse_source

# The library: `schedlang/stdlib` is the package's copy of the checkout's `stdlib/`.
STDLIB = Path(__file__).resolve().parent / "stdlib"
SUFFIX = ".sched"

# Declarations whose meaning is code or a value: they come along with what uses them.
_CARRIED = (ast.Fn, ast.Const)
_KIND = {
    ast.Param: "param",
    ast.Const: "const",
    ast.Queue: "queue",
    ast.Var: "var",
    ast.TaskVar: "task var",
    ast.Array: "array",
    ast.MapDecl: "map",
    ast.Fn: "fn",
}


@dataclass
class _Library:
    """A library file, parsed and with its own imports resolved."""

    name: str  # as written in the import, for messages
    file: str  # the name its spans and diagnostics carry
    decls: dict[str, ast.Decl]
    callbacks: frozenset[str]


@dataclass
class _Open:
    """A file whose imports are being resolved: the import that opened it, for cycles."""

    key: str
    file: str
    via: Span | None


@dataclass
class _Resolver:
    diags: Diagnostics
    stdlib: Path
    loaded: dict[str, _Library | None] = field(default_factory=dict)
    opened: list[_Open] = field(default_factory=list)

    def placed(self, span: Span) -> Span:
        """`span` with its file named, for a note on a diagnostic in another file."""
        return span if span.file else dataclasses.replace(span, file=self.diags.source.path)

    # ------------------------------------------------------------------ files
    def decls(
        self, tree: ast.Scheduler, path: str, real: Path | None
    ) -> list[tuple[ast.Decl, Span | None]]:
        """`tree`'s declarations with each import replaced by what it brings, each with the
        span of the import that brought it (None for the file's own)."""
        own = {d.name: d for d in tree.decls if not isinstance(d, ast.Import | ast.Callback)}
        taken: dict[str, tuple[ast.Decl, ast.ImportName]] = {}
        out: list[tuple[ast.Decl, Span | None]] = []
        for d in tree.decls:
            if not isinstance(d, ast.Import):
                out.append((d, None))
                continue
            lib = self.load(d, path, real)
            if lib is not None:
                out += [(x, d.span) for x in self.take(d, lib, own, taken)]
        return out

    def load(self, imp: ast.Import, path: str, real: Path | None) -> _Library | None:
        """The library an import names, read, parsed and resolved once per file."""
        if imp.path:
            file = os.path.normpath(os.path.join(os.path.dirname(path), imp.name))
            base = real.parent if real is not None else Path(os.path.dirname(path) or ".")
            target = base / imp.name
        else:
            names = library_names(self.stdlib)
            if imp.name not in names:
                self.diags.error(
                    C.NO_LIBRARY_POLICY,
                    imp.name_span,
                    suggest=C.did_you_mean(imp.name, names),
                    name=imp.name,
                    names=" ".join(names),
                )
                return None
            file = f"stdlib/{imp.name}{SUFFIX}"
            target = self.stdlib / (imp.name + SUFFIX)
        try:
            key = str(target.resolve())
        except (OSError, RuntimeError) as err:  # RuntimeError: a symlink loop (Python < 3.13)
            self.unreadable(imp, path, err)
            return None
        cycle = next((i for i, o in enumerate(self.opened) if o.key == key), None)
        if cycle is not None:
            self.cycle(imp, file, cycle)
            return None
        if key in self.loaded:
            return self.loaded[key]
        try:
            data = _read(target)
        except OSError as err:
            self.unreadable(imp, path, err)
            return None
        self.opened.append(_Open(key, file, imp.name_span))
        lib = self.read(imp, file, target, data)
        self.opened.pop()
        self.loaded[key] = lib
        return lib

    def unreadable(self, imp: ast.Import, path: str, err: Exception) -> None:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        base = os.path.dirname(path) or "."
        shown = imp.name.encode("unicode_escape").decode("ascii")  # one line, whatever it holds
        self.diags.error(C.NO_POLICY_FILE, imp.name_span, path=shown, reason=reason, base=base)

    def read(self, imp: ast.Import, file: str, target: Path, data: bytes) -> _Library | None:
        source = SourceFile(file, data.decode("utf-8", errors="replace"))
        self.diags.imported[file] = source
        inner = Diagnostics(source)
        try:
            if len(data) <= MAX_SOURCE_BYTES:  # a longer one is cut: the parser says too large
                data.decode("utf-8")
        except UnicodeDecodeError:
            inner.error(C.NOT_UTF8, source.span_at(0))
            tree = None
        else:
            tree = parse_source(source, inner)
        if tree is not None:
            tree = relocate(tree, file)
        here = Note(self.placed(imp.name_span), C.IMPORTED_HERE.format())
        for d in inner.items:
            self.diags.items.append(dataclasses.replace(d, notes=(*d.notes, here)))
        if tree is None:
            return None
        decls = [d for d, _ in self.decls(tree, file, target.resolve())]
        return _Library(
            imp.name,
            file,
            {d.name: d for d in decls if not isinstance(d, ast.Callback)},
            frozenset(d.name for d in decls if isinstance(d, ast.Callback)),
        )

    def cycle(self, imp: ast.Import, file: str, start: int) -> None:
        """`imp` names a file that is still being resolved: report the loop it closes."""
        loop = self.opened[start:]
        chain = " -> ".join([*(o.file for o in loop), file])
        notes = [
            Note(o.via, C.CYCLE_STEP.format(next=o.file) if i else C.IMPORTED_HERE.format())
            for i, o in enumerate(loop)
            if o.via is not None
        ]
        self.diags.error(C.CYCLE, imp.name_span, notes=notes, chain=chain)

    # ------------------------------------------------------------------ names
    def take(
        self,
        imp: ast.Import,
        lib: _Library,
        own: dict[str, ast.Decl],
        taken: dict[str, tuple[ast.Decl, ast.ImportName]],
    ) -> list[ast.Decl]:
        """The declarations `imp` brings from `lib`, renamed; diagnostics for what it cannot."""
        rename: dict[str, str] = {}
        root: dict[str, ast.ImportName] = {}  # which listed name brought each declaration
        todo: list[str] = []
        for n in imp.names:
            if n.alias in RESERVED and n.alias_span is not None:
                self.diags.error(C.BUILTIN_NAME, n.alias_span, name=n.alias)
            elif n.name in lib.decls:
                if n.name not in rename:
                    rename[n.name], root[n.name] = n.local, n
                    todo.append(n.name)
            elif n.name in lib.callbacks:
                self.diags.error(C.CALLBACK_NOT_IMPORTED, n.span, name=n.name, library=lib.name)
            else:
                self.diags.error(
                    C.NOT_IN_LIBRARY,
                    n.span,
                    suggest=C.did_you_mean(n.name, list(lib.decls)),
                    library=lib.name,
                    name=n.name,
                    names=" ".join(sorted(lib.decls)) or "nothing",
                )
        bound: set[str] = set()  # state the importer declares itself, or is missing
        missing: dict[str, list[tuple[str, ast.Decl, Span]]] = {}  # by listed name
        i = 0
        while i < len(todo):
            name = todo[i]
            i += 1
            for used, span in uses(lib.decls[name], lib.decls):
                if used in rename or used in bound:
                    continue
                dep = lib.decls[used]
                if isinstance(dep, _CARRIED):
                    rename[used], root[used] = used, root[name]
                    todo.append(used)
                    continue
                bound.add(used)
                mine = own.get(used)
                if mine is None:
                    missing.setdefault(root[name].name, []).append((name, dep, span))
                else:
                    self.mismatch(lib, name, mine, dep)
        for listed, needs in missing.items():
            self.needs(imp, lib, root[listed], needs)
        out: list[ast.Decl] = []
        for name in todo:
            local, decl = rename[name], lib.decls[name]
            if self.clash(imp, lib, name, local, root[name], decl, own, taken):
                continue
            taken[local] = (decl, root[name])
            out.append(rewrite(decl, rename, lib.decls))
        return out

    def needs(
        self,
        imp: ast.Import,
        lib: _Library,
        listed: ast.ImportName,
        needs: list[tuple[str, ast.Decl, Span]],
    ) -> None:
        """State that `listed` (or what it brings) uses and nobody declares."""
        what = [f"{_KIND[type(dep)]} `{dep.name}`" for _, dep, _ in needs]
        names = [n.name if not n.alias else f"{n.name} as {n.alias}" for n in imp.names]
        names += [dep.name for _, dep, _ in needs]
        self.diags.error(
            C.NEEDS_STATE,
            listed.span,
            notes=[
                Note(use, C.USES_IT_HERE.format(user=user, needed=dep.name))
                for user, dep, use in needs
            ],
            name=listed.name,
            missing=_and(what),
            library=lib.name,
            fixed=f"import {_library_text(imp)} {{ {', '.join(names)} }}",
            declarations="; ".join(f"`{_shape(dep, with_value=True)}`" for _, dep, _ in needs),
        )

    def mismatch(self, lib: _Library, user: str, mine: ast.Decl, dep: ast.Decl) -> None:
        """`user` uses state `dep` the importer declares too: as the same kind and type, or
        this is reported."""
        if _shape(mine) == _shape(dep):
            return
        self.diags.error(
            C.DECLARED_OTHERWISE,
            mine.name_span,
            notes=[
                Note(dep.name_span, C.LIBRARY_DECLARES.format(library=lib.name, needed=dep.name))
            ],
            needed=dep.name,
            here=_a(_shape(mine)),
            name=user,
            library=lib.name,
            there=_a(_shape(dep)),
            declaration=_shape(dep, with_value=True),
        )

    def clash(
        self,
        imp: ast.Import,
        lib: _Library,
        name: str,
        local: str,
        listed: ast.ImportName,
        decl: ast.Decl,
        own: dict[str, ast.Decl],
        taken: dict[str, tuple[ast.Decl, ast.ImportName]],
    ) -> bool:
        """Whether `local` is taken already (reported); the same declaration reached through
        two imports (a diamond) is brought once and is no clash."""
        if local in taken and taken[local][0] is decl:
            return True
        first = own.get(local) or (taken[local][0] if local in taken else None)
        if first is None:
            return False
        first_span = first.name_span if local in own else taken[local][1].span
        why = "" if listed.name == name else C.NEEDED_BY.format(user=listed.name)
        self.diags.error(
            C.CLASHES,
            listed.span,
            notes=[
                Note(first_span, C.ALREADY_HERE.format(local=local)),
                Note(decl.name_span, C.IMPORTED_FROM.format(name=name)),
            ],
            name=name,
            library=lib.name,
            why=why,
            local=local,
            other=f"{lib.file.rsplit('/', 1)[-1].removesuffix(SUFFIX)}_{name}",
        )
        return True


def _read(path: Path) -> bytes:
    """A policy file's bytes; a device, a pipe or a directory is an OSError, and no more is
    read than the parser accepts (it reports a longer file as too large)."""
    with open(path, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return f.read(MAX_SOURCE_BYTES + 1)


def _library_text(imp: ast.Import) -> str:
    return f'"{imp.name}"' if imp.path else imp.name


def _shape(d: ast.Decl, *, with_value: bool = False) -> str:
    """A state declaration as written, without its name's position: what `bind` compares
    (kind and type) and, with its value, what a hint suggests declaring."""
    match d:
        case ast.Param(type=t, default=v, lo=lo, hi=hi):
            tail = f" = {_text(v)} in {_text(lo)}..{_text(hi)}" if with_value else ""
            return f"param {d.name}: {t.name}{tail}"
        case ast.Queue(kind=k):
            return f"queue {d.name}: {k}"
        case ast.Var(type=t, init=v):
            return f"var {d.name}: {t.name}" + (f" = {_text(v)}" if with_value else "")
        case ast.TaskVar(type=t, init=v):
            return f"task var {d.name}: {t.name}" + (f" = {_text(v)}" if with_value else "")
        case ast.Array(elem=t, size=n):
            return f"array {d.name}: [{t.name}; {'cpus' if n is None else _text(n)}]"
        case ast.MapDecl(key=k, value=v, default=dflt, capacity=cap):
            tail = f" = {_text(dflt)} capacity {_text(cap)}" if with_value else ""
            return f"map {d.name}: {k.name} -> {v.name}{tail}"
    return f"{_KIND.get(type(d), 'declaration')} {d.name}"


def _text(e: ast.Expr) -> str:
    from schedlang.fmt import format_expr

    return format_expr(e)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _a(shape: str) -> str:
    """`var x: u64` -> "a `var x: u64`"."""
    return f"an `{shape}`" if shape[0] in "aeiou" else f"a `{shape}`"


def library_names(stdlib: Path = STDLIB) -> list[str]:
    """The library policies an `import NAME` may name."""
    try:
        return sorted(p.name.removesuffix(SUFFIX) for p in stdlib.glob("*" + SUFFIX))
    except OSError:
        return []


def closure(decls: dict[str, ast.Decl], names: list[str]) -> list[str]:
    """Every declaration of `decls` that those in `names` use, directly or through others,
    state and `fn`s and `const`s alike: what an import of `names` lists to bring them all
    (schedlang.composition lists them so that it can rename any that would clash)."""
    seen = dict.fromkeys(names)
    todo = list(names)
    while todo:
        for used, _ in uses(decls[todo.pop()], decls):
            if used not in seen:
                seen[used] = None
                todo.append(used)
    return [n for n in seen if n not in names]


# ---------------------------------------------------------------------- tree walks
def relocate(node: ast.Scheduler, file: str) -> ast.Scheduler:
    """`node` with every span marked as being in `file`."""
    out = _Walk(lambda s: dataclasses.replace(s, file=file), {}, frozenset()).node(node)
    assert isinstance(out, ast.Scheduler)
    return out


def _task_vars(decls: dict[str, ast.Decl]) -> frozenset[str]:
    return frozenset(n for n, d in decls.items() if isinstance(d, ast.TaskVar))


def uses(decl: ast.Decl, decls: dict[str, ast.Decl]) -> list[tuple[str, Span]]:
    """The declarations of `decls` that `decl` refers to, each with its first use."""
    walk = _Walk(None, {}, _task_vars(decls), frozenset(decls))
    walk.node(decl)
    return list(walk.found.items())


def rewrite(decl: ast.Decl, rename: dict[str, str], decls: dict[str, ast.Decl]) -> ast.Decl:
    """`decl` (one of `decls`) with the global names in `rename` replaced, its own too."""
    out = _Walk(None, rename, _task_vars(decls)).node(decl)
    assert isinstance(out, ast.Decl)
    if decl.name in rename:
        out = dataclasses.replace(out, name=rename[decl.name])
    return out


class _Walk:
    """Rebuilds a tree: spans through `span`, global names (not those a `let`, a loop or a
    parameter binds) through `rename`, and records the first use of each of `watch`.

    Names of globals appear as a `Name`, the function of a `Call`, a field that is one of
    `task_vars` (`t.NAME`) and the queue of an `insert`. Iterative along `else if` chains,
    which may be longer than the recursion limit; any other nesting the parser bounds.
    """

    def __init__(
        self,
        span: Callable[[Span], Span] | None,
        rename: dict[str, str],
        task_vars: frozenset[str],
        watch: frozenset[str] = frozenset(),
    ) -> None:
        self.span = span
        self.rename = rename
        self.task_vars = task_vars
        self.watch = watch
        self.found: dict[str, Span] = {}
        self.bound: list[set[str]] = [set()]

    def name(self, ident: str, span: Span, *, global_only: bool = False) -> str:
        if not global_only and any(ident in scope for scope in self.bound):
            return ident
        if ident in self.watch and ident not in self.found:
            self.found[ident] = span
        return self.rename.get(ident, ident)

    def node(self, n: ast.Node) -> ast.Node:
        match n:
            case ast.Fn(params=ps):
                self.bound.append({p.name for p in ps})
                out = self.fields(n)
                self.bound.pop()
                return out
            case ast.Block(stmts=stmts):
                self.bound.append(set())
                new = tuple(self.node(s) for s in stmts)
                self.bound.pop()
                return dataclasses.replace(n, span=self.s(n.span), stmts=new)  # type: ignore[arg-type]
            case ast.Let(name=var):
                out = self.fields(n)
                self.bound[-1].add(var)
                return out
            case ast.ForRange(var=var) | ast.ForCpus(var=var):
                self.bound.append({var})
                out = self.fields(n)
                self.bound.pop()
                return out
            case ast.If():
                return self.chain(n)
            case ast.Name(ident=ident):
                return dataclasses.replace(n, span=self.s(n.span), ident=self.name(ident, n.span))
            case ast.Call(func=f):
                call = cast(ast.Call, self.fields(n))
                return dataclasses.replace(call, func=self.name(f, n.func_span, global_only=True))
            case ast.Field(name=f) if f in self.task_vars:
                fld = cast(ast.Field, self.fields(n))
                return dataclasses.replace(fld, name=self.name(f, n.name_span, global_only=True))
            case ast.Insert(queue=q):
                ins = cast(ast.Insert, self.fields(n))
                return dataclasses.replace(ins, queue=self.name(q, n.queue_span, global_only=True))
        return self.fields(n)

    def chain(self, first: ast.If) -> ast.If:
        links: list[ast.If] = [first]
        while isinstance(links[-1].orelse, ast.If):
            links.append(links[-1].orelse)
        tail = links[-1].orelse
        rest: ast.Block | ast.If | None = None if tail is None else self.node(tail)  # type: ignore[assignment]
        heads = [
            (cast(ast.Expr, self.node(x.cond)), cast(ast.Block, self.node(x.then))) for x in links
        ]
        for link, (cond, then) in zip(reversed(links), reversed(heads), strict=True):
            rest = dataclasses.replace(
                link, span=self.s(link.span), cond=cond, then=then, orelse=rest
            )
        assert isinstance(rest, ast.If)
        return rest

    def fields(self, n: ast.Node) -> ast.Node:
        changes: dict[str, Any] = {
            f.name: self.value(getattr(n, f.name)) for f in dataclasses.fields(n)
        }
        return dataclasses.replace(n, **changes)

    def value(self, v: object) -> object:
        if isinstance(v, Span):
            return self.s(v)
        if isinstance(v, ast.Node):
            return self.node(v)
        if isinstance(v, tuple):
            return tuple(self.value(x) for x in v)
        return v

    def s(self, span: Span) -> Span:
        return span if self.span is None else self.span(span)


# ---------------------------------------------------------------------- entry point
def run(
    tree: ast.Scheduler, diags: Diagnostics, *, stdlib: Path = STDLIB
) -> tuple[ast.Scheduler, tuple[ir.Imported, ...]] | None:
    """`tree` with its imports replaced by the declarations they bring, and where each
    imported file entered; None (with diagnostics) when an import cannot be resolved."""
    if not any(isinstance(d, ast.Import) for d in tree.decls):
        return tree, ()
    main = diags.source.path
    real = Path(main).resolve() if Path(main).is_file() else None
    before = len(diags)
    resolver = _Resolver(diags, stdlib)
    if real is not None:
        resolver.opened.append(_Open(str(real), main, None))
    entries = resolver.decls(tree, main, real)
    if len(diags) > before:
        return None
    origins: dict[str, ir.Imported] = {}
    for d, via in entries:
        if via is not None and d.span.file not in origins:
            text = diags.imported[d.span.file].text.encode("utf-8", "surrogatepass")
            origins[d.span.file] = ir.Imported(d.span.file, via, hashlib.sha256(text).hexdigest())
    return dataclasses.replace(tree, decls=tuple(d for d, _ in entries)), tuple(origins.values())
