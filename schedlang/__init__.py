"""schedlang: a small typed language for Linux sched_ext scheduling policies.

The public API, one function per stage of the pipeline
(source → AST → checked IR → BPF artifact → runtime report):

    tree = schedlang.parse(text)                 # syntax tree, or SchedlangError
    diagnostics = schedlang.check(text)          # [] when the policy is proven safe
    result = schedlang.check_program(text)       # CheckResult: .program (CheckedProgram) + .diagnostics
    artifact = schedlang.compile("fair.sched")   # NAME.bpf.c, NAME.bpf.o, NAME.json
    report = schedlang.run(artifact, workloads=["hackbench"], repeat=5)
    report = schedlang.simulate("fair.sched", "mix")  # simulated machine, vs a default model
    result = schedlang.synthesize("maximize throughput of hackbench")  # goal -> measured winner
    combo = schedlang.compose("least_loaded", "eevdf")  # placement of one, ordering of another
    trace = schedlang.trace("hackbench")        # the workload under the default scheduler

Imports of the backend and the runtime happen on first use, so checking stays fast.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schedlang.version import __version__ as __version__

if TYPE_CHECKING:
    from schedlang.ast import Scheduler
    from schedlang.backends.artifact import Artifact
    from schedlang.diagnostics import Diagnostic
    from schedlang.errors import SchedlangError
    from schedlang.ir import CheckedProgram
    from schedlang.runtime.sched_trace import SchedTrace
    from schedlang.runtime.sim.compare import SimReport

# Names re-exported lazily (PEP 562): `import schedlang` stays cheap, which matters for every
# `python3 -m schedlang.runtime.*` the sandbox runs inside the guest, where lark and the
# front end are never needed.
_LAZY = {
    "Scheduler": "schedlang.ast",
    "Diagnostic": "schedlang.diagnostics",
    "SchedlangError": "schedlang.errors",
    "CheckedProgram": "schedlang.ir",
    "MeasureError": "schedlang.runtime.measure",
    "TraceError": "schedlang.runtime.trace_vm",
    # The agent (schedlang/agent/) sits above the api: named here, imported on first use.
    "synthesize": "schedlang.agent.loop",
    "Budget": "schedlang.agent.loop",
    "Synthesis": "schedlang.agent.loop",
    "Goal": "schedlang.agent.goal",
    "SchedTrace": "schedlang.runtime.sched_trace",
    "compose": "schedlang.composition",
    "Composed": "schedlang.composition",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'schedlang' has no attribute {name!r}")


__all__ = [
    "Budget",
    "CheckResult",
    "CheckedProgram",
    "Composed",
    "Diagnostic",
    "Goal",
    "MeasureError",
    "SchedTrace",
    "SchedlangError",
    "TraceError",
    "Scheduler",
    "canonical_source",
    "check",
    "check_params",
    "check_program",
    "compile",
    "compose",
    "parse",
    "run",
    "run_each",
    "simulate",
    "synthesize",
    "Synthesis",
    "trace",
]


@dataclass(frozen=True)
class CheckResult:
    """What checking one policy gave: the checked program if it is safe, and every diagnostic."""

    program: CheckedProgram | None
    diagnostics: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return self.program is not None


def parse(text: str, path: str = "<string>") -> Scheduler:
    """The syntax tree of a policy, or SchedlangError carrying the diagnostics."""
    from schedlang.syntax import parse as parse_text

    return parse_text(text, path)


def canonical_source(text: str, path: str = "<string>") -> str:
    """The policy as `schedlang fmt` prints it, without its comments: one text for every file
    that differs only in layout or comments, so its hash names the policy (the agent's
    history store keys policies by it). SchedlangError carrying the diagnostics when the text
    does not parse."""
    from schedlang.fmt import format_program

    return format_program(parse(text, path))


def check_program(text: str, path: str = "<string>") -> CheckResult:
    from schedlang.checker import check_source
    from schedlang.source import SourceFile

    checked, diags = check_source(SourceFile(path, text))
    return CheckResult(checked, list(diags))


def check(text: str, path: str = "<string>") -> list[Diagnostic]:
    """Every diagnostic for a policy's source text; an empty list means it is proven safe."""
    return check_program(text, path).diagnostics


def check_params(program: CheckedProgram, params: dict[str, Any]) -> list[Diagnostic]:
    """The problems of tunable overrides (`--param`) for a checked policy, found without
    compiling it: an unknown name, a value that is not a literal of the tunable's type, a
    value outside the declared range; empty when `compile` would take them."""
    from schedlang.backends.overrides import resolve
    from schedlang.diagnostics import Diagnostics

    diags = Diagnostics(program.source)
    resolve(program.program, params, diags)
    return list(diags)


def compile(
    source_or_path: str | Path,
    params: dict[str, Any] | None = None,
    outdir: str | Path | None = None,
    **options: Any,
) -> Artifact:
    """Check and compile a policy (source text or a path) to a loadable sched_ext object;
    SchedlangError carries the diagnostics when it does not compile.

    A path ending in `.c` is hand-written sched_ext C: it must pass the `verify-c` gate and
    its manifest is read from the compiled object (docs/verify-c.md). `options` are
    `compiler.compile_policy`'s: emit, kernel_api, timeout_ms, include_dirs."""
    from schedlang.compiler import compile_policy
    from schedlang.errors import SchedlangError

    compiled = compile_policy(source_or_path, params, outdir, **options)
    if compiled.artifact is None:
        raise SchedlangError(compiled.source, compiled.diagnostics, compiled.imported)
    return compiled.artifact


def run(artifact: Artifact | str | Path, **options: Any) -> Any:
    """Load a compiled policy in a sched_ext kernel and measure it against the default.

    `artifact` may also be a `.bpf.o` path (manifest beside it) or a hand-written `.bpf.c`,
    which is compiled first (SchedlangError if it does not pass)."""
    from schedlang.backends.artifact import Artifact
    from schedlang.compiler import is_c_policy
    from schedlang.runtime.measure import run as measure_run

    if not isinstance(artifact, Artifact) and is_c_policy(artifact):
        artifact = compile(artifact)
    return measure_run(artifact, **options)


def run_each(artifacts: list[tuple[Artifact, dict[str, Any] | None]], **options: Any) -> list[Any]:
    """Measure several compiled policies (each with its params) in ONE sandbox boot, one
    after another, each interleaved with the kernel's default scheduler: one `Report` per
    policy, comparable with each other because they share the boot. `options` are `run`'s,
    and `shared_default=True` runs them in rounds (the default once, then each policy) so
    every report has the same default runs."""
    from schedlang.runtime.measure import run_each as measure_each

    return measure_each(artifacts, **options)


def run_default(workloads: list[str] | tuple[str, ...], **options: Any) -> Any:
    """The kernel's default scheduler against itself in ONE boot, interleaved as `run` does
    with no policy loaded on either side: the noise floor of a comparison (and the
    benchmark's `default` agent). `options` are `run`'s, less `params` and `host`."""
    from schedlang.runtime.measure import run_default as measure_default

    return measure_default(workloads, **options)


def kernel_version() -> str:
    """The guest kernel version a VM measurement boots now (the pin, or the
    `SCHEDLANG_KERNEL_VERSION` setting): a stored measurement is only reused on the kernel it
    was made on."""
    from schedlang.runtime.provision import kernel_version as setting

    return setting()


def workloads() -> dict[str, Any]:
    """The VM workload catalogue `run` measures: name -> its `Workload` (command, tools,
    parser), so tools built on the api can name and describe workloads."""
    from schedlang.runtime.workloads import WORKLOADS

    return dict(WORKLOADS)


def workload_metrics(name: str) -> tuple[Any, ...]:
    """The metrics a run of workload `name` reports (each a `MetricSpec`: name, unit, which
    direction is better), the runner's wall time last."""
    from schedlang.runtime.workloads import get, metric_specs

    return metric_specs(get(name))


def simulate(
    source_or_path: str | Path,
    workload: str = "hackbench",
    *,
    cpus: int = 2,
    seconds: float | None = None,
    seeds: tuple[int, ...] = (0, 1, 2),
    params: dict[str, Any] | None = None,
    engine: str = "interp",
    trace: bool = False,
) -> SimReport:
    """Check a policy and run it on the simulated sched_ext machine against the model of the
    kernel's default scheduler, once per seed (docs/simulator.md).

    `workload` names a shipped model (as the VM workload it stands for: hackbench, messaging,
    pipe, mix, build, stress-cpu, cyclictest) or is an rt-app .json file. `engine` compiles the policy
    with the IR interpreter ("interp", the reference semantics) or to native code with
    llvmlite ("jit"; each run compiles afresh, so every seed starts from the same state).
    `trace` keeps the first seed's policy run as Chrome trace-event JSON (`report.trace`).
    SchedlangError if the policy does not check or a param is wrong; WorkloadError if the
    workload cannot be read; ValueError for an unknown engine."""
    from schedlang.compiler import check
    from schedlang.errors import SchedlangError
    from schedlang.runtime.sim import rtapp
    from schedlang.runtime.sim.compare import compare

    if engine == "interp":
        from schedlang.backends.interp import compile_for_sim
    elif engine == "jit":
        from schedlang.backends.llvm import compile_for_sim
    else:
        raise ValueError(f"engine must be 'interp' or 'jit', not {engine!r}")
    checked, diags = check(source_or_path)
    if checked is None:
        errors = [d for d in diags if d.severity == "error"]
        raise SchedlangError(diags.source, errors, diags.imported)
    model = rtapp.load(workload)
    compile_for_sim(checked, params)  # wrong params are reported before anything runs
    make_policy: Callable[[], Any] = functools.partial(compile_for_sim, checked, params)
    machine: Any = None
    if engine == "jit":  # the native machine when it can run this, else machine.py
        import sys

        from schedlang.backends.llvm import compile_for_sim as compile_native
        from schedlang.runtime.sim import native

        reason = native.unavailable(model, cpus)
        if reason is None:
            host = native.host_addresses()
            make_policy = functools.partial(compile_native, checked, params, host=host)
            machine = native.NativeMachine
        else:
            print(f"sim: not using the native machine: {reason}", file=sys.stderr)
    return compare(
        make_policy,
        model,
        cpus=cpus,
        seconds=seconds,
        seeds=seeds,
        params=dict(params or {}),
        trace=trace,
        **({"machine": machine} if machine is not None else {}),
    )


def trace(
    workload: str,
    *,
    sim: bool = False,
    cpus: int = 2,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    keep_timehist: str | Path | None = None,
) -> SchedTrace:
    """Trace one run of a workload under the kernel's default scheduler: every time a thread
    held a CPU, its wakeups and migrations (`SchedTrace`, runtime/sched_trace.py).

    In the sandbox VM by default: `workload` is one of `run`'s workloads, traced with
    `perf record` and read with `perf sched timehist` (`keep_timehist` saves that text). With
    `sim=True`, an rt-app model (shipped name or .json path) on the simulated machine with
    `cpus` CPUs and `seed`. UnknownWorkloadError / WorkloadError for a workload that does
    not exist or cannot be read; TraceError when the sandbox cannot trace it."""
    if sim:
        from schedlang.runtime.sched_trace import trace_sim

        return trace_sim(workload, cpus=cpus, seed=seed)
    from schedlang.runtime.trace_vm import trace as trace_vm

    return trace_vm(
        workload,
        vcpus=cpus,
        progress=progress or (lambda line: None),
        keep_timehist=Path(keep_timehist) if keep_timehist is not None else None,
    )
