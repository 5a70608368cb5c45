"""`schedlang stdlib measure|render`: measure the library's header claims, write them back.

`measure` runs each policy's `Claim:` lines (schedlang/claims.py) in the simulator (`--sim`)
and/or the sandbox VM (`--vm`, one boot per policy) and merges the results into
stdlib/claims.json after every policy, so a run cut short keeps what it finished; `render`
regenerates every header's `Measured:` block and the README table from that file (`--check`:
change nothing, exit 1 if a file is not what `render` would write). Exit codes as everywhere
(docs/cli.md): 0 done, 1 a claim is malformed or a policy failed to measure, 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "measure the policy library's header claims (sim, VM) and regenerate their blocks"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    m = sub.add_parser("measure", help="measure claims and merge them into stdlib/claims.json")
    m.add_argument("policies", nargs="*", metavar="NAME", help="library policies (default: all)")
    m.add_argument("--sim", action="store_true", help="run the simulator (every claim's model)")
    m.add_argument("--vm", action="store_true", help="run the VM claims (one boot per policy)")
    m.add_argument("--repeat", type=int, default=5, help="VM runs a side (default 5, the least)")
    m.add_argument("--results", metavar="JSON", help="results file (default stdlib/claims.json)")
    r = sub.add_parser("render", help="regenerate the Measured blocks and the README table")
    r.add_argument("--check", action="store_true", help="write nothing; exit 1 if out of date")
    r.add_argument("--results", metavar="JSON", help="results file (default stdlib/claims.json)")


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _indented(line: str) -> None:
    _say(f"  {line}")


def run(args: argparse.Namespace) -> int:
    from schedlang import claims
    from schedlang.errors import SchedlangError
    from schedlang.runtime.measure import MeasureError
    from schedlang.runtime.sim.rtapp import WorkloadError

    results_path = Path(args.results) if args.results else claims.RESULTS
    if args.action == "render":
        try:
            changed = claims.render(claims.read_results(results_path), write=not args.check)
        except claims.ClaimError as exc:
            _say(str(exc))
            return 1
        for path in changed:
            print(f"{'out of date' if args.check else 'wrote'}: {path}")
        return 1 if args.check and changed else 0
    if not (args.sim or args.vm):
        _say("schedlang stdlib measure: say what to run: --sim, --vm or both")
        return 2
    if args.repeat < claims.MIN_RUNS:
        _say(f"schedlang stdlib measure: --repeat must be at least {claims.MIN_RUNS}")
        return 2
    known = {p.stem: p for p in claims.library()}
    unknown = [n for n in args.policies if n not in known]
    if unknown:
        _say(f"schedlang stdlib measure: no library policy {', '.join(unknown)}")
        return 2
    failed = 0
    for name in args.policies or sorted(known):
        path = known[name]
        try:
            _say(f"{name}: measuring ...")
            found = claims.measure_policy(
                path, sim=args.sim, vm=args.vm, repeat=args.repeat, progress=_indented
            )
        except claims.ClaimError as exc:
            _say(str(exc))
            failed += 1
            continue
        except (SchedlangError, MeasureError, WorkloadError) as exc:
            # one policy that does not compile or measure must not lose the others' results
            _say(f"{name}: not measured: {exc}")
            failed += 1
            continue
        results = claims.read_results(results_path)  # re-read: another pass may have written
        claims.merge(results, name, found)
        wanted = claims.parse_claims(path.read_text(), str(path))
        for key in claims.prune(results, name, (c.key for c in wanted)):
            _say(f"{name}: {key}: dropped (no longer claimed)")
        claims.write_results(results, results_path)
        for key, entry in sorted(found.items()):
            _say(f"{name}: {key}: {entry.get('outcome', 'simulator context only')}")
    return 1 if failed else 0
