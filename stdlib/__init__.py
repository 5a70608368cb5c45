"""The policy library: ready-made schedlang policies that ship inside the package.

Agents list the library with `names()` and fetch a policy's source with `source(name)` to
start from a working, checked policy instead of a blank file. Each `NAME.sched` file here
declares `scheduler NAME`, opens with a header comment (idea, inspiration, workloads, what
to tune) and checks clean; tests/stdlib holds that to account.
"""

from __future__ import annotations

from importlib import resources

SUFFIX = ".sched"


def names() -> list[str]:
    """The library's policy names, sorted."""
    files = resources.files(__name__).iterdir()
    return sorted(f.name.removesuffix(SUFFIX) for f in files if f.name.endswith(SUFFIX))


def source(name: str) -> str:
    """The source text of library policy `name`; KeyError names the policies that exist."""
    if name not in names():
        raise KeyError(f"no library policy {name!r}; available: {', '.join(names())}")
    return resources.files(__name__).joinpath(name + SUFFIX).read_text(encoding="utf-8")
