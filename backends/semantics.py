"""What a checked policy does at run time beyond its own statements, for every backend.

The IR says what a policy wrote; a backend adds the guards that keep a running policy from
being ejected or from touching memory it must not (an index clamp, a checked CPU, a clamped
slice, ...), the counters that report each guard taken, and the wakeup histogram. The BPF
backend writes these in C (`backends/bpf`), the IR interpreter in Python and the llvmlite
backend in LLVM IR; all three follow this module, so a policy behaves the same in the kernel
and in the simulator. The pure rules are functions here, executable as the reference; where
a rule needs the machine (a CPU's current task, the clock), the docstring says which value
of `schedlang.sim_abi.Host` it reads. The arithmetic of the IR's operators (wrap rules,
`sat-`, signed division) is `schedlang.arith`.

The rules, by the IR construct they belong to:

| construct | rule | counter |
| --- | --- | --- |
| `a[i]` read / write | `array_slot`: i outside the array reads 0, a write goes nowhere | `nr_index_out_of_range` |
| `m[k]` read | a missing key reads the map's declared default | — |
| `m[k] = v` | `map_may_store`: a new key into a full map is dropped | `nr_map_full` |
| `t.x` of a task var | a task without storage reads the initial values, writes are dropped | `nr_task_ctx_missing` |
| select_cpu's `return c`, `default_cpu(t, c, f)`'s c | `checked_cpu` unless `kernel_given_cpus` | `nr_bad_cpu` |
| `insert t into local on c` | `local_on`: a bad or disallowed c inserts into the global queue | `nr_bad_cpu` |
| `insert ... slice S`, `t.slice = S` | `clamp_slice` (`tick_slice` in tick) | `nr_slice_clamped` |
| `insert` | a refusal by the kernel is counted, nothing else | `nr_insert_refused` |
| `kick c [preempt]` | `kick_target`, then `KickLimiter` for preempting kicks | `nr_bad_cpu`, `nr_kick_limited` |
| `move_to_local(q)` | counted when it moved a task | `nr_dispatched` |
| end of dispatch | `has_dispatch_fallback`, `dispatch_fallback_order` | `nr_dispatch_fallback` |
| `queued(q)` | `queued`: never negative | — |
| `allowed(t, c)` | false for a negative c | — |
| `t.comm == "s"`, `startswith(t.comm, "s")` | `comm_equals`, `comm_startswith` | — |
| `min`, `max`, `clamp`, `abs` | `clamp`, `abs_` (the others are Python's) | — |

The stats every backend exports, by these names and meanings, are `STATS` (plus
`queue_inserts`, see `stats_fields`); the wakeup histogram is `wakeup_bucket`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from schedlang import ir
from schedlang.arith import wrap
from schedlang.sim_abi import DSQ_GLOBAL, DSQ_LOCAL_ON, SLICE_DFL_NS
from schedlang.types import Type

# ------------------------------------------------------------------------------ the stats


@dataclass(frozen=True)
class StatField:
    """One field of the stats a policy exports: `type` is "u64", "s64" or "char"; `count`
    > 1 (or `wakeup_hist`/`queue_inserts` with any count) is an array."""

    name: str
    type: str
    count: int
    doc: str


# The watchdog's timeout when a policy names none: a task runnable this long without running
# ejects the policy (ops.timeout_ms in the kernel; the simulated machine's watchdog too).
DEFAULT_TIMEOUT_MS = 5000

WAKEUP_HIST_BUCKETS = 16
WAKEUP_HIST_FIRST_NS = 1000  # bucket i holds waits <= 1000 << i ns; the last, the rest
EXIT_REASON_LEN = 128
EXIT_MSG_LEN = 1024

# The counters of the guards (the table above), by name, so no backend spells one itself.
NR_ENQUEUED = "nr_enqueued"
NR_DISPATCHED = "nr_dispatched"
NR_DIRECT = "nr_direct"
NR_INSERT_REFUSED = "nr_insert_refused"
NR_TASK_CTX_MISSING = "nr_task_ctx_missing"
NR_INDEX_OUT_OF_RANGE = "nr_index_out_of_range"
NR_MAP_FULL = "nr_map_full"
NR_BAD_CPU = "nr_bad_cpu"
NR_KICK_LIMITED = "nr_kick_limited"
NR_SLICE_CLAMPED = "nr_slice_clamped"
NR_DISPATCH_FALLBACK = "nr_dispatch_fallback"
WAKEUP_HIST = "wakeup_hist"
QUEUE_INSERTS = "queue_inserts"

# The always-present fields, in the order of the BPF stats struct (docs/internals.md).
STATS: tuple[StatField, ...] = (
    StatField(NR_ENQUEUED, "u64", 1, "calls of enqueue"),
    StatField(NR_DISPATCHED, "u64", 1, "successful move_to_local() in dispatch"),
    StatField(NR_DIRECT, "u64", 1, "inserts into a local queue from select_cpu"),
    StatField(WAKEUP_HIST, "u64", WAKEUP_HIST_BUCKETS, "runnable -> running latency, log2 buckets"),
    StatField("exit_kind", "u64", 1, "enum scx_exit_kind, filled by ops.exit"),
    StatField("exit_code", "s64", 1, "exit code, filled by ops.exit"),
    StatField("exit_reason", "char", EXIT_REASON_LEN, "exit reason, filled by ops.exit"),
    StatField("exit_msg", "char", EXIT_MSG_LEN, "exit message, filled by ops.exit"),
    StatField(NR_INSERT_REFUSED, "u64", 1, "inserts the kernel refused (reported from 6.19 on)"),
    StatField(NR_TASK_CTX_MISSING, "u64", 1, "task storage unavailable: a scratch copy was used"),
    StatField(
        NR_INDEX_OUT_OF_RANGE, "u64", 1, "array index outside the array: a scratch slot was used"
    ),
    StatField(NR_MAP_FULL, "u64", 1, "map writes that failed (map full)"),
    StatField(
        NR_BAD_CPU, "u64", 1, "a computed CPU that is absent, or not allowed for `insert ... on`"
    ),
    StatField(
        NR_KICK_LIMITED, "u64", 1, "preempting kicks made plain: the CPU was preempted < 1ms ago"
    ),
    StatField(NR_SLICE_CLAMPED, "u64", 1, "slices raised to 100us or lowered to timeout/10"),
    StatField(NR_DISPATCH_FALLBACK, "u64", 1, "dispatch left its CPU idle: a queue gave a task"),
)
COUNTERS: tuple[str, ...] = tuple(
    f.name for f in STATS if f.type == "u64" and f.count == 1 and f.name != "exit_kind"
)


def stats_fields(nr_queues: int) -> tuple[StatField, ...]:
    """The exported stats of a policy with `nr_queues` declared queues: `STATS`, then
    `queue_inserts` (one count per declared queue, in declaration order) when it has any.
    A backend counts:

    * `nr_enqueued`: every call of enqueue, before the policy's code;
    * `nr_dispatched`: every `move_to_local(q)` that moved a task (not the fallback's);
    * `nr_direct`: every `insert ... into local` (with or without `on`) executed in
      select_cpu, refused or not;
    * `queue_inserts[i]`: every `insert` into declared queue i, refused or not;
    * the guard counters as the module docstring's table says."""
    if not nr_queues:
        return STATS
    return (*STATS, StatField(QUEUE_INSERTS, "u64", nr_queues, "inserts per declared queue"))


def wakeup_bucket(wait_ns: int) -> int:
    """The `wakeup_hist` bucket of one runnable -> running wait: the first i below the last
    bucket with wait <= WAKEUP_HIST_FIRST_NS << i, else the last bucket.

    When it is recorded: on `runnable` the task's `runnable_at` becomes now(); on `running`,
    if runnable_at != 0, the wait now() - runnable_at is counted and runnable_at becomes 0
    (a task picked again without becoming runnable again is not counted twice). Every policy
    has both hooks, written by its author or not (`ALWAYS_OPS`), and they run before the
    author's code of the same operation."""
    for i in range(WAKEUP_HIST_BUCKETS - 1):
        if wait_ns <= WAKEUP_HIST_FIRST_NS << i:
            return i
    return WAKEUP_HIST_BUCKETS - 1


def wakeup_hist_bounds() -> list[int]:
    """Upper bound (ns) of each histogram bucket; the last bucket is unbounded (u64 max)."""
    return [WAKEUP_HIST_FIRST_NS << i for i in range(WAKEUP_HIST_BUCKETS - 1)] + [2**64 - 1]


# ------------------------------------------------------------------------ the operations

# Operations every policy has, written by its author or not: runnable/running feed the
# wakeup histogram, init creates the declared queues (in declaration order, FIFO or vtime
# as declared), exit records why the scheduler stopped.
ALWAYS_OPS = ("runnable", "running", "init", "exit")


def enq_flags(op: str, kernel_flags: int) -> int:
    """The enq_flags every `insert` passes: the kernel's flags of the enqueue call being run,
    whatever the policy named its parameter, and 0 in every other operation and in fns."""
    return kernel_flags if op == "enqueue" else 0


# ------------------------------------------------------------------------ guards: memory


def array_slot(index: int, size: int) -> int | None:
    """The slot `a[index]` touches, or None: the index is read as a u64 (so a negative one is
    huge) and must be below the array's size (`ArrayDecl.size`, or `Program.max_cpus` for a
    `[T; cpus]` array). None means: a read gives 0, a write is dropped, and
    `nr_index_out_of_range` counts one per computation of the place (`a[i] = a[i] + f(x)`
    out of range counts two; an `in_place_update` such as `a[i] += 1` counts one). The checker
    proves most indexes in range; this is the run-time net for the rest."""
    at = wrap(index, Type.U64)
    return at if at < size else None


def in_place_update(s: ir.Assign) -> ir.Binary | None:
    """The operation of an assignment that updates its target in place, or None.

    The checker expands `a[i] op= e` to `a[i] = a[i] op e`. When the target is an array
    element or a task var whose expression calls nothing (so computing it twice would give
    the same place) and the value is `target op e`, every backend computes the place once:
    it reads it, computes `op e` and writes it back. Out of range, the read gives 0, the
    write goes nowhere and `nr_index_out_of_range` counts one, not two (a task without
    storage likewise counts one `nr_task_ctx_missing`). `e` is evaluated after the read."""
    t, v = s.target, s.value
    if not isinstance(t, ir.ArrayElem | ir.TaskVarRef):
        return None
    if not isinstance(v, ir.Binary) or v.left != t:
        return None
    if any(isinstance(x, ir.Builtin | ir.FnCall) for x in ir.subexprs(t)):
        return None
    return v


HELD = "held value"  # a local name no policy can spell (it has a space)


def held_update(update: ir.Binary) -> ir.Binary:
    """The operation of an `in_place_update` on the value read from the place: its left
    side (the target) replaced by the local HELD, which a backend binds to that value, so it
    evaluates the rest (`op e`) with its ordinary expression code and never re-reads the
    target."""
    held = ir.Local(type=update.left.type, span=update.left.span, name=HELD)
    return replace(update, left=held)


def map_may_store(present: bool, size: int, capacity: int) -> bool:
    """Whether `m[k] = v` stores: a key already in the map is always updated; a new key only
    while the map holds fewer than its capacity keys. A dropped write counts `nr_map_full`.
    Nothing ever deletes a key. A read of a missing key gives `MapDecl.default`."""
    return present or size < capacity


# Task vars: each task has its own copy, created on first use with the declared initial
# values (`TaskVarDecl.init`) and freed with the task. When the kernel cannot give a task its
# storage (allocation failure), the policy reads the initial values and its writes are
# dropped (`nr_task_ctx_missing`); a simulator that always has memory never takes this path.


# -------------------------------------------------------------------------- guards: CPUs


def cpu_exists(cpu: int, nr_cpus: int) -> bool:
    """A CPU id the kernel accepts: 0 <= cpu < nr_cpus (`Host.nr_cpus`, the possible CPUs)."""
    return 0 <= cpu < nr_cpus


def checked_cpu(cpu: int, nr_cpus: int, task_cpu: int) -> tuple[int, bool]:
    """A CPU the policy computed, on its way to the kernel (select_cpu's return value, the
    previous CPU passed to `default_cpu`): (the CPU used, whether it was bad). A CPU that does
    not exist becomes the task's current CPU (`SimTask.cpu`) and counts `nr_bad_cpu`. A CPU
    outside the task's affinity passes: the kernel moves the task to an allowed one itself.
    Values `kernel_given_cpus` proves the kernel gave out skip the check (no count)."""
    if cpu_exists(cpu, nr_cpus):
        return cpu, False
    return task_cpu, True


def local_on(cpu: int, nr_cpus: int, allowed: bool) -> int:
    """The queue of `insert t into local on c`: CPU c's local queue (`DSQ_LOCAL_ON | c`) when
    c exists and the task may run there (`allowed`, `Host.cpu_allowed`); else the global
    queue, counting `nr_bad_cpu` (the task is never lost, the kernel never sees a bad id).
    The caller counts: a result of DSQ_GLOBAL from a `local on` is the bad case."""
    if cpu_exists(cpu, nr_cpus) and allowed:
        return DSQ_LOCAL_ON | cpu
    return DSQ_GLOBAL


def allowed(cpu: int, may_run: bool) -> bool:
    """`allowed(t, c)`: false for a negative c, else whether the task's affinity has c
    (`Host.cpu_allowed`; a c past the last CPU is simply not in the mask)."""
    return cpu >= 0 and may_run


def kick_target(cpu: int, nr_cpus: int) -> bool:
    """Whether `kick c` reaches the kernel: a CPU that does not exist is skipped and counts
    `nr_bad_cpu` (the kernel ejects a policy that kicks one)."""
    return cpu_exists(cpu, nr_cpus)


KICK_PREEMPT_GAP_NS = 1_000_000


@dataclass
class KickLimiter:
    """The rate limit on preempting kicks. A preempting kick zeroes the slice of whatever the
    CPU runs; issued from a hot path (every enqueue, stop or tick) it preempts the task the
    CPU has just picked, again and again, until the watchdog ejects the scheduler. So a CPU
    is preempted at most once per KICK_PREEMPT_GAP_NS: a `kick c preempt` within that time of
    the last one that preempted c becomes a plain kick (mode None) and counts
    `nr_kick_limited`. One time slot per CPU; CPUs past `slots - 1` share the last slot
    (`slots` is `Program.max_cpus`). A slot of 0 means never preempted. Kicks with mode None
    or "idle" pass unchanged and leave the slots alone."""

    slots: int
    last: dict[int, int] = field(default_factory=dict)

    def mode(self, cpu: int, mode: str | None, now: int) -> tuple[str | None, bool]:
        """(the mode the kick is issued with, whether it was limited). `cpu` exists."""
        if mode != "preempt":
            return mode, False
        slot = min(cpu, self.slots - 1)
        last = self.last.get(slot, 0)
        if last and wrap(now - last, Type.U64) < KICK_PREEMPT_GAP_NS:
            return None, True
        self.last[slot] = now
        return mode, False


def kernel_given_cpus(decl: ir.CallbackDecl) -> frozenset[str]:
    """The locals of a callback that only ever hold a CPU the kernel handed out, so need no
    `checked_cpu` on their way back to it: a `cpu` parameter (select_cpu's previous CPU),
    the variable of `for c in cpus`, and a local every binding of which (`let`, assignment,
    by name: shadowing lumps bindings together, which only loses precision) is one of those,
    `t.cpu` or `default_cpu(...).cpu`. `let best = prev` then `best = c` in a scan stays
    trusted; one `best = (x + 1) as cpu` anywhere makes `best` checked. With `is_kernel_cpu`
    this decides, for each CPU value, whether the backend checks it."""
    kernel = object()  # the value of a parameter or of a `for c in cpus` variable
    untrusted = object()  # the value of a `for i in LO..HI` variable
    sources: dict[str, list[object]] = {n: [kernel] for n, t in decl.params if t is Type.CPU}
    for s in ir.walk_stmts(decl.body):
        match s:
            case ir.Let(name=name, value=v) | ir.Assign(target=ir.Local(name=name), value=v):
                sources.setdefault(name, []).append(v)
            case ir.ForCpus(var=var):
                sources.setdefault(var, []).append(kernel)
            case ir.ForRange(var=var):
                sources.setdefault(var, []).append(untrusted)
    trusted = set(sources)  # shrink to the greatest set that only feeds on itself

    def given(v: object) -> bool:
        return v is kernel or (isinstance(v, ir.Expr) and is_kernel_cpu(v, trusted))

    changed = True
    while changed:
        changed = False
        for name in list(trusted):
            if not all(given(v) for v in sources[name]):
                trusted.discard(name)
                changed = True
    return frozenset(trusted)


def is_kernel_cpu(e: ir.Expr, trusted: Iterable[str]) -> bool:
    """Whether `e` is a CPU as the kernel gave it out: `t.cpu`, `default_cpu(...).cpu`, or a
    local in `trusted` (`kernel_given_cpus` of the callback; empty in an `fn`)."""
    match e:
        case ir.TaskField(field="cpu") | ir.PickField(field="cpu"):
            return True
        case ir.Local(name=name):
            return name in trusted
    return False


# ------------------------------------------------------------------------ guards: slices

SLICE_MIN_NS = 100_000


def slice_max_ns(timeout_ms: int) -> int:
    """The longest slice: a tenth of the watchdog timeout. Longer, each task ahead in a queue
    could hold its CPU so long that the one behind waits past the watchdog."""
    return timeout_ms * 1_000_000 // 10


def clamp_slice(slice_ns: int, timeout_ms: int) -> tuple[int, bool]:
    """A slice the policy computed (`insert ... slice S`, `t.slice = S` outside tick):
    (the slice used, whether it was clamped, which counts `nr_slice_clamped`). Kept within
    [SLICE_MIN_NS, slice_max_ns]: a shorter slice makes a loaded CPU reschedule faster than
    its tasks get work done. An insert without `slice` uses SLICE_DFL_NS, unclamped."""
    if slice_ns < SLICE_MIN_NS:
        return SLICE_MIN_NS, True
    hi = slice_max_ns(timeout_ms)
    if slice_ns > hi:
        return hi, True
    return slice_ns, False


def tick_slice(slice_ns: int, timeout_ms: int) -> tuple[int, bool]:
    """`t.slice = S` in tick: 0 ends the running task's slice at this tick (a yield), kept
    as 0 and not counted; any other value goes through `clamp_slice`."""
    return (0, False) if slice_ns == 0 else clamp_slice(slice_ns, timeout_ms)


DEFAULT_SLICE_NS = SLICE_DFL_NS

# `t.vtime = V` is stored as it is (no guard).


# ------------------------------------------------------------------------ guards: queues


def queued(n: int) -> int:
    """`queued(q)`: the number of tasks waiting in q; the kernel's negative errno (a bad
    queue id) reads as 0."""
    return n if n > 0 else 0


def has_dispatch_fallback(program: ir.Program) -> bool:
    """Whether dispatch ends with the fallback: only a policy that writes dispatch and has
    queues of its own has something to fall back on.

    The fallback runs after the author's dispatch code, on every way out of it (`return`
    included): if the dispatching CPU's local queue is still empty, the declared queues are
    tried in `dispatch_fallback_order`, and the first from which `move_to_local` moves a
    task (to this CPU; only a task allowed here moves) ends it, counting
    `nr_dispatch_fallback` (not `nr_dispatched`). Why: a policy may leave a CPU idle while its
    queues hold tasks that may run only there (per-CPU kworkers), which would wait until the
    watchdog ejects the scheduler."""
    return bool(program.queues) and program.callback("dispatch") is not None


def dispatch_fallback_order(program: ir.Program) -> tuple[ir.QueueDecl, ...]:
    """The queues the fallback tries, first to last: declaration order."""
    return program.queues


# ------------------------------------------------------------------- built-ins and comm

COMM_LEN = 16  # the kernel's TASK_COMM_LEN: at most 15 bytes and a NUL


def comm_buffer(name: str) -> bytes:
    """A task's comm as the kernel holds it: the UTF-8 name cut to 15 bytes, padded with NULs
    to COMM_LEN (the kernel copies it with strscpy_pad)."""
    return name.encode("utf-8")[: COMM_LEN - 1].ljust(COMM_LEN, b"\0")


def comm_equals(comm: bytes, text: str) -> bool:
    """`t.comm == "text"` (`!=` is its negation), on `comm_buffer` bytes: the UTF-8 text and
    its NUL are the first bytes of the buffer. A text of COMM_LEN bytes or more never equals.
    (The C compares byte by byte, unrolled; no string functions.)"""
    data = text.encode("utf-8")
    return len(data) < COMM_LEN and comm.startswith(data + b"\0")


def comm_startswith(comm: bytes, text: str) -> bool:
    """`startswith(t.comm, "text")`, on `comm_buffer` bytes: the buffer begins with the
    UTF-8 text cut to COMM_LEN bytes (a text of 16 bytes or more needs a letter where the
    buffer has its NUL: false). An empty text is true."""
    return comm.startswith(text.encode("utf-8")[:COMM_LEN])


def clamp(x: int, lo: int, hi: int) -> int:
    """`clamp(x, lo, hi)` is `min(max(x, lo), hi)`: with lo > hi it gives hi."""
    return min(max(x, lo), hi)


def abs_(x: int, t: Type) -> int:
    """`abs(x)` of a signed value: -x for a negative x, wrapped (`abs(MIN)` is MIN)."""
    return wrap(-x, t) if x < 0 else x
