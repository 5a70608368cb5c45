"""A checked policy as a `sim_abi.SimPolicy`: the callbacks plus what the BPF backend adds.

The generated C is more than the policy's callbacks: enqueue counts itself, runnable and
running keep the wakeup histogram, init creates the queues, dispatch ends in a fallback that
keeps a CPU from idling while a queue holds work for it. Those are the prologues and the
epilogue here (docs/semantics.md, "Around the callbacks"), in the order the C runs them.
"""

from __future__ import annotations

from typing import Any

from schedlang import ir, sim_abi
from schedlang.backends import semantics as sem
from schedlang.backends.interp.closures import Compiler, Ctx, Routine
from schedlang.backends.interp.state import RUNNABLE_AT, State
from schedlang.callbacks import CALLBACKS

# Operations every policy has, written or not; `exit` is the kernel's, not the simulator's.
ALWAYS = frozenset(sem.ALWAYS_OPS) - {"exit"}


class InterpPolicy:
    """Implements sim_abi.SimPolicy by interpreting the checked IR."""

    def __init__(self, checked: ir.CheckedProgram, params: dict[str, int], timeout_ms: int):
        program = checked.program
        self._program = program
        self._timeout_ms = timeout_ms
        self._state = State(program, params, timeout_ms)
        self._routines: dict[str, Routine] = Compiler(program, self._state).compile_all()
        self._ops = frozenset(self._routines) | ALWAYS
        self._fallback = (
            tuple(q.dsq_id for q in sem.dispatch_fallback_order(program))
            if sem.has_dispatch_fallback(program)
            else ()
        )

    @property
    def name(self) -> str:
        return self._program.name

    @property
    def ops(self) -> frozenset[str]:
        return self._ops

    @property
    def timeout_ms(self) -> int:
        return self._timeout_ms

    @property
    def program(self) -> ir.Program:
        return self._program

    @property
    def state(self) -> State:
        """The policy's memory (vars, arrays, maps, task records), for tests and reports."""
        return self._state

    def call(self, op: str, host: sim_abi.Host, *args: int | bool | sim_abi.SimTask) -> int | None:
        if op not in self._ops:
            known = "an operation" if op in CALLBACKS else "not a sched_ext operation"
            raise ValueError(f"{self.name}: {op!r} is {known} this policy does not implement")
        st = self._state
        cx = Ctx(host)
        if op == "enqueue":
            st.counters[sem.NR_ENQUEUED] += 1
            cx.enq_flags = _int(args[1])
        elif op == "runnable":
            st.task(_task(args[0]).pid)[RUNNABLE_AT] = host.now()
        elif op == "running":
            st.record_wakeup(host, _task(args[0]))
        elif op == "init":
            for q in self._program.queues:
                host.create_dsq(q.dsq_id, q.kind == "vtime")
        elif op == "dispatch":
            cx.cpu = _int(args[0])
        result = None
        routine = self._routines.get(op)
        if routine is not None:
            frame: list[Any] = [cx, *args] + [None] * (routine.nslots - 1 - len(args))
            r = routine.body(frame)
            result = r[0] if r is not None else None
        if op == "dispatch" and self._fallback:
            self._dispatch_fallback(host, cx.cpu)
        return result if op == "select_cpu" else None

    def _dispatch_fallback(self, host: sim_abi.Host, cpu: int) -> None:
        """When dispatch left this CPU's local queue empty, the first declared queue with a
        task for it gives one (semantics.has_dispatch_fallback)."""
        if sem.queued(host.queued(sim_abi.DSQ_LOCAL)):
            return
        for dsq in self._fallback:
            if host.move_to_local(dsq, cpu):
                self._state.counters[sem.NR_DISPATCH_FALLBACK] += 1
                return

    def task_exit(self, task: sim_abi.SimTask) -> None:
        self._state.free_task(task.pid)

    def stats(self) -> dict[str, int | list[int]]:
        return self._state.stats()


def _task(arg: object) -> sim_abi.SimTask:
    assert isinstance(arg, sim_abi.SimTask), f"a task argument must be a SimTask, not {arg!r}"
    return arg


def _int(arg: object) -> int:
    assert isinstance(arg, int), f"an integer argument, not {arg!r}"
    return arg
