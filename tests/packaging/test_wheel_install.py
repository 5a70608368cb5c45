"""The wheel, installed into a new virtual environment with empty caches, runs the CLI.

Every other test runs against the checkout (editable install, PYTHONPATH), where a
dependency that happens to be installed, or a data file the wheel leaves out, goes
unnoticed. A fresh machine has only what the wheel ships and pyproject declares: setup once
ended in a traceback there because lark's strict mode needed `interegular`, which was not
declared. So this module builds the wheel from a copy of the source, installs it (and the
dependencies it declares, from the package index) into a new venv in a fresh temporary
directory, with HOME, TMPDIR, XDG_CACHE_HOME and PIP_CACHE_DIR all empty and the working
directory outside the checkout, and runs the installed `schedlang` as a user would.

Nothing here skips: a wheel that cannot be built or installed fails every test. The one
exception is compiling to a BPF object, which needs clang (skipped with the reason).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from schedlang.backends.bpf import build
from schedlang.cli import SUBCOMMANDS

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(ROOT.glob("examples/*.sched"))
STDLIB = sorted(ROOT.glob("stdlib/*.sched"))

# Files inside the package folders (symlinked ones included) that the wheel leaves out on
# purpose, with the reason. Anything else missing from the wheel is a packaging bug.
NOT_SHIPPED: dict[str, str] = {}  # path -> why a package file stays out of the wheel
# Build products and caches a checkout may hold; the copy the wheel is built from skips them
# so that a stale build/ cannot hide a file the source no longer has (or add one it lacks).
NOT_SOURCE = (".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis")
NOT_SOURCE += (".benchmarks", "out")
# How this host reaches the package index (proxies, CA bundles, index and wheel locations);
# passed through because it says where packages come from, never which ones are present.
NETWORK_ENV = re.compile(
    r"(?i)^((https?|no|all)_proxy|ssl_cert_(file|dir)|requests_ca_bundle"
    r"|pip_(cert|index_url|extra_index_url|trusted_host|find_links|default_timeout))$"
)
TIMEOUT_S = 300


@dataclass(frozen=True)
class Installed:
    """The wheel built from this checkout, installed in a venv nothing else has touched."""

    wheel: Path
    venv: Path
    env: dict[str, str]
    cwd: Path

    def run(self, *args: str, program: str = "schedlang") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / program), *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )


def _must(cmd: list[str], what: str, env: dict[str, str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    if proc.returncode != 0:
        pytest.fail(
            f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    empty = {name: base / name for name in ("home", "tmp", "xdg-cache", "pip-cache", "work")}
    for path in empty.values():
        path.mkdir()
    env = {k: v for k, v in os.environ.items() if NETWORK_ENV.match(k)}
    env.update(
        PATH=os.environ.get("PATH", "/usr/bin:/bin"),  # clang, for `compile`
        LANG="C.UTF-8",
        HOME=str(empty["home"]),
        TMPDIR=str(empty["tmp"]),
        XDG_CACHE_HOME=str(empty["xdg-cache"]),
        PIP_CACHE_DIR=str(empty["pip-cache"]),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    source = base / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    dist = base / "dist"
    pip = [sys.executable, "-m", "pip"]
    _must(
        [*pip, "wheel", "--no-deps", "-w", str(dist), str(source)], "building the wheel", env, base
    )
    wheels = list(dist.glob("schedlang-*.whl"))
    assert len(wheels) == 1, f"expected one schedlang wheel in {dist}, found {wheels}"
    venv = base / "venv"
    # No pip inside the venv (ensurepip alone takes longer than the rest): this Python's pip
    # installs into it with --python, resolving the wheel's declared dependencies afresh.
    _must(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], "creating the venv", env, base
    )
    _must(
        [*pip, "--python", str(venv / "bin" / "python"), "install", str(wheels[0])],
        "installing the wheel",
        env,
        base,
    )
    return Installed(wheels[0], venv, env, empty["work"])


def _package_files() -> set[str]:
    """Every file under schedlang/, following the symlinked folders as setuptools does."""
    found = set()
    for dirpath, dirnames, files in os.walk(ROOT / "schedlang", followlinks=True):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in files:
            found.add(str((Path(dirpath) / name).relative_to(ROOT)))
    return found


def test_the_wheel_ships_every_file_of_the_package(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as whl:
        shipped = {n for n in whl.namelist() if not n.startswith("schedlang-")}
    expected = _package_files() - set(NOT_SHIPPED)
    assert not expected - shipped, f"missing from the wheel: {sorted(expected - shipped)}"
    assert not shipped - expected, f"in the wheel but not the source: {sorted(shipped - expected)}"
    # The data the CLI reads at run time, named so that a change to the globs above is seen.
    for data in (
        "schedlang/grammar/schedlang.lark",
        "schedlang/backends/bpf/templates/policy.bpf.c.j2",
        "schedlang/backends/bpf/templates/schedlang.bpf.h.j2",
        "schedlang/runtime/pins.json",
        "schedlang/runtime/guest/init.sh",
        "schedlang/stdlib/simple_fifo.sched",
        "schedlang/benchmark/workloads/hackbench.toml",
    ):
        assert data in shipped


def test_the_venv_imports_the_installed_copy(installed: Installed) -> None:
    proc = installed.run("-c", "import schedlang; print(schedlang.__file__)", program="python")
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).is_relative_to(installed.venv), proc.stdout


@pytest.mark.parametrize("command", [None, *SUBCOMMANDS])
def test_help(installed: Installed, command: str | None) -> None:
    proc = installed.run(*([command] if command else []), "--help")
    assert proc.returncode == 0, proc.stderr
    usage = f"usage: schedlang {command}" if command else "usage: schedlang"
    assert proc.stdout.startswith(usage), proc.stdout
    assert proc.stderr == ""


def test_check_proves_the_examples_and_the_stdlib(installed: Installed) -> None:
    files = [*EXAMPLES, *STDLIB]
    assert len(EXAMPLES) >= 5 and len(STDLIB) >= 5
    proc = installed.run("check", *map(str, files))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for path in files:
        assert f"{path}: ok" in proc.stdout, f"{path} not reported ok:\n{proc.stdout}"


def test_check_reports_a_bad_policy_with_exit_1(installed: Installed) -> None:
    bad = installed.cwd / "bad.sched"
    bad.write_text('scheduler bad "x" {\n    on enqueue(t, flags) {\n    }\n}\n')
    proc = installed.run("check", "bad.sched")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.startswith("bad.sched:3:5: error[lost-task]: "), proc.stdout
    assert "Traceback" not in proc.stderr


def test_compile_writes_a_bpf_object(installed: Installed) -> None:
    try:
        build.find_clang()
    except build.ClangError as exc:
        pytest.skip(f"compiling needs clang: {exc}")
    out = installed.cwd / "out"
    proc = installed.run("compile", str(ROOT / "examples" / "fair.sched"), "-o", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    written = {p.name for p in out.iterdir()}
    assert written == {"fair.bpf.c", "schedlang.bpf.h", "fair.bpf.o", "fair.json"}
    elf = (out / "fair.bpf.o").read_bytes()
    assert elf[:4] == b"\x7fELF" and int.from_bytes(elf[18:20], "little") == 247  # EM_BPF
