"""Render the templates: a policy's C file (with its line map) and the header every policy shares.

The policy's file (`policy.bpf.c.j2`) holds what depends on the policy; everything fixed is in
`schedlang.bpf.h` (`schedlang.bpf.h.j2`, the same text for every policy and kernel API
level), which the file includes and `compile` writes next to it.

The lowering puts a marker `/*@@LINE:COL@@*/` at the end of each line made from a policy
statement. Here, after the template has laid the file out, each marker becomes the readable
comment `/* policy.sched:LINE */` and a `line_map` row `[c_line, dsl_line, dsl_col]`, so the
map is exact whatever the template does around the lowered code. A line of imported code
names its own file in the comment (`/* least_loaded.sched:51 */`, as the policy's own lines
name only the file, and the fn's head comment the whole path); its `line_map` row
points at the `import` that brought it, the policy's own line for it
(`context["imported"]`: file -> (line, col) of that import).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2

from schedlang import kernel_api
from schedlang.backends import semantics
from schedlang.backends.bpf import cnames, compat, layout
from schedlang.backends.bpf.csyntax import MAX_WIDTH, width

_MARK = re.compile(r"/\*@@(\d+):(\d+)(?:@([0-9a-f]+))?@@\*/")
HEADER = "schedlang.bpf.h"  # the shared header's file name, next to every NAME.bpf.c


@dataclass(frozen=True)
class RenderedC:
    text: str
    line_map: tuple[tuple[int, int, int], ...]  # (c_line, dsl_line, dsl_col), c_line 1-based


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("schedlang.backends.bpf", "templates"),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )
    env.filters["comment"] = cnames.comment  # every text the template puts in a comment
    return env


def header(version: str) -> str:
    """The text of schedlang.bpf.h: kernel types, kfuncs and helpers, from the same tables
    the checker and the C gate read (kernel_api.py, layout.py)."""
    queue_inserts = layout.stats_fields(1)[-1]
    template = _env().get_template(HEADER + ".j2")
    return template.render(
        version=version,
        stats_fields=layout.stats_fields(0),
        queue_inserts_doc=queue_inserts.doc,
        hist_buckets=layout.WAKEUP_HIST_BUCKETS,
        hist_first_ns=layout.WAKEUP_HIST_FIRST_NS,
        kick_preempt_gap_ns=semantics.KICK_PREEMPT_GAP_NS,
        slice_min_ns=semantics.SLICE_MIN_NS,
        kfunc=lambda name: "\n".join(fit(compat.kfunc_declaration(name))),
        bpf_helper=_bpf_helper,
        local=compat.local_kfunc_name,
        since=compat.since,
    )


def _bpf_helper(name: str) -> str:
    found = kernel_api.helper(name)
    if found is None:
        raise KeyError(f"{name} is not in schedlang/kernel_api.py")
    proto = found.prototype.format(name=f"(*{found.name})")
    return "\n".join(fit(f"static {proto} = (void *){found.helper_id};"))


def line_comment(source_name: str, line: int) -> str:
    """What a position marker becomes: the policy line a C line came from."""
    return f"/* {cnames.comment(source_name)}:{line} */"


def render(context: dict[str, Any]) -> RenderedC:
    raw = _env().get_template("policy.bpf.c.j2").render(**context)
    source_name = context["source_name"]
    lines: list[str] = []
    line_map: list[tuple[int, int, int]] = []
    for text in raw.splitlines():
        found = _MARK.search(text)
        if not found:
            lines.append(text.rstrip())
            continue
        line, col = int(found.group(1)), int(found.group(2))
        file = bytes.fromhex(found.group(3)).decode("utf-8", "surrogatepass") if found[3] else ""
        code = _MARK.sub("", text, count=1).rstrip()
        line_map.append((len(lines) + 1, *(context["imported"][file] if file else (line, col))))
        lines.append(f"{code} {line_comment(file.rsplit('/', 1)[-1] or source_name, line)}")
    return RenderedC("\n".join(lines) + "\n", tuple(line_map))


def fit(decl: str, reserve: int = 0) -> list[str]:
    """A declaration (a prototype, a callback's head) in lines of at most MAX_WIDTH columns,
    `reserve` of them kept free on the first line (for its position comment): broken after
    the commas of its parameter list, the rest lined up after the list's `(` (kernel style).
    The text is one this package made, so the only parentheses are the C ones."""
    opens: list[int] = []
    commas: list[int] = []
    align = 0
    for i, ch in enumerate(decl):
        if ch == "(":
            opens.append(i)
        elif ch == ")" and opens:
            opens.pop()
        elif ch == "," and opens:
            commas.append(i + 1)
            align = opens[-1] + 1
    column = width(decl[:align])
    indent = "\t" * (column // 8) + " " * (column % 8)
    lines: list[str] = []
    start, lead, limit = 0, "", MAX_WIDTH - reserve
    while width(lead + decl[start:]) > limit:
        fitting = [c for c in commas if c > start and width(lead + decl[start:c]) <= limit]
        if not fitting:
            break
        lines.append(lead + decl[start : fitting[-1]])
        start, lead, limit = fitting[-1] + 1, indent, MAX_WIDTH
    return [*lines, lead + decl[start:]]
