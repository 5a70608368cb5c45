"""`python -m schedlang.fuzzgen SEED [--safe]`: print the generated policy for a seed."""

from __future__ import annotations

import argparse

from schedlang.fuzzgen import generate_text


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m schedlang.fuzzgen", description=__doc__)
    ap.add_argument("seed", type=int)
    ap.add_argument("--safe", action="store_true", help="no integer converted to a cpu")
    args = ap.parse_args()
    print(generate_text(args.seed, safe=args.safe), end="")


if __name__ == "__main__":
    main()
