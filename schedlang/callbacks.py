"""The sched_ext operations a policy can implement, with the types of their parameters.

A callback's parameter names are the author's; their number and types come from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from schedlang.types import Type


@dataclass(frozen=True)
class CallbackSig:
    op: str
    params: tuple[Type, ...]
    param_hint: str  # how the parameters are usually written, for diagnostics
    ret: Type
    doc: str


CALLBACKS: dict[str, CallbackSig] = {
    s.op: s
    for s in (
        CallbackSig(
            "select_cpu",
            (Type.TASK, Type.CPU, Type.U64),
            "(t, prev, flags) -> cpu",
            Type.CPU,
            "a waking task picks its CPU; inserting into `local` here dispatches it at once",
        ),
        CallbackSig(
            "enqueue",
            (Type.TASK, Type.U64),
            "(t, flags)",
            Type.VOID,
            "a runnable task must be inserted into a queue (on every path)",
        ),
        CallbackSig(
            "dispatch",
            (Type.CPU,),
            "(c)",
            Type.VOID,
            "CPU c has nothing to run: move tasks from queues to its local queue",
        ),
        CallbackSig(
            "runnable", (Type.TASK, Type.U64), "(t, flags)", Type.VOID, "a task became runnable"
        ),
        CallbackSig("running", (Type.TASK,), "(t)", Type.VOID, "a task starts running on a CPU"),
        CallbackSig(
            "stopping",
            (Type.TASK, Type.BOOL),
            "(t, runnable)",
            Type.VOID,
            "a task stops running; runnable says whether it stays runnable",
        ),
        CallbackSig(
            "quiescent",
            (Type.TASK, Type.U64),
            "(t, flags)",
            Type.VOID,
            "a task stopped being runnable",
        ),
        CallbackSig(
            "tick", (Type.TASK,), "(t)", Type.VOID, "the scheduler tick, for the running task"
        ),
        CallbackSig("enable", (Type.TASK,), "(t)", Type.VOID, "a task joins this scheduler"),
        CallbackSig("init", (), "()", Type.VOID, "the scheduler is being loaded"),
    )
}
