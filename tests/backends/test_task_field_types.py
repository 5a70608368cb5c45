"""Task fields whose kernel member has another C type than the language gives them are read
through a cast to the language's type (lower.py, `_CAST_READ`).

`t.weight` is a `u64` in the language and a u32 (`scx.weight`) in the kernel: uncast,
`t.weight << 51` shifted 32 bits by 51, which C leaves undefined, and clang compiled
select_cpu into a program without a single instruction, refused by the kernel ("last insn
is not an exit or jmp"; fuzz campaign seed 49). tests/backends/data/weight_shift.sched is
that policy; test_bpf_vm.py loads it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import schedlang
from schedlang.backends.bpf import build

WEIGHT_SHIFT = Path(__file__).parent / "data" / "weight_shift.sched"


@pytest.mark.clang
def test_weight_is_widened_before_it_is_shifted(tmp_path: Path) -> None:
    try:
        build.find_clang()
    except build.ClangError as exc:
        pytest.skip(str(exc))
    art = schedlang.compile(WEIGHT_SHIFT, outdir=tmp_path)
    assert art.c_path is not None
    c = art.c_path.read_text()
    assert "u64 k = (u64)p->scx.weight << 51; /* weight_shift.sched:5 */" in c
    assert "((u64)t->scx.weight >> 40)" in c
    objdump = shutil.which("llvm-objdump-19") or shutil.which("llvm-objdump")
    if objdump is None:
        pytest.skip("llvm-objdump is not installed (apt-get install llvm-19)")
    section = "struct_ops/weight_shift__select_cpu"
    done = subprocess.run(
        [objdump, "-d", "--no-show-raw-insn", "-j", section, str(art.object_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    insns = [line.split(":", 1)[1].strip() for line in done.stdout.splitlines() if ":\t" in line]
    assert insns and insns[-1] == "exit", done.stdout
