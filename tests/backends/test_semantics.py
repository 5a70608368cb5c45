"""The backend-independent run-time rules (schedlang.backends.semantics), value by value.

The BPF backend's C is held to the same values by the VM tests (tests/backends/
test_runtime_guards.py, test_cpu_guards.py); here each rule's edges are pinned so the
interpreter and the JIT have exact answers to match.
"""

from __future__ import annotations

import pytest

from schedlang import arith, ir
from schedlang.backends import semantics as sem
from schedlang.backends.bpf import layout
from schedlang.checker import check_source
from schedlang.sim_abi import DSQ_GLOBAL, DSQ_LOCAL_ON
from schedlang.source import SourceFile
from schedlang.types import Type


def test_array_slot_reads_a_negative_index_as_a_huge_one() -> None:
    assert sem.array_slot(0, 4) == 0
    assert sem.array_slot(3, 4) == 3
    assert sem.array_slot(4, 4) is None
    assert sem.array_slot(-1, 4) is None


def test_map_full_drops_only_new_keys() -> None:
    assert sem.map_may_store(present=False, size=1, capacity=2)
    assert not sem.map_may_store(present=False, size=2, capacity=2)
    assert sem.map_may_store(present=True, size=2, capacity=2)


def test_checked_cpu_falls_back_to_the_tasks_cpu() -> None:
    assert sem.checked_cpu(3, 4, task_cpu=1) == (3, False)
    assert sem.checked_cpu(4, 4, task_cpu=1) == (1, True)
    assert sem.checked_cpu(-1, 4, task_cpu=2) == (2, True)


def test_local_on_goes_global_for_a_bad_or_disallowed_cpu() -> None:
    assert sem.local_on(2, 4, allowed=True) == DSQ_LOCAL_ON | 2
    assert sem.local_on(2, 4, allowed=False) == DSQ_GLOBAL
    assert sem.local_on(4, 4, allowed=True) == DSQ_GLOBAL


def test_slice_clamp_and_tick_yield() -> None:
    assert sem.clamp_slice(0, 5000) == (100_000, True)
    assert sem.clamp_slice(100_000, 5000) == (100_000, False)
    assert sem.clamp_slice(500_000_000, 5000) == (500_000_000, False)
    assert sem.clamp_slice(500_000_001, 5000) == (500_000_000, True)
    assert sem.tick_slice(0, 5000) == (0, False)
    assert sem.tick_slice(1, 5000) == (100_000, True)


def test_preempting_kicks_are_limited_per_cpu_slot() -> None:
    lim = sem.KickLimiter(slots=2)
    assert lim.mode(0, "preempt", 5_000_000) == ("preempt", False)
    assert lim.mode(0, "preempt", 5_999_999) == (None, True)
    assert lim.mode(0, "preempt", 6_000_000) == ("preempt", False)
    assert lim.mode(1, "preempt", 6_000_001) == ("preempt", False)
    assert lim.mode(7, "preempt", 6_000_002) == (None, True)  # CPUs past the slots share the last
    assert lim.mode(0, "idle", 6_000_003) == ("idle", False)
    assert lim.mode(0, None, 6_000_004) == (None, False)


def test_wakeup_buckets_match_the_manifest_bounds() -> None:
    bounds = layout.wakeup_hist_bounds()
    assert sem.wakeup_bucket(0) == 0
    assert sem.wakeup_bucket(1000) == 0
    assert sem.wakeup_bucket(1001) == 1
    for i, bound in enumerate(bounds[:-1]):
        assert sem.wakeup_bucket(bound) == i
        assert sem.wakeup_bucket(bound + 1) == i + 1
    assert sem.wakeup_bucket(10**15) == sem.WAKEUP_HIST_BUCKETS - 1


def test_comm_compares_as_the_unrolled_c_does() -> None:
    comm = sem.comm_buffer("kworker/0:1")
    assert len(comm) == sem.COMM_LEN
    assert sem.comm_startswith(comm, "kworker")
    assert sem.comm_startswith(comm, "")
    assert not sem.comm_equals(comm, "kworker")
    assert sem.comm_equals(comm, "kworker/0:1")
    long = sem.comm_buffer("a" * 20)  # the kernel keeps 15 bytes
    assert sem.comm_equals(long, "a" * 15)
    assert not sem.comm_equals(long, "a" * 16)
    assert sem.comm_startswith(long, "a" * 15)
    assert not sem.comm_startswith(long, "a" * 16)


def test_clamp_abs_and_queued() -> None:
    assert sem.clamp(5, 1, 3) == 3
    assert sem.clamp(5, 9, 3) == 3  # lo > hi gives hi
    assert sem.abs_(-(2**31), Type.I32) == -(2**31)
    assert sem.abs_(-7, Type.I64) == 7
    assert sem.queued(-22) == 0
    assert sem.allowed(-1, True) is False


@pytest.mark.parametrize(
    ("op", "a", "b", "t", "want"),
    [
        ("+", 2**32 - 1, 1, Type.U32, 0),
        ("sat-", 3, 5, Type.U64, 0),
        ("-", -(2**63), 1, Type.I64, 2**63 - 1),
        ("/", -7, 2, Type.I64, -3),
        ("%", -7, 2, Type.I64, -1),
        ("/", -(2**31), -1, Type.I32, -(2**31)),
        ("%", -(2**31), -1, Type.I32, 0),
        (">>", -8, 1, Type.I64, -4),
        ("<<", 1, 63, Type.I64, -(2**63)),
        ("<", 1, 2, Type.U64, 1),
    ],
)
def test_arith(op: str, a: int, b: int, t: Type, want: int) -> None:
    assert arith.binary(op, a, b, t) == want


def test_shift_amount_is_masked_as_bpf_does() -> None:
    assert arith.shift_amount(33, Type.U32) == 1
    assert arith.shift_amount(64, Type.U64) == 0


def test_kernel_given_cpus() -> None:
    src = """scheduler s "d" {
    on select_cpu(t, prev, flags) -> cpu {
        let best = prev
        let odd = ((prev + 1) % 64) as cpu
        for c in cpus {
            if c > 2 { best = c }
        }
        let p = default_cpu(t, odd, flags).cpu
        return best
    }
    on enqueue(t, flags) { insert t into global }
}
"""
    checked, diags = check_source(SourceFile("s.sched", src))
    assert checked is not None, [str(d) for d in diags]
    decl = checked.program.callback("select_cpu")
    assert decl is not None
    assert sem.kernel_given_cpus(decl) == frozenset({"prev", "best", "c", "p"})


def test_stats_contract_order_and_queue_inserts() -> None:
    names = [f.name for f in sem.stats_fields(2)]
    assert names[:4] == ["nr_enqueued", "nr_dispatched", "nr_direct", "wakeup_hist"]
    assert names[-1] == "queue_inserts"
    assert [f.name for f in sem.stats_fields(0)] == names[:-1]
    assert "exit_kind" not in sem.COUNTERS and "nr_bad_cpu" in sem.COUNTERS


def test_in_place_updates_are_compound_assignments_whose_place_calls_nothing() -> None:
    src = """scheduler s "d" {
    task var runs: u64 = 0
    array hits: [u64; 4]
    fn two() -> u64 { return 2 }
    on enqueue(t, flags) {
        hits[t.pid % 4] += 1
        hits[two()] += 1
        hits[1] = hits[2] + 1
        t.runs -= 1
        insert t into global
    }
}
"""
    checked, diags = check_source(SourceFile("s.sched", src))
    assert checked is not None, [str(d) for d in diags]
    decl = checked.program.callback("enqueue")
    assert decl is not None
    got = [
        u.op if (u := sem.in_place_update(s)) else None
        for s in decl.body
        if isinstance(s, ir.Assign)
    ]
    assert got == ["+", None, None, "sat-"]
