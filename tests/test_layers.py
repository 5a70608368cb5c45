"""The layer rules of docs/internals.md, checked against every import in the tree.

The rules are written once, as the table in docs/internals.md ("Layers: who may import
whom"); this module parses that table, reads the imports of every module with `ast` (imports
inside functions and under `if TYPE_CHECKING:` count: a cycle or a wrong-way import hidden in
a function is still one), and fails on

* a module no row of the table places in a layer,
* an import the table does not allow, unless it is in `ALLOWED`,
* an import cycle, unless it is in `ALLOWED_CYCLES`,
* an entry of `ALLOWED` or `ALLOWED_CYCLES` that no longer exists, so the lists stay honest
  and only shrink.

Dynamic imports (`importlib.import_module(name)`) are not read: `schedlang/__init__.py` uses
one for its lazy re-exports, which the api layer may import anyway.

`python3 tests/test_layers.py` prints the cross-layer imports and the cycles as read.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "internals.md"

# Imports the table forbids that are still in the tree, each with what removes it.
# (importer, imported) -> why it is still here; imported "*": every such import of that
# importer. Delete a line when its imports are gone.
ALLOWED: dict[tuple[str, str], str] = {
    # bench/ profiles internal stages directly instead of through the public API; `*` lists
    # every such import of one script. Each leaves when the api can report the stage it times.
    ("bench.boot_robustness", "*"): "boots the sandbox itself",
    ("bench.checker_scale", "*"): "times the checker's rules alone",
    ("bench.compile_speed", "*"): "times the front end, code generation and clang apart",
    ("bench.estimate_vs_verifier", "*"): "reads the checker's instruction estimates",
    ("bench.executor", "schedlang.benchmark.executor"): "times the two executors themselves",
    ("bench.frontend", "*"): "times the parser and the front end alone",
    ("bench.fuzz", "*"): "generates, checks and compiles programs",
    ("bench.fuzz_sim", "*"): "runs a campaign's policies alone on the machine, budgeted",
    ("bench.rules", "*"): "times each rule alone",
    ("bench.runtime", "*"): "times the measurement stages",
    ("bench.sim_backends", "*"): "times the interpreter's and the JIT's compile and calls",
}

# Import cycles still in the tree, as the import that closes each (the one made inside a
# function to dodge the circular import at load time) -> what breaks the cycle. With these
# imports taken out the graph must have no cycle; each must still exist and still close one.
ALLOWED_CYCLES: dict[tuple[str, str], str] = {
    ("schedlang.passes.exprs", "schedlang.passes.typecheck"): (
        "typecheck -> exprs -> typecheck (resolve_type) and exprs -> calls -> exprs "
        "(check_call): the expression checker, call checking and type resolution call one "
        "another; being edited by other work"
    ),
    ("schedlang.passes.exprs", "schedlang.passes.calls"): "as above",
}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    path: Path
    line: int
    where: str  # "top", "function" or "TYPE_CHECKING"

    def __str__(self) -> str:
        extra = "" if self.where == "top" else f" (inside {self.where})"
        return (
            f"{self.path.relative_to(ROOT)}:{self.line}: {self.importer} -> {self.imported}{extra}"
        )


@dataclass(frozen=True)
class Layer:
    name: str
    modules: tuple[str, ...]  # "a.b" is that module, "a.b.*" the package and all below
    may_import: frozenset[str]


# ---------------------------------------------------------------------------- the table


def read_layers(text: str) -> list[Layer]:
    """The rows of the layer table in docs/internals.md."""
    rows = []
    in_table = False
    for line in text.splitlines():
        if line.startswith("| layer | modules | may import |"):
            in_table = True
            continue
        if not in_table:
            continue
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if set(cells[0]) <= {"-", " "}:
            continue
        name, modules, may = cells
        may_import = frozenset(m.strip() for m in may.split(",") if m.strip() not in ("", "—"))
        rows.append(Layer(name, tuple(re.findall(r"`([^`]+)`", modules)), may_import))
    return rows


def layer_of(module: str, layers: list[Layer]) -> Layer | None:
    """The layer whose entry matches `module` most specifically (longest match)."""
    best: tuple[int, Layer] | None = None
    for layer in layers:
        for entry in layer.modules:
            if entry.endswith(".*"):
                base = entry[:-2]
                hit = module == base or module.startswith(base + ".")
                score = len(base)
            else:
                hit, score = module == entry, len(entry) + 1  # exact beats a package of that name
            if hit and (best is None or score > best[0]):
                best = (score, layer)
    return best[1] if best else None


# ---------------------------------------------------------------------------- the imports


def module_files() -> dict[str, Path]:
    """Every Python module of the package and of bench/, once each.

    The top-level folders backends/, runtime/, grammar/ and stdlib/ are packages of schedlang
    through symlinks inside schedlang/; walking the real folders (never following links) sees
    each file under one name."""
    roots = {"schedlang": ROOT / "schedlang", "bench": ROOT / "bench"}
    for link in (ROOT / "schedlang").iterdir():
        if link.is_symlink() and link.is_dir():
            roots[f"schedlang.{link.name}"] = link.resolve()
    files = {}
    for prefix, folder in roots.items():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder)
            if any((folder / part).is_symlink() for part in rel.parents if part != Path(".")):
                continue  # reached through a link: counted under its own root
            parts = [prefix, *rel.with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            files[".".join(parts)] = path
    return files


class _Reader(ast.NodeVisitor):
    def __init__(self, module: str, path: Path, is_package: bool, known: set[str]) -> None:
        self.module, self.path, self.is_package, self.known = module, path, is_package, known
        self.where = "top"
        self.found: list[Import] = []

    def _inside(self, where: str, nodes: list[ast.stmt]) -> None:
        outer, self.where = self.where, (where if self.where == "top" else self.where)
        for node in nodes:
            self.visit(node)
        self.where = outer

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._inside("function", node.body)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_If(self, node: ast.If) -> None:
        if "TYPE_CHECKING" in ast.unparse(node.test):
            self._inside("TYPE_CHECKING", node.body)
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def _add(self, name: str, line: int) -> None:
        if name.split(".")[0] in ("schedlang", "bench"):
            self.found.append(Import(self.module, name, self.path, line, self.where))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.module.split(".")
            if not self.is_package:
                base.pop()
            base = base[: len(base) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        for alias in node.names:
            sub = f"{source}.{alias.name}"
            self._add(sub if sub in self.known else source, node.lineno)


def read_imports(module: str, path: Path, known: set[str]) -> list[Import]:
    reader = _Reader(module, path, path.name == "__init__.py", known)
    reader.visit(ast.parse(path.read_text(), str(path)))
    return reader.found


def all_imports() -> list[Import]:
    files = module_files()
    known = set(files)
    return [i for m, p in files.items() for i in read_imports(m, p, known) if i.imported != m]


def violations(imports: list[Import], layers: list[Layer]) -> dict[tuple[str, str], list[Import]]:
    """Imports whose target layer is neither the importer's own nor one its row names."""
    found: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for imp in imports:
        src, dst = layer_of(imp.importer, layers), layer_of(imp.imported, layers)
        if src is None or dst is None:
            continue  # reported by test_every_module_has_a_layer
        if dst.name != src.name and dst.name not in src.may_import:
            found[(imp.importer, imp.imported)].append(imp)
    return dict(found)


def import_graph(imports: list[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for imp in imports:
        graph[imp.importer].add(imp.imported)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = {start}, [start]
    while todo:
        for w in graph.get(todo.pop(), ()):
            if w == goal:
                return True
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return False


# ---------------------------------------------------------------------------- the tests

LAYERS = read_layers(DOC.read_text())
IMPORTS = all_imports()


def test_the_table_is_read() -> None:
    names = [layer.name for layer in LAYERS]
    assert names[:4] == ["shared", "ir", "frontend", "backend"]
    assert len(names) == len(set(names))
    for layer in LAYERS:
        assert layer.modules, layer.name
        assert layer.may_import <= set(names), f"{layer.name} names an unknown layer"
        assert layer.name not in layer.may_import
    by_name = {layer.name: layer for layer in LAYERS}
    assert "frontend" not in by_name["backend"].may_import
    assert layer_of("schedlang.runtime.provision", LAYERS) is by_name["host"]
    assert layer_of("schedlang.runtime.libbpf", LAYERS) is by_name["guest"]
    assert layer_of("schedlang.backends.artifact", LAYERS) is by_name["artifact"]
    assert layer_of("schedlang", LAYERS) is by_name["api"]
    assert layer_of("schedlang.nonesuch", LAYERS) is None


def test_the_reader_sees_hidden_imports(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text(
        "from typing import TYPE_CHECKING\n"
        "from schedlang import ir, source\n"
        "from . import sibling\n"
        "if TYPE_CHECKING:\n"
        "    from schedlang.ast import Scheduler\n"
        "def f():\n"
        "    import schedlang.checker\n"
        "    from schedlang.backends.bpf.lower import Lowerer\n"
    )
    known = {"schedlang.ir", "schedlang.source", "schedlang.passes.sibling"}
    got = [(i.imported, i.where) for i in read_imports("schedlang.passes.m", src, known)]
    assert got == [
        ("schedlang.ir", "top"),
        ("schedlang.source", "top"),
        ("schedlang.passes.sibling", "top"),
        ("schedlang.ast", "TYPE_CHECKING"),
        ("schedlang.checker", "function"),
        ("schedlang.backends.bpf.lower", "function"),
    ]


def test_every_module_has_a_layer() -> None:
    modules = set(module_files())
    assert "schedlang.backends.bpf.emit" in modules and "schedlang.runtime.loader" in modules
    unplaced = sorted(m for m in modules if layer_of(m, LAYERS) is None)
    assert unplaced == [], "add these to a row of the layer table in docs/internals.md"


def _listed(key: tuple[str, str]) -> bool:
    return key in ALLOWED or (key[0], "*") in ALLOWED


def test_imports_follow_the_layers() -> None:
    found = violations(IMPORTS, LAYERS)
    new = [str(i) for key in sorted(found) if not _listed(key) for i in found[key]]
    assert new == [], (
        "imports against the layer rules of docs/internals.md (move the shared piece to the "
        "shared layer, or pass the data in, rather than adding to ALLOWED):\n" + "\n".join(new)
    )


def test_allowed_violations_still_exist() -> None:
    found = set(violations(IMPORTS, LAYERS))
    importers = {importer for importer, _ in found}
    gone = sorted(
        key
        for key in ALLOWED
        if (key[1] == "*" and key[0] not in importers) or (key[1] != "*" and key not in found)
    )
    assert gone == [], f"fixed: delete these from ALLOWED in {__file__}: {gone}"


def test_no_import_cycles() -> None:
    graph = import_graph(IMPORTS)
    for importer, imported in ALLOWED_CYCLES:
        graph[importer].discard(imported)
    new = [" <-> ".join(sorted(c)) for c in cycles(graph)]
    assert new == [], "import cycles (imports inside functions count):\n" + "\n".join(new)


def test_allowed_cycles_still_exist() -> None:
    graph = import_graph(IMPORTS)
    gone = [
        edge
        for edge in sorted(ALLOWED_CYCLES)
        if edge[1] not in graph[edge[0]] or not reaches(graph, edge[1], edge[0])
    ]
    assert gone == [], f"no longer a cycle: delete these from ALLOWED_CYCLES in {__file__}: {gone}"


def main() -> None:
    """Print every cross-layer import, marking the ones against the rules, and the cycles."""
    bad = violations(IMPORTS, LAYERS)
    for imp in IMPORTS:
        src, dst = layer_of(imp.importer, LAYERS), layer_of(imp.imported, LAYERS)
        if src is not dst:
            mark = "  " if (imp.importer, imp.imported) not in bad else "!!"
            names = f"{src.name if src else '?'} -> {dst.name if dst else '?'}"
            print(f"{mark} {names:22} {imp}")
    for c in cycles(import_graph(IMPORTS)):
        print("cycle:", " <-> ".join(sorted(c)))


if __name__ == "__main__":
    sys.exit(main())
