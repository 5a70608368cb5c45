"""The bounds rule: every array index is proven in range; maps and arrays fit a memory budget.

An out-of-range index is either rejected by the verifier (after the fact, with a message
about registers) or, if the backend masks it, silently touches the wrong slot. So the
checker proves each index below its array's size, from the evidence listed in the language
reference: a `cpu` value for a `[T; cpus]` array, a constant, a loop variable whose range
fits, `x % N`, or an enclosing `if i < N` (see ranges.py for how the facts flow). Trusting
a `cpu` by its type is sound because the cpu_values rule proves every stored `cpu` below
the CPU limit.

Memory: BPF maps are allocated when the policy loads, and task-local storage grows with the
number of tasks, so the total is bounded here, before anything is loaded.
"""

from __future__ import annotations

from schedlang import codes as C
from schedlang import ir
from schedlang.diagnostics import Diagnostics
from schedlang.passes import show
from schedlang.passes.ranges import Env, Range, Ranges, walk_body
from schedlang.source import Span
from schedlang.types import RANGE, WIDTH, Type

MAX_SLOTS = 1 << 20  # per array or map: more is a mistake in a scheduling policy
MEMORY_BUDGET = 64 << 20  # bytes: arrays + maps at capacity + task storage
MAP_ENTRY_OVERHEAD = 56  # struct htab_elem and allocator rounding, per entry
TASK_STORAGE_OVERHEAD = 64  # struct bpf_local_storage_elem, per task
TASKS_ASSUMED = 32_768  # default pid_max: how many tasks may each hold task storage


def run(prog: ir.Program, diags: Diagnostics) -> dict[str, object]:
    _check_sizes(prog, diags)
    memory = _check_memory(prog, diags)
    sizes = {a.name: a.size if a.size is not None else prog.max_cpus for a in prog.arrays}
    ranges = Ranges.shared(prog)
    proven = 0
    # `a[i] += 1` holds a[i] twice, and `a[i] = a[i] + 1` reads what it writes: once per line
    reported: set[tuple[str, ir.Expr, int]] = set()

    def on_expr(e: ir.Expr, env: Env) -> None:
        nonlocal proven
        if isinstance(e, ir.ArrayElem) and e.array in sizes:
            found = ranges.of(e.index, env)
            if found.within(sizes[e.array]):
                proven += 1
            elif (e.array, e.index, e.span.line) not in reported:
                reported.add((e.array, e.index, e.span.line))
                _report(prog, e, sizes[e.array], found, diags)

    for body in [f.body for f in prog.fns] + [c.body for c in prog.callbacks]:
        walk_body(ranges, body, on_expr)
    return {"memory_bytes": memory, "memory_budget": MEMORY_BUDGET, "indices_proven": proven}


def _report(prog: ir.Program, e: ir.ArrayElem, size: int, found: Range, diags: Diagnostics) -> None:
    index = show.code(diags, e.index.span, "the index")
    bare = index.strip("`") if index.startswith("`") else "i"
    arr = e.array
    per_cpu = next(a.size is None for a in prog.arrays if a.name == arr)
    slots = f"one slot per CPU, {size}" if per_cpu else f"{size} slots"
    if found.lo is None or found.lo < 0:  # the hints then guard both ends (show.range_fixes)
        message = C.INDEX_MAY_BE_NEGATIVE
    elif found.hi == found.lo + 1:
        message = C.INDEX_PAST_END
    elif found.hi is None or found.hi > RANGE[Type.CPU][1]:
        message = C.INDEX_UNBOUNDED
    else:
        message = C.INDEX_MAY_BE_LARGE
    if isinstance(e.index, ir.Lit):
        hints = [C.LITERAL_INDEX_FIX.format(last=size - 1)]
    else:
        negative = found.lo is None or found.lo < 0
        hints = show.range_fixes(e.index, bare, size, negative, lambda i: f"{arr}[{i}]")
    if per_cpu:
        hints.insert(0, C.PER_CPU_INDEX_FIX.format(array=arr))
    diags.error(
        message,
        e.index.span,
        suggest=hints,
        array=arr,
        slots=slots,
        index=index,
        value=found.lo,
        last=size - 1,
        size=size,
        largest=None if found.hi is None else found.hi - 1,
    )


def _check_sizes(prog: ir.Program, diags: Diagnostics) -> None:
    slots = [(a.name, "array", a.size, a.span) for a in prog.arrays if a.size is not None]
    slots += [(m.name, "map", m.capacity, m.span) for m in prog.maps]
    for name, kind, n, span in slots:
        what = "size" if kind == "array" else "capacity"
        if n < 1:
            diags.error(C.NO_SLOTS, span, kind=kind, name=name, what=what, n=n)
        elif n > MAX_SLOTS:
            diags.error(
                C.TOO_MANY_SLOTS, span, kind=kind, name=name, what=what, n=n, limit=MAX_SLOTS
            )


def _width(t: Type) -> int:
    return WIDTH.get(t, 8)


def _check_memory(prog: ir.Program, diags: Diagnostics) -> int:
    parts: list[tuple[int, str, Span]] = []
    for a in prog.arrays:
        n = a.size if a.size is not None else prog.max_cpus
        parts.append((max(0, n) * _width(a.elem), f"array `{a.name}`", a.span))
    for m in prog.maps:
        entry = _width(m.key) + _width(m.value) + MAP_ENTRY_OVERHEAD
        parts.append((max(0, m.capacity) * entry, f"map `{m.name}`", m.span))
    if prog.task_vars:
        per_task = sum(_width(v.type) for v in prog.task_vars) + TASK_STORAGE_OVERHEAD
        what = f"the task vars ({per_task} bytes x {TASKS_ASSUMED} tasks)"
        parts.append((per_task * TASKS_ASSUMED, what, prog.task_vars[0].span))
    total = sum(n for n, _, _ in parts)
    if total > MEMORY_BUDGET:
        size, what, span = max(parts, key=lambda p: p[0])
        diags.error(
            C.OVER_MEMORY_BUDGET,
            span,
            total=total,
            budget=MEMORY_BUDGET,
            largest=what,
            size=size,
        )
    return total
