"""Phase 1's profiles: each suite workload as `schedlang analyze` shows it, traced in the VM.

The profile an agent states its goal from (benchmark/goals.py) is the workload's own command
(its file's `runner`, runtime/workloads.py) traced under the default scheduler in the sandbox:
`schedlang analyze --workload RUNNER`, perf in the guest, one boot per workload. So the agent
sees the program it will be scored on, not a model of it. The simulator's profile of the
file's `sim_proxy` model (`schedlang analyze --sim -w MODEL --seed 0`) is the fallback, and
says so: asked for (`--profiles sim`: no VM time, deterministic), or for a workload whose
trace failed (the reason is kept). A workload with neither gets no profile, also saying why.

A bundle holds what the agent saw: DIR/profiles/NAME.json is the profile itself (its
`source` field says vm or sim) and the result's `profile` entry per workload says where it
came from. An earlier run's VM profiles can be shown again (`--reuse-profiles DIR`), so two
agents are graded on the very same traces without tracing twice; that bundle must verify
(schedlang bench verify), since what it holds is shown as traced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from schedlang.agent.profile import ProfileError, WorkloadProfile
from schedlang.benchmark.suite import WorkloadSpec

Source = Literal["vm", "sim"]
SOURCES: tuple[Source, ...] = ("vm", "sim")
Say = Callable[[str], None]


class ProfilesError(ValueError):
    """Profiles that cannot be reused (a bundle that does not verify, or not a bundle)."""


@dataclass(frozen=True)
class Shown:
    """What phase 1 showed for one workload: the profile (None: none could be made), its
    source, and a note on where it came from (a fallback's reason, a reused file)."""

    profile: WorkloadProfile | None
    note: str

    @property
    def source(self) -> Source | None:
        return None if self.profile is None else self.profile.source

    def to_dict(self) -> dict[str, Any]:
        p = self.profile
        return {
            "source": self.source,
            "traced": None if p is None else p.workload,  # the runner, or the sim model
            "bottleneck": None if p is None else p.bottleneck.value,
            "note": self.note,
        }


def _trace(runner: str, say: Say) -> WorkloadProfile:
    """`schedlang analyze --workload RUNNER` (observe in the VM)."""
    from schedlang.agent.observe import observe

    return observe(runner, cpus=2, progress=lambda line: say(f"  {line}"))


def _simulate(model: str) -> WorkloadProfile:
    """`schedlang analyze --sim -w MODEL --seed 0`."""
    from schedlang.agent.observe import observe

    return observe(model, sim=True, cpus=2, seed=0)


def reusable(directory: Path) -> dict[str, WorkloadProfile]:
    """The profiles an earlier result directory showed, by workload; ProfilesError when it is
    not a sealed bundle that verifies, or a profile in it cannot be read."""
    from schedlang.benchmark import bundle

    try:
        check = bundle.verify(directory)
    except bundle.BundleError as exc:
        raise ProfilesError(f"--reuse-profiles {directory}: {exc}") from None
    if not check.ok:
        raise ProfilesError(
            f"--reuse-profiles {directory}: the bundle does not verify, so its profiles "
            f"are not shown as traced: {check.describe()}"
        )
    found = {}
    for path in sorted((directory / "profiles").glob("*.json")):
        try:
            found[path.stem] = WorkloadProfile.from_json(path.read_text())
        except ProfileError as exc:
            raise ProfilesError(f"{path}: {exc}") from None
    return found


def gather(
    specs: list[WorkloadSpec],
    source: Source,
    out: Path,
    say: Say,
    *,
    reuse: dict[str, WorkloadProfile] | None = None,
    reused_from: str = "",
) -> dict[str, Shown]:
    """Each workload's profile from `source` (module docstring), written to DIR/profiles/.

    With `reuse`, a workload's earlier profile of the same source and of the same runner (vm)
    or model (sim) is shown instead of making it again."""
    from schedlang import TraceError

    shown: dict[str, Shown] = {}
    simulated: dict[str, WorkloadProfile] = {}  # several files share a model

    def sim(spec: WorkloadSpec, why: str) -> Shown:
        if spec.sim_proxy is None:
            return Shown(None, f"{why}; no simulator model to fall back on: no profile")
        if spec.sim_proxy not in simulated:
            simulated[spec.sim_proxy] = _simulate(spec.sim_proxy)
        return Shown(simulated[spec.sim_proxy], f"{why}: the simulator's model {spec.sim_proxy}")

    for spec in specs:
        wanted = spec.runner if source == "vm" else spec.sim_proxy
        earlier = (reuse or {}).get(spec.name)
        if earlier is not None and earlier.source == source and earlier.workload == wanted:
            shown[spec.name] = Shown(earlier, f"reused from {reused_from}")
        elif source == "sim":
            shown[spec.name] = sim(spec, "asked for (--profiles sim)")
        else:
            say(f"profile {spec.name}: tracing {spec.runner} in the VM (schedlang analyze)")
            try:
                shown[spec.name] = Shown(
                    _trace(spec.runner, say), f"traced {spec.runner} in the VM"
                )
            except (TraceError, ValueError) as exc:  # ValueError: a trace with no workload thread
                shown[spec.name] = sim(spec, f"the VM trace failed ({exc})")
        s = shown[spec.name]
        say(f"profile {spec.name}: {s.source or 'none'}"
            + ("" if s.profile is None else f", {s.profile.bottleneck.value}") + f" ({s.note})")  # fmt: skip
        if s.profile is not None:
            (out / "profiles").mkdir(parents=True, exist_ok=True)
            (out / "profiles" / f"{spec.name}.json").write_text(s.profile.to_json())
    return shown
