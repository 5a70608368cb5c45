"""schedlang as an MCP server: the public API as tools an agent calls (docs/mcp.md).

SchedCP's split, kept here: the agent decides *what* (which goal, which policy, which
parameters); these tools do *how*, through the same checked route a person's `schedlang`
command takes. So every tool calls the public API (`schedlang.check`, `compile`,
`simulate`, `run`, `trace`, `synthesize`) and the history store, never a stage's internals,
and every answer is plain JSON: diagnostics in the one schema of docs/cli.md, reports as
their `to_dict()`.

Nothing here loads a policy into the host's kernel: `run`, `analyze_workload` and
`synthesize`'s measurements boot the sandbox VM, and only when the server was started with
VM tools allowed (`Limits.vm`). Every call has a budget: the arguments that cost time are
capped by `Limits` (runs, simulated seconds, the synthesis budget), and a call that
outlives `Limits.call_s` answers with an error instead of holding the agent forever.

The `bench_*` tools let an agent connected here take the benchmark (docs/benchmark.md): it
reads the visible workloads (never a held-out one: no answer names one), states goals and
proposes policies, which are checked as a proposals file is (benchmark/proposals.py) and
recorded in one; `schedlang bench run --agent proposals:FILE` then measures them. The agent
never measures its own score.
"""

from __future__ import annotations

import functools
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import anyio
import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

import schedlang
import schedlang.stdlib
from schedlang import reference
from schedlang.agent.history import History, HistoryError
from schedlang.agent.observe import observe
from schedlang.benchmark import profiles, suite
from schedlang.benchmark import proposals as bench_file
from schedlang.benchmark.agents import AgentError, Budget
from schedlang.errors import SchedlangError
from schedlang.runtime.trace_vm import TraceError
from schedlang.version import __version__

if TYPE_CHECKING:
    from schedlang.backends.artifact import Artifact

T = TypeVar("T")

INSTRUCTIONS = (
    "schedlang writes Linux sched_ext scheduling policies in a small checked language. "
    "Read the language reference (resource schedlang://docs/language) before writing a "
    "policy; `check` proves it safe or returns diagnostics with a fix each "
    "(schedlang://docs/errors); `simulate` is cheap (milliseconds), `run` boots a VM "
    "(tens of seconds). Start from `list_policies`/`read_policy`. To take the benchmark: "
    "`bench_workloads`, then per workload state the goal (`bench_propose` with `goal`) before "
    "its metrics are shown, then propose; `bench_proposals` shows what is recorded."
)


@dataclass(frozen=True)
class Limits:
    """What one tool call may spend. The defaults suit an interactive agent on a laptop."""

    call_s: float = 900.0  # wall clock of any one call
    vm: bool = True  # tools that boot the sandbox VM (run, analyze_workload, synthesize's VM stage)
    max_repeat: int = 10  # runs a side in `run`
    max_sim_seconds: float = 10.0  # simulated seconds per seed in `simulate`
    max_seeds: int = 5
    max_synth_wall_s: float = 600.0
    max_synth_vm_runs: int = 20


def _diagnostics(err: SchedlangError) -> dict[str, Any]:
    return {"ok": False, "diagnostics": [d.to_dict() for d in err.diagnostics]}


def _read_source(policy: str) -> str:
    """A policy argument is either a library policy's name or the policy's source text."""
    if "\n" not in policy and policy.strip() in schedlang.stdlib.names():
        return schedlang.stdlib.source(policy.strip())
    return policy


def _compile_then(
    policy: str,
    params: dict[str, str] | None,
    use: Callable[[Path, Artifact], dict[str, Any]],
) -> dict[str, Any]:
    """Compile `policy` into a temporary directory and answer with `use(out, artifact)`
    while the directory still holds the artifact's files (its C, its object); a policy the
    checker rejects is answered with its diagnostics instead."""
    with tempfile.TemporaryDirectory(prefix="schedlang-mcp-") as out:
        path = Path(out) / "policy.sched"
        path.write_text(_read_source(policy), encoding="utf-8")
        try:
            artifact = schedlang.compile(path, params, out)
        except SchedlangError as err:
            return _diagnostics(err)
        return use(Path(out), artifact)


def _header(source: str) -> str:
    """The first paragraph of a policy's header comment: what it is for."""
    lines: list[str] = []
    for line in source.splitlines():
        if not line.startswith("//"):
            break
        text = line.removeprefix("//").strip()
        if not text and lines:
            break
        if text:
            lines.append(text)
    return " ".join(lines)


@dataclass(frozen=True)
class GoalFloor:
    metric: str  # a goal metric (docs/benchmark.md, "Phase 1")
    floor: float  # a share of the default's performance, in (0, 1]


@dataclass(frozen=True)
class StatedGoal:
    """Phase 1's answer for one workload: the figure to move and the floors to keep."""

    metric: str  # wakeup_p50, wakeup_p99, wakeup_max, throughput, time, fairness, deadline_misses
    direction: Literal["lower", "higher"] | None = None  # None: the metric's own
    slos: list[GoalFloor] = field(default_factory=list)
    text: str = ""

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "", [])}


def build(limits: Limits | None = None, bench_proposals: Path | None = None) -> MCPServer:
    """The server with every tool and resource registered (not yet running). The bench tools
    record proposals in `bench_proposals`, or in a session directory of their own."""
    limits = limits or Limits()
    server: MCPServer = MCPServer("schedlang", version=__version__, instructions=INSTRUCTIONS)

    def budgeted(fn: Callable[..., T]) -> Callable[..., Any]:
        """Run a blocking API call in a worker thread under the call's wall-clock budget."""

        @functools.wraps(fn)
        async def call(**kwargs: Any) -> T:
            try:
                with anyio.fail_after(limits.call_s):
                    return await anyio.to_thread.run_sync(
                        functools.partial(fn, **kwargs), abandon_on_cancel=True
                    )
            except TimeoutError:
                raise ToolError(
                    f"{fn.__name__} ran past this server's budget of {limits.call_s:g} s "
                    "per call (start it with a larger --call-budget)"
                ) from None

        return call

    def need_vm(tool: str) -> None:
        if not limits.vm:
            raise ToolError(
                f"{tool} boots the sandbox VM, which this server was started without "
                "(restart it without --no-vm)"
            )

    def capped(name: str, value: float, cap: float) -> None:
        if value > cap:
            raise ToolError(f"{name}={value:g} is over this server's cap of {cap:g}")

    @server.tool(description="The library's policies: name, what each is for, its tunables.")
    def list_policies() -> list[dict[str, Any]]:
        out = []
        for name in schedlang.stdlib.names():
            source = schedlang.stdlib.source(name)
            result = schedlang.check_program(source, f"{name}.sched")
            params = []
            if result.program is not None:
                params = [
                    {"name": p.name, "type": p.type.value, "default": p.default}
                    | {"min": p.lo, "max": p.hi}
                    for p in result.program.program.params
                ]
            out.append({"name": name, "summary": _header(source), "params": params})
        return out

    @server.tool(description="The source text of a library policy, to read or start from.")
    def read_policy(name: str) -> str:
        try:
            return schedlang.stdlib.source(name)
        except KeyError as err:
            raise ToolError(str(err.args[0])) from None

    @server.tool(
        description="Check a policy (source text, or a library policy's name): proven safe, "
        "or every diagnostic with file:line:col, what and how to fix."
    )
    def check(policy: str) -> dict[str, Any]:
        diags = schedlang.check(_read_source(policy), "policy.sched")
        errors = [d for d in diags if d.severity == "error"]
        return {"ok": not errors, "diagnostics": [d.to_dict() for d in diags]}

    @server.tool(
        description="Check and compile a policy to sched_ext BPF C with clang; returns the "
        "generated C and the manifest (tunables, stats), or the diagnostics."
    )
    @budgeted
    def compile(policy: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        def answer(out: Path, artifact: Artifact) -> dict[str, Any]:
            c_file = out / f"{artifact.name}.bpf.c"
            return {
                "ok": True,
                "name": artifact.name,
                "c": c_file.read_text(encoding="utf-8") if c_file.exists() else None,
                "manifest": artifact.manifest,
            }

        return _compile_then(policy, params, answer)

    @server.tool(
        description="Run a policy on the simulated sched_ext machine against a model of the "
        "kernel's default scheduler (milliseconds; microsecond latencies). workload: "
        "hackbench, messaging, pipe, mix, build, stress-cpu, cyclictest."
    )
    @budgeted
    def simulate(
        policy: str,
        workload: str = "hackbench",
        cpus: int = 2,
        seconds: float = 1.0,
        seeds: int = 3,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        capped("seconds", seconds, limits.max_sim_seconds)
        capped("seeds", seeds, limits.max_seeds)
        try:
            report = schedlang.simulate(
                _read_source(policy),
                workload,
                cpus=cpus,
                seconds=seconds,
                seeds=tuple(range(seeds)),
                params=params,
            )
        except SchedlangError as err:
            return _diagnostics(err)
        return {"ok": True, "report": report.to_dict()}

    @server.tool(
        description="Load a policy in the sandbox VM's sched_ext kernel and measure it against "
        "the default scheduler, same boot, interleaved (tens of seconds)."
    )
    @budgeted
    def run(
        policy: str,
        workload: str = "hackbench",
        repeat: int = 5,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        need_vm("run")
        capped("repeat", repeat, limits.max_repeat)

        def measure(_out: Path, artifact: Artifact) -> dict[str, Any]:
            report = schedlang.run(artifact, workloads=[workload], repeat=repeat)
            return {"ok": True, "report": report.to_dict()}

        return _compile_then(policy, params, measure)

    @server.tool(
        description="Profile a workload under the default scheduler: per-thread run bursts, "
        "wakeup latency, migrations, the bottleneck, candidate SLOs and an rt-app model. "
        "sim=true profiles the simulator's model of it instead of the VM."
    )
    @budgeted
    def analyze_workload(workload: str, sim: bool = False) -> dict[str, Any]:
        if not sim:
            need_vm("analyze_workload")
        try:
            profile = observe(workload, sim=sim)
        except (LookupError, ValueError, OSError, TraceError) as err:  # what analyze exits 2 on
            raise ToolError(str(err)) from None
        return {"ok": True, "profile": profile.to_dict()}

    @server.tool(
        description="Turn a goal into a measured winning policy: retrieve, tune in the "
        "simulator, measure in the VM with a significance test, keep only what wins."
    )
    @budgeted
    def synthesize(
        goal: str,
        workload: str | None = None,
        wall_s: float = 300.0,
        vm_runs: int = 10,
        remeasure: bool = False,
    ) -> dict[str, Any]:
        capped("wall_s", wall_s, limits.max_synth_wall_s)
        capped("vm_runs", vm_runs, limits.max_synth_vm_runs)
        if vm_runs:
            need_vm("synthesize with vm_runs > 0")
        budget = schedlang.Budget(wall_s=wall_s, vm_runs=vm_runs, tokens=0)
        try:
            result = schedlang.synthesize(goal, workload, budget, remeasure=remeasure)
        except ValueError as err:  # a goal or workload it cannot read
            raise ToolError(str(err)) from None
        return {"ok": True, "synthesis": result.to_dict()}

    @server.tool(description="Past measurements and verdicts from the history store.")
    def history(workload: str | None = None, winners_only: bool = False) -> dict[str, Any]:
        try:
            with History.open(create=False) as store:
                entries = store.winners(workload) if winners_only else store.entries(workload)
                return {"entries": [asdict(e) for e in entries]}
        except HistoryError as err:
            return {"entries": [], "note": str(err)}

    _bench_tools(server, budgeted, need_vm, bench_proposals)

    for name in reference.pages():
        server.resource(f"schedlang://docs/{name}", name=name, mime_type="text/markdown")(
            _page_reader(name)
        )
    return server


def _bench_tools(
    server: MCPServer,
    budgeted: Callable[[Callable[..., Any]], Any],
    need_vm: Callable[[str], None],
    path: Path | None,
) -> None:
    """bench_workloads, bench_propose, bench_proposals (module docstring). Only the visible
    workloads are ever looked up, so a held-out name is as unknown as a misspelt one."""
    visible = [s for s in suite.load() if not s.held_out]
    by_name = {s.name: s for s in visible}
    lock = threading.Lock()  # calls run in worker threads; the file is written whole
    seen: dict[tuple[str, str], profiles.Shown] = {}  # (workload, source) -> its profile
    where: list[Path] = [path] if path is not None else []

    def proposals_path() -> Path:
        if not where:
            where.append(
                Path(tempfile.mkdtemp(prefix="schedlang-bench-session-")) / "proposals.json"
            )
        return where[0]

    def recorded() -> dict[str, Any]:
        file = proposals_path()
        try:
            doc = bench_file.read_json(file) if file.exists() else {}
        except AgentError as err:
            raise ToolError(str(err)) from None
        return doc if isinstance(doc, dict) else {}

    def spec_of(name: str) -> suite.WorkloadSpec:
        if name not in by_name:
            raise ToolError(f"unknown workload '{name}' (the visible workloads: "
                            f"{', '.join(by_name)})")  # fmt: skip
        return by_name[name]

    def describe(spec: suite.WorkloadSpec, entry: dict[str, Any] | None) -> dict[str, Any]:
        shown = entry is not None  # phase 1 is over for it: its answer may be shown
        return {
            "name": spec.name,
            "category": spec.category,
            "description": spec.description,
            "profile": "bench_workloads(workload=NAME) shows it",
            "goal": None if entry is None else entry.get("goal"),
            "metrics": [asdict(m) for m in spec.metrics] if shown else None,
            "slos": [asdict(s) for s in spec.slos] if shown else None,
            "skipped_here": spec.skip_reason(),
        }

    def score_with(file: Path) -> str:
        return f"schedlang bench run --agent proposals:{file} --out DIR"

    @server.tool(
        description="The benchmark's visible workloads (held-out ones are never shown): "
        "name, category, description, and, once phase 1 is over for one (it has an entry), "
        "its scored metrics with direction and alpha and its SLOs; with `workload`, also the "
        "profile phase 1 states its goal from (profile='sim': the simulator's model, ms; "
        "'vm': the workload traced in the sandbox VM, tens of s). Also the budget and the "
        "categories."
    )
    @budgeted
    def bench_workloads(
        workload: str | None = None, profile: Literal["sim", "vm"] = "sim"
    ) -> dict[str, Any]:
        from schedlang.benchmark.runner import MIN_RUNS

        entries = recorded().get("workloads", {})
        chosen = [spec_of(workload)] if workload is not None else visible
        answer: dict[str, Any] = {
            "workloads": [describe(s, entries.get(s.name)) for s in chosen],
            "phases": "phase 1: state each workload's goal from its description and profile "
            "(bench_propose with goal); its metrics and SLOs are shown once it has an entry, "
            "and its goal is fixed from then on. Phase 2: propose a policy per workload and "
            "per category (a category's proposal is measured on its held-out workloads, "
            "which are not shown).",
            "categories": list(suite.CATEGORIES),
            "budget": {
                **asdict(Budget()),
                "runs_a_side": MIN_RUNS,
                "note": "bench run's default --budget; going past it costs "
                "lambda * overuse in the score",
            },  # fmt: skip
            "proposals_file": str(proposals_path()),
        }
        if workload is not None:  # the profile phase 1 states its goal from
            if profile == "vm":
                need_vm("bench_workloads with profile='vm'")
            spec, shown = chosen[0], answer["workloads"][0]
            if (spec.name, profile) not in seen:
                with tempfile.TemporaryDirectory(prefix="schedlang-mcp-profile-") as out:
                    made = profiles.gather([spec], profile, Path(out), lambda line: None)
                seen[spec.name, profile] = made[spec.name]
            shown["profile"] = seen[spec.name, profile].profile
            shown["profile"] = None if shown["profile"] is None else shown["profile"].to_dict()
            shown["profile_note"] = seen[spec.name, profile].note
        return answer

    @server.tool(
        description="Record one proposal in the proposals file, checked as the file is: for "
        "a visible `workload` or a `category` (used for its held-out workloads), a `policy` "
        "(a library name, DSL source, C source with language='c', or 'default'), `params`, "
        "and for a workload the phase 1 `goal`. DSL that does not check is recorded and "
        "scored as a failed proposal unless replaced; its diagnostics come back."
    )
    @budgeted
    def bench_propose(
        workload: str | None = None,
        category: str | None = None,
        policy: str | None = None,
        language: Literal["sched", "c"] = "sched",
        params: dict[str, str] | None = None,
        goal: StatedGoal | None = None,
        note: str | None = None,
    ) -> dict[str, Any]:
        if (workload is None) == (category is None):
            raise ToolError("give exactly one of workload or category")
        if workload is not None:
            kind, name = "workloads", spec_of(workload).name
        else:
            kind, name = "categories", str(category)
        given: dict[str, Any] = {}
        if goal is not None:
            given["goal"] = goal.to_json()
        if policy is not None:
            given |= {"policy": policy, "params": params or {}}
            if language != "sched":
                given["language"] = language
            if note:
                given["note"] = note
        elif params or note or language != "sched":
            raise ToolError("params, language and note go with a policy")
        if not given:
            raise ToolError("give a policy, a goal or both")
        file = proposals_path()
        try:
            with lock:
                entry = bench_file.record(file, kind, name, given, visible)
        except AgentError as err:
            raise ToolError(str(err)) from None
        answer = {"ok": entry.problem is None, "recorded": {kind: {name: entry.to_json()}},
                  "proposals_file": str(file), "score_with": score_with(file)}  # fmt: skip
        if entry.problem is not None and entry.policy is not None:
            answer["problem"] = f"{entry.problem}: scored as a failed proposal unless replaced"
            answer["diagnostics"] = [d.to_dict() for d in schedlang.check(entry.policy)]
        return answer

    @server.tool(
        description="What is recorded: the proposals file, and per visible workload and per "
        "category whether it has a proposal, only a goal, or nothing yet (then its "
        "category's proposal or the default scheduler is measured)."
    )
    @budgeted
    def bench_proposals() -> dict[str, Any]:
        file = proposals_path()
        doc = recorded()
        entries = {kind: doc.get(kind, {}) for kind in ("workloads", "categories")}

        def state(entry: dict[str, Any] | None) -> str:
            if entry is None:
                return "nothing yet"
            return "proposed" if "policy" in entry else "goal only"

        return {
            "proposals_file": str(file),
            "proposals": doc,
            "workloads": {s.name: state(entries["workloads"].get(s.name)) for s in visible},
            "categories": {c: state(entries["categories"].get(c)) for c in suite.CATEGORIES},
            "score_with": score_with(file),
        }


def _page_reader(name: str) -> Callable[[], str]:
    def read() -> str:
        return reference.page(name)

    read.__name__ = f"docs_{name.replace('-', '_')}"
    return read
