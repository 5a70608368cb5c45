"""How an agent plugs into the benchmark, and the baselines shipped with it.

An agent is anything with a `name` and `propose(spec, profile, budget) -> Proposal`: given
one workload's file (what runs, its metrics and SLOs; held-out workloads are proposed for
like any other, the agent just never tuned on them), optionally its profile, and the budget
it may spend, it names a policy (a stdlib name, or DSL source) and its parameters, and says
what it spent. The runner measures the proposal against the default scheduler in the VM; the
agent never measures itself, so every agent is scored the same way. An agent from outside
schedlang implements the same protocol and comes in through plugin.py (`--agent module:attr`,
`--agent file.py:Name`), or answers in a proposals file (proposals.py), which an agent
connected over MCP writes through the server's bench tools.

Phase 1 (goal inference) comes first: an agent that has `state_goal(question) -> Goal | None`
is shown each workload's name, description, category and profile (a `GoalQuestion`: not its
metrics, SLOs or reference goal, which are the answer) and states the goal it would pursue;
benchmark/goals.py grades it. An agent without `state_goal` is not graded in phase 1.

Baselines (docs/benchmark.md):
* `default`: proposes nothing; the kernel's own scheduler is measured against itself, so
  its I is 1 by construction and its interval shows the noise floor.
* `rules`: a stdlib policy per workload category, chosen by hand-written rules.
* `offline`: `schedlang.synthesize` without a model and without VM runs: the library's
  candidates tuned in the simulator on the workload's `sim_proxy` model within the budget.
Their goals: `default` always says "make it faster", `rules` one goal per category, `offline`
reads the profile (`infer_goal`), or the category when it shows no bottleneck. All three are
deterministic.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from schedlang.agent.goal import METRICS as GOAL_METRICS
from schedlang.agent.goal import Goal
from schedlang.agent.goal import Slo as GoalSlo
from schedlang.agent.profile import Bottleneck, SloMetric, WorkloadProfile
from schedlang.benchmark.suite import WorkloadSpec
from schedlang.stats import SAME_WITHIN


@dataclass(frozen=True)
class Budget:
    """What an agent may spend over the whole suite: wall seconds, its own VM runs, tokens."""

    wall_s: float = 600.0
    vm_runs: int = 0
    tokens: int = 0


@dataclass(frozen=True)
class Proposal:
    policy: str | None  # a stdlib name, DSL source (contains a newline), or None: the default
    params: dict[str, Any] = field(default_factory=dict)
    language: Literal["sched", "c"] = "sched"  # "c": `policy` is sched_ext C (track T2)
    note: str = ""  # one line: why this policy
    wall_s: float = 0.0  # what proposing cost
    vm_runs: int = 0
    tokens: int = 0

    @property
    def is_source(self) -> bool:
        return self.policy is not None and "\n" in self.policy


@dataclass(frozen=True)
class GoalQuestion:
    """What phase 1 shows an agent about one workload."""

    workload: str
    description: str
    category: str
    profile: WorkloadProfile | None  # None: the workload has no profile (no simulator model)


class Agent(Protocol):
    name: str

    def propose(
        self, spec: WorkloadSpec, profile: dict[str, Any] | None, budget: Budget
    ) -> Proposal: ...


# Hand-written: the goal a workload of each category usually has (docs/benchmark.md).
CATEGORY_GOALS: dict[str, Goal] = {
    "latency": Goal("wakeup_p99", "lower"),
    "batch": Goal("time", "lower"),
    "analytics": Goal("time", "lower"),
    "server": Goal("throughput", "higher"),
    "stress": Goal("time", "lower", slos=(GoalSlo("throughput", 0.8),)),  # the noise is a tenant
}

# A profile's SLO metric (agent/profile.py) -> the goal metric it stands for (agent/goal.py).
_GOAL_OF_SLO = {
    SloMetric.WAKEUP_P50_US: "wakeup_p50",
    SloMetric.WAKEUP_P99_US: "wakeup_p99",
    SloMetric.WAKEUP_MAX_US: "wakeup_max",
    SloMetric.THROUGHPUT: "throughput",
    SloMetric.MAKESPAN_S: "time",
    SloMetric.WALL_S: "time",
}


def infer_goal(profile: WorkloadProfile) -> Goal:
    """The goal a profile states, read without judgement: what its soft SLO improves (a
    ping-pong's round trip, the median wakeup, when Observe saw one), and as floors its hard
    SLOs on other figures, each the bound's share of what the profile measured under the
    default (a CPU-time floor of 95% of the hogs' time is 0.95; a tail at most twice the
    observed one is 0.5). With no soft SLO: throughput when the CPUs are saturated, else time."""
    improve = next((s for s in profile.slos if not s.hard), None)
    if profile.bottleneck is Bottleneck.PING_PONG:
        metric = "wakeup_p50"
    elif improve is not None:
        metric = _GOAL_OF_SLO[improve.metric]
    else:
        metric = "throughput" if profile.bottleneck is Bottleneck.CPU_SATURATED else "time"
    floors: dict[str, float] = {}
    for slo in profile.slos:
        kept = _GOAL_OF_SLO[slo.metric]
        share = _share(profile, slo)
        if slo.hard and kept != metric and share is not None:
            floors[kept] = max(floors.get(kept, 0.0), share)
    return Goal(metric, GOAL_METRICS[metric][0], slos=tuple(GoalSlo(m, f) for m, f in sorted(floors.items())),
                text=f"from the profile: {profile.bottleneck.value}")  # fmt: skip


def _share(profile: WorkloadProfile, slo: Any) -> float | None:
    """The SLO's bound as a share of the default's figure in the profile (higher is better),
    in (0, 1]; None when the profile has no such figure."""
    if slo.metric is SloMetric.THROUGHPUT:
        threads = profile.thread(slo.task) if slo.task else profile.threads
        observed = sum(t.run.total_us for t in threads) / max(profile.duration_s * 1e6, 1e-9)
        share = slo.value / observed if observed else None
    elif slo.metric in (SloMetric.WAKEUP_P99_US, SloMetric.WAKEUP_P50_US, SloMetric.WAKEUP_MAX_US):
        dist = profile.wakeup_latency
        seen = {SloMetric.WAKEUP_P50_US: dist.p50_us, SloMetric.WAKEUP_P99_US: dist.p99_us,
                SloMetric.WAKEUP_MAX_US: dist.max_us}[slo.metric]  # fmt: skip
        share = seen / slo.value if seen and slo.value else None
    else:
        seen = profile.metrics.get(slo.metric.value)
        share = seen / slo.value if seen and slo.value else None
    return None if share is None else round(min(share, 1.0), 2)


class DefaultAgent:
    name = "default"

    def state_goal(self, question: GoalQuestion) -> Goal | None:
        return Goal("time", "lower", text="make it faster")

    def propose(
        self, spec: WorkloadSpec, profile: dict[str, Any] | None, budget: Budget
    ) -> Proposal:
        return Proposal(None, note="the kernel's own scheduler")


# Hand-written: which library policy suits each category, and why (docs/benchmark.md).
RULES: dict[str, tuple[str, str]] = {
    "latency": ("latency_boost", "short bursts after a wakeup get a short slice and go first"),
    "batch": ("weighted_vtime", "weighted fair vtime with long slices: few switches"),
    "analytics": ("weighted_vtime", "throughput work in few processes, as batch"),
    "server": ("interactive", "request handlers are short sleepers: favour them"),
    "stress": ("least_loaded", "spread work to the least loaded CPU when one is taken"),
}


class RulesAgent:
    name = "rules"

    def state_goal(self, question: GoalQuestion) -> Goal | None:
        return CATEGORY_GOALS[question.category]

    def propose(
        self, spec: WorkloadSpec, profile: dict[str, Any] | None, budget: Budget
    ) -> Proposal:
        policy, why = RULES[spec.category]
        return Proposal(policy, note=f"{spec.category}: {why}")


# The model agent's share of the token budget per tuned workload: a call that carries the
# language reference (cached) is about 33k tokens, so this is two or three calls.
PER_WORKLOAD_TOKENS = 100_000

# The goal the offline synthesis pursues, by category, on the workload's simulator model.
GOALS = {
    "latency": "make {w} faster",
    "batch": "maximize throughput of {w}",
    "analytics": "maximize throughput of {w}",
    "server": "reduce latency on {w}",
    "stress": "reduce latency on {w}",
}


class OfflineAgent:
    """`schedlang.synthesize` with no model and no VM runs, on the workloads it may tune on.

    Each tuned workload gets `per_workload_s` of simulated search (less when the budget's wall
    seconds run short). The simulator's best is proposed only when it beats the default model
    by more than its rounding (stats.SAME_WITHIN): a tie is no evidence, so the default stays,
    as synthesize keeps nothing it could not show to win. A held-out workload is not tuned on:
    it gets the tuned winner of its category that the simulator scored highest (the first of
    equals), or the default when there was none, which is what makes its score a test of
    generalisation. The runner asks
    about tuned workloads first."""

    name = "offline"
    uses_model = False

    def __init__(
        self,
        per_workload_s: float = 60.0,
        trials: int | None = None,
        per_workload_tokens: int = PER_WORKLOAD_TOKENS,
    ) -> None:
        self.per_workload_s = per_workload_s
        self.trials = trials
        self.per_workload_tokens = per_workload_tokens
        self.spent_s = 0.0
        self.spent_tokens = 0
        # category -> (the simulator's score, the tuned workload, its proposal)
        self.by_category: dict[str, tuple[float, str, Proposal]] = {}

    def state_goal(self, question: GoalQuestion) -> Goal | None:
        """The profile's goal (`infer_goal`); the category's when there is no profile or
        Observe saw no bottleneck in it (then the profile is no evidence either way)."""
        profile = question.profile
        if profile is None or profile.bottleneck is Bottleneck.NONE:
            return CATEGORY_GOALS[question.category]
        return infer_goal(profile)

    def propose(
        self, spec: WorkloadSpec, profile: dict[str, Any] | None, budget: Budget
    ) -> Proposal:
        import schedlang

        if spec.held_out:
            if spec.category not in self.by_category:
                return Proposal(None, note=f"held out, nothing tuned for {spec.category}")
            sim_score, tuned, learned = self.by_category[spec.category]
            return Proposal(learned.policy, dict(learned.params), learned.language,
                            note=f"held out: what won for {spec.category} ({tuned}, "
                            f"{sim_score:.3f}x in the simulator)")  # fmt: skip
        if spec.sim_proxy is None:
            return Proposal(None, note="no simulator model to tune on: the default")
        tokens = 0
        if self.uses_model:
            if budget.tokens <= 0:
                raise AgentError(f"the {self.name} agent needs a token budget (--budget tokens=N)")
            tokens = max(0, min(self.per_workload_tokens, budget.tokens - self.spent_tokens))
        wall = min(self.per_workload_s, max(1.0, budget.wall_s - self.spent_s))
        t0 = time.monotonic()
        result = schedlang.synthesize(
            GOALS[spec.category].format(w=spec.sim_proxy),
            budget=schedlang.Budget(wall_s=wall, vm_runs=0, tokens=tokens),
            offline=True if not self.uses_model else None,  # None: a model while tokens last
            trials=self.trials,
            history=False,
            observe_in="sim" if self.uses_model else None,  # the model's prompt shows it
        )
        spent = time.monotonic() - t0
        self.spent_s += spent
        self.spent_tokens += result.tokens
        best = result.simulated_best
        if not best or best.get("score") is None:
            return Proposal(None, note="the simulator found nothing: the default", wall_s=spent,
                            tokens=result.tokens)  # fmt: skip
        if not best.get("feasible", True):  # every candidate broke an SLO or was ejected
            return Proposal(None, note=f"the simulator's best, {best['candidate']}, breaks an SLO "
                            "or was ejected there: the default", wall_s=spent,
                            tokens=result.tokens)  # fmt: skip
        if best["score"] < 1 + SAME_WITHIN:  # keep only what wins: a tie is no evidence
            return Proposal(None, note=f"the simulator's best, {best['candidate']}, is "
                            f"{best['score']:.3f}x the default model, no better: the default",
                            wall_s=spent, tokens=result.tokens)  # fmt: skip
        policy = _candidate_source(best["candidate"], result)
        written = "" if policy == best["candidate"] else f" ({best['candidate']}, the model's)"
        proposal = Proposal(
            policy,
            dict(best["params"]),
            note=f"simulator's best on {spec.sim_proxy}: {best['score']:.3f}x the default model"
            + written,
            wall_s=spent,
            tokens=result.tokens,
        )
        known = self.by_category.get(spec.category)
        if known is None or best["score"] > known[0]:
            self.by_category[spec.category] = (best["score"], spec.name, proposal)
        return proposal


def _candidate_source(name: str, result: Any) -> str:
    """A stdlib candidate by name; one the model wrote (agent/generate.py) by its source,
    which the synthesis's generate stage recorded with the attempt that checked it."""
    import schedlang.stdlib

    if name in schedlang.stdlib.names():
        return name
    from schedlang.agent.generate import ORIGIN

    checked = {
        a["outcome"].removeprefix("checked: "): a["source"]
        for it in result.iterations
        if it.stage == "generate"
        for a in it.detail.get("attempts", ())
        if a.get("source") and str(a.get("outcome", "")).startswith("checked: ")
    }
    source = checked.get(name) or checked.get(name.removesuffix(f"-{ORIGIN}"))
    if source is None:
        raise AgentError(f"synthesis chose '{name}', which is neither a stdlib policy nor one "
                         "the model wrote")  # fmt: skip
    return str(source)


def _client() -> Any:
    """The model's client; AgentError (the agent is skipped, saying why) without a key."""
    from schedlang.agent.conversation import API_KEY_ENV, client_from_env

    client = client_from_env()
    if client is None:
        raise AgentError(f"skipped: it needs {API_KEY_ENV} set (track T2 asks a model)")
    return client


class ModelAgent(OfflineAgent):
    """Track T2's agent: the offline agent's synthesis with a model, whose stage 4 writes a
    DSL policy through the checker (agent/generate.py); the simulator's best, stdlib or
    written, is proposed. At most `per_workload_tokens` a tuned workload, within the budget."""

    name = "model"
    uses_model = True

    def __init__(self, **options: Any) -> None:
        _client()
        super().__init__(**options)


class NaiveAgent:
    """Track T2's baseline, the proposal's third: a model asked for sched_ext C with nothing
    but a prompt (agent/naive.py), compiled, told the compiler's errors, until it compiles or
    the attempts or tokens run out. No profile, no checker, no tuning. Loading needs the VM,
    which the agent is not given (vm_runs 0): C that compiles but does not load is found out
    by the measurement, whose missing I scores 0. With nothing compiled the default stays,
    and is measured as that (I = 1, as if nothing had been proposed)."""

    name = "naive"

    def __init__(self, attempts: int | None = None, include_dirs: tuple[str, ...] = ()) -> None:
        self.client = _client()
        self.attempts = attempts
        self.include_dirs = include_dirs  # headers its C may include (and the prompt names)
        self.spent_tokens = 0

    def propose(
        self, spec: WorkloadSpec, profile: dict[str, Any] | None, budget: Budget
    ) -> Proposal:
        import tempfile
        from pathlib import Path

        from schedlang.agent.conversation import DEFAULT_ATTEMPTS
        from schedlang.agent.naive import naive

        if budget.tokens <= 0:
            raise AgentError("the naive agent needs a token budget (--budget tokens=N)")
        left = budget.tokens - self.spent_tokens
        if left <= 0:
            return Proposal(None, note="no tokens left: the default stays")
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="schedlang-naive-") as tmp:
            result = naive(GOALS[spec.category].format(w=spec.name), spec.name, self.client,
                           Path(tmp), include_dirs=self.include_dirs, max_tokens_total=left,
                           attempts=self.attempts or DEFAULT_ATTEMPTS)  # fmt: skip
        spent, tokens = time.monotonic() - t0, result.usage.tokens
        self.spent_tokens += tokens
        calls = f"{len(result.attempts)} calls, {tokens} tokens"
        if result.artifact is None:
            return Proposal(None, note=f"nothing compiled ({result.stopped}; {calls}): "
                            "the default stays", wall_s=spent, tokens=tokens)  # fmt: skip
        source = result.attempts[-1].source
        assert source is not None  # the attempt that compiled
        return Proposal(source, language="c", note=f"compiled ({calls})", wall_s=spent,
                        tokens=tokens)  # fmt: skip


class AgentError(ValueError):
    """An agent that cannot be used here; the message says what is missing."""


AGENTS: dict[str, Callable[[], Agent]] = {
    "default": DefaultAgent,
    "rules": RulesAgent,
    "offline": OfflineAgent,
    "model": ModelAgent,
    "naive": NaiveAgent,
}
TRACKS = ("T1", "T2")  # runnable: config only, code-gen (T3 is designed, docs/benchmark.md)
# The track each agent belongs to: T2's write code, which track T1 (config only) forbids.
TRACK_OF = {"default": "T1", "rules": "T1", "offline": "T1", "model": "T2", "naive": "T2"}


def make(name: str, track: str = "T1") -> Agent:
    """The agent `name` for `track`; AgentError when it is unknown, belongs to another
    track, or cannot run here (the message says why: a T2 agent without a key is skipped)."""
    if name not in AGENTS:
        raise AgentError(f"unknown agent '{name}' (known: {', '.join(AGENTS)}; an outside "
                         "agent is module:attr, file.py:Name or proposals:FILE.json, see "
                         "`schedlang bench agents`)")  # fmt: skip
    if TRACK_OF[name] == "T2" and track != "T2":
        raise AgentError(f"agent '{name}' writes code: it runs in track T2 (--track T2)")
    try:
        return AGENTS[name]()
    except AgentError as exc:
        raise AgentError(f"agent '{name}' {exc}") from None


def listing() -> list[tuple[str, str, str]]:
    """Every agent: (name, track, "available" or why it is skipped here)."""
    rows = []
    for name in AGENTS:
        try:
            AGENTS[name]()
            state = "available"
        except AgentError as exc:
            state = str(exc)
        rows.append((name, TRACK_OF[name], state))
    return rows
