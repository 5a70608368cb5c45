"""The checker's constant folding agrees with what the generated C computes.

Each sample is one operator on two values of one type. The checker folds it (two literals);
the backend lowers the same operator on two non-constant operands to C, exactly as in a
policy (helpers such as `sl_sdiv` included), and the host's clang compiles and runs that C
with the backend's own code-generation flags. Any difference between the two is a bug in
one of them: a literal proven by the checker would not be the value the policy computes.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
from hostc import host_program

from schedlang import ir
from schedlang.backends import semantics
from schedlang.backends.bpf import build, cnames, csyntax
from schedlang.backends.bpf.lower import Lowerer
from schedlang.passes import fold
from schedlang.source import NOWHERE
from schedlang.types import RANGE, SIGNED, Type

OPS = ("+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "==", "<", ">=")
TYPES = (Type.U32, Type.U64, Type.I32, Type.I64)
SAMPLES = 600


def _samples(rng: random.Random) -> list[tuple[str, int, int, Type]]:
    # the one signed overflow of division, which the helpers must wrap like the fold
    out = [(op, RANGE[t][0], -1, t) for op in ("/", "%") for t in SIGNED]
    for _ in range(SAMPLES):
        t = rng.choice(TYPES)
        op = rng.choice(OPS)
        a = _value(rng, t)
        b = rng.randrange(fold.BITS[t]) if op in ("<<", ">>") else _value(rng, t)
        if op in ("/", "%") and b == 0:
            b = 7
        out.append((op, a, b, t))
    return out


def _value(rng: random.Random, t: Type) -> int:
    """A value of t, often one at an edge of its range."""
    lo, hi = RANGE[t]
    edges = [lo, lo + 1, 0, 1, 3, hi - 1, hi, -1 if lo else 2]
    return rng.choice(edges) if rng.random() < 0.4 else rng.randint(lo, hi)


def _ir(op: str, t: Type, literal: tuple[str, int] | None) -> ir.Expr:
    """`a op b` on two locals; `literal` makes one side a constant, as in `x * 3000000000`."""
    irop = "sat-" if op == "-" and t not in SIGNED else op
    right = Type.U32 if op in ("<<", ">>") else t
    rtype = Type.BOOL if op in ir.COMPARE_OPS else t
    a: ir.Expr = ir.Local(t, NOWHERE, "a")
    b: ir.Expr = ir.Local(right, NOWHERE, "b")
    if literal is not None and literal[0] == "a":
        a = ir.Lit(t, NOWHERE, literal[1])
    elif literal is not None:
        b = ir.Lit(right, NOWHERE, literal[1])
    return ir.Binary(rtype, NOWHERE, irop, a, b)


def test_folding_agrees_with_the_generated_c(clang: build.Clang, tmp_path: Path) -> None:
    program = ir.Program("p", "d", "p.sched", (), (), (), (), (), (), (), (), 64, NOWHERE)
    lw = Lowerer(program)
    samples = _samples(random.Random(20261130))
    lines = []
    for i, (op, a, b, t) in enumerate(samples):
        side = ("a", "b", None)[i % 3]
        c = csyntax.expr(
            lw.expr(_ir(op, t, None if side is None else (side, a if side == "a" else b)))
        )
        right = Type.U32 if op in ("<<", ">>") else t
        ta, tb = cnames.c_type(t), cnames.c_type(right)
        # volatile operands: clang must compute at run time, as in the policy
        lines.append(
            f"\t{{ volatile {ta} va = {cnames.int_lit(a, t)}; volatile {tb} vb = "
            f"{cnames.int_lit(b, right)}; {ta} a = va; {tb} b = vb;\n"
            f'\t  printf("{i} %lld\\n", (long long)({c})); }}'
        )
    got = _run(clang, tmp_path, lines)
    wrong = []
    for i, (op, a, b, t) in enumerate(samples):
        irop = "sat-" if op == "-" and t not in SIGNED else op
        want = fold.fold(irop, a, b, t)
        assert want is not None
        c_value = int(got[str(i)])
        if t in (Type.U64,) and op not in ir.COMPARE_OPS:
            c_value &= (1 << 64) - 1  # printed through long long
        if c_value != want:
            wrong.append((op, a, b, str(t), want, c_value))
    assert not wrong, (len(wrong), wrong[:40])


def _run(clang: build.Clang, tmp_path: Path, lines: list[str]) -> dict[str, str]:
    """Compile `lines` (statements printing "i value") with schedlang.bpf.h's helpers on the
    host, with the backend's flags, run them, and return value by i."""
    source = host_program(tmp_path, lines)
    c_file, exe = tmp_path / "fold.c", tmp_path / "fold"
    c_file.write_text(source)
    flags = [f for f in build.CFLAGS if f not in ("-target", "bpf") and not f.startswith("-mcpu")]
    done = subprocess.run(
        [clang.path, *flags, "-w", str(c_file), "-o", str(exe)], capture_output=True, text=True
    )
    if done.returncode != 0 and "stdio.h" in done.stderr:
        pytest.skip(f"no C library headers for the host: {done.stderr.strip()[:200]}")
    assert done.returncode == 0, done.stderr
    ran = subprocess.run([str(exe)], capture_output=True, text=True, check=True)
    got = dict(line.split(" ", 1) for line in ran.stdout.splitlines())
    return got


def test_abs_is_a_value_of_its_type(clang: build.Clang, tmp_path: Path) -> None:
    """abs(MIN) of an i32 is MIN (semantics.abs_), not 2**31 as the 64-bit helper gives."""
    program = ir.Program("p", "d", "p.sched", (), (), (), (), (), (), (), (), 64, NOWHERE)
    lw = Lowerer(program)
    samples = [(t, v) for t in (Type.I32, Type.I64) for v in (RANGE[t][0], -7, 0, 7)]
    lines = []
    for i, (t, v) in enumerate(samples):
        e = ir.Cast(Type.I64, NOWHERE, ir.Builtin(t, NOWHERE, "abs", (ir.Local(t, NOWHERE, "a"),)))
        ta = cnames.c_type(t)
        lines.append(
            f"\t{{ volatile {ta} va = {cnames.int_lit(v, t)}; {ta} a = va;\n"
            f'\t  printf("{i} %lld\\n", (long long)({csyntax.expr(lw.expr(e))})); }}'
        )
    got = _run(clang, tmp_path, lines)
    assert [int(got[str(i)]) for i in range(len(samples))] == [
        semantics.abs_(v, t) for t, v in samples
    ]
