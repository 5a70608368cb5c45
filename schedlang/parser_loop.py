"""A faster LALR loop over the tables Lark built, for programs that parse.

Lark's own loop spends most of a parse on bookkeeping, not on the grammar: for every
reduction it hashes a `Rule` object (a Python-level `__hash__`/`__eq__`) to find the
callback, and it makes a call even for the ~1,800 unit reductions per stdlib policy that
the expression precedence ladder costs (`atom` → `postfix` → ... → `or_expr` → `expr`, each
a `?rule` that hands its one child up unchanged). This loop reads the same parse table and
the same per-state lexers (the contextual lexer, so a keyword is still a name wherever a
keyword cannot stand), but resolves each table entry once, up front, into a plain tuple, and
does a run of unit reductions as one state change.

It makes the same reductions, in the same order, with the same callbacks as Lark's loop, so
it builds the same tree and a callback rejects at the same point. What it does not do is
explain an error: on any input it cannot lex or parse it raises `Stop`, and the caller lets
Lark's own parser run again on that text to produce the error the diagnostics describe.
Errors are rare and their cost does not matter; a parse that succeeds is what an agent waits
for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lark import Lark, Token
from lark.lexer import PatternStr, UnlessCallback
from lark.parse_tree_builder import ExpandSingleChild
from lark.parsers.lalr_analysis import Shift

_new_str = str.__new__

# Table entry kinds.
_SHIFT, _UNIT, _REDUCE = 0, 1, 2

# A state's lexer: the compiled alternation of the terminals it accepts, the callbacks
# (keyword re-typing, literal checks) by terminal, ignored terminals, terminals that may
# span lines.
_Lexer = tuple[
    Callable[[str, int], Any], dict[str, Callable[[Token], Token]], frozenset[str], frozenset[str]
]


def _keywords(callback: Callable[[Token], Token]) -> Callable[[Token], Token] | None:
    """Lark's callback that re-types a NAME which is a keyword the state accepts (`if`), as
    a dict lookup, or None if it is some other callback. Lark matches the word against an
    alternation of the keywords (two Python calls and a regex per name); for plain,
    case-sensitive strings that is the same as looking the word up."""
    if not isinstance(callback, UnlessCallback):
        return None
    terminals = callback.scanner.terminals
    if callback.scanner.g_regex_flags or any(
        not isinstance(t.pattern, PatternStr) or t.pattern.flags for t in terminals
    ):
        return None
    words = {t.pattern.value: t.name for t in terminals}

    def retype(token: Token) -> Token:
        token.type = words.get(token.value, token.type)
        return token

    return retype


class Stop(Exception):
    """The text does not lex or parse here; Lark's parser says why."""


class Loop:
    """The parse loop for one Lark LALR parser built with a contextual lexer and a
    `transformer=` (so the callbacks build the result as the parse goes)."""

    def __init__(self, lark: Lark) -> None:
        frontend = lark.parser
        parser = frontend.parser.parser
        table, callbacks = parser.parse_table, parser.callbacks
        if any(isinstance(k, str) for k in callbacks):
            raise ValueError("terminal callbacks are not supported")
        # rule -> (kind, size, origin, callback), so a reduction hashes no Rule object.
        rules: dict[Any, tuple[int, int, str, Any]] = {}
        for rule, callback in callbacks.items():
            size = len(rule.expansion)
            unit = size == 1 and isinstance(callback, ExpandSingleChild)
            rules[rule] = (_UNIT if unit else _REDUCE, size, rule.origin.name, callback)
        self._actions: dict[int, dict[str, tuple[int, Any, Any, Any]]] = {
            state: {
                terminal: (_SHIFT, arg, None, None) if action is Shift else rules[arg]
                for terminal, (action, arg) in row.items()
            }
            for state, row in table.states.items()
        }
        self._start = table.start_states["start"]
        self._end = table.end_states["start"]
        self._contextual = frontend.lexer.lexer  # behind the (no-op) post-lexer
        self._lexers: dict[int, _Lexer] = {}
        # (state below, top state, lookahead) -> the top state after the unit reductions
        # that lookahead makes in a row there; the state below stays (see `_follow`).
        self._units: dict[tuple[int, int, str], int] = {}
        self._lexer(self._start)  # (a Lark whose lexers are built otherwise fails here)

    def _lexer(self, state: int) -> _Lexer:
        """The state's lexer, built on first use as Lark builds it (most states never lex)."""
        lexer = self._contextual.lexers[state]
        scanner = lexer.scanner
        if len(scanner._mres) != 1:  # Lark splits an alternation of >100 terminals
            raise ValueError("a lexer with more than one pattern is not supported")
        callbacks = {kind: _keywords(f) or f for kind, f in lexer.callback.items()}
        found = (scanner._mres[0].match, callbacks, lexer.ignore_types, lexer.newline_types)
        self._lexers[state] = found
        return found

    def _follow(self, chain: tuple[int, int, str]) -> int:
        """The state a run of unit reductions ends in. Each one pops the top state (the
        child's) and pushes the goto of the state below on the rule's name; the value and
        the state below do not change, so the whole run depends on the two states and the
        lookahead only. `expr` over a name is a dozen of them per operand."""
        below, state, terminal = chain
        while not (terminal == "$END" and state == self._end):
            entry = self._actions[state].get(terminal)
            if entry is None or entry[0] != _UNIT:
                break
            state = self._actions[below][entry[2]][1]
        self._units[chain] = state
        return state

    def parse(self, text: str) -> Any:
        """The value the start rule's callback returns, or `Stop`."""
        actions, lexers, units, end = self._actions, self._lexers, self._units, self._end
        states: list[int] = [self._start]
        values: list[Any] = []
        pos, line, line_start, size = 0, 1, 0, len(text)
        while True:
            state = states[-1]
            # Lex one token with the lexer of the state the parser is in.
            token: Token | None = None
            match, callback, ignore, newline = lexers.get(state) or self._lexer(state)
            while pos < size:
                m = match(text, pos)
                if m is None:
                    raise Stop
                value, kind = m.group(0), m.lastgroup
                start_line, column, at = line, pos - line_start + 1, pos
                pos += len(value)
                if kind in newline and "\n" in value:
                    line += value.count("\n")
                    line_start = at + value.rindex("\n") + 1
                if kind in ignore and kind not in callback:
                    continue
                # Token(kind, value, at, ...) made in place: the constructor's two calls
                # cost more than the rest of lexing a token.
                token = _new_str(Token, value)
                token.type, token.value, token.start_pos, token.end_pos = kind, value, at, pos
                token.line, token.column = start_line, column
                token.end_line, token.end_column = line, pos - line_start + 1
                if kind in callback:
                    token = callback[kind](token)
                if kind not in ignore:
                    break
                token = None
            terminal = "$END" if token is None else token.type
            # Reduce until the token shifts (or, at the end, until the start rule is done).
            while True:
                try:
                    what, arg, origin, build = actions[state][terminal]
                except KeyError:
                    raise Stop from None
                if what == _SHIFT:
                    if token is None:
                        raise Stop
                    states.append(arg)
                    values.append(token)
                    break
                if what == _UNIT:  # the child is the value: only the top state changes
                    chain = (states[-2], state, terminal)
                    state = units.get(chain, -1)
                    if state < 0:
                        state = self._follow(chain)
                    states[-1] = state
                else:
                    children = values[-arg:] if arg else []
                    if arg:
                        del states[-arg:]
                        del values[-arg:]
                    values.append(build(children))
                    state = actions[states[-1]][origin][1]
                    states.append(state)
                if token is None and state == end:
                    return values[-1]
