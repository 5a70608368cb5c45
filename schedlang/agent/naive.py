"""The naive agent: the baseline issue 11 measures the control plane against.

What SchedCP's authors compared with: a model asked for a sched_ext scheduler in C with
nothing but a prompt, compiled, loaded, and told the error when that fails, until it works or
the attempts run out. No language reference, no checker, no profile, no tuning, no
significance test. Its C goes the one route hand-written C takes (`schedlang.compile` on a
`.bpf.c`: the verify-c gate, then clang), so the gate's findings and clang's errors are the
feedback it gets, as the text a person would read. Loading needs the VM, so the caller
passes `load` (artifact -> None, or the kernel's refusal as text); without it a candidate
that compiles is the end.

It shares `conversation.converse` with the generate stage, so tokens, attempts and API
failures of the two are counted the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic

import schedlang
from schedlang.agent.conversation import (
    DEFAULT_ATTEMPTS,
    DEFAULT_MAX_TOKENS,
    DEFAULT_MODEL,
    Attempt,
    Turn,
    converse,
    fenced_block,
)
from schedlang.agent.cost import Usage
from schedlang.errors import SchedlangError

SYSTEM = """\
You are an expert Linux kernel developer. Write a sched_ext scheduler as one BPF C file
(struct_ops callbacks and a `struct sched_ext_ops` in SEC(".struct_ops.link")). It is
compiled with clang -target bpf and loaded into a sched_ext kernel. Reply with the whole file
in one fenced code block tagged `c`."""

LANGUAGES = ("c",)
NO_BLOCK = "Your reply has no ```c fenced block. Reply with the whole file in one ```c block."
FILE_NAME = "naive.bpf.c"


@dataclass(frozen=True)
class NaiveResult:
    """The artifact that compiled (and loaded, when a loader was given), every attempt with
    its compiler or loader errors, the tokens, their cost, why it stopped."""

    model: str
    artifact: Any | None  # schedlang's Artifact
    attempts: tuple[Attempt, ...]
    usage: Usage
    cost_usd: float | None
    stopped: str


def task(goal: str, workload: str, headers: Sequence[str]) -> str:
    """The one prompt: the goal and the workload, plus the headers it may include."""
    text = f"Write a sched_ext scheduler that will {goal.rstrip('.')} on the workload {workload}."
    if headers:
        text += " These headers are on the include path: " + ", ".join(headers) + "."
    return text


def failed(stage: str, errors: str) -> str:
    """The message after a failure: the tool's own output."""
    return (
        f"The scheduler failed to {stage}:\n```\n{errors.rstrip()}\n```\n"
        "Fix it and reply with the whole file in one ```c block."
    )


def naive(
    goal: str,
    workload: str,
    client: anthropic.Anthropic,
    outdir: Path,
    *,
    include_dirs: tuple[str, ...] = (),
    load: Callable[[Any], str | None] | None = None,
    attempts: int = DEFAULT_ATTEMPTS,
    model: str = DEFAULT_MODEL,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    max_tokens_total: int | None = None,
) -> NaiveResult:
    """Ask for C until it compiles (and loads, with `load`), in at most `attempts` calls.
    Attempt N's file and object go to `outdir/attempt-N/`."""
    include_dirs = tuple(str(Path(d).resolve()) for d in include_dirs)  # the gate's cwd differs
    headers = sorted(p.name for d in include_dirs for p in Path(d).glob("*.h"))
    result: list[Any] = []

    def judge(reply: str, number: int) -> Turn:
        source = fenced_block(reply, LANGUAGES)
        if source is None:
            return Turn("no ```c block in the reply", NO_BLOCK)
        where = outdir / f"attempt-{number}"
        where.mkdir(parents=True, exist_ok=True)
        path = where / FILE_NAME
        path.write_text(source, encoding="utf-8")
        try:
            artifact = schedlang.compile(path, outdir=where, include_dirs=include_dirs)
        except SchedlangError as exc:
            diags = tuple(d.to_dict() for d in exc.diagnostics)
            return Turn(
                f"did not compile ({len(diags)} errors)", failed("compile", str(exc)), source, diags
            )
        except (OSError, ValueError, RuntimeError) as exc:  # RuntimeError: no usable clang
            # (build.ClangError, which the agent layer may not import): the machine's fault
            return Turn(f"could not compile here: {exc}", None, source)
        if load is not None:
            refusal = load(artifact)
            if refusal is not None:
                return Turn(f"did not load: {refusal.splitlines()[0]}", failed("load", refusal),
                            source)  # fmt: skip
        result.append(artifact)
        return Turn("compiled and loaded" if load is not None else "compiled", None, source)

    talk = converse(
        client,
        [{"type": "text", "text": SYSTEM}],
        task(goal, workload, headers),
        judge,
        model=model,
        attempts=attempts,
        max_tokens=max_tokens,
        max_tokens_total=max_tokens_total,
    )
    artifact = result[0] if result else None
    return NaiveResult(model, artifact, talk.attempts, talk.usage, talk.cost_usd, talk.stopped)
