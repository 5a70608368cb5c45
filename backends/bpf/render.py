"""Render the template context to C text, turning position markers into comments + line map.

The lowering puts a marker `/*@@LINE:COL@@*/` at the end of each line made from a policy
statement. Here, after the template has laid the file out, each marker becomes the readable
comment `/* policy.sched:LINE */` and a `line_map` row `[c_line, dsl_line, dsl_col]`, so the
map is exact whatever the template does around the lowered code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2

from schedlang.backends.bpf import cnames

_MARK = re.compile(r"/\*@@(\d+):(\d+)@@\*/")


@dataclass(frozen=True)
class RenderedC:
    text: str
    line_map: tuple[tuple[int, int, int], ...]  # (c_line, dsl_line, dsl_col), c_line 1-based


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("schedlang.backends.bpf", "templates"),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )
    env.filters["comment"] = cnames.comment  # every text the template puts in a comment
    return env.get_template("policy.bpf.c.j2")


def render(context: dict[str, Any]) -> RenderedC:
    raw = _template().render(**context)
    source_name = context["source_name"]
    lines: list[str] = []
    line_map: list[tuple[int, int, int]] = []
    for text in raw.splitlines():
        found = _MARK.search(text)
        if not found:
            lines.append(text.rstrip())
            continue
        line, col = int(found.group(1)), int(found.group(2))
        code = _MARK.sub("", text, count=1).rstrip()
        line_map.append((len(lines) + 1, line, col))
        lines.append(f"{code} /* {cnames.comment(source_name)}:{line} */")
    return RenderedC("\n".join(lines) + "\n", tuple(line_map))
