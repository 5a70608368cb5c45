"""The `--param NAME=VALUE` option of `compile`, `run` and `sim`: one spelling and one
reading, so a tunable is overridden the same way whichever command takes the policy. The
value stays text here; the compiler reads it as a literal of the tunable's type."""

from __future__ import annotations

import argparse


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param",
        "-p",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a tunable, written as in a policy (slice=3ms, mask=0xff, on=true); repeatable",
    )


def parse(items: list[str]) -> dict[str, str]:
    """`--param` values by tunable name; ValueError (a usage error) for one without `=`."""
    params: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"--param {item!r}: expected NAME=VALUE, e.g. --param slice=3ms")
        params[name.strip()] = value.strip()
    return params
