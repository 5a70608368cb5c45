"""What one run in the guest produced: a `RunRecord` per workload execution and a
`PolicyEvent` when the policy stopped being the scheduler.

The guest runner (`guest_job`) writes these as JSON and `report.summarize` reads them back on
the host. They live apart from the report's summary types so the runner's start in the guest
does not build those too: each dataclass costs 15-30 ms there, under TCG.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Side = Literal["baseline", "policy"]


@dataclass(frozen=True)
class RunRecord:
    """One execution of one workload under one scheduler, as the runner saw it."""

    workload: str
    side: Side
    index: int  # repeat number within (workload, side); -1 for the warm-up
    rc: int
    wall_s: float
    metrics: dict[str, float]
    output: str
    error: str | None = None  # why the metrics are missing or not to be trusted
    load_s: float | None = None  # policy side: bpf_object load (verifier) time; None when the
    # policy stayed loaded from its previous run (one load per block of runs, guest_job)
    attach_s: float | None = None  # policy side: struct_ops attach time
    ops: str | None = None  # policy side: /sys/kernel/sched_ext/root/ops while running
    stats: dict[str, Any] | None = None  # policy side: `.data.stats`, counters over this run
    exit: dict[str, Any] | None = None  # policy side: exit info (kind name, reason, msg) of
    # the detach after this run; None when the policy stayed loaded for its next run

    @property
    def valid(self) -> bool:
        return self.index >= 0 and self.rc == 0 and self.error is None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        return cls(**data)


@dataclass(frozen=True)
class PolicyEvent:
    """A load failure or an ejection: the policy stopped being the scheduler."""

    kind: Literal["load_failed", "ejected", "error"]
    workload: str
    index: int
    exit_kind: str | None
    reason: str
    message: str
    verifier_log: str = ""
    kernel_log: str = ""
    position: dict[str, Any] | None = None  # loader's VerifierPosition: C and DSL line

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PolicyEvent:
        return cls(**data)
