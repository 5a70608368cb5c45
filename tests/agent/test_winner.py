"""The winner's file: tuned values baked into the param lines, a header, and it checks."""

from __future__ import annotations

import pytest

import schedlang
import schedlang.stdlib
from schedlang.agent.winner import bake, winner_file


def test_bake_rewrites_only_the_defaults() -> None:
    source = schedlang.stdlib.source("burst_classes")
    baked = bake(source, {"base_slice": 300_000, "rotate_every": 16})
    assert "    param base_slice: duration = 300us in 100us..10ms\n" in baked
    assert "    param rotate_every: u64 = 16 in 2..1000\n" in baked
    assert "    param tiny_below: duration = 200us in 10us..5ms\n" in baked
    assert len(baked.splitlines()) == len(source.splitlines())


def test_unknown_param_is_refused() -> None:
    with pytest.raises(ValueError, match="the policy declares no param nope"):
        bake(schedlang.stdlib.source("simple_fifo"), {"nope": 1})


def test_the_file_checks_and_compiles_to_the_tuned_values() -> None:
    text = winner_file(
        schedlang.stdlib.source("simple_fifo"),
        {"slice": 2_500_000},
        ["Synthesized by schedlang for: maximize throughput of hackbench", "Won: 0.9x"],
    )
    assert text.startswith(
        "// Synthesized by schedlang for: maximize throughput of hackbench\n// Won: 0.9x\n//\n"
    )
    result = schedlang.check_program(text)
    assert result.diagnostics == []
    assert result.program is not None
    (slice_param,) = result.program.program.params
    assert slice_param.default == 2_500_000
