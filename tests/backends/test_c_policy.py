"""Hand-written sched_ext C as a policy (`schedlang compile FILE.bpf.c`, `schedlang.compile`):
the gate runs first, clang builds the object, and the manifest is read from the object's BTF.

The C programs: tests/fixtures/c/simple_c.bpf.c (scx_simple-like, `const volatile` tunables in
.rodata, no stats contract), fifo_c.bpf.c (follows the stats contract), and
tests/backends/data/unbounded_c.bpf.c (rejected by the gate).
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import schedlang
from schedlang.backends.artifact import Artifact
from schedlang.backends.bpf import build
from schedlang.backends.bpf.objfile import ObjectFile
from schedlang.compiler import is_c_policy
from schedlang.errors import SchedlangError
from schedlang.runtime import provision

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "c"
SIMPLE = FIXTURES / "simple_c.bpf.c"
UNBOUNDED = Path(__file__).parent / "data" / "unbounded_c.bpf.c"


def _line_of(path: Path, marker: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if marker in line)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schedlang.cli", *args], capture_output=True, text=True, cwd=ROOT
    )


def test_only_c_paths_are_c_policies() -> None:
    assert is_c_policy("x/simple.bpf.c") and is_c_policy(Path("simple.c"))
    assert not is_c_policy("examples/fair.sched") and not is_c_policy('scheduler s "x.c" {\n}')


@pytest.mark.clang
def test_manifest_comes_from_the_objects_btf(tmp_path: Path, clang: build.Clang) -> None:
    art = schedlang.compile(SIMPLE, outdir=tmp_path)
    m = art.manifest
    assert (art.name, m["policy"], m["ops_map"], m["language"]) == (
        "simple_c",
        "simple_c",
        "simple_ops",
        "c",
    )
    assert art.object_path == tmp_path / "simple_c.bpf.o"
    assert art.manifest_path == tmp_path / "simple_c.json"
    assert json.loads(art.manifest_path.read_text()) == m
    assert Artifact.from_object(art.object_path).manifest == m
    # `const volatile` globals in .rodata, placed by the symbol table, typed by BTF.
    assert [(p["name"], p["type"], p["default"], p["offset"], p["size"]) for p in m["params"]] == [
        ("slice_ns", "u64", 20_000_000, 0, 8),
        ("fifo_sched", "bool", 0, 8, 1),
    ]
    assert all(p["section"] == ".rodata" for p in m["params"])
    assert (m["params"][0]["min"], m["params"][0]["max"]) == (0, 2**64 - 1)
    assert (m["params"][1]["min"], m["params"][1]["max"]) == (0, 1)
    # No stats contract: no stats in the manifest; no .timeout_ms: the kernel's default.
    assert "stats" not in m and m["timeout_ms"] is None
    assert m["toolchain"]["clang"] == clang.version and m["hashes"]["object_sha256"]
    # The object's line info names the file as the verifier will print it.
    assert b"simple_c.bpf.c" in ObjectFile.read(art.object_path).section_bytes(".BTF")


@pytest.mark.clang
def test_a_policy_following_the_stats_contract_gets_its_stats(
    tmp_path: Path, clang: build.Clang
) -> None:
    """fifo_c's hand-written manifest is the reference: the derived stats must equal it."""
    shutil.copyfile(FIXTURES / "scx_fixture.bpf.h", tmp_path / "scx_fixture.bpf.h")
    shutil.copyfile(FIXTURES / "fifo_c.bpf.c", tmp_path / "fifo_c.bpf.c")
    art = schedlang.compile(tmp_path / "fifo_c.bpf.c", outdir=tmp_path / "out")
    reference = json.loads((FIXTURES / "fifo_c.json").read_text())
    assert art.manifest["stats"] == reference["stats"]
    assert art.manifest["stats_section"] == ".data.stats"
    assert (art.manifest["ops_map"], art.manifest["timeout_ms"]) == ("fifo_c_ops", 5000)
    # A `const volatile` struct gives one tunable per member, in its own section.
    (param,) = art.manifest["params"]
    assert (param["name"], param["section"], param["offset"], param["default"]) == (
        "slice_ns",
        ".rodata.params",
        0,
        20_000_000,
    )


@pytest.mark.clang
def test_param_override_is_written_into_the_object(tmp_path: Path, clang: build.Clang) -> None:
    art = schedlang.compile(SIMPLE, params={"slice_ns": "0x4c_4b40", "fifo_sched": "true"},
                            outdir=tmp_path)  # fmt: skip
    values = {p["name"]: (p["default"], p["value"]) for p in art.manifest["params"]}
    assert values == {"slice_ns": (20_000_000, 5_000_000), "fifo_sched": (0, 1)}
    rodata = ObjectFile.read(art.object_path).section_bytes(".rodata")
    assert struct.unpack_from("<QB", rodata, 0) == (5_000_000, 1)
    assert art.manifest["hashes"]["object_sha256"] == _sha256(art.object_path)


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.clang
@pytest.mark.parametrize(
    ("params", "line_marker", "message"),
    [
        ({"slise_ns": "1"}, None, "no tunable `slise_ns` (tunables: slice_ns, fifo_sched)"),
        ({"fifo_sched": "2"}, "const volatile bool fifo_sched", "`2` is not a bool"),
        ({"slice_ns": "fast"}, "const volatile u64 slice_ns", "`fast` is not a u64 value"),
    ],
)
def test_bad_param_override_is_a_diagnostic(
    tmp_path: Path, clang: build.Clang, params: dict[str, str], line_marker: str | None,
    message: str,
) -> None:  # fmt: skip
    with pytest.raises(SchedlangError) as err:
        schedlang.compile(SIMPLE, params=params, outdir=tmp_path)
    (d,) = err.value.diagnostics
    assert d.code == "C012" and message in d.message
    assert list(tmp_path.iterdir()) == []  # no object without its manifest
    assert d.line == (_line_of(SIMPLE, line_marker) if line_marker else 1)


def test_gate_finding_is_a_diagnostic_and_builds_nothing(tmp_path: Path) -> None:
    with pytest.raises(SchedlangError) as err:
        schedlang.compile(UNBOUNDED, outdir=tmp_path)
    (d,) = err.value.diagnostics
    line = _line_of(UNBOUNDED, "for (i = 0; i < batch; i++)")
    assert (d.code, d.file, d.line, d.col) == ("C001", str(UNBOUNDED), line, 2)
    assert d.hints and "compile-time constant" in d.hints[0]
    assert list(tmp_path.iterdir()) == []


def test_cli_reports_the_gate_finding_at_file_line_col(tmp_path: Path) -> None:
    line = _line_of(UNBOUNDED, "for (i = 0; i < batch; i++)")
    proc = _cli("compile", str(UNBOUNDED), "-o", str(tmp_path))
    assert proc.returncode == 1
    assert f"{UNBOUNDED}:{line}:2: error[C001]: loop without a constant bound" in proc.stdout
    as_json = json.loads(
        _cli("compile", str(UNBOUNDED), "-o", str(tmp_path), "--format", "json").stdout
    )
    assert as_json["ok"] is False
    assert [(d["code"], d["line"], d["col"]) for d in as_json["diagnostics"]] == [("C001", line, 2)]


@pytest.mark.clang
def test_clang_error_is_a_diagnostic_at_its_line(tmp_path: Path, clang: build.Clang) -> None:
    broken = tmp_path / "broken.bpf.c"
    broken.write_text(SIMPLE.read_text().replace("\treturn cpu;", "\treturn cpu_;"))
    with pytest.raises(SchedlangError) as err:
        schedlang.compile(broken, outdir=tmp_path / "out")
    (d,) = err.value.diagnostics
    assert (d.code, d.file) == ("C010", str(broken))
    assert (d.line, d.col) == (_line_of(broken, "return cpu_;"), 9)
    assert "undeclared identifier 'cpu_'" in d.message


@pytest.mark.clang
def test_cli_compile_c(tmp_path: Path, clang: build.Clang) -> None:
    proc = _cli("compile", str(SIMPLE), "-o", str(tmp_path), "-p", "slice_ns=3000000")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (
        "compiled simple_c (ops simple_ops; tunables: slice_ns=3000000, fifo_sched=0" in proc.stdout
    )
    assert (tmp_path / "simple_c.bpf.o").exists() and (tmp_path / "simple_c.json").exists()
    assert _cli("compile", str(SIMPLE), "--emit", "c").returncode == 2


@pytest.mark.clang
def test_libbpf_opens_the_c_policy(tmp_path: Path, clang: build.Clang) -> None:
    toolchain = provision.cached_toolchain()
    if toolchain is None:
        pytest.skip("libbpf not provisioned: run `schedlang sandbox fetch`")
    from schedlang.runtime import libbpf

    art = schedlang.compile(SIMPLE, outdir=tmp_path)
    lib = libbpf.Libbpf(toolchain.libbpf)
    obj = lib.bpf_object__open_file(str(art.object_path).encode(), None)
    assert obj
    try:
        for name in (art.manifest["ops_map"], ".rodata"):
            assert lib.bpf_object__find_map_by_name(obj, name.encode()), name
    finally:
        lib.bpf_object__close(obj)


def test_a_bug_while_building_c_exits_3_not_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from schedlang.backends.bpf import cpolicy
    from schedlang.cli import main

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("reader exploded")

    monkeypatch.setattr(cpolicy, "compile_c_policy", explode)
    assert main(["compile", str(SIMPLE), "-o", str(tmp_path), "--format", "json"]) == 3
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["status"] == "internal-error"
    assert (doc["error"]["exception"], doc["error"]["message"]) == (
        "RuntimeError",
        "reader exploded",
    )
    assert "internal error while compiling" in captured.err


def test_run_refuses_c_the_gate_rejects_before_booting() -> None:
    line = _line_of(UNBOUNDED, "for (i = 0; i < batch; i++)")
    proc = _cli("run", str(UNBOUNDED))
    assert proc.returncode == 1
    assert f"{UNBOUNDED} does not compile:" in proc.stderr
    assert f"{UNBOUNDED}:{line}:2: error[C001]" in proc.stderr
    assert "measuring" not in proc.stderr  # nothing was booted


@pytest.mark.clang
def test_two_ops_tables_is_a_diagnostic_at_the_second(tmp_path: Path, clang: build.Clang) -> None:
    two = tmp_path / "two.bpf.c"
    two.write_text(
        SIMPLE.read_text() + '\nSEC(".struct_ops.link")\nstruct sched_ext_ops other_ops = {\n'
        '\t.dispatch = (void *)simple_dispatch,\n\t.name = "other",\n};\n'
    )
    with pytest.raises(SchedlangError) as err:
        schedlang.compile(two, outdir=tmp_path / "out")
    (d,) = err.value.diagnostics
    assert d.code == "C011" and "2 `struct sched_ext_ops` variable(s)" in d.message
    assert (d.line, d.col) == (_line_of(two, "struct sched_ext_ops other_ops"), 22)
    assert list((tmp_path / "out").iterdir()) == []
