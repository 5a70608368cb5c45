"""The run-time guards that keep a checker-accepted policy from being ejected by the kernel
(docs/verifier.md §5): preempting kicks are rate-limited per CPU, slices are clamped, and
dispatch falls back on the policy's queues when it would leave its CPU idle.

tests/backends/data/kick_storm.sched preempts a CPU from every hot path and asks for a 1ns and
a 10s slice; without the guards the watchdog ejects it within seconds (the VM test in
test_bpf_vm.py loads it). Here: the C carries the guards, and the object keeps the kick
table whole (a `static` table indexed only by a constant was split by clang into a scalar
whose BTF the kernel refused: fuzz seed 35).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import schedlang
from schedlang.backends.bpf import build, compat, emit, render
from schedlang.checker import check_source
from schedlang.source import SourceFile
from schedlang.version import __version__

DATA = Path(__file__).parent / "data"
KICK_STORM = DATA / "kick_storm.sched"
# The guards' helpers, which every policy shares (schedlang.bpf.h).
HEADER = render.header(__version__)


@pytest.fixture(scope="module")
def kick_storm(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    try:
        build.find_clang()
    except build.ClangError as exc:
        pytest.skip(str(exc))
    art = schedlang.compile(KICK_STORM, outdir=tmp_path_factory.mktemp("kick_storm"))
    assert art.c_path is not None
    return art.c_path.read_text(), art.object_path


@pytest.mark.clang
def test_every_slice_goes_through_the_clamp(kick_storm: tuple[str, Path]) -> None:
    c, _ = kick_storm
    assert "sl_insert(t, DSQ_q, sl_slice(1), enq_flags); /* kick_storm.sched:5 */" in c
    assert "sl_set_slice(t, sl_slice(0)); /* kick_storm.sched:22 */" in c
    assert "sl_set_slice(t, sl_tick_slice(10000000000ULL)); /* kick_storm.sched:27 */" in c
    assert "\tif (slice < SL_SLICE_MIN_NS) {\n" in HEADER  # 0 too: only tick may yield with 0
    assert "\treturn slice ? sl_slice(slice) : 0;\n" in HEADER
    assert "#define SL_SLICE_MIN_NS 100000ULL" in HEADER
    assert "#define SL_SLICE_MAX_NS (SL_TIMEOUT_MS * 1000000ULL / 10)" in HEADER
    assert "#define SL_TIMEOUT_MS 5000 /*" in c


@pytest.mark.clang
def test_preempting_kicks_go_through_the_rate_limit(kick_storm: tuple[str, Path]) -> None:
    c, _ = kick_storm
    assert c.count("sl_kick(scx_bpf_task_cpu(t), SCX_KICK_PREEMPT);") == 3
    assert "sl_kick(0, SCX_KICK_PREEMPT); /* kick_storm.sched:26 */" in c
    assert "\t\t\tflags &= ~(u64)SCX_KICK_PREEMPT;\n" in HEADER
    assert "\nu64 sl_kick_preempted_at[MAX_CPUS];\n" in c
    # the slot goes through a volatile and a 64-bit check (fuzz seed 297: a kick of a loop's
    # `c` was refused, "math between map_value pointer and register with unbounded min value")
    assert "\t\tvolatile u64 slot = (u32)cpu;\n\t\tu64 at = slot;\n" in HEADER
    assert "\t\tif (at >= MAX_CPUS)" in HEADER and "&sl_kick_preempted_at[at];" in HEADER
    assert (
        "sl_kick((s32)sl_min_s64(c, scx_bpf_task_cpu(t)), /* kick_storm.sched:29 */\n"
        "\t\t\tSCX_KICK_PREEMPT);" in c
    )


@pytest.mark.clang
def test_the_kick_table_stays_one_64_slot_array_in_the_object(
    kick_storm: tuple[str, Path],
) -> None:
    _, obj = kick_storm
    objdump = shutil.which("llvm-objdump-19") or shutil.which("llvm-objdump")
    if objdump is None:
        pytest.skip("llvm-objdump is not installed (apt-get install llvm-19)")
    done = subprocess.run([objdump, "-t", str(obj)], capture_output=True, text=True, check=True)
    table = done.stdout
    rows = [line.split() for line in table.splitlines() if line.endswith(" sl_kick_preempted_at")]
    assert len(rows) == 1, table
    assert rows[0][1] == "g" and rows[0][3] == ".bss" and int(rows[0][4], 16) == 64 * 8


def c_of(text: str) -> str:
    checked, diags = check_source(SourceFile("case.sched", text))
    assert checked is not None and not diags.has_errors, [d.message for d in diags]
    options = emit.Options(params={}, kernel_api=compat.KERNEL_APIS[compat.DEFAULT_KERNEL_API])
    return render.render(emit.build_context(checked, options)).text


def test_a_queue_drained_only_on_cpu_0_is_drained_by_the_fallback_elsewhere() -> None:
    """Finding #15: tasks pinned to CPU 1 (kworker/1:0) waited in `q` until the watchdog
    ejected the policy. Every CPU now ends dispatch in the fallback; the VM run is in
    test_bpf_vm.py."""
    c = c_of((DATA / "cpu0_drain.sched").read_text())
    assert (
        "\tif (c == 0) /* case.sched:7 */\n"
        "\t\tsl_consume(DSQ_q); /* case.sched:8 */\n"
        "\n"
        "\tsl_dispatch_fallback();\n"
        "}\n"
    ) in c
    assert (
        "static __always_inline void sl_dispatch_fallback(void)\n{\n"
        "\tif (sl_queued(SCX_DSQ_LOCAL))\n\t\treturn;\n"
        "\tif (sl_move_to_local(DSQ_q))\n"
        "\t\tsl_count(nr_dispatch_fallback);\n}\n"
    ) in c
    assert "\tu64 nr_dispatch_fallback; /*" in HEADER


def test_a_return_in_dispatch_still_reaches_the_fallback() -> None:
    c = c_of(
        'scheduler r "returns early" {\n'
        "    queue a: fifo\n"
        "    queue b: fifo\n"
        "    on enqueue(t, flags) {\n"
        "        if t.nr_cpus_allowed > 1 { insert t into a } else { insert t into b }\n"
        "    }\n"
        "    on dispatch(c) {\n"
        "        if c != 0 { return }\n"
        "        if not move_to_local(a) { move_to_local(b) }\n"
        "    }\n"
        "}\n"
    )
    assert "\t\tgoto sl_fallback; /* case.sched:8 */\n" in c
    assert "\nsl_fallback:\n\tsl_dispatch_fallback();\n}\n" in c
    assert "return;" not in c.split("BPF_STRUCT_OPS(r__dispatch,")[1].split("\n}\n")[0]
    # the queues are tried in declaration order
    assert "\tif (sl_move_to_local(DSQ_a) ||\n\t    sl_move_to_local(DSQ_b))\n" in c


def test_a_policy_without_queues_has_no_fallback() -> None:
    c = c_of(
        'scheduler g "global only" {\n'
        "    on enqueue(t, flags) {\n"
        "        insert t into global\n"
        "    }\n"
        "}\n"
    )
    assert "sl_dispatch_fallback" not in c and "sl_fallback:" not in c
    assert "\tu64 nr_dispatch_fallback; /*" in HEADER  # the stats contract stays the same
