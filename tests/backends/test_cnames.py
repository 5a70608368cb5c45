"""How policy text reaches the generated C: comments that the user's text cannot end, and
names that the user's choice cannot make collide (schedlang/backends/bpf/cnames.py)."""

from __future__ import annotations

import re
from pathlib import Path

from schedlang.backends.bpf import cnames
from schedlang.backends.bpf.compile import compile_source
from schedlang.source import SourceFile


def _c(tmp_path: Path, text: str, path: str = "policy.sched") -> str:
    art = compile_source(SourceFile(path, text), outdir=tmp_path, emit="c")
    assert art.c_path is not None
    return art.c_path.read_text()


def _comments_closed_where_opened(c: str) -> None:
    """Outside comments there is no stray text: every `/*` is closed by the next `*/`."""
    for body in re.findall(r"/\*(.*?)\*/", c, flags=re.S):
        assert "/*" not in body, body
    assert "*/" not in re.sub(r"/\*.*?\*/", "", c, flags=re.S)


def test_comment_text_splits_comment_ends_and_shows_control_characters() -> None:
    assert cnames.comment("fast */ slow") == "fast * / slow"
    assert cnames.comment("**/") == "** /"
    assert cnames.comment("/*/") == "/ * /"
    assert cnames.comment("a\n#define X 1\rb\x7f") == "a\\n#define X 1\\rb\\x7f"
    assert cnames.comment("tabs\tand é stay") == "tabs\tand é stay"
    assert cnames.comment(42) == "42"


def test_a_description_and_a_path_stay_inside_their_comments(tmp_path: Path) -> None:
    text = (
        'scheduler d "x */ int leaked = 1; /* y\\n#define SCX_DSQ_GLOBAL 0" {\n'
        "    on enqueue(t, f) { insert t into global slice 5ms }\n"
        "}\n"
    )
    c = _c(tmp_path, text, path="dir*/odd */name.sched")
    assert c.splitlines()[0] == ("/* d: x * / int leaked = 1; / * y\\n#define SCX_DSQ_GLOBAL 0")
    assert "from dir* /odd * /name.sched;" in c
    assert "/* dir* /odd * /name.sched:2 */" not in c  # statement marks name the file only
    _comments_closed_where_opened(c)
    assert not re.search(r"^#define SCX_DSQ_GLOBAL 0$", c, re.M)


def test_inserts_pass_the_kernels_flags_whatever_the_parameter_is_called(
    tmp_path: Path,
) -> None:
    """Finding 1: the flags reach every insert by the generated C's own name, which a policy
    name cannot take (a parameter called `enq_flags` is renamed, not merged with it)."""
    text = (
        'scheduler ef "flags by any name" {\n'
        "    var g: u64 = 0\n"
        "    on enqueue(t, enq_flags) {\n"
        "        g = enq_flags\n"
        "        insert t into global slice 5ms\n"
        "    }\n"
        "}\n"
    )
    c = _c(tmp_path, text)
    body = c[c.index("void ef_enqueue(") :]
    body = body[: body.index("\n}\n")]
    assert "\tu64 enq_flags = ctx[1];" in body
    assert "\tu64 enq_flags_ = ctx[1];" in body
    assert "vars.g = enq_flags_;" in body
    assert re.findall(r"sl_insert\(t, [^;]*, (\w+)\);", body) == ["enq_flags"]
