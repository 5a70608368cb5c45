"""The termination rule: every callback ends, within a budget the kernel's verifier accepts.

The verifier refuses a program whose exploration exceeds one million instructions, and it
explores a bounded loop once per iteration. So: loop bounds must be compile-time constants
(`0..N` with N a literal or `const`, or `for c in cpus`), fns must not recurse (they are
inlined), and a static estimate of each callback's size — fns inlined, loop bodies
multiplied by their iteration count, `for c in cpus` by the CPU limit — must stay under
INSTRUCTION_BUDGET, a tenth of the verifier's limit.

The verifier checks an instruction once per state reaching it that it cannot prune, and it
prunes a state only when one already checked there covers it. Two paths through an `if` that
leave a local read later with different values stay apart, so n such `if`s in a row make 2^n
states, each checking the rest of the callback (finding #17: with 4 of them the verifier
processed 1,177 instructions, with 8 25,789; docs/verifier.md 6). So each statement's cost
is multiplied by the states reaching it, and an `if` multiplies the states after it when
its branches assign a local read later (`_Flow`). An `if` that writes only memory (a `var`, an array, a
task field) or dead locals does not: the verifier does not tell memory contents apart, and
it ignores dead registers. Nor does an `if` that sets a *flag* already split earlier (a local
only ever assigned one of two literals, `placed = true`): the verifier's states then already
hold both of its values, and a state equal to one checked before is pruned, so a chain of
`if ... and not placed { ...; placed = true }` costs two states, not 2^n. Conditions the verifier can decide (a param, fixed at load time)
are still counted twice: an over-approximation, as everywhere here.

The per-node costs below are rough BPF instruction counts of what the C backend emits
(a helper call with its argument set-up, a map lookup with its null check, ...); they only
need to be the right order of magnitude. Measured against the kernel verifier on the
examples and stdlib (bench/estimate_vs_verifier.py, 88 callbacks): for loop-free callbacks
the verifier processed 0.09x to 2.6x the estimate (median 0.93x); with loops, 0.05x to 0.14x
(the backend's loops are verified without unrolling), so the tenfold margin holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schedlang import codes as C
from schedlang import ir
from schedlang.diagnostics import Diagnostics
from schedlang.passes import show
from schedlang.source import Span

INSTRUCTION_BUDGET = 100_000
CALLBACK_OVERHEAD = 20  # prologue, stats counters, epilogue
# `running` also records the runnable-to-running latency into the stats histogram that every
# generated policy keeps (docs/internals.md, "Stats and exit info").
OP_OVERHEAD = {"running": 180}

BUILTIN_COST = {
    "now": 4,
    "default_cpu": 12,
    "move_to_local": 6,
    "queued": 6,
    "allowed": 8,
    "min": 3,
    "max": 3,
    "clamp": 5,
    "abs": 3,
}
NODE_COST: dict[type, int] = {
    ir.TaskVarRef: 12,  # bpf_task_storage_get + null check
    ir.MapElem: 14,  # bpf_map_lookup_elem + null check + default
    ir.ArrayElem: 4,  # bounds mask + load
    ir.FnCall: 2,
}
STMT_COST: dict[type, int] = {
    ir.Insert: 14,
    ir.Kick: 6,
    ir.Return: 2,
    ir.Let: 1,
    ir.Assign: 2,
    ir.If: 2,
    ir.ForRange: 4,
    ir.ForCpus: 6,
    ir.ExprStmt: 0,
}
STORE_COST = {ir.MapElem: 20, ir.TaskVarRef: 12}  # a write is a lookup-or-create
# States are counted up to here: past it the estimate is far over the budget anyway.
MAX_STATES = 1 << 40
COMM_LEN = 16  # TASK_COMM_LEN: `t.comm == "..."` compares bytewise


@dataclass
class _Part:
    """A loop or fn call inside a callback, with what it adds to the callback's estimate."""

    what: str
    span: Span
    cost: int


@dataclass
class _Estimate:
    total: int = 0
    parts: list[_Part] = field(default_factory=list)
    paths: list[int] = field(default_factory=list)  # lines of ifs that multiply states


def run(prog: ir.Program, diags: Diagnostics) -> dict[str, object]:
    for s in ir.walk_stmts(tuple(x for f in prog.fns for x in f.body)) + ir.walk_stmts(
        tuple(x for c in prog.callbacks for x in c.body)
    ):
        if isinstance(s, ir.ForRange):
            _check_bounds(s, diags)
    recursive = _report_recursion(prog, diags)
    est = _Estimator(prog, recursive)
    instructions: dict[str, int] = {}
    for cb in prog.callbacks:
        found = est.callback(cb)
        instructions[cb.op] = found.total
        if found.total > INSTRUCTION_BUDGET:
            _report_too_complex(cb, found, diags)
    return {"instructions": instructions, "instruction_budget": INSTRUCTION_BUDGET}


# ---------------------------------------------------------------------------- loop bounds
def _check_bounds(loop: ir.ForRange, diags: Diagnostics) -> None:
    for bound in (loop.lo, loop.hi):
        if not isinstance(bound, ir.Lit):
            diags.error(
                C.LOOP_BOUND_NOT_CONSTANT, bound.span, bound=show.code(diags, bound.span, "here")
            )


# ---------------------------------------------------------------------------- recursion
def _calls(body: tuple[ir.Stmt, ...]) -> list[ir.FnCall]:
    return [
        e
        for s in ir.walk_stmts(body)
        for top in ir.stmt_exprs(s)
        for e in ir.subexprs(top)
        if isinstance(e, ir.FnCall)
    ]


def _report_recursion(prog: ir.Program, diags: Diagnostics) -> set[str]:
    """Report each cycle of the call graph once; returns the fns on a cycle."""
    graph = {f.name: _calls(f.body) for f in prog.fns}
    state: dict[str, str] = {}  # "open" while on the DFS stack, then "done"
    stack: list[str] = []
    on_cycle: set[str] = set()

    def visit(name: str) -> None:
        state[name] = "open"
        stack.append(name)
        for call in graph.get(name, []):
            if state.get(call.name) == "open":
                cycle = stack[stack.index(call.name) :] + [call.name]
                on_cycle.update(cycle)
                _report_cycle(cycle, call, diags)
            elif call.name not in state and call.name in graph:
                visit(call.name)
        stack.pop()
        state[name] = "done"

    for f in prog.fns:
        if f.name not in state:
            visit(f.name)
    return on_cycle


def _report_cycle(cycle: list[str], call: ir.FnCall, diags: Diagnostics) -> None:
    message = C.CALLS_ITSELF if len(cycle) == 2 else C.CALLS_ITSELF_THROUGH
    through = " -> ".join(f"`{n}`" for n in cycle)
    diags.error(message, call.span, name=cycle[0], cycle=through)


# ---------------------------------------------------------------------------- the estimate
def _reads(stmts: tuple[ir.Stmt, ...]) -> set[str]:
    """The locals read anywhere in `stmts` (assigning a local is not reading it)."""
    names: set[str] = set()
    for s in ir.walk_stmts(stmts):
        exprs = ir.stmt_exprs(s)
        if isinstance(s, ir.Assign) and isinstance(s.target, ir.Local):
            exprs = exprs[1:]
        for top in exprs:
            names.update(e.name for e in ir.subexprs(top) if isinstance(e, ir.Local))
    return names


class _Live:
    """The locals read after one statement of a block: those the rest of the block reads
    (by the index of the last statement reading each) and those live after the block.
    Asked per name rather than built as a set per statement, which cost the number of
    live locals at every statement (finding #22: n bools read at the end of a body)."""

    __slots__ = ("last", "at", "outer")

    def __init__(self, last: dict[str, int], at: int, outer: _Live | None) -> None:
        self.last = last
        self.at = at
        self.outer = outer

    def __contains__(self, name: str) -> bool:
        if self.last.get(name, -1) > self.at:
            return True
        return self.outer is not None and name in self.outer


def _flags(stmts: tuple[ir.Stmt, ...]) -> set[str]:
    """The locals of `stmts` that only ever hold one of at most two literal values (every
    `let` and assignment of the name, in any scope, is a literal)."""
    values: dict[str, set[int]] = {}
    other: set[str] = set()
    for s in ir.walk_stmts(stmts):
        match s:
            case ir.Let(name=name, value=v) | ir.Assign(target=ir.Local(name=name), value=v):
                if isinstance(v, ir.Lit):
                    values.setdefault(name, set()).add(v.value)
                else:
                    other.add(name)
            case ir.ForRange(var=name) | ir.ForCpus(var=name):
                other.add(name)
    return {name for name, vs in values.items() if len(vs) <= 2 and name not in other}


def _writes(stmts: tuple[ir.Stmt, ...]) -> set[str]:
    """The locals assigned anywhere in `stmts` (a `let` is scoped to its block)."""
    return {
        s.target.name
        for s in ir.walk_stmts(stmts)
        if isinstance(s, ir.Assign) and isinstance(s.target, ir.Local)
    }


@dataclass
class _Flow:
    """What a block costs and how many verifier states leave it.

    `work` is instructions times the states that run them (the verifier checks an
    instruction once per state reaching it that it cannot prune); `states` is how many
    distinct states leave the block per state entering it.
    """

    work: int
    states: int


class _Estimator:
    def __init__(self, prog: ir.Program, recursive: set[str]) -> None:
        self.fns = {f.name: f for f in prog.fns}
        self.max_cpus = prog.max_cpus
        self.recursive = recursive
        self.fn_cost: dict[str, _Flow] = {}
        self.flags: set[str] = set()  # of the body being estimated (see `_flags`)
        self.split: set[str] = set()  # flags an `if` before this point has split on
        self.depth = 0  # if arms and loop bodies around the statement being estimated

    def callback(self, cb: ir.CallbackDecl) -> _Estimate:
        out = _Estimate()
        self.flags, self.split = _flags(cb.body), set()
        body = self.block(cb.body, 1, None, out)
        out.total = CALLBACK_OVERHEAD + OP_OVERHEAD.get(cb.op, 0) + body.work
        return out

    def fn(self, name: str) -> _Flow:
        """An inlined fn's work, and the states its result can leave: one per path through
        `if`s that assign a local it reads later, times its `return`s."""
        if name in self.recursive or name not in self.fns:
            return _Flow(0, 1)  # reported by the recursion check; any number would be made up
        if name not in self.fn_cost:
            body = self.fns[name].body
            outer = self.flags, self.split, self.depth
            self.flags, self.split, self.depth = _flags(body), set(), 0
            flow = self.block(body, 1, None, None)
            self.flags, self.split, self.depth = outer
            returns = sum(isinstance(s, ir.Return) for s in ir.walk_stmts(body))
            self.fn_cost[name] = _Flow(flow.work, min(flow.states * max(1, returns), MAX_STATES))
        return self.fn_cost[name]

    def _results(self, s: ir.Stmt, live_after: _Live | None) -> int:
        """The states leaving `s` when it keeps fn results in a local read later."""
        match s:
            case (
                ir.Let(name=name, value=value) | ir.Assign(target=ir.Local(name=name), value=value)
            ):
                if live_after is None or name not in live_after:
                    return 1
                n = 1
                for e in ir.subexprs(value):
                    if isinstance(e, ir.FnCall):
                        n = min(n * self.fn(e.name).states, MAX_STATES)
                return n
        return 1

    def block(
        self,
        stmts: tuple[ir.Stmt, ...],
        states: int,
        live_out: _Live | None,
        parts: _Estimate | None,
    ) -> _Flow:
        """`stmts` entered by `states` states; `live_out`: locals read after the block."""
        if not stmts:
            return _Flow(0, 1)
        last: dict[str, int] = {}  # (what the first statement reads is never asked)
        for i in range(1, len(stmts)):
            last.update(dict.fromkeys(_reads(stmts[i : i + 1]), i))
        work, entering = 0, states
        for i, s in enumerate(stmts):
            flow = self.stmt(s, states, _Live(last, i, live_out), parts)
            work += flow.work
            states = min(flow.states * states, MAX_STATES)
        return _Flow(work, max(1, states // entering))

    def stmt(
        self, s: ir.Stmt, states: int, live_after: _Live | None, parts: _Estimate | None
    ) -> _Flow:
        """The work of `s` entered by `states` states, and the states leaving it per state
        entering (more than 1 only for an `if` whose branches leave a local read later in
        different states: the verifier cannot merge them where the branches join)."""
        if type(s) not in STMT_COST:
            raise TypeError(f"termination: no cost for statement {type(s).__name__}")
        if isinstance(s, ir.If):
            return self._if(s, states, live_after, parts)
        cost = STMT_COST[type(s)] + sum(self.expr(e, parts) for e in ir.stmt_exprs(s))
        match s:
            case ir.Assign(target=target):
                cost += STORE_COST.get(type(target), 0)
            case ir.ForRange(lo=lo, hi=hi, body=body):
                n = (
                    max(0, hi.value - lo.value)
                    if isinstance(lo, ir.Lit) and isinstance(hi, ir.Lit)
                    else 1
                )
                return self._loop(s.span, n, cost, states, body, live_after, parts)
            case ir.ForCpus(body=body):
                return self._loop(s.span, self.max_cpus, cost, states, body, live_after, parts)
        return _Flow(cost * states, self._results(s, live_after))

    def _if(
        self, s: ir.If, states: int, live_after: _Live | None, parts: _Estimate | None
    ) -> _Flow:
        """An `if` and its `else if` links, walked in a loop (a chain may be longer than the
        recursion limit) but costed as the nesting it is: each link's `else` is the rest of
        the chain. A link splits the states only if its arms write a local read later."""
        links, last = ir.if_chain(s)
        self.depth += 1
        arms = [
            (
                STMT_COST[ir.If] + self.expr(link.cond, parts),
                self.block(link.then, states, live_after, parts),
            )
            for link in links
        ]
        rest = self.block(last, states, live_after, parts)
        self.depth -= 1
        writes = _writes(last)
        for n, link, (cost, yes) in zip(
            reversed(range(len(links))), reversed(links), reversed(arms), strict=True
        ):
            writes |= _writes(link.then)
            work = cost * states + yes.work + rest.work
            # only the first link runs on every state reaching the `if` (see `_split`)
            live = {w for w in writes if live_after is not None and w in live_after}
            split = self._split(live, yes, rest, flags=n == 0 and not self.depth)
            if split > 1 and parts is not None:
                parts.paths.append(link.span.line)
            flow = _Flow(work, split)
            # the rest of the chain as the previous link's `else` block holding this link
            rest = _Flow(flow.work, max(1, min(flow.states * states, MAX_STATES) // states))
        return flow

    def _split(self, live: set[str], yes: _Flow, rest: _Flow, flags: bool) -> int:
        """The states leaving an `if` link per state entering: one per arm when its arms
        write locals read later (`live`), except that flags split by an earlier `if` add no
        state (both of their values are among the states already), nor does a flag that
        only ever holds one value. That holds only where a split doubles every state that
        follows (`flags`: the `if` is not inside another `if` or a loop, and this is its
        first link) and the arms split nothing else."""
        if not live:
            return 1
        if not flags or not live <= self.flags or yes.states > 1 or rest.states > 1:
            return yes.states + rest.states
        new = live - self.split
        self.split |= live
        return 2 if new else 1

    def _loop(
        self,
        span: Span,
        n: int,
        cost: int,
        states: int,
        body: tuple[ir.Stmt, ...],
        live_after: _Live | None,
        parts: _Estimate | None,
    ) -> _Flow:
        """n iterations of `body`. The backend's loops are iterators, whose body the verifier
        checks until its states converge rather than once per iteration: n times the body
        bounds that work, and the states leaving are those one pass of the body leaves."""
        # Parts inside a loop are not recorded: the loop itself is the part to name.
        self.depth += 1
        inner = self.block(body, 1, _Live(dict.fromkeys(_reads(body), 0), -1, live_after), None)
        self.depth -= 1
        each = inner.work + 3  # compare, increment, branch
        if parts is not None:
            parts.parts.append(
                _Part(f"the loop at line {span.line} ({n} iterations x {each})", span, n * each)
            )
        return _Flow(states * (cost + n * each), inner.states)

    def expr(self, e: ir.Expr, parts: _Estimate | None) -> int:
        cost = 0
        for x in ir.subexprs(e):
            match x:
                case ir.Builtin(name="startswith", args=(_, ir.Str(value=prefix))):
                    cost += 4 + 3 * len(prefix)
                case ir.Builtin(name=name):
                    cost += BUILTIN_COST.get(name, 4)
                case ir.Binary(left=ir.Str() | ir.TaskField(field="comm")):
                    cost += 3 * COMM_LEN
                case ir.FnCall(name=name):
                    inlined = self.fn(name).work
                    cost += NODE_COST[ir.FnCall] + inlined
                    if parts is not None and inlined:
                        parts.parts.append(
                            _Part(f"the call of `{name}` ({inlined})", x.span, inlined)
                        )
                case _:
                    cost += NODE_COST.get(type(x), 1)
        return cost


def _report_too_complex(cb: ir.CallbackDecl, found: _Estimate, diags: Diagnostics) -> None:
    biggest = max(found.parts, key=lambda p: p.cost, default=None)
    message, span, part = C.OVER_INSTRUCTION_BUDGET, cb.span, None
    lines = ", ".join(str(n) for n in found.paths[:6]) + (", ..." if found.paths[6:] else "")
    if len(found.paths) > 1:
        message = C.OVER_INSTRUCTION_BUDGET_PATHS
    elif biggest is not None and biggest.cost * 2 > found.total:
        message, span, part = C.OVER_INSTRUCTION_BUDGET_MOSTLY, biggest.span, biggest.what
    diags.error(
        message,
        span,
        op=cb.op,
        total=found.total,
        budget=INSTRUCTION_BUDGET,
        count=len(found.paths),
        lines=lines,
        part=part,
    )
