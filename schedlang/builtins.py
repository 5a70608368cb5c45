"""Built-in functions: one entry per name, holding everything the checker needs.

Backends register their implementation of each built-in under the same name (a test checks
that every backend covers every entry), so the checker and the backends cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BuiltinSig:
    name: str
    arity: int | None  # None: any number >= min_args
    signature: str  # as shown in diagnostics and docs
    doc: str
    only_in: frozenset[str] = frozenset()  # callbacks where it may be called; empty = anywhere
    min_args: int = 0


BUILTINS: dict[str, BuiltinSig] = {
    b.name: b
    for b in (
        BuiltinSig("now", 0, "now() -> time", "the current time (ns, monotonic)"),
        BuiltinSig(
            "default_cpu",
            3,
            "default_cpu(t, prev, flags) -> {cpu: cpu, idle: bool}",
            "the kernel's idle-CPU picker; .idle says whether the CPU was idle (and is now claimed)",
            frozenset({"select_cpu"}),
        ),
        BuiltinSig(
            "move_to_local",
            1,
            "move_to_local(queue) -> bool",
            "move the first task of a declared queue to this CPU's local queue; false if empty",
            frozenset({"dispatch"}),
        ),
        BuiltinSig("queued", 1, "queued(queue) -> u64", "number of tasks waiting in a queue"),
        BuiltinSig("allowed", 2, "allowed(t, c) -> bool", "whether task t may run on CPU c"),
        BuiltinSig("min", None, "min(a, b, ...) -> T", "the smallest argument", min_args=2),
        BuiltinSig("max", None, "max(a, b, ...) -> T", "the largest argument", min_args=2),
        BuiltinSig("clamp", 3, "clamp(x, lo, hi) -> T", "x limited to lo..hi"),
        BuiltinSig("abs", 1, "abs(x) -> T", "absolute value of a signed integer"),
        BuiltinSig(
            "startswith",
            2,
            'startswith(t.comm, "prefix") -> bool',
            "whether a task's command name starts with a string literal",
        ),
    )
}
