"""Regression guard for the policy library's claims: did a measured win disappear?

Re-measures every stdlib policy's `Claim:` lines (schedlang/claims.py) as
`schedlang stdlib measure` does - the simulator always, the VM with `--vm` (one boot per
policy, `--repeat` runs a side) - into a scratch results file, never the committed
stdlib/claims.json, and sets each claim that holds there against the new measurement. A claim
that held and now does not (not significant, contradicted, failed) is a lost win: a change
to the backend, the runtime or the kernel pin that cost the policy its advantage. A policy
whose code changed since the committed figures is re-measured all the same; the new figures
are for the current code.

Output (stdout and --json): every re-measured claim that held, with its committed and new
outcome, ratio, interval, p and n, and `lost`; then the list of lost wins. Progress goes to
stderr. Exit 1 when a win was lost, 0 otherwise. A benchmark, not a test: it takes seconds
for the simulator and about 1-5 minutes per policy in the VM under TCG.

Usage: python3 bench/stdlib_claims.py [--vm] [--repeat 5] [--json OUT] [NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from schedlang import claims


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("policies", nargs="*", metavar="NAME", help="default: every policy")
    parser.add_argument("--vm", action="store_true", help="re-measure the VM claims too")
    parser.add_argument("--repeat", type=int, default=claims.VM_REPEAT, help="VM runs a side")
    parser.add_argument("--json", metavar="OUT", help="also write the report here")
    args = parser.parse_args()
    known = {p.stem: p for p in claims.library()}
    missing = [n for n in args.policies if n not in known]
    if missing:
        parser.error(f"no library policy {', '.join(missing)}")
    committed = claims.read_results()
    now: dict = {"schema": 1, "policies": {}}
    scratch = Path(tempfile.mkdtemp(prefix="stdlib-claims-")) / "claims.json"
    for name in args.policies or sorted(known):
        print(f"{name}: measuring ...", file=sys.stderr, flush=True)
        found = claims.measure_policy(
            known[name],
            sim=True,
            vm=args.vm,
            repeat=args.repeat,
            progress=lambda line: print(f"  {line}", file=sys.stderr, flush=True),
        )
        claims.merge(now, name, found)
        claims.write_results(now, scratch)  # a run cut short still leaves its figures
    compared = claims.lost_wins(committed, now)
    report = {
        "host_load": os.getloadavg()[0],
        "vm": args.vm,
        "results": str(scratch),
        "compared": compared,
        "lost": [f"{c['policy']}: {c['claim']}" for c in compared if c["lost"]],
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 1 if report["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
