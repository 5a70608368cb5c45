"""Literal text → value: integers, durations and strings as the lexer matched them.

The lexer takes any word that starts with a digit as one INT token (`007`, `1and`, `5sec`),
so a malformed number is reported here, whole and at its own position, with how to write
it, instead of as a confusing parse error at the next token. A value must fit the widest
type (u64). Bounds are checked on the digits before Python's int() sees them: a literal of
thousands of digits is neither converted nor printed (Python refuses both past 4,300 digits).
"""

from __future__ import annotations

import re

from schedlang.units import UNIT_NS

U64_MAX = 2**64 - 1
_DECIMAL = re.compile(r"[0-9][0-9_]*")
_HEX = re.compile(r"0x[0-9a-fA-F_]*[0-9a-fA-F][0-9a-fA-F_]*")
_FORMS = (
    "a number is decimal (`42`, `1_000`) or hex (`0xff`); "
    "a duration is one followed by ns, us, ms or s (`5ms`)"
)


class LiteralError(ValueError):
    """What is wrong with a literal, and how to write it instead."""

    def __init__(self, message: str, hint: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint
        self.offset = offset  # where in the literal's text the problem starts


def _shown(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:20]}... ({len(text)} characters)"


def _too_large(text: str) -> LiteralError:
    return LiteralError(
        f"`{_shown(text)}` does not fit in 64 bits",
        f"the largest integer is {U64_MAX} (0xffff_ffff_ffff_ffff)",
    )


def integer(text: str, unit: str = "") -> int:
    """The value of an integer literal (the digits of a duration, if `unit` is given)."""
    digits = text.replace("_", "")
    if _HEX.fullmatch(text) and not unit:
        significant = digits[2:].lstrip("0")
        if len(significant) > 16:
            raise _too_large(text)
        return int(significant or "0", 16)
    if not _DECIMAL.fullmatch(text):
        raise LiteralError(f"`{_shown(text)}` is not a number", _FORMS)
    if len(digits) > 1 and digits[0] == "0":
        raise LiteralError(
            f"`{_shown(text + unit)}`: leading zeros are not allowed",
            f"write `{_shown(digits.lstrip('0') or '0')}{unit}`",
        )
    if len(digits) > len(str(U64_MAX)) or int(digits) > U64_MAX:
        raise _too_large(text + unit)
    return int(digits)


def duration(text: str) -> tuple[int, str]:
    """`5ms` → (5, "ms")."""
    amount = text.rstrip("nums")
    return integer(amount, text[len(amount) :]), text[len(amount) :]


_DURATION = re.compile(r"([0-9][0-9_]*)(ns|us|ms|s)")


def tunable(text: str, kind: str) -> int:
    """The value of a `--param` override for a tunable of type `kind` (`bool`, `duration`,
    an integer type: a DSL name such as `u32` or a C policy's `s64`), written as the
    language writes a literal of that type: `true`/`false`; a duration with its unit
    (`3ms`; `0` alone is 0ns); an integer in decimal or hex (`42`, `1_000`, `0x2a`), signed
    types with a leading `-`. Surrounding whitespace is allowed, as around a token.

    One reader for every way a tunable is set (compile, a C policy's overrides, run), so a
    value one accepts the others do too. The range is the caller's to check: it depends on
    the declaration, not on the text. LiteralError says how to write the value instead.
    """
    text = text.strip()
    if kind == "bool":
        if text in ("true", "false"):
            return int(text == "true")
        raise LiteralError(f"`{_shown(text)}` is not a bool", "write `true` or `false`")
    if kind in ("duration", "time"):
        m = _DURATION.fullmatch(text)
        if m:
            return integer(m[1], m[2]) * UNIT_NS[m[2]]
        if text == "0":
            return 0
        hint = "a duration is a number followed by ns, us, ms or s: `3ms`, `250us`"
        if _DECIMAL.fullmatch(text):
            hint = f"a duration needs its unit: `{_shown(text)}ns`, or `3ms`, `250us`"
        raise LiteralError(f"`{_shown(text)}` is not a duration", hint)
    negative = text.startswith("-")
    digits = text.removeprefix("-")
    if not (_DECIMAL.fullmatch(digits) or _HEX.fullmatch(digits)):
        signed = kind[0] in "is"  # i32, i64; a C policy's s32, s64
        raise LiteralError(
            f"`{_shown(text)}` is not {'an' if signed else 'a'} {kind} value",
            "a number is decimal (`42`, `1_000`) or hex (`0x2a`)"
            + (", negative with a leading `-`" if signed else ""),
        )
    value = integer(digits)
    return -value if negative else value


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"'}


def string(token: str) -> str:
    """The value of a string literal, quotes and escapes resolved.

    The escapes are \\" \\\\ \\n \\r \\t (a line end cannot appear raw in a string: the lexer
    ends lines at \\n, \\r\\n and \\r). Any other backslash is an error at its offset in the
    token (`LiteralError.offset`): `"\\x41"` read as `x41` would be a comparison that silently
    never matches.
    """
    body = token[1:-1]
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1]  # the lexer's STRING pattern has a character after every `\`
            if nxt not in _ESCAPES:
                raise LiteralError(
                    f"unknown escape `\\{nxt}` in a string",
                    'the escapes are \\" \\\\ \\n \\r \\t; write a backslash as \\\\',
                    offset=i + 1,
                )
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)
