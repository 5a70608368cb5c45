"""pyproject.toml declares exactly what the code imports, so a fresh install is complete.

A fresh machine gets only what pyproject declares; a dependency that is imported but not
declared works here (it happens to be installed) and breaks there, and one declared but
never imported is dead weight every install pays for. Both directions are checked from the
source (following the symlinked folders inside schedlang/, as the wheel does).
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import importlib.util
import os
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Package modules that exist for the tests and may import dev dependencies. Each says so in
# its docstring; nothing the CLI or the public API imports may be listed here.
TEST_SUPPORT = {"schedlang/fuzzgen/strategy.py"}
# Dev tools used as programs rather than imported: scripts/test runs `python -m NAME`.
RUN_AS_MODULE = re.compile(r"-m (\w+)")


def _dist(requirement: str) -> str:
    """`lark[interegular]>=1.2` -> `lark` (normalised as importlib.metadata names it)."""
    m = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert m, requirement
    return m[0].lower().replace("_", "-")


def _declared() -> tuple[set[str], set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_dist(r) for r in project["dependencies"]}
    dev = {_dist(r) for r in project["optional-dependencies"]["dev"]}
    return runtime, dev


def _optional() -> set[str]:
    """The extras other than dev (`schedlang[ray]`): imported only when a user asks for them,
    so they need not be installed here, and a distribution's import name is its own."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    return {_dist(r) for name, reqs in extras.items() if name != "dev" for r in reqs}


@functools.cache
def _top_level_to_dists() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _local_helper(folder: Path, top: str) -> bool:
    """Whether `top` is a helper module of the tree, not a distribution: one beside the
    importer, or beside a conftest.py above it (pytest puts that folder on sys.path, which is
    how tests/backends/**/ import tests/backends/simhost.py)."""
    if (folder / f"{top}.py").exists():
        return True
    for parent in folder.parents:
        if parent == ROOT.parent:
            return False
        if (parent / f"{top}.py").exists() and (parent / "conftest.py").exists():
            return True
    return False


@functools.cache
def _imports(folder: str) -> dict[str, set[str]]:
    """Third-party distribution -> the files (relative to ROOT) that import it."""
    top_to_dist = _top_level_to_dists()
    found: dict[str, set[str]] = {}
    for dirpath, _, files in os.walk(ROOT / folder, followlinks=True):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = Path(dirpath) / name
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    modules = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    top = module.partition(".")[0]
                    if top in sys.stdlib_module_names or top == "schedlang":
                        continue
                    if _local_helper(Path(dirpath), top):
                        continue
                    dists = top_to_dist.get(top) or ([top] if top in _optional() else None)
                    assert dists, f"{path}: imports {top}, which no installed distribution provides"
                    for dist in dists:
                        key = dist.lower().replace("_", "-")
                        found.setdefault(key, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_runtime_import_is_a_runtime_dependency() -> None:
    runtime, dev = _declared()
    for dist, files in _imports("schedlang").items():
        if dist in runtime or dist in _optional():
            continue
        assert dist in dev and files <= TEST_SUPPORT, (
            f"{dist} is imported by {sorted(files - TEST_SUPPORT) or sorted(files)} but is not in "
            "pyproject's [project] dependencies"
        )


def test_every_runtime_dependency_is_imported() -> None:
    runtime, _ = _declared()
    unused = runtime - set(_imports("schedlang"))
    assert not unused, f"declared in [project] dependencies but never imported: {sorted(unused)}"


def test_tests_and_benchmarks_import_only_declared_packages() -> None:
    runtime, dev = _declared()
    for folder in ("tests", "bench"):
        for dist, files in _imports(folder).items():
            declared = runtime | dev | _optional()
            assert dist in declared, f"{dist} is imported by {sorted(files)} but not declared"


def test_every_dev_dependency_is_imported_or_run() -> None:
    _, dev = _declared()
    used = set(_imports("tests")) | set(_imports("bench")) | set(_imports("schedlang"))
    used |= set(RUN_AS_MODULE.findall((ROOT / "scripts" / "test").read_text()))
    unused = dev - used
    assert not unused, f"declared in the dev extra but never imported or run: {sorted(unused)}"


def _missing_deps() -> object:
    spec = importlib.util.spec_from_file_location(
        "missing_deps", ROOT / "scripts" / "missing_deps.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_setup_probe_sees_absent_old_and_extra_less_installs() -> None:
    """scripts/setup reinstalls when missing_deps says so; it must notice each way a
    requirement can be unmet, and accept the ones this environment meets."""
    missing = _missing_deps().missing  # type: ignore[attr-defined]
    assert missing("no-such-distribution-schedlang>=1")
    assert missing("pytest>=999")
    assert missing("lark[nearley]")  # js2py, which nothing here installs
    assert not missing("lark[interegular]>=1.2")
    assert not missing("pytest>=8")
