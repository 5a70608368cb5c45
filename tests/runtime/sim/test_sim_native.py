"""The native machine (runtime/sim/native.py) against the Python machine, the reference.

Each case runs one policy on one workload twice: the IR interpreter on machine.py, and the
JIT linked to native_machine.c. Everything a run produces must be equal: the trace (every
run, stop, idle, wake and exit with its time, CPU and pid), the exit (kind, reason, message),
the counters, each thread's latencies, slack, run time, migrations and switches, the
policy's stats, and the figures `metrics.summarize` makes of them.
"""

from __future__ import annotations

import json
from itertools import zip_longest
from pathlib import Path

import pytest

from schedlang.backends.interp import compile_for_sim as interpret
from schedlang.checker import check_source
from schedlang.fuzzgen import generate_text
from schedlang.ir import CheckedProgram
from schedlang.runtime.sim import native, rtapp
from schedlang.runtime.sim.machine import Machine, MachineResult
from schedlang.runtime.sim.metrics import summarize
from schedlang.runtime.sim.rtapp import Workload
from schedlang.source import SourceFile

llvm = pytest.importorskip("schedlang.backends.llvm", reason="llvmlite is not installed")
_REASON = native.unavailable(rtapp.load("mix"), 2)
pytestmark = pytest.mark.skipif(_REASON is not None, reason=f"no native machine: {_REASON}")

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.sched"))
LIBRARY = sorted((ROOT / "stdlib").glob("*.sched"))
MODELS = ("hackbench", "messaging", "pipe", "mix", "build", "stress-cpu", "cyclictest")


def _check(text: str, path: str = "generated.sched") -> CheckedProgram | None:
    checked, _ = check_source(SourceFile(path, text))
    return checked


def _outcome(r: MachineResult) -> dict[str, object]:
    threads = [
        (th.t.pid, th.state, th.run_ns, th.migrations, th.switches, th.misses, th.ended_at,
         th.latencies, th.slack_ns, th.t.vtime, th.t.slice)
        for th in r.threads
    ]  # fmt: skip
    return {
        "end_ns": r.end_ns,
        "exit": r.exit,
        "ops_calls": r.ops_calls,
        "machine_events": r.machine_events,
        "out_of_events": r.out_of_events,
        "cpu_busy_ns": r.cpu_busy_ns,
        "policy_stats": r.policy_stats,
        "threads": threads,
        "figures": summarize(r),
    }


def assert_same(
    checked: CheckedProgram,
    workload: Workload,
    cpus: int,
    *,
    seed: int = 0,
    seconds: float = 0.05,
    timeout_ms: int = 5000,
    **machine: int,
) -> MachineResult:
    ref = Machine(
        interpret(checked, timeout_ms=timeout_ms), workload, cpus, seconds=seconds, seed=seed,
        trace=True, **machine,
    ).run()  # fmt: skip
    jit = llvm.compile_for_sim(checked, timeout_ms=timeout_ms, host=native.host_addresses())
    got = native.NativeMachine(
        jit, workload, cpus, seconds=seconds, seed=seed, trace=True, **machine
    ).run()
    where = f"{checked.program.name} on {workload.name}, {cpus} CPUs, seed {seed}"
    assert ref.trace is not None and got.trace is not None
    for i, (a, b) in enumerate(zip_longest(ref.trace, got.trace)):
        assert a == b, f"{where}: trace event {i}: python {a}, native {b}"
    want, have = _outcome(ref), _outcome(got)
    for name in want:
        assert want[name] == have[name], f"{where}: {name} differs"
    return ref


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_on_every_shipped_model(path: Path, model: str) -> None:
    checked = _check(path.read_text(), str(path))
    assert checked is not None
    ref = assert_same(checked, rtapp.load(model), 3, seed=1)
    assert ref.ops_calls >= 5  # the policy ran (stress-cpu: a few long slices)


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_library_policies(path: Path) -> None:
    checked = _check(path.read_text(), str(path))
    assert checked is not None
    for model, cpus in (("hackbench", 4), ("mix", 2)):
        assert assert_same(checked, rtapp.load(model), cpus, seed=2).ops_calls >= 10


def test_fuzz_policies() -> None:
    """`schedlang fuzz`'s first seeds with a 30 ms watchdog, so a stall would show within
    the run; the policies must end the same way on both machines."""
    model = rtapp.load("hackbench")
    exits: dict[str, int] = {}
    for seed in range(12):
        checked = _check(generate_text(seed))
        if checked is None:
            continue
        ref = assert_same(checked, model, 4, seed=seed, seconds=0.1, timeout_ms=30)
        exits[ref.exit.kind_name] = exits.get(ref.exit.kind_name, 0) + 1
    assert sum(exits.values()) >= 9


def test_affinity_timers_mutexes_and_barriers(tmp_path: Path) -> None:
    """The rt-app events the shipped models use least: pinned tasks, timers (shared and
    unique), locks, barriers, suspend/resume, broadcast, yield, runtime."""
    spec = {
        "global": {"duration": 1},
        "tasks": {
            "pinned": {"instance": 3, "cpus": [1, 2], "run": 300, "timer": {"ref": "t", "period": 1000}},
            "solo": {"cpus": [0], "runtime": 700, "timer": {"ref": "unique", "period": 2000}},
            "locker": {"instance": 3, "lock": "m", "run": 50, "unlock": "m", "yield": "", "sleep": 100},
            "meet": {"instance": 2, "run": 80, "barrier": "b", "timer": {"ref": "a", "period": 90, "mode": "absolute"}},
            "waker": {"run": 30, "resume": "sleeper", "broad": "c", "sleep": 200},
            "sleeper": {"suspend": "sleeper", "run": 10},
            "waiter": {"instance": 2, "wait": {"ref": "c", "mutex": "cm"}, "run": 10},
        },
    }  # fmt: skip
    path = tmp_path / "events.json"
    path.write_text(json.dumps(spec))
    model = rtapp.load(str(path))
    for policy in ("fair", "partition", "latency_first"):
        source = ROOT / "examples" / f"{policy}.sched"
        checked = _check(source.read_text(), str(source))
        assert checked is not None
        ref = assert_same(checked, model, 3, seconds=0.1)
        assert sum(len(th.slack_ns) for th in ref.threads) > 50


def test_more_than_64_cpus_is_refused_with_a_reason() -> None:
    assert native.unavailable(rtapp.load("mix"), 65) == (
        "the native machine models at most 64 CPUs, not 65"
    )


@pytest.mark.parametrize("policy", ["fifo", "fair"])
def test_a_watchdog_stall_ends_both_runs_alike(policy: str) -> None:
    """Two CPU hogs on one CPU with a 2 ms watchdog: the waiting hog stalls the run, at the
    same instant and with the same message on both machines."""
    source = ROOT / "examples" / f"{policy}.sched"
    checked = _check(source.read_text(), str(source))
    assert checked is not None
    ref = assert_same(checked, rtapp.load("stress-cpu"), 1, seconds=0.2, timeout_ms=2)
    assert (ref.exit.kind_name, ref.exit.reason) == ("ERROR_STALL", "runnable task stall")
    assert "failed to run for 0.00" in ref.exit.message


def test_a_library_someone_else_could_write_is_not_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compiled machine is code this process runs: a copy that is group-writable (or a
    folder that is) could have been replaced by someone else, so it is refused."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    native._library.cache_clear()
    try:
        assert not isinstance(native._library(), str)  # built and loaded in a private folder
        (lib,) = (tmp_path / "schedlang" / "sim").glob("native_machine-*.so")
        assert (tmp_path / "schedlang" / "sim").stat().st_mode & 0o777 == 0o700
        lib.chmod(0o775)
        native._library.cache_clear()
        refused = native._library()
        assert isinstance(refused, str) and "not this user's alone" in refused
    finally:
        native._library.cache_clear()


@pytest.mark.parametrize(
    "machine",
    [
        {"ipi_ns": 0, "idle_exit_ns": 50_000},
        {"ipi_ns": 20_000, "idle_exit_ns": 0},
        {"max_events": 300},
    ],
    ids=["idle-exit-only", "ipi-only", "event-budget"],
)
def test_wakeup_costs_and_the_event_budget(machine: dict[str, int]) -> None:
    """The machine's parameters other than the defaults: each cost alone, and a budget that
    stops both machines at the same event."""
    for name in ("fair", "latency_first"):
        source = ROOT / "examples" / f"{name}.sched"
        checked = _check(source.read_text(), str(source))
        assert checked is not None
        ref = assert_same(checked, rtapp.load("mix"), 2, seconds=0.5, **machine)
        assert ref.out_of_events == ("max_events" in machine)
        if "max_events" in machine:
            assert ref.machine_events == 300
