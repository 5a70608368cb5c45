"""`schedlang fuzz`: generated policies through the checker, the compiler and the kernel.

The promise under test is that *every policy the checker accepts survives the kernel*: the
verifier loads it, it enables, it schedules a real workload and it unloads normally, never
ejected. Policies come from `schedlang.fuzzgen` (every construct the checker accepts, no safe
subset). Without `--vm` each is only checked and compiled (fast); with `--vm` they are then
loaded in batches in the sandbox, one boot per batch (see runtime/fuzz_vm.py).

A batch of seeds is one task of `--executor` (schedlang.benchmark.executor): locally the
batches run one after another as before; on a Ray cluster they run at once, one VM boot
per task, and each batch's records arrive when it ends.

Each policy's result is one JSON line in `--log`; a rerun with the same log skips the seeds
already there, so an interrupted campaign resumes where it stopped. Every failure is printed
with its seed and the command that reproduces it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schedlang.benchmark import executor as executors

HELP = "run generated policies through the checker, the compiler and (--vm) the kernel"

# Outcomes, in the order the summary lists them. Only the first two are successes.
OUTCOMES = (
    "ok",  # --vm: loaded, enabled, ran the workload, unloaded with UNREG
    "compiled",  # without --vm: accepted by the checker and compiled
    "check-rejected",  # the checker refused a generated policy (a generator or checker bug)
    "compile-failed",  # accepted, but the backend or clang failed
    "verifier-rejected",  # the kernel's verifier refused the object
    "load-failed",  # loaded but never enabled (ops.init failed, attach refused)
    "ejected",  # enabled, then disabled by the kernel (watchdog stall, runtime error)
    "workload-failed",  # stayed loaded, but the workload failed or timed out under it
    "hang",  # took the guest down twice
)
REJECTIONS = ("check-rejected", "compile-failed", "verifier-rejected", "load-failed")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--count", type=int, default=100, help="policies to generate (default 100)")
    p.add_argument("--seed", type=int, default=0, help="first seed; seeds run seed..seed+count-1")
    p.add_argument("--vm", action="store_true", help="also load and run each policy in the VM")
    p.add_argument(
        "--stress", action="store_true", help="--vm: a low stress-ng CPU load runs alongside"
    )
    p.add_argument(
        "--batch", type=int, default=50, help="policies per task; --vm: per boot (default 50)"
    )
    p.add_argument("--log", metavar="FILE.jsonl", help="one JSON line per policy; resumes from it")
    p.add_argument(
        "--executor", default="local", metavar="local|ray[:ADDRESS]", help=executors.HELP
    )


def run(args: argparse.Namespace) -> int:
    if args.count < 1 or args.batch < 1:
        print("schedlang fuzz: --count and --batch must be at least 1", file=sys.stderr)
        return 2
    mode = "vm" if args.vm else "compile"
    log = Path(args.log) if args.log else None
    wanted = range(args.seed, args.seed + args.count)
    done = {s: r for s, r in _read_log(log, mode).items() if s in wanted} if log else {}
    seeds = [s for s in wanted if s not in done]
    if done:
        print(f"schedlang fuzz: {args.count - len(seeds)} seeds already in {log}; "
              f"{len(seeds)} to go", file=sys.stderr)  # fmt: skip
    campaign = _Campaign(args, mode, log, total=args.count, start_at=args.count - len(seeds))
    started = time.monotonic()
    from schedlang.runtime.sandbox import SandboxError

    try:
        _run_batches(seeds, campaign, args, executors.make(args.executor))
    except executors.ExecutorError as exc:
        print(f"schedlang fuzz: {exc}", file=sys.stderr)
        return 2
    except SandboxError as exc:  # no kernel, qemu or libbpf: `schedlang doctor` says which
        print(f"schedlang fuzz: the sandbox cannot run: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("schedlang fuzz: interrupted; rerun with the same --log to resume", file=sys.stderr)
        return 130
    elapsed = time.monotonic() - started
    records = {**done, **campaign.records}
    print(_summary(records, args, elapsed, len(campaign.records)))
    return 0 if all(r["outcome"] in ("ok", "compiled") for r in records.values()) else 1


def _read_log(log: Path, mode: str) -> dict[int, dict[str, Any]]:
    """Records of `mode` already in the log by seed; a line cut short by a kill is skipped."""
    out: dict[int, dict[str, Any]] = {}
    if not log.exists():
        return out
    text = log.read_text()
    if text and not text.endswith("\n"):  # end the cut line, or the next record joins it
        with log.open("a") as f:
            f.write("\n")
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("mode") == mode and "outcome" in record:
            out[int(record["seed"])] = record
    return out


class _Campaign:
    """Collects records, appends them to the log, prints progress."""

    def __init__(
        self, args: argparse.Namespace, mode: str, log: Path | None, total: int, start_at: int
    ) -> None:
        self.args = args
        self.mode = mode
        self.log = log
        self.total = total
        self.n = start_at
        self.records: dict[int, dict[str, Any]] = {}
        self.counts: Counter[str] = Counter()
        self.boots = 0

    def record(self, r: dict[str, Any], boots_before: int = 0) -> None:
        """Log and print one policy's record; a task numbers its boots from 1, so its
        records' `boot` is offset by the boots earlier batches made."""
        r = dict(r, mode=self.mode)
        if "boot" in r:
            r["boot"] += boots_before
        self.records[r["seed"]] = r
        self.counts[r["outcome"]] += 1
        self.n += 1
        if self.log is not None:
            with self.log.open("a") as f:
                f.write(json.dumps(r) + "\n")
        rejected = sum(self.counts[o] for o in REJECTIONS)
        where = f" (boot {r['boot']})" if "boot" in r else ""
        print(
            f"[{self.n}/{self.total}] seed {r['seed']}: {r['outcome']}{where}; so far "
            f"{rejected} rejected, {self.counts['ejected']} ejected, "
            f"{self.counts['workload-failed']} workload failures, {self.counts['hang']} hangs",
            file=sys.stderr,
            flush=True,
        )
        if r["outcome"] not in ("ok", "compiled"):
            print(f"  {_why(r)}\n  reproduce: {_repro(r['seed'], self.args)}", file=sys.stderr)


def _check_and_compile(seed: int, workdir: Path) -> tuple[dict[str, Any], Path | None]:
    """The record of a policy that stops before the VM, and its object when it compiled."""
    from schedlang.backends.bpf import compile_checked
    from schedlang.checker import check_source
    from schedlang.fuzzgen import generate_text
    from schedlang.source import SourceFile

    text = generate_text(seed)
    source = SourceFile(f"fuzz_{seed}.sched", text)
    r: dict[str, Any] = {"seed": seed, "lines": text.count("\n")}
    checked, diags = check_source(source)
    errors = [d for d in diags if d.severity == "error"]
    if checked is None or errors:
        r.update(outcome="check-rejected", checker=sorted({d.code for d in errors}))
        r["error"] = "; ".join(f"{d.span.line}: {d.message}" for d in errors)[:2000]
        return r, None
    r["checker"] = "ok"
    try:
        artifact = compile_checked(checked, workdir)
    except Exception as exc:  # noqa: BLE001 - any compiler failure is this policy's finding
        r.update(outcome="compile-failed", compile="failed", error=f"{type(exc).__name__}: {exc}")
        return r, None
    r.update(outcome="compiled", compile="ok")
    return r, artifact.object_path


@dataclass(frozen=True)
class Batch:
    """One executor task: these seeds checked, compiled and (vm) loaded in the sandbox."""

    seeds: tuple[int, ...]
    vm: bool
    stress: bool = False


def run_batch(job: Batch, say: executors.Say) -> tuple[list[dict[str, Any]], int]:
    """An executor task: every seed's record (each also passed to `say` as it is made), and
    how many boots it took. Works in a folder of its own, removed at the end."""
    from schedlang.runtime import fuzz_vm

    records: list[dict[str, Any]] = []
    boots = 0

    def done(r: dict[str, Any]) -> None:
        records.append(r)
        say(r)

    workdir = Path(tempfile.mkdtemp(prefix="schedlang-fuzz-"))
    try:
        objects: dict[int, Path] = {}
        host: dict[int, dict[str, Any]] = {}
        for seed in job.seeds:
            r, obj = _check_and_compile(seed, workdir)
            if obj is None or not job.vm:
                done(r)
            else:
                objects[seed], host[seed] = obj, r
        if not objects:
            return records, boots

        def on_result(seed: int, guest: dict[str, Any], _boot: int) -> None:
            done(_merge(host[seed], guest, boots))

        def on_boot(_n: int, batch: list[int]) -> None:
            nonlocal boots
            boots += 1
            say(f"schedlang fuzz: boot {boots} of seeds {job.seeds[0]}..{job.seeds[-1]}: "
                f"{len(batch)} policies, seeds {batch[0]}..{batch[-1]}")  # fmt: skip

        def on_boot_done(_n: int, outcome: fuzz_vm.BatchOutcome) -> None:
            say(f"schedlang fuzz: boot {boots} of seeds {job.seeds[0]}..{job.seeds[-1]} done "
                f"({outcome.conditions})" + (f": {outcome.failure}" if outcome.failure else ""))  # fmt: skip

        fuzz_vm.run_all(
            objects,
            batch=len(objects),
            stress=job.stress,
            on_result=on_result,
            on_boot=on_boot,
            on_boot_done=on_boot_done,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return records, boots


def _run_batches(
    seeds: list[int], campaign: _Campaign, args: argparse.Namespace, executor: executors.Executor
) -> None:
    """The campaign's batches on `executor`. Records are logged as they arrive: locally
    through `say` while the batch runs; from a Ray task, all of them when it ends."""
    jobs = [
        Batch(tuple(seeds[i : i + args.batch]), args.vm, args.stress)
        for i in range(0, len(seeds), args.batch)
    ]
    logged: set[int] = set()

    def say(event: Any) -> None:
        if isinstance(event, dict):
            logged.add(event["seed"])
            campaign.record(event, campaign.boots)
        else:
            print(event, file=sys.stderr, flush=True)

    try:
        for _, (records, boots) in executor.run(
            run_batch, jobs, say, cpus=executors.VM_CPUS if args.vm else 1
        ):
            for r in records:
                if r["seed"] not in logged:
                    logged.add(r["seed"])
                    campaign.record(r, campaign.boots)
            campaign.boots += boots
    finally:
        executor.close()


def _merge(host: dict[str, Any], guest: dict[str, Any], boot: int) -> dict[str, Any]:
    """The host's record plus what the guest saw, with the outcome decided from both."""
    r = dict(host, boot=boot)
    if "hang" in guest:
        r.update(outcome="hang", error=guest["hang"], console=guest["console"])
        return r
    guest = dict(guest)
    guest.pop("seed", None)
    r.update(guest)
    exit_info = guest.get("exit") or {}
    workload = guest.get("workload") or {}
    if guest["verifier"] == "rejected":
        r["outcome"] = "verifier-rejected"
    elif guest["verifier"] != "ok":
        r["outcome"] = "load-failed"
    elif exit_info.get("ejected") or exit_info.get("kind") != "UNREG":
        r["outcome"] = "ejected"
    elif workload.get("error"):
        r["outcome"] = "workload-failed"
    else:
        r["outcome"] = "ok"
    return r


def _why(r: dict[str, Any]) -> str:
    outcome = r["outcome"]
    if outcome in ("check-rejected", "compile-failed", "hang", "load-failed", "verifier-rejected"):
        position = r.get("position") or {}
        line = f" (DSL line {position['dsl_line']})" if position.get("dsl_line") else ""
        return f"{outcome}: {str(r.get('error', ''))[:300]}{line}"
    if outcome == "ejected":
        e = r.get("exit") or {}
        return f"ejected: {e.get('kind')} {e.get('reason')!r} {str(e.get('message'))[:200]!r}"
    return f"{outcome}: {(r.get('workload') or {}).get('error')}"


def _repro(seed: int, args: argparse.Namespace) -> str:
    vm = " --vm" + (" --stress" if args.stress else "") if args.vm else ""
    return (
        f"schedlang fuzz{vm} --count 1 --seed {seed}   "
        f"(or: python -m schedlang.fuzzgen {seed} > fuzz_{seed}.sched && "
        f"schedlang {'run' if args.vm else 'compile'} fuzz_{seed}.sched)"
    )


def _summary(
    records: dict[int, dict[str, Any]], args: argparse.Namespace, elapsed: float, ran: int
) -> str:
    counts = Counter(r["outcome"] for r in records.values())
    rows = [f"{'outcome':<18} {'policies':>8}"]
    rows += [f"{o:<18} {counts[o]:>8}" for o in OUTCOMES if counts[o] or o in ("ok", "hang")]
    rate = ran / elapsed if elapsed > 0 else 0.0
    rows.append(f"{'total':<18} {len(records):>8}")
    rows.append(
        f"seeds {args.seed}..{args.seed + args.count - 1}; this run: {ran} policies in "
        f"{elapsed:.0f} s ({rate:.2f} policies/s)"
    )
    failures = sorted(s for s, r in records.items() if r["outcome"] not in ("ok", "compiled"))
    for seed in failures:
        rows.append(f"FAILED seed {seed}: {_why(records[seed])}")
        rows.append(f"  reproduce: {_repro(seed, args)}")
    return "\n".join(rows)
