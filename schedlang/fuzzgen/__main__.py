"""`python -m schedlang.fuzzgen SEED`: print the generated policy for a seed."""

from __future__ import annotations

import argparse

from schedlang.fuzzgen import generate_text


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m schedlang.fuzzgen", description=__doc__)
    ap.add_argument("seed", type=int)
    args = ap.parse_args()
    print(generate_text(args.seed), end="")


if __name__ == "__main__":
    main()
