"""docs/semantics.md, rule by rule: each test runs a small policy in the interpreter and
asserts the exact values, host calls and stats the rule says.
"""

from __future__ import annotations

import pytest
from simhost import ToyHost

from schedlang import arith, ir
from schedlang.backends.interp import compile_for_sim
from schedlang.backends.interp.policy import InterpPolicy
from schedlang.backends.interp.state import converter, same, wrapper
from schedlang.backends.interp.trace import traced
from schedlang.checker import check_source
from schedlang.errors import SchedlangError
from schedlang.sim_abi import DSQ_GLOBAL, DSQ_LOCAL, DSQ_LOCAL_ON, SLICE_DFL_NS, SimTask
from schedlang.source import SourceFile
from schedlang.types import Type


def checked(body: str, *, max_cpus: int = 64) -> ir.CheckedProgram:
    text = f'scheduler t "test" {{\n{body}\n}}\n'
    prog, diags = check_source(SourceFile("t.sched", text), max_cpus=max_cpus)
    assert prog is not None, "\n".join(str(d) for d in diags)
    return prog


def policy(body: str, **kw: object) -> InterpPolicy:
    p = compile_for_sim(checked(body), **kw)  # type: ignore[arg-type]
    assert isinstance(p, InterpPolicy)
    return p


def task(pid: int = 7, **kw: object) -> SimTask:
    return SimTask(pid=pid, tgid=pid, comm=str(kw.pop("comm", "worker")), **kw)  # type: ignore[arg-type]


def init_vars(body: str) -> dict[str, int]:
    """Run `on init` and return the vars."""
    p = policy(body)
    p.call("init", ToyHost(4))
    return p.state.vars


# ---------------------------------------------------------------------- arithmetic
def test_unsigned_addition_and_multiplication_wrap_at_the_width() -> None:
    vars_ = init_vars(
        """
        var a: u32 = 0
        var b: u64 = 0
        var c: u32 = 0
        on init() {
            let x: u32 = 4294967295
            a = x + 1
            let y: u64 = 18446744073709551615
            b = y * 3
            c = x << 4
        }
        """
    )
    assert vars_ == {"a": 0, "b": 18446744073709551613, "c": 4294967280}


def test_signed_arithmetic_wraps_in_twos_complement() -> None:
    vars_ = init_vars(
        """
        var a: i32 = 0
        var b: i64 = 0
        var n: i32 = 0
        var m: i64 = 0
        on init() {
            let x: i32 = 2147483647
            a = x + 1
            let y: i64 = -9223372036854775808
            b = y - 1
            let z: i32 = -2147483648
            n = -z
            m = abs(y)
        }
        """
    )
    assert vars_ == {
        "a": -(2**31),
        "b": 2**63 - 1,
        "n": -(2**31),
        "m": -(2**63),
    }


def test_unsigned_subtraction_saturates_at_zero() -> None:
    vars_ = init_vars(
        """
        var a: u64 = 1
        var d: duration = 1ns
        on init() {
            let x: u64 = 3
            a = x - 5
            let e = 2ms
            d = e - 3ms
        }
        """
    )
    assert vars_ == {"a": 0, "d": 0}


def test_division_truncates_toward_zero_and_min_over_minus_one_wraps() -> None:
    vars_ = init_vars(
        """
        var q: i64 = 0
        var r: i64 = 0
        var q2: i32 = 0
        var r2: i32 = 0
        var u: u64 = 0
        on init() {
            let x: i64 = -7
            q = x / 2
            r = x % 2
            let m: i32 = -2147483648
            q2 = m / -1
            r2 = m % -1
            let v: u64 = 18446744073709551615
            u = v / 10
        }
        """
    )
    assert vars_ == {"q": -3, "r": -1, "q2": -(2**31), "r2": 0, "u": 1844674407370955161}


def test_shifts_take_the_amount_modulo_the_width_and_keep_the_sign() -> None:
    vars_ = init_vars(
        """
        var a: u64 = 0
        var b: i64 = 0
        var c: u32 = 0
        var d: u32 = 0
        on init() {
            let one: u64 = 1
            let n: u32 = 65
            a = one << n
            let s: i64 = -8
            b = s >> 1
            let w: u32 = 2147483648
            c = w >> 31
            let k: u32 = 33
            d = w >> k
        }
        """
    )
    assert vars_ == {"a": 2, "b": -4, "c": 1, "d": 2**30}


def test_conversions_keep_the_low_bits_and_reinterpret_the_sign() -> None:
    vars_ = init_vars(
        """
        var a: u32 = 0
        var b: i32 = 0
        var c: u64 = 0
        on init() {
            let m: i64 = -1
            a = m as u32
            let big: u64 = 4294967297
            b = big as i32
            c = true as u64
        }
        """
    )
    assert vars_ == {"a": 2**32 - 1, "b": 1, "c": 1}


def test_min_max_clamp() -> None:
    vars_ = init_vars(
        """
        var a: u64 = 0
        var b: i64 = 0
        var c: u64 = 0
        on init() {
            let x: u64 = 5
            a = min(x, 9, 3)
            let y: i64 = -4
            b = max(y, -9)
            c = clamp(x, 10, 1)
        }
        """
    )
    assert vars_ == {"a": 3, "b": -4, "c": 1}


def test_and_or_short_circuit() -> None:
    p = policy(
        """
        queue a: fifo
        queue b: fifo
        var moved: u64 = 0
        on enqueue(t, flags) { insert t into a }
        on dispatch(c) {
            if queued(a) > 0 or move_to_local(b) {
                moved += 1
            }
            if queued(a) == 0 and move_to_local(b) {
                moved += 10
            }
            move_to_local(a)
        }
        """
    )
    host = ToyHost(2)
    p.call("init", host)
    host.op = "enqueue"
    p.call("enqueue", host, task(1), 0)
    traced_policy, events = traced(p)
    host.op = "dispatch"
    traced_policy.call("dispatch", host, 0)
    moves = [e for e in events if e[0] == "host" and e[1] == "move_to_local"]
    # queued(a) > 0: `or` does not run move_to_local(b); queued(a) == 0 is false: `and` neither
    assert moves == [("host", "move_to_local", (0, 0), 1)]
    assert p.state.vars["moved"] == 1


def test_an_inner_let_shadows_only_inside_its_block() -> None:
    vars_ = init_vars(
        """
        var a: u64 = 0
        var b: u64 = 0
        on init() {
            let x: u64 = 1
            if a == 0 {
                let x: u64 = 5
                b = x
            }
            a = x
        }
        """
    )
    assert vars_ == {"a": 1, "b": 5}


def test_comm_compares_whole_names_and_prefixes() -> None:
    p = policy(
        """
        var eq: u64 = 0
        var pre: u64 = 0
        var long: u64 = 0
        on running(t) {
            if t.comm == "make" { eq += 1 }
            if startswith(t.comm, "ma") { pre += 1 }
            if t.comm == "abcdefghijklmnop" { long += 1 }
        }
        """
    )
    host = ToyHost(2)
    for comm in ("make", "makefile", "abcdefghijklmnop", "m"):
        p.call("running", host, task(comm=comm))
    assert p.state.vars == {"eq": 1, "pre": 2, "long": 0}


def test_task_vars_start_at_their_initial_value_per_task_and_are_freed_on_exit() -> None:
    p = policy(
        """
        task var n: u64 = 10
        on running(t) { t.n += 1 }
        """
    )
    host = ToyHost(2)
    a, b = task(1), task(2)
    p.call("running", host, a)
    p.call("running", host, a)
    p.call("running", host, b)
    assert p.state.tasks[1]["n"] == 12 and p.state.tasks[2]["n"] == 11
    p.task_exit(a)
    assert 1 not in p.state.tasks
    p.call("running", host, a)
    assert p.state.tasks[1]["n"] == 11


def test_fns_get_their_own_locals() -> None:
    vars_ = init_vars(
        """
        var a: u64 = 0
        fn twice(x: u64) -> u64 {
            let y = x * 2
            return y
        }
        on init() {
            let y: u64 = 3
            a = twice(y) + y
        }
        """
    )
    assert vars_ == {"a": 9}


# ---------------------------------------------------------------------- guards
def test_an_index_past_the_array_reads_zero_writes_nowhere_and_counts() -> None:
    prog = checked(
        """
        array a: [u64; cpus]
        var seen: u64 = 0
        on running(t) {
            a[t.cpu] = 5
            seen = a[t.cpu]
        }
        """,
        max_cpus=4,
    )
    p = compile_for_sim(prog)
    host = ToyHost(8)
    p.call("running", host, task(cpu=2))
    assert p.stats()["nr_index_out_of_range"] == 0
    assert isinstance(p, InterpPolicy) and p.state.vars["seen"] == 5
    p.call("running", host, task(cpu=6))
    assert p.state.vars["seen"] == 0
    assert p.state.arrays["a"].slots == [0, 0, 5, 0]
    assert p.stats()["nr_index_out_of_range"] == 2


def test_a_new_key_in_a_full_map_is_dropped_and_counted() -> None:
    p = policy(
        """
        map m: u32 -> u64 = 7 capacity 2
        on running(t) { m[t.pid] = m[t.pid] + 1 }
        """
    )
    host = ToyHost(2)
    for pid in (1, 2, 3, 1):
        p.call("running", host, task(pid))
    assert p.state.maps["m"].entries == {1: 9, 2: 8}
    assert p.stats()["nr_map_full"] == 1


def test_a_computed_cpu_that_does_not_exist_becomes_the_tasks_cpu() -> None:
    p = policy(
        """
        on select_cpu(t, prev, flags) -> cpu {
            return (prev + 10) as cpu
        }
        """
    )
    host = ToyHost(4)
    assert p.call("select_cpu", host, task(cpu=3), 1, 0) == 3
    assert p.stats()["nr_bad_cpu"] == 1
    q = policy("on select_cpu(t, prev, flags) -> cpu { return (prev + 1) as cpu }")
    assert q.call("select_cpu", host, task(cpu=3), 1, 0) == 2
    assert q.stats()["nr_bad_cpu"] == 0


def test_insert_on_a_cpu_the_task_may_not_use_goes_global() -> None:
    p = policy(
        """
        on enqueue(t, flags) {
            insert t into local on 1 as cpu
        }
        """
    )
    host = ToyHost(4)
    host.op = "enqueue"
    tr, events = traced(p)
    tr.call("enqueue", host, task(allowed=frozenset({0})), 5)
    tr.call("enqueue", host, task(8, allowed=frozenset({1})), 5)
    inserts = [e[2] for e in events if e[1] == "insert"]
    assert inserts == [
        (7, DSQ_GLOBAL, SLICE_DFL_NS, None, 5),
        (8, DSQ_LOCAL_ON | 1, SLICE_DFL_NS, None, 5),
    ]
    assert p.stats()["nr_bad_cpu"] == 1
    assert p.stats()["nr_enqueued"] == 2


def test_kicks_of_absent_cpus_are_skipped_and_preemption_is_rate_limited() -> None:
    p = policy(
        """
        on running(t) {
            kick 9 as cpu
            kick t.cpu preempt
        }
        """
    )
    host = ToyHost(4)
    for dt in (0, 300_000, 800_000, 10):
        host.time += dt
        p.call("running", host, task(cpu=2))
    # preempted at t0; 0.3 ms later: plain; 1.1 ms after t0: preempts again; 10 ns later: plain
    assert host.kicks == [(2, "preempt"), (2, None), (2, "preempt"), (2, None)]
    assert p.stats()["nr_kick_limited"] == 2
    assert p.stats()["nr_bad_cpu"] == 4


def test_slices_are_clamped_to_100us_and_a_tenth_of_the_timeout() -> None:
    p = policy(
        """
        queue q: fifo
        param s: duration = 1ms in 1ns..10s
        on enqueue(t, flags) { insert t into q slice s }
        on dispatch(c) { move_to_local(q) }
        on tick(t) { t.slice = 0ns }
        on stopping(t, runnable) { t.slice = s }
        """,
        params={"s": 40_000},
        timeout_ms=1000,
    )
    host = ToyHost(2)
    p.call("init", host)
    host.op = "enqueue"
    t = task()
    p.call("enqueue", host, t, 0)
    assert t.slice == 100_000
    t.slice = 5
    p.call("tick", host, t)
    assert t.slice == 0  # tick may yield with 0
    p.call("stopping", host, t, True)
    assert t.slice == 100_000
    big = policy(
        "on tick(t) { t.slice = 10s }",
        timeout_ms=1000,
    )
    big.call("tick", host, t)
    assert t.slice == 100_000_000
    assert p.stats()["nr_slice_clamped"] == 2 and big.stats()["nr_slice_clamped"] == 1


def test_dispatch_falls_back_on_the_first_queue_with_work_even_after_return() -> None:
    p = policy(
        """
        queue a: fifo
        queue b: fifo
        on enqueue(t, flags) { insert t into b }
        on dispatch(c) {
            if c != 0 { return }
            move_to_local(a)
            move_to_local(b)
        }
        """
    )
    host = ToyHost(2)
    p.call("init", host)
    host.op = "enqueue"
    p.call("enqueue", host, task(1), 0)
    p.call("enqueue", host, task(2), 0)
    host.op, host.cpu = "dispatch", 1
    p.call("dispatch", host, 1)
    assert [t.pid for t in host.local[1]] == [1]
    assert p.stats()["nr_dispatch_fallback"] == 1 and p.stats()["nr_dispatched"] == 0
    host.cpu = 0
    p.call("dispatch", host, 0)
    assert [t.pid for t in host.local[0]] == [2]
    assert p.stats()["nr_dispatch_fallback"] == 1 and p.stats()["nr_dispatched"] == 1


def test_the_wakeup_histogram_counts_runnable_to_running_once() -> None:
    p = policy("var x: u64 = 0")
    host = ToyHost(2)
    t = task()
    assert p.ops == frozenset({"init", "runnable", "running"})
    p.call("runnable", host, t, 0)
    host.time += 3000  # <= 1000 << 2
    p.call("running", host, t)
    p.call("running", host, t)  # picked again without a wakeup: not counted
    p.call("runnable", host, t, 0)
    host.time += 10**12
    p.call("running", host, t)
    hist = p.stats()["wakeup_hist"]
    assert isinstance(hist, list) and len(hist) == 16
    assert hist[2] == 1 and hist[15] == 1 and sum(hist) == 2


def test_init_creates_the_queues_and_inserts_are_counted_per_queue() -> None:
    p = policy(
        """
        queue f: fifo
        queue v: vtime
        on select_cpu(t, prev, flags) -> cpu {
            let pick = default_cpu(t, prev, flags)
            if pick.idle {
                insert t into local
            }
            return pick.cpu
        }
        on enqueue(t, flags) {
            if t.weight > 100 {
                insert t into v vtime t.vtime
            } else {
                insert t into f
            }
        }
        on dispatch(c) {
            move_to_local(v)
            move_to_local(f)
        }
        """
    )
    host = ToyHost(2)
    tr, events = traced(p)
    tr.call("init", host)
    assert [e for e in events if e[0] == "host"] == [
        ("host", "create_dsq", (queue_id(p, "f"), 0), None),
        ("host", "create_dsq", (queue_id(p, "v"), 1), None),
    ]
    host.op = "select_cpu"
    assert tr.call("select_cpu", host, task(1, cpu=1), 1, 0) == 1
    host.op = "enqueue"
    tr.call("enqueue", host, task(2, weight=200, vtime=50), 0)
    tr.call("enqueue", host, task(3), 0)
    stats = p.stats()
    assert stats["nr_direct"] == 1 and stats["queue_inserts"] == [1, 1]
    assert host.direct[0].pid == 1 and not host.errors


def queue_id(p: InterpPolicy, name: str) -> int:
    return next(q.dsq_id for q in p.program.queues if q.name == name)


def test_params_are_checked_like_dash_dash_param() -> None:
    prog = checked("param n: u64 = 3 in 1..10\nvar x: u64 = 0\non init() { x = n }")
    p = compile_for_sim(prog, {"n": 9})
    p.call("init", ToyHost(1))
    assert isinstance(p, InterpPolicy) and p.state.vars["x"] == 9
    with pytest.raises(SchedlangError, match="outside the declared range"):
        compile_for_sim(prog, {"n": 11})
    with pytest.raises(SchedlangError, match="no tunable named `m`"):
        compile_for_sim(prog, {"m": 1})


def test_an_operation_the_policy_lacks_is_refused() -> None:
    p = policy("var x: u64 = 0")
    with pytest.raises(ValueError, match="'tick' is an operation this policy does not implement"):
        p.call("tick", ToyHost(1), task())
    with pytest.raises(ValueError, match="not a sched_ext operation"):
        p.call("tock", ToyHost(1))


def test_the_local_queue_id_in_enqueue() -> None:
    p = policy("on enqueue(t, flags) { insert t into local slice 1ms }")
    host = ToyHost(2)
    host.op = "enqueue"
    tr, events = traced(p)
    tr.call("enqueue", host, task(cpu=1), 3)
    assert [e for e in events if e[1] == "insert"] == [
        ("host", "insert", (7, DSQ_LOCAL, 1_000_000, None, 3), 1)
    ]


@pytest.mark.parametrize("t", [Type.U32, Type.U64, Type.I32, Type.I64, Type.CPU, Type.DURATION])
def test_the_fast_store_is_arith_wrap(t: Type) -> None:
    w = wrapper(t)
    for v in (0, 1, -1, 2**31 - 1, 2**31, -(2**31) - 1, 2**32, 2**63, -(2**63) - 5, 2**64 + 3):
        assert w(v) == arith.wrap(v, t), v
    assert converter(t, t) is same and converter(Type.BOOL, t)(2**64 + 3) == arith.wrap(
        2**64 + 3, t
    )


class RefusingHost(ToyHost):
    """A Host whose kernel refuses every insert and reports errors for queue counts."""

    def insert(self, *args: object) -> bool:
        return False

    def queued(self, dsq_id: int) -> int:
        return -2


def test_refused_inserts_are_counted_and_negative_queue_counts_read_zero() -> None:
    p = policy(
        """
        queue q: fifo
        var n: u64 = 7
        on enqueue(t, flags) {
            n = queued(q)
            insert t into q
        }
        on dispatch(c) { move_to_local(q) }
        """
    )
    host = RefusingHost(2)
    p.call("init", host)
    p.call("enqueue", host, task(), 0)
    assert p.state.vars["n"] == 0
    assert p.stats()["nr_insert_refused"] == 1 and p.stats()["queue_inserts"] == [1]


def test_allowed_asks_the_host_for_every_cpu_it_may_name() -> None:
    p = policy(
        """
        var a: u64 = 0
        on running(t) {
            if allowed(t, 3 as cpu) { a += 1 }
            if allowed(t, t.cpu) { a += 10 }
        }
        """
    )
    tr, events = traced(p)
    tr.call("running", ToyHost(2), task(7, cpu=1))
    assert [e[1:] for e in events if e[0] == "host"] == [
        ("cpu_allowed", (7, 3), 0),  # past the last CPU: not in the mask
        ("cpu_allowed", (7, 1), 1),
    ]
    assert p.state.vars["a"] == 10


def test_only_enqueue_passes_the_kernels_flags_to_insert() -> None:
    p = policy(
        """
        on select_cpu(t, prev, flags) -> cpu {
            insert t into local
            return prev
        }
        on enqueue(t, flags) { insert t into global }
        """
    )
    host = ToyHost(2)
    tr, events = traced(p)
    host.op = "select_cpu"
    assert tr.call("select_cpu", host, task(cpu=1), 1, 9) == 1
    host.op = "enqueue"
    tr.call("enqueue", host, task(), 9)
    inserts = [e[2] for e in events if e[0] == "host" and e[1] == "insert"]
    assert inserts == [
        (7, DSQ_LOCAL, SLICE_DFL_NS, None, 0),
        (7, DSQ_GLOBAL, SLICE_DFL_NS, None, 9),
    ]
    assert p.stats()["nr_direct"] == 1


def test_a_computed_prev_for_default_cpu_is_checked_and_idle_kicks_pass() -> None:
    p = policy(
        """
        on select_cpu(t, prev, flags) -> cpu {
            let pick = default_cpu(t, (prev + 5) as cpu, flags)
            kick pick.cpu idle
            return pick.cpu
        }
        """
    )
    host = ToyHost(4)
    host.idle = {3}
    host.op = "select_cpu"
    tr, events = traced(p)
    assert tr.call("select_cpu", host, task(cpu=2), 1, 0) == 3
    calls = [e[1:] for e in events if e[0] == "host"]
    assert calls == [("default_cpu", (7, 2, 0), (3, 1)), ("kick", (3, "idle"), None)]
    assert p.stats()["nr_bad_cpu"] == 1 and host.kicks == [(3, "idle")]


IN_PLACE = """
    array a: [u64; cpus]
    on running(t) {
        a[t.cpu] += 3
        a[t.cpu] = a[t.cpu] - 1
    }
    """


def test_an_in_place_update_computes_its_place_once() -> None:
    # semantics.in_place_update: `a[i] op= e` (and the `a[i] = a[i] - e` it expands to) reads
    # and writes one place, so an index outside the array counts once per statement
    p = compile_for_sim(checked(IN_PLACE, max_cpus=4))
    assert isinstance(p, InterpPolicy)
    host = ToyHost(8)
    p.call("running", host, task(cpu=2))
    assert p.state.arrays["a"].slots == [0, 0, 2, 0]
    assert p.stats()["nr_index_out_of_range"] == 0
    p.call("running", host, task(cpu=6))
    assert p.state.arrays["a"].slots == [0, 0, 2, 0]
    assert p.stats()["nr_index_out_of_range"] == 2
