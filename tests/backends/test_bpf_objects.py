"""Every example and library policy compiles with the real clang into a well-formed object.

"Well-formed" is what libbpf and the loader rely on: an ELF BPF object with the struct_ops
map in `.struct_ops.link`, the tunables and stats sections, BTF, a GPL license, one program
section per callback, and a manifest whose offsets are the object's own (read from its BTF).
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

import schedlang
from schedlang.backends.bpf import build, compat
from schedlang.backends.bpf.cnames import derived, ident
from schedlang.backends.bpf.manifest import STATS_STRUCT
from schedlang.backends.bpf.objfile import ObjectFile
from schedlang.runtime import provision

ROOT = Path(__file__).resolve().parents[2]

READELF = shutil.which("llvm-readelf-19") or shutil.which("llvm-readelf")


def test_there_are_policies_to_compile() -> None:
    examples = list((ROOT / "examples").glob("*.sched"))
    assert len(examples) == 5, [p.name for p in examples]
    assert len(list((ROOT / "stdlib").glob("*.sched"))) >= 12


@pytest.mark.clang
def test_policy_compiles_to_a_well_formed_object(
    policy: Path, tmp_path: Path, clang: build.Clang
) -> None:
    art = schedlang.compile(policy, outdir=tmp_path)
    name = art.name
    assert art.object_path.exists() and art.c_path is not None and art.c_path.exists()
    assert json.loads(art.manifest_path.read_text()) == art.manifest
    obj = ObjectFile.read(art.object_path)
    for section in (".struct_ops.link", ".rodata.params", ".data.stats", ".BTF", "license"):
        assert section in obj.sections, f"{name}: no {section}"
    assert obj.section_bytes("license").rstrip(b"\0") == b"GPL"

    # Offsets in the manifest are the compiled struct's offsets.
    stats = obj.struct_layout(STATS_STRUCT)
    assert stats == {f["name"]: f["offset"] for f in art.manifest["stats"]["fields"]}
    assert obj.sections[".data.stats"].size == art.manifest["stats"]["size"]
    if art.manifest["params"]:
        params = obj.struct_layout(f"{name}_params")
        # (a param named like a C keyword is marked in C: cnames.ident)
        assert params == {ident(p["name"]): p["offset"] for p in art.manifest["params"]}

    # One program per callback in the ops table; init is sleepable (scx_bpf_create_dsq).
    programs = obj.program_sections()
    assert f"struct_ops.s/{derived(name, 'init')}" in programs
    for op in ("runnable", "running", "exit"):
        assert f"struct_ops/{derived(name, op)}" in programs
    assert all(n > 0 for n in programs.values())
    assert art.manifest["toolchain"]["clang"] == clang.version
    assert art.manifest["hashes"]["object_sha256"]


@pytest.mark.clang
def test_llvm_readelf_agrees_on_the_sections(tmp_path: Path, clang: build.Clang) -> None:
    if READELF is None:
        pytest.skip("llvm-readelf-19 not installed (apt-get install llvm-19)")
    art = schedlang.compile(ROOT / "examples" / "fifo.sched", outdir=tmp_path)
    out = subprocess.run([READELF, "-S", str(art.object_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    ours = ObjectFile.read(art.object_path).sections
    for section in (".struct_ops.link", ".rodata.params", ".data.stats", ".BTF"):
        assert section in out.stdout
        line = next(ln for ln in out.stdout.splitlines() if f" {section} " in ln)
        size = int(line.split()[line.split().index(section) + 4], 16)
        assert size == ours[section].size, section


@pytest.mark.clang
@pytest.mark.parametrize("level", list(compat.KERNEL_APIS))
def test_every_kernel_api_level_compiles(
    example: Path, level: str, tmp_path: Path, clang: build.Clang
) -> None:
    art = schedlang.compile(example, outdir=tmp_path, kernel_api=level)
    assert art.manifest["kernel_api"] == compat.KERNEL_APIS[level].label
    # The kfuncs the object asks libbpf for: the header offers every spelling, and the
    # level (SL_KERNEL_API) decides which reach the object.
    kfuncs = ObjectFile.read(art.object_path).externs()
    inserts = {"scx_bpf_dsq_insert", "scx_bpf_dsq_insert_vtime", "__scx_bpf_dsq_insert_vtime"}
    old_names = {"scx_bpf_dispatch", "scx_bpf_dispatch_vtime", "scx_bpf_consume"}
    if level == "compat":
        # Every spelling, newest first, guarded by ksym checks (the 6.12 names included).
        assert kfuncs & old_names and kfuncs & inserts, kfuncs
    if level == "6.12":
        assert not kfuncs & (inserts | {"scx_bpf_dsq_move_to_local", "scx_bpf_now"}), kfuncs
    if level in ("6.13", "6.14", "6.19", "7.1"):
        assert not kfuncs & old_names, kfuncs
    if level in ("6.13", "6.14"):
        assert not any(k.startswith("__scx") or "___v2" in k for k in kfuncs), kfuncs


@pytest.mark.clang
def test_param_override_is_the_initial_value_of_rodata_params(
    tmp_path: Path, clang: build.Clang
) -> None:
    art = schedlang.compile(ROOT / "examples" / "fair.sched", {"slice": "3ms"}, tmp_path)
    (slice_param,) = art.manifest["params"]
    assert slice_param["value"] == 3_000_000 and slice_param["default"] == 5_000_000
    data = ObjectFile.read(art.object_path).section_bytes(".rodata.params")
    assert struct.unpack_from("<Q", data, slice_param["offset"])[0] == 3_000_000


@pytest.mark.clang
def test_libbpf_opens_every_example(tmp_path: Path, clang: build.Clang) -> None:
    """libbpf parses the object (ELF, BTF, struct_ops, maps) without a kernel."""
    toolchain = provision.cached_toolchain()
    if toolchain is None:
        pytest.skip("libbpf >= 1.4 not provisioned: run `schedlang sandbox fetch`")
    from schedlang.runtime import libbpf

    lib = libbpf.Libbpf(toolchain.libbpf)
    for path in sorted((ROOT / "examples").glob("*.sched")):
        art = schedlang.compile(path, outdir=tmp_path)
        obj = lib.bpf_object__open_file(str(art.object_path).encode(), None)
        assert obj, f"libbpf could not open {art.object_path}"
        try:
            for map_name in (art.manifest["ops_map"], ".rodata.params", ".data.stats"):
                assert lib.bpf_object__find_map_by_name(obj, map_name.encode()), map_name
        finally:
            lib.bpf_object__close(obj)


@pytest.mark.clang
def test_names_that_are_c_keywords_or_backend_names_still_compile(
    tmp_path: Path, clang: build.Clang
) -> None:
    """`param long`, `queue stats`, `var int`, `fn task_ctx`, ...: renamed in C, not in the
    manifest (the loader finds params by offset)."""
    art = schedlang.compile(Path(__file__).parent / "data" / "keywords.sched", outdir=tmp_path)
    assert [p["name"] for p in art.manifest["params"]] == ["long"]
    assert art.manifest["queues"][0]["name"] == "stats"
    text = art.c_path.read_text() if art.c_path else ""
    assert "params.long__u" in text and "vars.int__u" in text and "task_ctx__u__fn(t)" in text


@pytest.mark.clang
def test_generated_c_has_no_compiler_warnings(
    policy: Path, tmp_path: Path, clang: build.Clang
) -> None:
    art = schedlang.compile(policy, outdir=tmp_path, emit="c")
    assert art.c_path is not None
    cmd = [clang.path, *build.CFLAGS, "-Wall", "-c", art.c_path.name, "-o", "/dev/null"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


@pytest.mark.clang
def test_a_verifier_complaint_maps_to_the_policy_line(tmp_path: Path, clang: build.Clang) -> None:
    """The runtime maps `@ NAME.bpf.c:LINE` in a verifier log through our line_map."""
    from schedlang.runtime.verifier_log import error_position

    art = schedlang.compile(ROOT / "examples" / "fair.sched", outdir=tmp_path)
    c_lines = art.c_path.read_text().splitlines() if art.c_path else []

    def log_at(c_line: int) -> str:
        return (
            f"; {c_lines[c_line - 1].strip()} @ fair.bpf.c:{c_line}\n"
            "16: (79) r1 = *(u64 *)(r0 +0)\nR0 invalid mem access 'map_value_or_null'\n"
        )

    insert = next(i for i, t in enumerate(c_lines, 1) if "sl_insert_vtime(t, DSQ_shared" in t)
    position = error_position(log_at(insert), art.manifest)
    assert position is not None and (position.dsl_line, position.dsl_col) == (13, 9)
    # Code the policy did not write maps to its callback, not to a neighbouring statement.
    record = next(
        i
        for i, t in enumerate(c_lines, 1)
        if t.strip() == "sl_record_wakeup(&task_ctx(t)->runnable_at);"
    )
    position = error_position(log_at(record), art.manifest)
    assert position is not None and position.dsl_line == 20  # `on running(t)`
