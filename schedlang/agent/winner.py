"""The winning policy as a `.sched` file a person can read and `schedlang check` accepts.

The tuned values replace the declared defaults in the policy's own `param` lines (so the
file needs no `--param` to behave as measured, and the declared ranges stay for the next
tuning), and a header comment above the policy's own says what it won, by how much, on
what, and by which test.
"""

from __future__ import annotations

import re

from schedlang.units import format_duration

_PARAM = re.compile(
    r"^(?P<head>\s*param\s+(?P<name>\w+)\s*:\s*(?P<type>\w+)\s*=\s*)(?P<value>.+?)(?P<tail>\s+in\s+.*)$"
)


def literal(type_name: str, value: int) -> str:
    """A param value written as the policy would write it (`300us`, `8`)."""
    return format_duration(value) if type_name == "duration" else str(value)


def bake(source: str, params: dict[str, int]) -> str:
    """`source` with each param of `params` declared with that value as its default.
    ValueError names a param the source does not declare."""
    left = dict(params)
    lines = []
    for line in source.splitlines(keepends=True):
        found = _PARAM.match(line.rstrip("\n"))
        if found and found["name"] in left:
            value = literal(found["type"], left.pop(found["name"]))
            end = "\n" if line.endswith("\n") else ""
            line = f"{found['head']}{value}{found['tail']}{end}"
        lines.append(line)
    if left:
        raise ValueError(f"the policy declares no param {', '.join(sorted(left))}")
    return "".join(lines)


def winner_file(source: str, params: dict[str, int], header: list[str]) -> str:
    """The winner's file: `header` lines as comments, then the policy with `params` baked in."""
    comment = "".join(f"// {line}".rstrip() + "\n" for line in header)
    return comment + "//\n" + bake(source, params)
