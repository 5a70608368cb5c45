"""A small deterministic machine for driving a compiled policy one callback at a time.

`RecordingHost` implements `sim_abi.Host` with fixed, seeded answers and records every call
the policy makes, in order, so a test can assert the exact sequence of kfunc calls and a
differential test can compare two backends' sequences. It is not the simulator
(runtime/sim): queues hold nothing, they only count, which is all a policy can observe.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from schedlang.sim_abi import DSQ_LOCAL, SimTask


class RecordingHost:
    def __init__(
        self, nr_cpus: int = 4, seed: int = 0, clock_ns: int = 1_000_000, step_ns: int = 0
    ) -> None:
        self._nr_cpus = nr_cpus
        self.rng = random.Random(seed)
        self.clock = clock_ns  # now() adds step_ns first; a driver may also set it
        self.step = step_ns
        self.local = 0  # tasks in the local queue of the CPU being served
        self.calls: list[tuple[Any, ...]] = []
        self.queues: dict[int, int] = {}  # dsq id -> tasks in it

    @property
    def nr_cpus(self) -> int:
        return self._nr_cpus

    def now(self) -> int:
        self.clock += self.step
        self.calls.append(("now", self.clock))
        return self.clock

    def create_dsq(self, dsq_id: int, vtime_ordered: bool) -> None:
        self.calls.append(("create_dsq", dsq_id, vtime_ordered))
        self.queues.setdefault(dsq_id, 0)

    def default_cpu(self, task: SimTask, prev: int, wake_flags: int) -> tuple[int, bool]:
        cpu, idle = self.rng.randrange(self._nr_cpus), self.rng.random() < 0.5
        self.calls.append(("default_cpu", task.pid, prev, wake_flags, cpu, idle))
        return cpu, idle

    def insert(
        self, task: SimTask, dsq_id: int, slice_ns: int, vtime: int | None, enq_flags: int
    ) -> bool:
        self.calls.append(("insert", task.pid, dsq_id, slice_ns, vtime, enq_flags))
        self.queues[dsq_id] = self.queues.get(dsq_id, 0) + 1
        return True

    def move_to_local(self, dsq_id: int, cpu: int) -> bool:
        moved = self.queues.get(dsq_id, 0) > 0
        if moved:
            self.queues[dsq_id] -= 1
            self.local += 1
        self.calls.append(("move_to_local", dsq_id, cpu, moved))
        return moved

    def queued(self, dsq_id: int) -> int:
        n = self.local if dsq_id == DSQ_LOCAL else self.queues.get(dsq_id, 0)
        self.calls.append(("queued", dsq_id, n))
        return n

    def kick(self, cpu: int, mode: str | None) -> None:
        self.calls.append(("kick", cpu, mode))

    def cpu_allowed(self, task: SimTask, cpu: int) -> bool:
        ok = task.may_run_on(cpu)
        self.calls.append(("cpu_allowed", task.pid, cpu, ok))
        return ok


@pytest.fixture
def host() -> RecordingHost:
    return RecordingHost()


@pytest.fixture
def make_host() -> type[RecordingHost]:
    return RecordingHost
