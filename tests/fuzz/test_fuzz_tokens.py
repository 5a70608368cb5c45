"""Near-miss text: token-level edits of accepted policies never make the front end raise.

The parser tests cover arbitrary text; these edits stay close to real programs (a dropped
brace, a swapped operator, a keyword in the wrong place), which reach deeper into the parser
and the passes. Every outcome must be diagnostics with a known code and a real position.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedlang import ast
from schedlang import codes as C
from schedlang.checker import check_source
from schedlang.diagnostics import render_json, render_text
from schedlang.fmt import format_program
from schedlang.fuzzgen.strategy import policies
from schedlang.source import SourceFile

TOKEN = re.compile(
    r'"(?:[^"\\]|\\.)*"|\d[\d_]*(?:ns|us|ms|s)?|0x[0-9a-fA-F_]+|[A-Za-z_]\w*'
    r"|\.\.|->|[=!<>]=|<<|>>|[-+*/]=|\S"
)
VOCABULARY = (
    "{ } ( ) [ ] , : . .. -> = == != < <= > >= << >> + - * / % & | ^ += -= "
    "let if else for in cpus return insert into local global on slice vtime kick preempt idle "
    "fn on task var param const queue fifo array map capacity as and or not true false "
    "t c x q0 v0 a0 m0 f0 K0 nr_cpus now min max clamp abs queued allowed move_to_local "
    'u32 u64 i64 duration time cpu bool 0 1 64 -1 18446744073709551616 5ms 0ns 1s "x" "'
).split()
KNOWN_CODES = {v for k, v in vars(C).items() if k.isupper() and isinstance(v, str)}
SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]


def _edit(tokens: list[str], data: st.DataObject) -> list[str]:
    out = list(tokens)
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        i = data.draw(st.integers(0, max(0, len(out) - 1)), label="at")
        kind = data.draw(st.sampled_from(["drop", "dup", "swap", "replace", "insert", "cut"]))
        word = data.draw(st.sampled_from(VOCABULARY), label="word")
        if not out:
            out = [word]
        elif kind == "drop":
            del out[i]
        elif kind == "dup":
            out.insert(i, out[i])
        elif kind == "swap" and i + 1 < len(out):
            out[i], out[i + 1] = out[i + 1], out[i]
        elif kind == "replace":
            out[i] = word
        elif kind == "insert":
            out.insert(i, word)
        elif kind == "cut":
            out = out[:i]
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=SLOW)
@given(policies(), st.data())
def test_token_edits_give_diagnostics_never_a_crash(
    tree: ast.Scheduler, data: st.DataObject
) -> None:
    text = format_program(tree)
    tokens = TOKEN.findall(text)
    blank = re.compile(r"\s+")
    assert blank.sub("", "".join(tokens)) == blank.sub("", text)  # no text is lost
    edited = " ".join(_edit(tokens, data))
    source = SourceFile("edited.sched", edited)
    checked, diags = check_source(source)
    lines = edited.count("\n") + 1
    for d in diags:
        assert d.code in KNOWN_CODES, d
        assert 1 <= d.line <= lines + 1 and d.col >= 1, d
        render_text(d, source)
    render_json(diags)
    if checked is None:
        assert diags.has_errors, edited
