"""The loader: params, stats decoding, verifier-log mapping, libbpf version gate (no kernel
needed), and, marked `vm`, the real thing in one sandbox boot: load fifo_c and run hackbench on
it, reject reject_c with its verifier log, watch stall_c get ejected with ERROR_STALL, load
again after that, and check a failed load leaves a loaded scheduler alone."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from c_fixtures import FIXTURES, build

from schedlang.runtime import libbpf, loader, provision
from schedlang.runtime.verifier_log import dsl_position, error_position


def manifest(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


# --- params ----------------------------------------------------------------------------------


def test_param_override_rewrites_its_offset_only() -> None:
    m = manifest("fifo_c")
    initial = struct.pack("<Q", 20_000_000)
    assert loader.encode_params(m, initial, {"slice": 5_000_000}) == struct.pack("<Q", 5_000_000)
    assert loader.decode_params(m, loader.encode_params(m, initial, {})) == {"slice": 20_000_000}


def test_the_loader_command_reads_params_as_run_and_compile_do() -> None:
    """One reader for `--param` (finding #7): a duration with its unit, as in the language."""
    m = manifest("fifo_c")
    assert loader._param_values(m, {"slice": "5ms"}) == {"slice": 5_000_000}
    with pytest.raises(loader.LoadError, match="`5000000ns`"):
        loader._param_values(m, {"slice": "5000000"})
    with pytest.raises(loader.LoadError, match="unknown parameter 'slise'"):
        loader._param_values(m, {"slise": "5ms"})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"slise": 1}, "unknown parameter 'slise' (this policy has: slice)"),
        ({"slice": 10}, "slice=10 is outside [100000, 100000000]"),
        ({"slice": 10**12}, "outside"),
        ({"slice": "5ms"}, "is not an integer"),
        ({"slice": True}, "is not an integer"),
    ],
)
def test_bad_param_is_a_load_error(values: dict[str, Any], message: str) -> None:
    with pytest.raises(loader.LoadError, match=None) as err:
        loader.encode_params(manifest("fifo_c"), bytes(8), values)
    assert message in str(err.value) and err.value.stage == "params"


def test_signed_param_round_trips() -> None:
    m = {"params": [{"name": "bias", "offset": 8, "size": 8, "signed": True, "min": -5, "max": 5}]}
    data = loader.encode_params(m, bytes(16), {"bias": -3})
    assert loader.decode_params(m, data) == {"bias": -3}


def test_c_tunables_of_any_width_in_their_own_sections() -> None:
    """A C policy's tunables: a u64 and a bool in .rodata, an s32 in .rodata.params."""
    m = {
        "params_section": ".rodata",
        "params": [
            {"name": "slice_ns", "offset": 0, "size": 8, "signed": False, "section": ".rodata"},
            {"name": "fifo", "offset": 8, "size": 1, "signed": False, "min": 0, "max": 1,
             "section": ".rodata"},
            {"name": "nice", "offset": 4, "size": 4, "signed": True, "section": ".rodata.params"},
        ],
    }  # fmt: skip
    rodata = loader.encode_params(m, bytes(9), {"slice_ns": 7, "fifo": 1})
    assert rodata == struct.pack("<QB", 7, 1)
    assert loader.decode_params(m, rodata, ".rodata") == {"slice_ns": 7, "fifo": 1}
    other = loader.encode_params(m, bytes(8), {"nice": -20})
    assert loader.decode_params(m, other, ".rodata.params") == {"nice": -20}
    assert loader.param_section(m, m["params"][2]) == ".rodata.params"
    with pytest.raises(loader.LoadError, match=r"fifo=2 is outside \[0, 1\]"):
        loader.encode_params(m, bytes(9), {"fifo": 2})


# --- stats -----------------------------------------------------------------------------------


def test_stats_decoded_per_manifest_fields() -> None:
    stats = manifest("fifo_c")["stats"]
    data = bytearray(stats["size"])
    struct.pack_into("<QQQ", data, 0, 7, 5, 2)
    struct.pack_into("<16Q", data, 24, *range(16))
    struct.pack_into("<Qq", data, 152, 1026, -1)
    data[168 : 168 + 19] = b"runnable task stall"
    decoded = loader.decode_stats(stats["fields"], bytes(data))
    assert decoded["nr_enqueued"] == 7 and decoded["nr_dispatched"] == 5
    assert decoded["wakeup_hist"] == list(range(16))
    assert decoded["exit_kind"] == 1026 and decoded["exit_code"] == -1
    assert decoded["exit_reason"] == "runnable task stall" and decoded["exit_msg"] == ""


def test_fixture_manifests_match_the_compiled_layout(tmp_path: Path) -> None:
    """Manifest offsets and sizes agree with the object's BTF (bpftool reads it)."""
    toolchain = provision.cached_toolchain()
    if toolchain is None:
        pytest.skip("bpftool not provisioned: run `schedlang sandbox fetch`")
    for name in ("fifo_c", "stall_c", "reject_c"):
        artifact = build(name, tmp_path)
        out = _btf_json(toolchain.bpftool, artifact.object_path)
        struct_ = next(t for t in out if t.get("name") == f"{name}_stats")
        offsets = {m["name"]: m["bits_offset"] // 8 for m in struct_["members"]}
        fields = artifact.manifest["stats"]["fields"]
        assert offsets == {f["name"]: f["offset"] for f in fields}
        assert struct_["size"] == artifact.manifest["stats"]["size"]


def _btf_json(bpftool: Path, obj: Path) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [str(bpftool), "-j", "btf", "dump", "file", str(obj)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    types: list[dict[str, Any]] = json.loads(proc.stdout)["types"]
    return types


# --- verifier log ----------------------------------------------------------------------------


def test_verifier_log_maps_to_the_dsl_line() -> None:
    """A real 7.3 verifier log (captured from reject_c) -> C line 43 -> DSL 8:9."""
    log = (FIXTURES / "reject_c.verifier.log").read_text()
    pos = error_position(log, manifest("reject_c"))
    assert pos is not None
    assert (pos.c_file, pos.c_line) == ("reject_c.bpf.c", 43)
    assert (pos.dsl_line, pos.dsl_col) == (8, 9)
    assert pos.message == "R0 invalid mem access 'map_value_or_null'"
    assert pos.c_text.startswith("*count += 1;")


def test_verifier_position_has_the_column_the_kernel_names() -> None:
    """7.x prints "At: PROG @ FILE:LINE:COL" (the object's line info); a C policy has no
    line_map, so its position is the C file's own line and column."""
    log = (FIXTURES / "reject_c.verifier.log").read_text()
    pos = error_position(log, {"language": "c", "line_map": []})
    assert pos is not None
    assert (pos.c_file, pos.c_line, pos.c_col) == ("reject_c.bpf.c", 43, 9)
    assert (pos.dsl_line, pos.dsl_col) == (None, None)


def test_line_map_takes_the_nearest_row_above() -> None:
    rows = [[10, 1, 1], [20, 2, 5], [30, 3, 1]]
    assert dsl_position(rows, 25) == (2, 5)
    assert dsl_position(rows, 30) == (3, 1)
    assert dsl_position(rows, 5) is None


def test_log_without_line_info_has_no_position() -> None:
    assert error_position("libbpf: failed to load object\n", manifest("reject_c")) is None


# --- libbpf ----------------------------------------------------------------------------------


def test_provisioned_libbpf_is_new_enough_and_opens_a_fixture(tmp_path: Path) -> None:
    toolchain = provision.cached_toolchain()
    if toolchain is None:
        pytest.skip("libbpf not provisioned: run `schedlang sandbox fetch`")
    lib = libbpf.Libbpf(toolchain.libbpf)
    assert lib.version >= libbpf.MIN_VERSION
    artifact = build("fifo_c", tmp_path)
    obj = lib.bpf_object__open_file(str(artifact.object_path).encode(), None)
    assert obj, "libbpf could not parse the fixture object"
    try:
        for name in ("fifo_c_ops", ".rodata.params", ".data.stats"):
            assert lib.bpf_object__find_map_by_name(obj, name.encode()), name
    finally:
        lib.bpf_object__close(obj)


def test_old_libbpf_is_refused_with_the_fix() -> None:
    """Bookworm's libbpf 1.1 cannot load sched_ext; it must be refused with the way out.

    Runs in a child process: in this one the provisioned libbpf may already be loaded, and
    dlopen would hand it back for the same soname.
    """
    candidates = [
        Path(p)
        for p in ("/lib/x86_64-linux-gnu/libbpf.so.1", "/usr/lib/x86_64-linux-gnu/libbpf.so.1")
    ]
    system = next((p.resolve() for p in candidates if p.exists()), None)
    if system is None:
        pytest.skip("no system libbpf to compare with")
    code = (
        "import sys; from pathlib import Path; from schedlang.runtime import libbpf\n"
        "try:\n    lib = libbpf.Libbpf(Path(sys.argv[1]))\n"
        "except libbpf.LibbpfError as exc:\n    print('REFUSED', exc)\n"
        "else:\n    print('ACCEPTED', lib.version)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(system)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    if out.stdout.startswith("ACCEPTED"):
        pytest.skip(
            f"system libbpf {system} is new enough ({out.stdout.strip()}); nothing to refuse"
        )
    assert "cannot load sched_ext" in out.stdout and "schedlang sandbox fetch" in out.stdout


def test_missing_object_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(loader.LoadError, match="no such object file"):
        loader.load(tmp_path / "nope.bpf.o", manifest("fifo_c"))


# --- in the sandbox (one boot for all) -------------------------------------------------------

# One boot, two python processes (python starts slowly under TCG): the JSON command line for
# fifo_c with hackbench, then the Python API for everything else.
GUEST_SCRIPT = """
python3 -m schedlang.runtime.loader {d}/fifo_c.bpf.o --param slice=5ms \\
    --run "hackbench -g 2 -l 50" > fifo.json
python3 -c "$GUEST_API_CHECKS" {d} > api.json
cat /sys/kernel/sched_ext/state > final_state
"""

GUEST_API_CHECKS = """
import dataclasses, json, sys, time
from pathlib import Path
from schedlang.runtime import loader

d = Path(sys.argv[1])


def failed_load(name):
    try:
        loader.load(d / f"{name}.bpf.o").detach()
    except loader.LoadError as exc:
        pos = dataclasses.asdict(exc.position) if exc.position else None
        return dict(stage=exc.stage, errno=exc.errno, log=exc.verifier_log, position=pos,
                    message=str(exc), state_after=loader.scx_state())
    return dict(stage=None)


out = {"reject": failed_load("reject_c")}
stall = loader.load(d / "stall_c.bpf.o")
deadline = time.monotonic() + 60
while not stall.ejected() and time.monotonic() < deadline:
    time.sleep(0.05)
out["stall"] = dict(exit=dataclasses.asdict(stall.detach()), state_after=loader.scx_state())
with loader.load(d / "fifo_c.bpf.o") as fifo:  # a load right after the ejection
    out["after_stall"] = dict(state=fifo.state(), ops=loader.scx_ops())
    out["reject_while_loaded"] = failed_load("reject_c")
    out["second_attach"] = failed_load("fifo_c")
    out["still"] = dict(state=fifo.state(), ops=loader.scx_ops())
out["after_stall"]["exit"] = dataclasses.asdict(fifo.detach())
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def guest_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from schedlang.runtime import sandbox

    try:
        provision.ensure()
    except provision.ProvisionError as exc:
        pytest.skip(f"sandbox cannot be provisioned: {exc}")
    objdir = tmp_path_factory.mktemp("fixtures")
    for name in ("fifo_c", "reject_c", "stall_c"):
        build(name, objdir)
    outdir = tmp_path_factory.mktemp("out")
    result = sandbox.run_in_guest(
        GUEST_SCRIPT.format(d=objdir),
        outdir=outdir,
        env={"GUEST_API_CHECKS": GUEST_API_CHECKS},
        timeout_s=240,
    )
    assert result.rc == 0, result.output
    data: dict[str, Any] = json.loads((outdir / "api.json").read_text())
    data["fifo"] = json.loads((outdir / "fifo.json").read_text())
    data["final_state"] = (outdir / "final_state").read_text().strip()
    return data


@pytest.mark.vm
def test_fifo_loads_runs_hackbench_and_unloads(guest_results: dict[str, Any]) -> None:
    r = guest_results["fifo"]
    assert r["ok"] and r["state_before"] == "disabled"
    assert r["state"] == "enabled" and r["ops"] == "fifo_c"
    assert r["sysfs"]["root/ops"] == "fifo_c"
    assert r["run"]["rc"] == 0 and "Time:" in r["run"]["output"]
    stats = r["stats"]
    assert stats["nr_enqueued"] > 0 and stats["nr_dispatched"] > 0
    assert sum(stats["wakeup_hist"]) > 0
    assert r["exit"]["kind_name"] == "UNREG" and not r["exit"]["ejected"]
    assert any('"fifo_c" enabled' in line for line in r["exit"]["kernel_log_lines"])
    assert r["state_after"] == "disabled"


@pytest.mark.vm
def test_param_override_reaches_the_kernel(guest_results: dict[str, Any]) -> None:
    # Read back from the loaded (kernel-side) .rodata.params map, not from our own copy.
    assert guest_results["fifo"]["params"] == {"slice": 5_000_000}


@pytest.mark.vm
def test_verifier_rejection_is_a_typed_error_with_the_log(guest_results: dict[str, Any]) -> None:
    r = guest_results["reject"]
    assert r["stage"] == "load" and r["errno"] == 13
    assert "invalid mem access 'map_value_or_null'" in r["log"]
    assert r["position"]["c_line"] == 43 and r["position"]["dsl_line"] == 8
    assert r["state_after"] == "disabled"


@pytest.mark.vm
def test_stall_is_ejected_with_error_stall(guest_results: dict[str, Any]) -> None:
    r = guest_results["stall"]
    exit_info = r["exit"]
    assert exit_info["kind_name"] == "ERROR_STALL" and exit_info["ejected"]
    assert "stall" in exit_info["reason"]
    assert any("stall_c" in line for line in exit_info["kernel_log_lines"])
    assert r["state_after"] == "disabled"


@pytest.mark.vm
def test_a_load_after_the_stall_works(guest_results: dict[str, Any]) -> None:
    r = guest_results["after_stall"]
    assert r["state"] == "enabled" and r["ops"] == "fifo_c"
    assert r["exit"]["kind_name"] == "UNREG" and not r["exit"]["ejected"]
    assert guest_results["final_state"] == "disabled"


@pytest.mark.vm
def test_failed_loads_leave_the_running_scheduler_alone(guest_results: dict[str, Any]) -> None:
    rejected = guest_results["reject_while_loaded"]
    assert rejected["stage"] == "load" and rejected["state_after"] == "enabled"
    second = guest_results["second_attach"]
    assert second["stage"] == "attach" and second["errno"] == 16
    assert "another sched_ext scheduler is loaded" in second["message"]
    assert guest_results["still"] == {"state": "enabled", "ops": "fifo_c"}


def test_incomplete_manifest_is_a_load_error(tmp_path: Path) -> None:
    obj = tmp_path / "x.bpf.o"
    obj.write_bytes(b"")
    with pytest.raises(loader.LoadError, match=r"the manifest lacks ops_map \("):
        loader.load(obj, {"policy": "x"})
