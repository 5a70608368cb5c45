"""Wording for syntax errors, learned from a corpus of typical mistakes.

Lark reports a parse error as a parser state plus the unexpected token. `match_examples`
re-parses each example below and remembers the state it fails in; a real error that fails in
the same state gets that example's message. Each label's message (its wording is in codes.py
with the other `syntax` messages) says what is wrong and how to fix it; the fallback names
the unexpected token and what could come instead.
"""

from __future__ import annotations

from lark import Lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from schedlang import codes as C

# A wording and the fields that fill it in.
Described = tuple[C.Message, dict[str, object]]

# label -> its wording (codes.py); each label's examples are below.
MESSAGES: dict[str, C.Message] = {
    "missing-header": C.MISSING_HEADER,
    "missing-description": C.MISSING_DESCRIPTION,
    "semicolon": C.SEMICOLON,
    "return-not-last": C.RETURN_NOT_LAST,
    "param-range": C.PARAM_NEEDS_RANGE,
    "decl-needs-type": C.DECL_NEEDS_TYPE,
    "assign-in-condition": C.ASSIGN_IN_CONDITION,
    "c-logical-op": C.C_LOGICAL_OP,
    "missing-brace": C.MISSING_BRACE,
    "if-needs-block": C.IF_NEEDS_BLOCK,
    "statement-outside-callback": C.STATEMENT_OUTSIDE_CALLBACK,
    "insert-syntax": C.INSERT_SYNTAX,
    "callback-param-type": C.CALLBACK_PARAM_TYPE,
    "bad-duration": C.BAD_DURATION,
}

EXAMPLES: dict[str, list[str]] = {
    "missing-header": ["x", "policy p {", "{ }", "on enqueue(t, f) { }"],
    "missing-description": ["scheduler p {", "scheduler p { }"],
    "semicolon": [
        'scheduler p "d" { var x: u64 = 0; }',
        'scheduler p "d" { on init() { let x = 1; } }',
        'scheduler p "d" { on init() { foo(); } }',
    ],
    "return-not-last": [
        'scheduler p "d" { on init() { return let x = 1 } }',
        'scheduler p "d" { on select_cpu(t, p, f) -> cpu { return p let x = 1 } }',
        'scheduler p "d" { on select_cpu(t, p, f) -> cpu { return p x = 1 } }',
        'scheduler p "d" { on init() { return x = 1 } }',
        'scheduler p "d" { on init() { return x += 1 } }',
    ],
    "param-range": [
        'scheduler p "d" { param x: u64 = 1 }',
        'scheduler p "d" { param x: u64 = 1 in 0 }',
    ],
    "decl-needs-type": [
        'scheduler p "d" { var x = 0 }',
        'scheduler p "d" { param x = 1 }',
        'scheduler p "d" { task var x = 0 }',
        'scheduler p "d" { const x = 0 }',
    ],
    "assign-in-condition": [
        'scheduler p "d" { on init() { if x = 1 { } } }',
    ],
    "c-logical-op": [
        'scheduler p "d" { on init() { if a && b { } } }',
        'scheduler p "d" { on init() { if a || b { } } }',
        'scheduler p "d" { on init() { if !a { } } }',
    ],
    "missing-brace": [
        'scheduler p "d" { on init() { ',
        'scheduler p "d" { on init() { let x = 1 ',
        'scheduler p "d" { ',
    ],
    "if-needs-block": [
        'scheduler p "d" { on init() { if a x = 1 } }',
        'scheduler p "d" { on init() { for i in 0..4 x = 1 } }',
    ],
    "statement-outside-callback": [
        'scheduler p "d" { let x = 1 }',
        'scheduler p "d" { x = 1 }',
        'scheduler p "d" { insert t into global }',
    ],
    "insert-syntax": [
        'scheduler p "d" { on enqueue(t, f) { insert t global } }',
        'scheduler p "d" { on enqueue(t, f) { insert into global } }',
    ],
    "callback-param-type": [
        'scheduler p "d" { on enqueue(t: task, f) { } }',
    ],
    "bad-duration": [
        'scheduler p "d" { param s: duration = 5 ms in 1ms..10ms }',
        'scheduler p "d" { var x: duration = 1.5ms }',
    ],
}

# What a terminal is called in a message.
TOKEN_WORDS = {
    "NAME": "a name",
    "INT": "a number",
    "DURATION": "a duration like 5ms",
    "STRING": "a string",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "COLON": "`:`",
    "COMMA": "`,`",
    "EQUAL": "`=`",
    "ASSIGN_OP": "an assignment",
    "DOT": "`.`",
    "AMPERSAND": "`&`",
    "VBAR": "`|`",
    "CIRCUMFLEX": "`^`",
    "LESSTHAN": "`<`",
    "MORETHAN": "`>`",
    "PLUS": "`+`",
    "MINUS": "`-`",
    "STAR": "`*`",
    "SLASH": "`/`",
    "PERCENT": "`%`",
    "SEMICOLON": "`;`",
    "$END": "the end of the file",
}


def _words(names: set[str]) -> str:
    words = sorted({TOKEN_WORDS.get(n, f"`{n.lower()}`") for n in names if not n.startswith("_")})
    if len(words) > 8:
        words = words[:8] + ["..."]
    return ", ".join(words)


def _glued_keyword(err: UnexpectedToken, parser: Lark) -> Described | None:
    """`onenqueue` where `on` was expected: the keyword and the next word lack a space."""
    word = str(err.token)
    if err.token.type != "NAME":
        return None
    keywords = {
        t.pattern.value
        for t in parser.terminals
        if t.name in (err.accepts or err.expected or ()) and t.pattern.type == "str"
    }
    for kw in sorted(keywords, key=len, reverse=True):
        if kw.isidentifier() and word.startswith(kw) and len(word) > len(kw):
            return C.GLUED_KEYWORD, {"word": word, "keyword": kw, "rest": word[len(kw) :]}
    return None


def _parser_accepts(err: UnexpectedCharacters) -> set[str]:
    """The terminals the parser could take where the lexer failed. The lexer's own `allowed`
    set always has NAME in it (parse._WholeWords), even where no name can come."""
    state = getattr(err, "state", None)
    try:
        return {t for t in state.parse_conf.states[state.position] if t.isupper()}  # type: ignore[union-attr]
    except (AttributeError, KeyError, TypeError):
        return set()


def _unclosed(err: UnexpectedInput, text: str) -> Described | None:
    """A `/*` or `"` the lexer could not end: the error is at the opener, which says little.
    (A closed comment is never a token, so a `/` token before `*` is an unclosed one too.)"""
    pos = getattr(err, "pos_in_stream", None)
    if not isinstance(pos, int) or isinstance(err, UnexpectedEOF):
        return None
    if text.startswith("/*", pos):
        return C.UNCLOSED_COMMENT, {}
    if text.startswith('"', pos) and isinstance(err, UnexpectedCharacters):  # not a STRING
        return C.UNCLOSED_STRING, {}
    return None


def describe(err: UnexpectedInput, text: str, parser: Lark) -> Described:
    """The wording and its fields for an error of `parser` (the one syntax.py built) on `text`."""
    special = _glued_keyword(err, parser) if isinstance(err, UnexpectedToken) else None
    special = special or _unclosed(err, text)
    if special is not None:
        return special
    label = None
    try:
        label = err.match_examples(parser.parse, EXAMPLES, use_accepts=True)
    except Exception:  # matching is best effort; the fallback below always works
        label = None
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream or 0
        ch = text[pos] if pos < len(text) else "?"
        shown = ch if ch.isprintable() else f"U+{ord(ch):04X}"  # e.g. U+FEFF, U+2028
        got = f"unexpected character `{shown}`"
        expected = _parser_accepts(err) or set(err.allowed or ())
    elif isinstance(err, UnexpectedEOF):
        got = "unexpected end of file"
        expected = set(err.expected or ())
    elif isinstance(err, UnexpectedToken):
        tok = err.token
        got = "unexpected end of file" if tok.type == "$END" else f"unexpected `{tok}`"
        expected = set(err.accepts or err.expected or ())
    else:
        got, expected = "syntax error", set()
    if label is not None and isinstance(label, str) and label in MESSAGES:
        return MESSAGES[label], {"got": got}
    if expected:
        return C.UNEXPECTED, {"got": got, "expected": _words(expected)}
    return C.UNEXPECTED_HERE, {"got": got}
