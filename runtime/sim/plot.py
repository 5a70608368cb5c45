"""`schedlang sim --plot`: a picture of one simulated run against the default model.

Two panels: per-CPU occupancy of the policy's run (which thread ran when, from the machine's
trace) and the wakeup-latency CDF of the policy's run and the default model's on the same
seed. `prepare` computes exactly what is drawn, so a test can check the figure's data
without reading pixels; `render` only draws it (matplotlib, Agg: no display needed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from schedlang.runtime.sim.machine import MachineResult


@dataclass(frozen=True)
class Cdf:
    latencies_us: tuple[float, ...]  # sorted
    fractions: tuple[float, ...]  # fractions[i]: share of wakeups at or below latencies_us[i]


@dataclass(frozen=True)
class PlotData:
    title: str
    cpus: int
    end_us: float
    # Per CPU, the (start µs, end µs, pid) of each stretch a thread ran.
    occupancy: tuple[tuple[tuple[float, float, int], ...], ...]
    policy_cdf: Cdf
    baseline_cdf: Cdf


def _cdf(run: MachineResult) -> Cdf:
    values = sorted(ns / 1000 for th in run.threads for ns in th.latencies)
    n = len(values)
    return Cdf(tuple(values), tuple((i + 1) / n for i in range(n)))


def prepare(policy_run: MachineResult, baseline_run: MachineResult) -> PlotData:
    """The figure's data. `policy_run` must have been traced (`Machine(..., trace=True)`):
    a CPU's stretch starts at its `run` event and ends at its next event (stop, idle, exit,
    or the next run); one still open at the end is cut at the run's end."""
    if policy_run.trace is None:
        raise ValueError("the policy run has no trace (run the machine with trace=True)")
    open_runs: dict[int, tuple[int, int]] = {}
    per_cpu: list[list[tuple[float, float, int]]] = [[] for _ in range(policy_run.nr_cpus)]
    for event in policy_run.trace:
        started = open_runs.pop(event.cpu, None)
        if started is not None and event.ns > started[0]:
            per_cpu[event.cpu].append((started[0] / 1000, event.ns / 1000, started[1]))
        if event.what == "run":
            open_runs[event.cpu] = (event.ns, event.pid)
    for cpu, (ns, pid) in open_runs.items():
        if policy_run.end_ns > ns:
            per_cpu[cpu].append((ns / 1000, policy_run.end_ns / 1000, pid))
    return PlotData(
        title=f"{policy_run.policy} vs default model: {policy_run.workload}, "
        f"{policy_run.nr_cpus} CPUs, seed {policy_run.seed}",
        cpus=policy_run.nr_cpus,
        end_us=policy_run.end_ns / 1000,
        occupancy=tuple(tuple(stretches) for stretches in per_cpu),
        policy_cdf=_cdf(policy_run),
        baseline_cdf=_cdf(baseline_run),
    )


def render(data: PlotData, path: Path) -> None:
    """Draw `data` into a PNG at `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (occ, cdf) = plt.subplots(2, 1, figsize=(10, 7), gridspec_kw={"height_ratios": [1, 1]})
    colours = plt.get_cmap("tab20")
    for cpu, stretches in enumerate(data.occupancy):
        occ.broken_barh(
            [(start / 1000, (end - start) / 1000) for start, end, _ in stretches],
            (cpu - 0.4, 0.8),
            facecolors=[colours(pid % 20) for _, _, pid in stretches],
        )
    occ.set_yticks(range(data.cpus), [f"CPU {c}" for c in range(data.cpus)])
    occ.set_xlim(0, max(data.end_us / 1000, 1e-3))
    occ.set_xlabel("simulated time (ms); one colour per thread")
    occ.set_title(data.title)
    for label, side in (("policy", data.policy_cdf), ("default model", data.baseline_cdf)):
        if side.latencies_us:
            cdf.step(side.latencies_us, side.fractions, where="post", label=label)
    cdf.set_xscale("symlog", linthresh=1.0)
    cdf.set_xlabel("wakeup latency (µs, runnable to running)")
    cdf.set_ylabel("fraction of wakeups")
    cdf.set_ylim(0, 1.02)
    cdf.grid(True, alpha=0.3)
    cdf.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
