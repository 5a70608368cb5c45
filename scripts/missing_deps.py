"""Print the requirements of pyproject.toml (runtime, dev and ray) that this Python lacks.

scripts/setup runs it to decide whether `pip install -e .[dev,ray]` is needed, so the probe is
pyproject itself and cannot drift from it. It checks each distribution is installed, at
least at its `>=` version, and that the extras asked for (`lark[interegular]`) are there.
Exit 0 when nothing is missing, 1 otherwise (the missing ones on stdout, one a line).
"""

from __future__ import annotations

import importlib.metadata as md
import re
import sys
import tomllib
from pathlib import Path

REQUIREMENT = re.compile(r"\s*([A-Za-z0-9_.-]+)\s*(?:\[([^\]]*)\])?\s*(?:>=\s*([0-9.]+))?")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def missing(requirement: str) -> bool:
    m = REQUIREMENT.match(requirement)
    if m is None:
        return True
    name, extras, minimum = m[1], m[2], m[3]
    try:
        installed = md.version(name)
    except md.PackageNotFoundError:
        return True
    if minimum and _version(installed) < _version(minimum):
        return True
    wanted = {e.strip() for e in (extras or "").split(",") if e.strip()}
    for dep in md.requires(name) or []:
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", dep)
        if extra and extra[1] in wanted and missing(dep.partition(";")[0]):
            return True
    return False


def main() -> int:
    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    project = project["project"]
    extras = project["optional-dependencies"]
    requirements = [*project["dependencies"], *extras["dev"], *extras["ray"]]
    absent = [r for r in requirements if missing(r)]
    for r in absent:
        print(r)
    return 1 if absent else 0


if __name__ == "__main__":
    sys.exit(main())
