"""The llvmlite backend, one construct at a time, against values worked out by hand.

Each test compiles a small policy, calls one or two callbacks through `RecordingHost` and
asserts exact results: the values left in `var`s (read with `snapshot()`), the host calls in
order, the stats counters. Operands come from params so the checker cannot fold them: the
native code computes every value asserted here.
"""

from __future__ import annotations

import textwrap

import pytest

import schedlang
from schedlang.checker import check_source
from schedlang.errors import SchedlangError
from schedlang.sim_abi import DSQ_GLOBAL, DSQ_LOCAL, DSQ_LOCAL_ON, SimTask
from schedlang.source import SourceFile

llvm = pytest.importorskip("schedlang.backends.llvm", reason="llvmlite is not installed")


def jit(body: str, params: dict[str, int] | None = None, timeout_ms: int = 5000) -> llvm.JitPolicy:
    text = 'scheduler t "test" {\n' + textwrap.dedent(body) + "\n}\n"
    result = schedlang.check_program(text, "t.sched")
    assert result.ok, [str(d) for d in result.diagnostics]
    return llvm.compile_for_sim(result.program, params, timeout_ms=timeout_ms)


def task(pid: int = 7, **kw: object) -> SimTask:
    return SimTask(pid=pid, tgid=kw.pop("tgid", pid), comm=kw.pop("comm", "worker"), **kw)  # type: ignore[arg-type]


def enqueue_once(policy: llvm.JitPolicy, host: object, t: SimTask | None = None) -> None:
    policy.call("enqueue", host, t or task(), 0)  # type: ignore[arg-type]


def result_of(typ: str, expr: str, params: str, host: object) -> int:
    """The value of `expr` (of type typ) computed in enqueue from the given params."""
    policy = jit(
        f"""
        {params}
        var r: {typ} = 0
        on enqueue(t, flags) {{
            r = {expr}
            insert t into global
        }}
        """
    )
    enqueue_once(policy, host)
    return policy.snapshot()["vars"]["r"]  # type: ignore[return-value]


P_U32 = "param a: u32 = {a} in 0..4294967295\n param b: u32 = {b} in 0..4294967295"
P_I32 = (
    "param a: i32 = {a} in -2147483648..2147483647\n param b: i32 = {b} in -2147483648..2147483647"
)
P_I64 = "param a: i64 = {a} in -100..100\n param b: i64 = {b} in -100..100"
P_U64 = "param a: u64 = {a} in 0..100\n param b: u32 = {b} in 0..100"
# divisors: ranges without 0, so the checker accepts the division
P_DIV_POS = "param a: i64 = {a} in -100..100\n param b: i64 = {b} in 1..100"
P_DIV_NEG = "param a: i64 = {a} in -100..100\n param b: i64 = {b} in -100..-1"
P_DIV_I32 = "param a: i32 = {a} in -2147483648..2147483647\n param b: i32 = {b} in -2147483648..-1"
P_DIV_U32 = "param a: u32 = {a} in 0..4294967295\n param b: u32 = {b} in 1..4294967295"


@pytest.mark.parametrize(
    ("typ", "params", "a", "b", "expr", "want"),
    [
        # + and * wrap at the type's width; unsigned - saturates
        ("u32", P_U32, 4294967295, 2, "a + b", 1),
        ("u32", P_U32, 3, 5, "a - b", 0),
        ("u32", P_U32, 65536, 65537, "a * b", 65536),
        ("i32", P_I32, 2147483647, 2, "a * b", -2),
        ("i32", P_I32, 2147483647, 1, "a + b", -2147483648),
        ("i32", P_I32, -2147483648, 1, "a - b", 2147483647),
        # division truncates toward zero, % has the dividend's sign, MIN / -1 is MIN
        ("i64", P_DIV_POS, -7, 2, "a / b", -3),
        ("i64", P_DIV_POS, -7, 2, "a % b", -1),
        ("i64", P_DIV_NEG, 7, -2, "a % b", 1),
        ("i64", P_DIV_NEG, 7, -2, "a / b", -3),
        ("i32", P_DIV_I32, -2147483648, -1, "a / b", -2147483648),
        ("i32", P_DIV_I32, -2147483648, -1, "a % b", 0),
        ("u32", P_DIV_U32, 4294967295, 10, "a / b", 429496729),
        # shifts: >> keeps the sign of a signed value; a run-time amount is taken modulo the width
        ("i64", P_I64, -16, 2, "a >> (b as u32)", -4),
        ("u64", P_U64, 1, 65, "a << b", 2),
        ("u32", P_U32, 1, 33, "a << b", 2),
        ("u32", P_U32, 2147483648, 31, "a >> b", 1),
        ("u32", P_U32, 2147483648, 1, "a << b", 0),
        # unary minus wraps, abs(MIN) is MIN
        ("i32", P_I32, -2147483648, 0, "-a", -2147483648),
        ("i32", P_I32, -2147483648, 0, "abs(a)", -2147483648),
        ("i32", P_I32, -5, 0, "abs(a)", 5),
        # bit operators
        ("u32", P_U32, 0xF0F0, 0x0FF0, "(a & b) | (a ^ b)", 0xFFF0),
        # min, max, clamp (lo > hi gives hi)
        ("i32", P_I32, -3, 9, "min(a, b, 4)", -3),
        ("i32", P_I32, -3, 9, "max(a, b, 4)", 9),
        ("i32", P_I32, 50, -50, "clamp(a, 10, b)", -50),
        # conversions: narrowing keeps the low bits, widening extends by the source's sign
        ("u32", P_I32, -1, 0, "a as u32", 4294967295),
        ("i32", P_U32, 4294967295, 0, "a as i32", -1),
        ("u64", P_I32, -1, 0, "a as u64", 2**64 - 1),
        ("u64", P_U32, 4294967295, 0, "a as u64", 4294967295),
        ("i64", P_U32, 7, 9, "((a > b) as i64) + ((a < b) as i64) * 10", 10),
    ],
)
def test_arithmetic(
    typ: str, params: str, a: int, b: int, expr: str, want: int, host: object
) -> None:
    assert result_of(typ, expr, params.format(a=a, b=b), host) == want


def test_comparisons_by_signedness(host: object) -> None:
    policy = jit(
        """
        param a: i32 = -1 in -10..10
        param b: u32 = 4294967295 in 0..4294967295
        var signed_lt: bool = false
        var unsigned_gt: bool = false
        on enqueue(t, flags) {
            signed_lt = a < 0
            unsigned_gt = b > 0
            insert t into global
        }
        """
    )
    enqueue_once(policy, host)
    assert policy.snapshot()["vars"] == {"signed_lt": 1, "unsigned_gt": 1}


def test_short_circuit_skips_the_right_side(make_host: type) -> None:
    policy = jit(
        """
        param go: bool = false in false..true
        queue q: fifo
        var hits: u64 = 0
        on enqueue(t, flags) { insert t into q }
        on dispatch(c) {
            if go and move_to_local(q) { hits += 1 }
            if not go or move_to_local(q) { hits += 10 }
            if move_to_local(q) { hits += 100 }
        }
        """
    )
    host = make_host()
    policy.call("init", host)
    enqueue_once(policy, host)
    host.calls.clear()
    policy.call("dispatch", host, 1)
    moves = [c for c in host.calls if c[0] == "move_to_local"]
    # one move_to_local by the third `if` (the others short-circuit), then the fallback's
    assert host.calls[:2] == [("move_to_local", 0, 1, True), ("queued", DSQ_LOCAL, 1)]
    assert len(moves) == 1
    assert policy.snapshot()["vars"]["hits"] == 110
    assert policy.stats()["nr_dispatched"] == 1


def test_vars_persist_and_params_override(host: object) -> None:
    body = """
        param step: u64 = 3 in 1..10
        var total: u64 = 100
        on enqueue(t, flags) {
            total += step
            insert t into global
        }
        """
    policy = jit(body)
    for _ in range(3):
        enqueue_once(policy, host)
    assert policy.snapshot()["vars"]["total"] == 109
    tuned = jit(body, {"step": 7})
    enqueue_once(tuned, host)
    assert tuned.snapshot()["vars"]["total"] == 107


def test_a_bad_param_is_a_diagnostic_not_a_traceback() -> None:
    with pytest.raises(SchedlangError) as err:
        jit(
            "param step: u64 = 3 in 1..10\non enqueue(t, flags) { insert t into global }",
            {"step": 11},
        )
    assert "outside the declared range" in str(err.value)


def test_loops_and_if_chains(make_host: type) -> None:
    policy = jit(
        """
        var sum: u64 = 0
        var seen: u32 = 0
        var kind: u32 = 0
        on enqueue(t, flags) {
            for i in 2..6 { sum += i }
            for c in cpus { seen += 1 }
            if t.pid < 5 { kind = 1 } else if t.pid < 10 { kind = 2 } else { kind = 3 }
            insert t into global
        }
        """
    )
    enqueue_once(policy, make_host(nr_cpus=3), task(pid=7))
    assert policy.snapshot()["vars"] == {"sum": 14, "seen": 3, "kind": 2}


def test_fn_calls_and_comm(host: object) -> None:
    policy = jit(
        """
        var r: i64 = 0
        var named: u32 = 0
        fn twice(x: i64) -> i64 { return x * 2 }
        fn pick(t: task) -> bool { return t.comm == "make" or startswith(t.comm, "cc1") }
        on enqueue(t, flags) {
            r = twice(twice(-3)) + 1
            if pick(t) { named += 1 }
            insert t into global
        }
        """
    )
    for comm in ("make", "maker", "cc1plus", "mak", "a-very-long-command-name"):
        enqueue_once(policy, host, task(comm=comm))
    assert policy.snapshot()["vars"] == {"r": -11, "named": 2}


def test_insert_arguments_and_stats(make_host: type) -> None:
    policy = jit(
        """
        param s: duration = 3ms in 1ms..10ms
        queue fq: fifo
        queue vq: vtime
        on enqueue(t, flags) {
            if t.pid % 2 == 0 { insert t into fq slice s } else { insert t into vq vtime t.vtime + 5ns }
        }
        on dispatch(c) {
            if not move_to_local(fq) { move_to_local(vq) }
        }
        """
    )
    host = make_host()
    policy.call("init", host)
    assert host.calls == [("create_dsq", 0, False), ("create_dsq", 1, True)]
    host.calls.clear()
    policy.call("enqueue", host, task(pid=4), 0x41)
    policy.call("enqueue", host, task(pid=5, vtime=1000), 0x8)
    assert host.calls == [
        ("insert", 4, 0, 3_000_000, None, 0x41),
        ("insert", 5, 1, 20_000_000, 1005, 0x8),
    ]
    stats = policy.stats()
    assert stats["nr_enqueued"] == 2
    assert stats["queue_inserts"] == [1, 1]


def test_select_cpu_guards(make_host: type) -> None:
    policy = jit(
        """
        param far: u32 = 70 in 0..100
        on select_cpu(t, prev, flags) -> cpu {
            if t.pid == 1 { return prev }
            if t.pid == 2 {
                insert t into local on far as cpu
                kick far as cpu
                return (far + 1) as cpu
            }
            insert t into local on 2
            return 3
        }
        on enqueue(t, flags) { insert t into global }
        """
    )
    host = make_host(nr_cpus=4)
    assert policy.call("select_cpu", host, task(pid=1, cpu=1), 2, 0) == 2
    assert policy.call("select_cpu", host, task(pid=2, cpu=1), 2, 0) == 1  # 71: the task's own
    assert policy.call("select_cpu", host, task(pid=3, cpu=1), 2, 0) == 3
    assert host.calls == [
        ("insert", 2, DSQ_GLOBAL, 20_000_000, None, 0),  # local on 70: no such CPU
        ("cpu_allowed", 3, 2, True),
        ("insert", 3, DSQ_LOCAL_ON | 2, 20_000_000, None, 0),
    ]
    stats = policy.stats()
    assert stats["nr_bad_cpu"] == 3  # the insert, the kick (skipped), the returned CPU
    assert stats["nr_direct"] == 2


def test_local_on_a_cpu_outside_the_affinity_goes_global(host: object) -> None:
    policy = jit(
        """
        on enqueue(t, flags) { insert t into local on 1 }
        """
    )
    enqueue_once(policy, host, task(allowed=frozenset({0, 2})))
    assert host.calls == [
        ("cpu_allowed", 7, 1, False),
        ("insert", 7, DSQ_GLOBAL, 20_000_000, None, 0),
    ]
    assert policy.stats()["nr_bad_cpu"] == 1


def test_preempting_kicks_are_limited(make_host: type) -> None:
    policy = jit(
        """
        on enqueue(t, flags) {
            kick 1 preempt
            insert t into global
        }
        """
    )
    host = make_host(clock_ns=10_000_000)
    for at in (10_000_000, 10_500_000, 11_000_000, 11_000_001):
        host.clock = at
        enqueue_once(policy, host)
    kicks = [c for c in host.calls if c[0] == "kick"]
    assert kicks == [
        ("kick", 1, "preempt"),
        ("kick", 1, None),
        ("kick", 1, "preempt"),
        ("kick", 1, None),
    ]
    assert policy.stats()["nr_kick_limited"] == 2


def test_slices_are_clamped(host: object) -> None:
    policy = jit(
        """
        param s: duration = 1ms in 1ns..10s
        on enqueue(t, flags) {
            insert t into global slice s
            t.slice = s
        }
        on tick(t) { t.slice = s }
        """,
        {"s": 1},
        timeout_ms=3000,
    )
    t = task()
    enqueue_once(policy, host, t)
    assert host.calls[-1] == ("insert", 7, DSQ_GLOBAL, 100_000, None, 0)
    assert t.slice == 100_000
    assert policy.stats()["nr_slice_clamped"] == 2
    policy.call("tick", host, t)
    assert t.slice == 100_000  # clamped in tick too
    assert policy.stats()["nr_slice_clamped"] == 3
    yielding = jit("on enqueue(t, flags) { insert t into global }\non tick(t) { t.slice = 0ns }")
    yielding.call("tick", host, t)
    assert t.slice == 0  # 0 in tick: a yield, kept
    assert yielding.stats()["nr_slice_clamped"] == 0
    big = jit(
        "param s: duration = 1ms in 1ns..10s\non enqueue(t, flags) { insert t into global slice s }",
        {"s": 10**9},
        timeout_ms=3000,
    )
    enqueue_once(big, host)
    assert host.calls[-1][3] == 300_000_000  # a tenth of the timeout


def test_maps_default_capacity_and_update(host: object) -> None:
    policy = jit(
        """
        map m: u32 -> i64 = -1 capacity 2
        var missing: i64 = 0
        on enqueue(t, flags) {
            missing = m[t.pid + 1000]
            m[t.pid] = (t.pid as i64) * 10
            insert t into global
        }
        """
    )
    for pid in (1, 2, 3, 1):
        enqueue_once(policy, host, task(pid=pid))
    snap = policy.snapshot()
    assert snap["maps"]["m"] == {1: 10, 2: 20}
    assert snap["vars"]["missing"] == -1
    assert policy.stats()["nr_map_full"] == 1


def test_cpu_arrays_past_the_cpu_limit_use_the_scratch_slot(make_host: type) -> None:
    policy = jit(
        """
        array load: [u64; cpus]
        var seen: u64 = 0
        on enqueue(t, flags) {
            load[t.cpu] = load[t.cpu] + 5
            seen = load[t.cpu]
            insert t into global
        }
        """
    )
    host = make_host(nr_cpus=100)
    enqueue_once(policy, host, task(cpu=3))
    enqueue_once(policy, host, task(cpu=3))
    assert policy.snapshot()["vars"]["seen"] == 10
    enqueue_once(policy, host, task(cpu=80))  # the default limit is 64 CPUs
    assert policy.snapshot()["vars"]["seen"] == 0
    # one for the update in place (its place computed once), one for the read
    assert policy.stats()["nr_index_out_of_range"] == 2
    assert policy.snapshot()["arrays"]["load"][3] == 10


def test_task_vars_are_per_task_and_freed_on_exit(host: object) -> None:
    policy = jit(
        """
        task var n: u32 = 5
        var last: u32 = 0
        on enqueue(t, flags) {
            t.n += 1
            last = t.n
            insert t into global
        }
        """
    )
    a, b = task(pid=1), task(pid=2)
    enqueue_once(policy, host, a)
    enqueue_once(policy, host, a)
    enqueue_once(policy, host, b)
    assert policy.snapshot()["vars"]["last"] == 6
    enqueue_once(policy, host, a)
    assert policy.snapshot()["vars"]["last"] == 8
    policy.task_exit(a)
    enqueue_once(policy, host, a)
    assert policy.snapshot()["vars"]["last"] == 6


def test_wakeup_histogram(make_host: type) -> None:
    policy = jit("on enqueue(t, flags) { insert t into global }")
    host = make_host(clock_ns=1000)
    t = task()
    policy.call("runnable", host, t, 0)
    host.clock = 3500  # waited 2500ns: above 2000, at most 4000: bucket 2
    policy.call("running", host, t)
    policy.call("running", host, t)  # picked again without a wakeup: not counted
    assert policy.stats()["wakeup_hist"] == [0, 0, 1] + [0] * 13
    assert host.calls == [("now", 1000), ("now", 3500)]


def test_dispatch_fallback(make_host: type) -> None:
    policy = jit(
        """
        queue q: fifo
        on enqueue(t, flags) { insert t into q }
        on dispatch(c) {
            if c == 0 { move_to_local(q) }
        }
        """
    )
    host = make_host()
    policy.call("init", host)
    enqueue_once(policy, host)
    host.calls.clear()
    policy.call("dispatch", host, 2)
    assert host.calls == [("queued", DSQ_LOCAL, 0), ("move_to_local", 0, 2, True)]
    assert policy.stats()["nr_dispatch_fallback"] == 1
    assert policy.stats()["nr_dispatched"] == 0


def test_default_cpu_and_vtime_writes(make_host: type) -> None:
    policy = jit(
        """
        on select_cpu(t, prev, flags) -> cpu {
            let pick = default_cpu(t, prev, flags)
            t.vtime = t.vtime + 7ns
            if pick.idle { insert t into local }
            return pick.cpu
        }
        on enqueue(t, flags) { insert t into global }
        """
    )
    host = make_host(seed=3)
    t = task(vtime=10)
    cpu = policy.call("select_cpu", host, t, 1, 0x4)
    (call, *_rest) = host.calls
    assert call[:4] == ("default_cpu", 7, 1, 0x4)
    assert cpu == call[4]
    assert t.vtime == 17
    assert policy.stats()["nr_direct"] == (1 if call[5] else 0)


def test_every_builtin_has_a_lowering() -> None:
    from schedlang.backends.llvm.codegen import BUILTIN_LLVM
    from schedlang.builtins import BUILTINS

    assert set(BUILTIN_LLVM) == set(BUILTINS)


def test_ops_and_unimplemented_operations(host: object) -> None:
    policy = jit("on enqueue(t, flags) { insert t into global }")
    assert policy.ops == {"enqueue", "runnable", "running", "init"}
    with pytest.raises(ValueError, match="does not implement"):
        policy.call("tick", host, task())


def test_a_host_error_is_raised_after_the_native_call(make_host: type) -> None:
    class Broken(make_host):  # type: ignore[misc, valid-type]
        def kick(self, cpu: int, mode: str | None) -> None:
            raise RuntimeError("machine fault")

    policy = jit("on enqueue(t, flags) {\n kick 0\n insert t into global\n}")
    host = Broken()
    with pytest.raises(RuntimeError, match="machine fault"):
        enqueue_once(policy, host)
    assert host.calls[-1][0] == "insert"  # the policy ran to its end first


def test_many_policies_compiled_and_dropped() -> None:
    """Each engine owns its target machine: one shared by all crashed the second engine's
    disposal (a segfault in the garbage collector, as the fuzz tests compile hundreds)."""
    import gc

    for n in range(12):
        policy = jit(f"var n: u64 = {n}\non enqueue(t, flags) {{ insert t into global }}")
        assert policy.snapshot()["vars"]["n"] == n
        del policy
        gc.collect()


def test_a_task_changed_by_the_host_reads_changed(make_host: type) -> None:
    """What the Host changes in a SimTask during a host call (here default_cpu moves it) is
    what the policy reads next, as in the interpreter, which reads the SimTask itself."""

    class Moving(make_host):  # type: ignore[misc, valid-type]
        def default_cpu(self, task: SimTask, prev: int, wake_flags: int) -> tuple[int, bool]:
            task.cpu, task.weight = 3, 250
            return 3, False

    policy = jit(
        """
        var seen: u64 = 0
        on select_cpu(t, prev, flags) -> cpu {
            let pick = default_cpu(t, prev, flags)
            seen = (t.cpu as u64) * 1000 + t.weight
            return pick.cpu
        }
        on enqueue(t, flags) { insert t into global }
        """
    )
    assert policy.call("select_cpu", Moving(), task(cpu=1), 1, 0) == 3
    assert policy.snapshot()["vars"]["seen"] == 3250


def test_an_in_place_update_computes_its_place_once(make_host: type) -> None:
    # semantics.in_place_update: one place per `a[i] op= e`, so one count out of range
    text = """
    array a: [u64; cpus]
    on running(t) {
        a[t.cpu] += 3
        a[t.cpu] = a[t.cpu] - 1
    }
    """
    source = SourceFile("t.sched", 'scheduler t "test" {\n' + textwrap.dedent(text) + "\n}\n")
    program, diags = check_source(source, max_cpus=4)
    assert program is not None, [str(d) for d in diags]
    policy = llvm.compile_for_sim(program)
    host = make_host(8)
    policy.call("running", host, task(cpu=2))
    assert policy.snapshot()["arrays"]["a"] == [0, 0, 2, 0]
    assert policy.stats()["nr_index_out_of_range"] == 0
    policy.call("running", host, task(cpu=6))
    assert policy.snapshot()["arrays"]["a"] == [0, 0, 2, 0]
    assert policy.stats()["nr_index_out_of_range"] == 2
