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
MAX_WIDTH = 100  # kernel style allows 100 columns (tabs count as 8)


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
        pieces = wrap(code)
        line_map.append((len(lines) + 1, line, col))
        lines.append(f"{pieces[0]} /* {cnames.comment(source_name)}:{line} */")
        lines += pieces[1:]
    return RenderedC("\n".join(lines) + "\n", tuple(line_map))


def _width(text: str) -> int:
    return len(text.expandtabs(8))


def wrap(code: str) -> list[str]:
    """Break a too-long statement after its outermost `&&`/`||` operators.

    Only conditions get long in practice (comm compares, chained tests); breaking them at the
    shallowest boolean operators keeps each line one test. Continuation lines get one more
    tab than the statement. Anything else is left as it is."""
    if _width(code) <= MAX_WIDTH:
        return [code]
    depth, shallowest = 0, None
    cuts: list[int] = []
    i = 0
    while i < len(code):
        ch = code[i]
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "'":  # skip a character constant such as '(' or '\''
            end = code.find("'", i + 3 if code[i + 1 : i + 2] == "\\" else i + 2)
            i = end if end != -1 else i
        elif code.startswith((" && ", " || "), i):
            if shallowest is None or depth < shallowest:
                shallowest, cuts = depth, []
            if depth == shallowest:
                cuts.append(i + 4)
        i += 1
    if not cuts:
        return [code]
    indent = code[: len(code) - len(code.lstrip("\t"))] + "\t"
    pieces, start = [], 0
    for cut in cuts:
        pieces.append(code[start:cut].rstrip())
        start = cut
    pieces.append(code[start:])
    lines = [pieces[0]] + [indent + p.lstrip() for p in pieces[1:]]
    return [out for piece in lines for out in (wrap(piece) if piece != code else [piece])]
