"""The fast parse loop (parser_loop.py) agrees with Lark's own loop on every input.

On text that parses it must build an equal tree (the same nodes, spans and depths); on
text that does not, it must stop (so Lark's parser reports the error) or reject with the
same diagnostic a rule callback gives under Lark. Inputs: every policy in the repository,
generated policies, and each policy cut short and with one character dropped at many
points, which walks the loop through lexer and parser errors at every kind of position.
Also the parser's quick ways of making a Span and of telling a keyword from a name.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest
from lark import Token

from schedlang import parser_loop, syntax
from schedlang.fuzzgen import generate_text
from schedlang.source import Span

ROOT = Path(__file__).resolve().parents[2]
POLICIES = sorted(
    p
    for folder in ("examples", "stdlib", "tests/cases", "tests/backends/data")
    for p in (ROOT / folder).glob("*.sched")
)


def _outcome(parse: object, text: str) -> tuple[str, object]:
    try:
        return "tree", parse(text)  # type: ignore[operator]
    except parser_loop.Stop:
        return "stop", None
    except syntax._Reject as err:
        return "reject", (err.message, err.span, err.fields)
    except Exception as err:  # a Lark parse error
        return "error", type(err).__name__


def _loop() -> parser_loop.Loop:
    loop = syntax._loop()
    assert loop is not None, "the installed Lark is not built the way parser_loop reads it"
    return loop


def _agree(text: str) -> str:
    """'tree' or 'error' after asserting the loop and Lark agree on `text`."""
    text = syntax._for_lexer(text)
    lark_kind, lark_value = _outcome(syntax.parser().parse, text)
    loop_kind, loop_value = _outcome(_loop().parse, text)
    if lark_kind == "error":
        assert loop_kind == "stop", text
        return "error"
    assert (loop_kind, loop_value) == (lark_kind, lark_value), text
    return lark_kind


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_same_tree_on_every_policy(path: Path) -> None:
    text = path.read_text()
    if "\x00" in text or syntax._nesting_too_deep(text) is not None:
        pytest.skip("parse_source refuses it before parsing")
    _agree(text)


def test_every_stdlib_policy_parses_through_the_loop() -> None:
    for path in POLICIES:
        if path.parent.name == "stdlib":
            assert _agree(path.read_text()) == "tree", path


def test_same_tree_on_generated_policies() -> None:
    for seed in range(40):
        assert _agree(generate_text(seed)) == "tree", seed


@pytest.mark.parametrize("name", ["latency_boost", "interactive", "layered"])
def test_same_outcome_on_damaged_policies(name: str) -> None:
    text = (ROOT / "stdlib" / f"{name}.sched").read_text()
    rng = random.Random(name)
    kinds = set()
    for at in sorted(rng.sample(range(len(text)), 60)):
        kinds.add(_agree(text[:at]))  # cut short: mostly an error at the end
        kinds.add(_agree(text[:at] + text[at + 1 :]))  # one character dropped
    assert kinds >= {"tree", "error"}


def test_literal_and_depth_rejections_match() -> None:
    bad_literal = 'scheduler p "d" { const X: u64 = 0x }'
    deep = 'scheduler p "d" { const X: u64 = ' + " + ".join(["1"] * 200) + " }"
    assert _agree(bad_literal) == "reject"
    assert _agree(deep) == "reject"


def test_fast_span_is_an_ordinary_span() -> None:
    fast, made = syntax._span(3, 5, 4, 1, 20, 31), Span(3, 5, 4, 1, 20, 31)
    assert (fast, hash(fast), repr(fast)) == (made, hash(made), repr(made))
    assert fast.file == "" and fast.to(made) == made
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.line = 1  # type: ignore[misc]


def test_keyword_lookup_retypes_names_as_lark_does() -> None:
    """In every parser state, each keyword of the grammar (and a plain name) gets the type
    Lark's own keyword callback gives it."""
    words = [t.pattern.value for t in syntax.parser().terminals if t.pattern.type == "str"]
    checked = 0
    for lexer in _loop()._contextual.lexers.values():
        assert lexer.scanner  # (Lark builds a state's scanner and callbacks on first use)
        for kind, lark_callback in lexer.callback.items():
            fast = parser_loop._keywords(lark_callback)
            if fast is None:
                continue
            for word in [*words, "placed", "IF", "if_"]:
                ours, theirs = fast(Token(kind, word)), lark_callback(Token(kind, word))
                assert (ours.type, str(ours)) == (theirs.type, str(theirs)), word
                checked += 1
    assert checked > 1000


def test_a_lark_the_loop_cannot_read_still_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    """If a Lark release changes the internals the loop reads, Lark's own loop parses."""
    text = (ROOT / "stdlib" / "latency_boost.sched").read_text()
    expected = syntax.parse(text)

    def unreadable(lark: object) -> parser_loop.Loop:
        raise AttributeError("'ParsingFrontend' object has no attribute 'parser'")

    monkeypatch.setattr(parser_loop, "Loop", unreadable)
    syntax._loop.cache_clear()
    try:
        assert syntax._loop() is None
        assert syntax.parse(text) == expected
    finally:
        syntax._loop.cache_clear()
