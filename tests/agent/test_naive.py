"""The naive baseline (prompt-only C, compile-load-retry) through the real `anthropic`
client against the local fake API: its C goes the one C route (verify-c gate, clang), the
tool's own output is the next prompt, and a loader's refusal is retried like a build error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fake_api import fake_api, recorded

from schedlang.agent import naive as naive_mod
from schedlang.agent.naive import naive
from schedlang.backends.bpf import build

FIXTURE_HEADERS = Path(__file__).resolve().parents[1] / "fixtures" / "c"

pytestmark = pytest.mark.clang


@pytest.fixture(autouse=True)
def _clang() -> None:
    try:
        build.find_clang()
    except build.ClangError as exc:
        pytest.skip(str(exc))


def test_a_build_error_is_the_next_prompt_and_the_fixed_file_compiles(tmp_path: Path) -> None:
    with fake_api("naive_reply_uncompiled", "naive_reply_compiled") as api:
        result = naive("cut wakeup latency", "pipe", api.client(), tmp_path,
                       include_dirs=(str(FIXTURE_HEADERS),))  # fmt: skip
    first, second = api.requests
    assert first["system"] == [{"type": "text", "text": naive_mod.SYSTEM}]
    assert first["messages"][0]["content"] == (
        "Write a sched_ext scheduler that will cut wakeup latency on the workload pipe. "
        "These headers are on the include path: scx_fixture.bpf.h."
    )
    feedback = second["messages"][2]["content"]
    assert feedback.startswith("The scheduler failed to compile:\n```\n")
    assert f"{tmp_path}/attempt-1/naive.bpf.c:1:10: warning[C101]:" in feedback
    assert "'vmlinux.h' file not found" in feedback
    uncompiled, compiled = result.attempts
    assert [d["code"] for d in uncompiled.diagnostics] == ["C101"]
    assert uncompiled.outcome == "did not compile (1 errors)"
    assert compiled.outcome == "compiled"
    assert result.artifact is not None
    assert result.artifact.object_path == tmp_path / "attempt-2" / "naive.bpf.o"
    assert result.stopped == "compiled"
    assert result.usage.tokens == 96 + 402 + 1351 + 1488


def test_a_loader_refusal_is_retried_like_a_build_error(tmp_path: Path) -> None:
    refusals = ["invalid mem access 'map_value_or_null'\nprocessed 12 insns", None]
    loaded: list[Any] = []

    def load(artifact: Any) -> str | None:
        loaded.append(artifact)
        return refusals[len(loaded) - 1]

    with fake_api("naive_reply_compiled", "naive_reply_compiled") as api:
        result = naive("cut wakeup latency", "pipe", api.client(), tmp_path,
                       include_dirs=(str(FIXTURE_HEADERS),), load=load)  # fmt: skip
    assert api.requests[1]["messages"][2]["content"] == (
        "The scheduler failed to load:\n```\ninvalid mem access 'map_value_or_null'\n"
        "processed 12 insns\n```\nFix it and reply with the whole file in one ```c block."
    )
    assert [a.outcome for a in result.attempts] == [
        "did not load: invalid mem access 'map_value_or_null'",
        "compiled and loaded",
    ]
    assert result.artifact is loaded[1]


def test_an_uncompiled_file_is_never_loaded(tmp_path: Path) -> None:
    def load(artifact: Any) -> str | None:
        raise AssertionError("loaded C that did not compile")

    with fake_api("naive_reply_uncompiled", "naive_reply_uncompiled") as api:
        result = naive("cut wakeup latency", "pipe", api.client(), tmp_path, load=load,
                       attempts=2)  # fmt: skip
    assert len(api.requests) == 2
    assert result.artifact is None
    assert result.stopped == "2 attempts used"
    assert recorded("naive_reply_uncompiled")["usage"]["output_tokens"] * 2 == (
        result.usage.output_tokens
    )
