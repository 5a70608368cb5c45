"""CPU numbers handed to the kernel are checked at run time unless the kernel gave them out.

The kernel ejects a policy whose select_cpu returns a CPU that does not exist, or that
passes one to scx_bpf_select_cpu_dfl as the previous CPU (docs/verifier.md). The checker
cannot prove a computed CPU exists (the machine's CPU count is known only at run time), so
the generated C routes such a number through `sl_checked_cpu`, which falls back to the
task's current CPU and counts it in `nr_bad_cpu`; a CPU the kernel handed out is left alone.
The VM test (test_bpf_vm.py, `bad_cpus`) shows the policy surviving hackbench.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import schedlang
from schedlang.backends.bpf import build, render

DATA = Path(__file__).parent / "data"


def c_of(tmp_path: Path, select_cpu: str) -> str:
    text = (
        'scheduler g "guards" {\n'
        "    on select_cpu(t, prev, flags) -> cpu {\n"
        f"{select_cpu}\n"
        "    }\n"
        "    on enqueue(t, flags) {\n        insert t into global slice 5ms\n    }\n}\n"
    )
    art = schedlang.compile(text, outdir=tmp_path, emit="c")
    assert art.c_path is not None
    body = art.c_path.read_text().split("s32 BPF_STRUCT_OPS(g__select_cpu,")[1]
    return body.split("\n}\n")[0]


@pytest.mark.parametrize(
    "select_cpu",
    [
        "return prev",
        "return t.cpu",
        "let pick = default_cpu(t, prev, flags)\nreturn pick.cpu",
        "return default_cpu(t, t.cpu, flags).cpu",
        # a scan that only ever keeps CPUs the kernel gave (examples/spread.sched)
        "let best = prev\nfor c in cpus {\nif allowed(t, c) {\nbest = c\n}\n}\nreturn best",
    ],
)
def test_cpus_from_the_kernel_go_back_unchecked(tmp_path: Path, select_cpu: str) -> None:
    assert "sl_checked_cpu" not in c_of(tmp_path, select_cpu)


@pytest.mark.parametrize(
    ("select_cpu", "checked"),
    [
        ("return (prev + 1) as cpu", "return sl_checked_cpu(t, (s32)((u32)prev + 1));"),
        ("return 3 as cpu", "return sl_checked_cpu(t, 3);"),
        # one computed binding makes the local suspect wherever it is returned
        (
            "let best = prev\nif t.pid % 2 == 0 {\nbest = (t.pid % 4) as cpu\n}\nreturn best",
            "return sl_checked_cpu(t, best);",
        ),
        # (a `let` cannot take the parameter's name: tests/cases/shadow_parameter.sched)
        (
            "let pick = default_cpu(t, (t.pid % 8) as cpu, flags)\nreturn pick.cpu",
            "sl_checked_cpu(t, (s32)((u32)t->pid % 8)), flags)",
        ),
    ],
)
def test_computed_cpus_are_checked_before_the_kernel_sees_them(
    tmp_path: Path, select_cpu: str, checked: str
) -> None:
    assert checked in c_of(tmp_path, select_cpu)


def test_the_check_falls_back_to_the_current_cpu_and_counts(tmp_path: Path) -> None:
    art = schedlang.compile(DATA / "bad_cpus.sched", outdir=tmp_path, emit="c")
    assert art.c_path is not None
    header = (art.c_path.parent / render.HEADER).read_text()
    helper = header.split("static __always_inline s32 sl_checked_cpu(")[1].split("\n}\n")[0]
    assert "cpu >= 0 && (u32)cpu < sl_nr_cpus()" in helper
    assert "sl_count(nr_bad_cpu);" in helper
    assert "return scx_bpf_task_cpu(p);" in helper


@pytest.mark.clang
def test_the_guarded_policy_compiles_to_bpf(clang: build.Clang, tmp_path: Path) -> None:
    art = schedlang.compile(DATA / "bad_cpus.sched", outdir=tmp_path)
    assert art.object_path.exists() and art.object_path.stat().st_size > 0
    assert "nr_bad_cpu" in [f["name"] for f in art.manifest["stats"]["fields"]]
