"""Every diagnostic code, with its wording: the summary docs/errors.md expands, the how-to-fix,
and the message templates call sites fill in.

Codes are stable: agents match on them. Each has a wrong and a right example in
docs/errors.md (whose "Fix:" starts with the code's `fix`), and a rejected test program
under tests/cases/. Why the wording lives here and not at the call sites: one place to read
and review what users are told, one style, and a pass says only what it found (the code and
the fields: names, lines, values). Add a code with `_code`, a wording with `_says` (a fix
that fits only some cases, or a note's text, with `phrase`), right under the code it
belongs to. The C gate's codes use the same `Code` (verify_c/findings.py).
"""

from __future__ import annotations

import difflib
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "note"]


@dataclass(frozen=True)
class Code:
    """A stable diagnostic code: its one-line summary, its how-to-fix, its severity."""

    name: str
    summary: str
    fix: str
    severity: Severity = "error"


@dataclass(frozen=True)
class Message:
    """One wording of a code. `text` and each of `fixes` are `str.format` templates over the
    named fields the call site passes (`{name}`; a literal brace is doubled)."""

    code: str
    text: str
    fixes: tuple[str, ...] = ()

    @property
    def fields(self) -> set[str]:
        return _fields(self.text, *self.fixes)

    def format(
        self, fields: Mapping[str, object], suggest: Iterable[str] = ()
    ) -> tuple[str, tuple[str, ...]]:
        """The message and its hints: the call's own suggestions ("did you mean"), then this
        wording's fixes; the code's general fix when there is neither."""
        hints = (*suggest, *(f.format_map(fields) for f in self.fixes))
        return self.text.format_map(fields), hints or (CODES[self.code].fix,)


@dataclass(frozen=True)
class Phrase:
    """Wording a call site adds when its case calls for it: a fix that fits only some cases
    of a code (passed formatted as `suggest=`, before the wording's own fixes), or the text
    of a note pointing at a related place."""

    code: str
    template: str

    @property
    def fields(self) -> set[str]:
        return _fields(self.template)

    def format(self, **fields: object) -> str:
        return self.template.format_map(fields)


def _fields(*templates: str) -> set[str]:
    """The names a template fills in (`{name}`)."""
    return {
        name
        for template in templates
        for _, name, _, _ in string.Formatter().parse(template)
        if name
    }


CODES: dict[str, Code] = {}
MESSAGES: list[Message] = []
PHRASES: list[Phrase] = []


def _code(name: str, summary: str, *, fix: str) -> str:
    CODES[name] = Code(name, summary, fix)
    return name


def _says(code: str, text: str, *fixes: str) -> Message:
    message = Message(code, text, fixes)
    MESSAGES.append(message)
    return message


def phrase(code: str, template: str) -> Phrase:
    phrase = Phrase(code, template)
    PHRASES.append(phrase)
    return phrase


def did_you_mean(name: str, candidates: list[str], cutoff: float = 0.6) -> tuple[str, ...]:
    """The suggestion for a misspelt name, if one of `candidates` is close (for `suggest=`)."""
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=cutoff)
    return (f"did you mean `{close[0]}`?",) if close else ()


# ---------- syntax and input
SYNTAX = _code(
    "syntax",
    "the text does not follow the grammar",
    fix="complete or reorder the construct the message names; `return` must be the last statement "
    "of its block",
)
# The fallback: what came, and what could have come instead.
UNEXPECTED = _says(SYNTAX, "{got}", "expected {expected}")
UNEXPECTED_HERE = _says(SYNTAX, "{got}")
# syntax_errors.EXAMPLES: a typical mistake is recognised by the parser state it fails in.
MISSING_HEADER = _says(
    SYNTAX,
    '{got}: a policy starts with `scheduler NAME "description" {{`',
    'write: scheduler my_policy "one-line description" {{ ... }}',
)
MISSING_DESCRIPTION = _says(
    SYNTAX,
    "{got}: the scheduler needs a one-line description in double quotes after its name",
    'write: scheduler NAME "what this policy does" {{',
)
SEMICOLON = _says(
    SYNTAX,
    "{got}: schedlang statements are not terminated by `;`",
    "remove the `;` (one statement per line)",
)
RETURN_NOT_LAST = _says(
    SYNTAX,
    "{got}: `return` must be the last statement of its block",
    "move the code after `return` before it, or into an `else` branch",
)
PARAM_NEEDS_RANGE = _says(
    SYNTAX,
    "{got}: a `param` needs a default and a range: `param NAME: TYPE = DEFAULT in LO..HI`",
    "add the range, e.g. `param slice: duration = 5ms in 1ms..50ms`",
)
DECL_NEEDS_TYPE = _says(
    SYNTAX,
    "{got}: a declaration needs an explicit type: `NAME: TYPE`",
    "write the type after a colon, e.g. `var total: u64 = 0`",
)
ASSIGN_IN_CONDITION = _says(
    SYNTAX, "{got}: `=` assigns; to compare use `==`", "write `if a == b {{`"
)
C_LOGICAL_OP = _says(
    SYNTAX,
    "{got}: schedlang spells boolean operators `and`, `or`, `not`",
    "replace `&&` with `and`, `||` with `or`, `!x` with `not x`",
)
MISSING_BRACE = _says(
    SYNTAX,
    "{got}: the block is not closed: a `}}` is missing",
    "add `}}` at the end of the block that is still open",
)
IF_NEEDS_BLOCK = _says(
    SYNTAX,
    "{got}: the body of `if`, `else` and `for` must be a `{{ ... }}` block",
    "wrap the statement in braces",
)
STATEMENT_OUTSIDE_CALLBACK = _says(
    SYNTAX,
    "{got}: statements belong inside a callback (`on NAME(...) {{ }}`) or an `fn`",
    "move the statement into a callback body",
)
INSERT_SYNTAX = _says(
    SYNTAX,
    "{got}: insert is written `insert TASK into QUEUE [on CPU] [slice EXPR] [vtime EXPR]`",
    "e.g. `insert t into shared slice slice vtime t.vtime`",
)
CALLBACK_PARAM_TYPE = _says(
    SYNTAX,
    "{got}: callback parameters take their types from the callback: write only the names",
    "e.g. `on enqueue(t, flags) {{`",
)
BAD_DURATION = _says(
    SYNTAX,
    "{got}: a duration literal is an integer followed directly by ns, us, ms or s",
    "write `5ms`, `250us`, `100ns` or `1s` (no space, no decimals)",
)
# Mistakes recognised from the text itself.
GLUED_KEYWORD = _says(
    SYNTAX,
    "unexpected `{word}`: a keyword is a whole word; `{keyword}` needs a space after it",
    "write `{keyword} {rest}`",
)
UNCLOSED_COMMENT = _says(
    SYNTAX, "this `/*` comment is never closed", "add `*/` where the comment ends"
)
UNCLOSED_STRING = _says(
    SYNTAX,
    "this string is not closed on its line",
    'add the closing `"`; a string cannot span lines (write a line break as \\n)',
)
# A malformed number, duration or string: literals.py words it, as it does for `--param`.
BAD_LITERAL = _says(SYNTAX, "{problem}", "{fix}")

EMPTY_FILE = _code(
    "empty-file",
    "the file has no policy in it",
    fix='start with `scheduler NAME "description" { ... }`',
)
FILE_IS_EMPTY = _says(
    EMPTY_FILE,
    'file is empty: expected `scheduler NAME "description" {{ ... }}`',
    'start with: scheduler my_policy "what it does" {{ }}',
)

NOT_TEXT = _code(
    "not-text",
    "the file is not text",
    fix="pass the `.sched` source, saved as UTF-8",
)
NUL_BYTE = _says(
    NOT_TEXT, "file contains a NUL byte: this is not schedlang source text", "pass a .sched file"
)
NOT_UTF8 = _says(NOT_TEXT, "file is not UTF-8 text", "save the policy as UTF-8")
LONE_SURROGATE = _says(
    NOT_TEXT,
    "the text contains a lone surrogate (U+{codepoint:04X}): it is not Unicode text",
    "pass the policy as valid Unicode (a .sched file saved as UTF-8)",
)

FILE_TOO_LARGE = _code(
    "file-too-large",
    "the file is larger than any policy should be",
    fix="remove generated content or split the policy",
)
LARGER_THAN_LIMIT = _says(
    FILE_TOO_LARGE,
    "file is larger than {kb} kB; a policy is a few hundred lines",
    "split the policy or remove generated content",
)

TOO_DEEP = _code(
    "too-deep",
    "brackets nest too deeply",
    fix="name parts of the expression with `let` or move them into an `fn`",
)
BRACKETS_TOO_DEEP = _says(
    TOO_DEEP,
    "brackets nest more than {limit} deep",
    "move parts of the expression into `let` bindings or an `fn` helper",
)
TREE_TOO_DEEP = _says(
    TOO_DEEP,
    "the program nests more than {limit} levels deep here",
    "split long operator chains and deep nesting into `let` bindings or `fn` helpers",
)

# ---------- names
UNKNOWN_NAME = _code(
    "unknown-name",
    "a name that is not declared",
    fix='use the suggested name ("did you mean"), or declare it',
)
NOT_A_QUEUE = _says(UNKNOWN_NAME, "`{name}` is not a queue", "declare it: `queue NAME: fifo`")
NAME_NOT_DECLARED = _says(
    UNKNOWN_NAME, "unknown name `{name}`", "declare it, or check the spelling"
)
TASK_VAR_BY_NAME = _says(
    UNKNOWN_NAME, "unknown name `{name}`", "`{name}` is a task var: write `t.{name}` for a task `t`"
)
UNKNOWN_TUNABLE = _says(
    UNKNOWN_NAME,
    "--param {name}: `{policy}` has no tunable named `{name}`",
    "its tunables are: {tunables}",
)

UNKNOWN_FIELD = _code(
    "unknown-field",
    "a field that the value does not have",
    fix="task fields are `pid tgid comm weight vtime slice cpu nr_cpus_allowed is_kthread` plus "
    "every `task var`; a `default_cpu` result has `.cpu` and `.idle`",
)
NO_TASK_FIELD = _says(UNKNOWN_FIELD, "a task has no field `{name}`", "fields: {fields}")
NO_PICK_FIELD = _says(
    UNKNOWN_FIELD, "a default_cpu result has no field `{name}`", "it has `.cpu` and `.idle`"
)
NO_FIELDS = _says(UNKNOWN_FIELD, "a {type} has no fields")

UNKNOWN_TYPE = _code(
    "unknown-type",
    "a type name that does not exist",
    fix="types are `bool u32 u64 i32 i64 duration time cpu task`",
)
UNKNOWN_TYPE_NAME = _says(UNKNOWN_TYPE, "unknown type `{name}`", "types: {types}")

UNKNOWN_CALLBACK = _code(
    "unknown-callback",
    "`on NAME` where NAME is not a sched_ext operation",
    fix="operations are `select_cpu enqueue dispatch runnable running stopping quiescent tick "
    "enable init`",
)
NOT_AN_OPERATION = _says(
    UNKNOWN_CALLBACK, "`{name}` is not a sched_ext operation", "operations: {operations}"
)

UNKNOWN_FUNCTION = _code(
    "unknown-function",
    "a call to something that is neither a built-in nor an `fn`",
    fix="use a built-in (`now default_cpu move_to_local queued allowed min max clamp abs "
    "startswith`) or declare `fn NAME(...)`",
)
FUNCTION_NOT_DECLARED = _says(UNKNOWN_FUNCTION, "unknown function `{name}`")

DUPLICATE_NAME = _code(
    "duplicate-name",
    "two declarations with one name",
    fix="rename one of them",
)
BUILTIN_NAME = _says(DUPLICATE_NAME, "`{name}` is a built-in name", "choose another name")
ALREADY_DECLARED = _says(
    DUPLICATE_NAME, "`{name}` is already declared (line {line})", "rename one of them"
)
BUILTIN_TASK_FIELD = _says(
    DUPLICATE_NAME, "`{name}` is a built-in task field", "choose another name for the task var"
)
PARAMETER_IS_BUILTIN = _says(DUPLICATE_NAME, "`{name}` is a built-in name", "rename it")
PARAMETER_TWICE = _says(DUPLICATE_NAME, "`{name}` is already a parameter", "rename it")
FIRST_DECLARED = phrase(DUPLICATE_NAME, "`{name}` is first declared here")
CALLBACK_TWICE = _says(
    DUPLICATE_NAME, "`on {op}` is already defined (line {line})", "merge the two bodies"
)
SHADOWS_PARAMETER = _says(
    DUPLICATE_NAME,
    "`{name}` is a parameter of {owner}; {what} cannot reuse its name",
    "use another name (a parameter cannot be shadowed)",
)
LOCAL_TWICE = _says(DUPLICATE_NAME, "`{name}` is already defined here", "use another name")

NAME_TOO_LONG = _code(
    "name-too-long",
    "a scheduler name longer than the kernel keeps",
    fix="shorten the name to 127 characters or fewer; the description has room for the rest",
)
SCHEDULER_NAME_TOO_LONG = _says(
    NAME_TOO_LONG,
    "the scheduler name is {length} characters long; the kernel keeps at most {limit} "
    "(sched_ext_ops.name is 128 bytes with its NUL)",
    "shorten it to {limit} characters or fewer",
)

# ---------- imports (schedlang/imports.py)
IMPORT_NOT_FOUND = _code(
    "import-not-found",
    "an `import` names a library policy or a file that does not exist",
    fix="name a library policy (a file of `stdlib/`, without `.sched`) or a path to a `.sched` "
    "file, relative to the importing file",
)
NO_LIBRARY_POLICY = _says(
    IMPORT_NOT_FOUND, "there is no library policy `{name}`", "library policies: {names}"
)
NO_POLICY_FILE = _says(
    IMPORT_NOT_FOUND,
    "cannot read `{path}`: {reason}",
    "paths are relative to the importing file ({base})",
)
IMPORTED_HERE = phrase(IMPORT_NOT_FOUND, "imported here")

IMPORT_UNKNOWN = _code(
    "import-unknown",
    "an `import` lists a name its library does not declare",
    fix="list a `fn`, `const`, `param`, `queue`, `var`, `task var`, `array` or `map` the library "
    "declares; callbacks are not imported",
)
NOT_IN_LIBRARY = _says(IMPORT_UNKNOWN, "`{library}` declares no `{name}`", "it declares: {names}")
CALLBACK_NOT_IMPORTED = _says(
    IMPORT_UNKNOWN,
    "`{name}` is a callback of `{library}`; callbacks are not imported",
    "move its body into an `fn` in `{library}` and import that",
)

IMPORT_NEEDS = _code(
    "import-needs",
    "an imported declaration uses state (a param, queue, var, task var, array or map) that is "
    "neither imported nor declared here",
    fix="list the state in the `import` too, or declare it in this policy with the same kind "
    "and type",
)
NEEDS_STATE = _says(
    IMPORT_NEEDS,
    "`{name}` uses {missing} of `{library}`, which this policy neither imports nor declares",
    "import it: `{fixed}`",
    "or declare it here: {declarations}",
)
USES_IT_HERE = phrase(IMPORT_NEEDS, "`{user}` uses `{needed}` here")

IMPORT_MISMATCH = _code(
    "import-mismatch",
    "this policy declares a name an imported declaration uses, but as another kind or type",
    fix="declare it as the library does (same kind and type), or import the library's own "
    "declaration under another name",
)
DECLARED_OTHERWISE = _says(
    IMPORT_MISMATCH,
    "`{needed}` is {here} here, but `{name}` of `{library}` uses it as {there}",
    "declare it as `{declaration}`",
)
LIBRARY_DECLARES = phrase(IMPORT_MISMATCH, "`{library}` declares `{needed}` here")

IMPORT_CLASH = _code(
    "import-clash",
    "an imported declaration takes a name this policy already declares or imports",
    fix="import it under another name (`{ NAME as OTHER }`), or rename this policy's own "
    "declaration",
)
CLASHES = _says(
    IMPORT_CLASH,
    "importing `{name}` from `{library}` {why}would declare `{local}` a second time",
    "import it under another name: `{name} as {other}`",
)
NEEDED_BY = phrase(IMPORT_CLASH, "(it is used by `{user}`) ")
ALREADY_HERE = phrase(IMPORT_CLASH, "`{local}` is already declared here")
IMPORTED_FROM = phrase(IMPORT_CLASH, "the imported `{name}` is declared here")

IMPORT_CYCLE = _code(
    "import-cycle",
    "policies that import each other, directly or through others",
    fix="move the shared declarations into a third file that both import",
)
CYCLE = _says(IMPORT_CYCLE, "import cycle: {chain}")
CYCLE_STEP = phrase(IMPORT_CYCLE, "which imports `{next}` here")

# ---------- types
TYPE_MISMATCH = _code(
    "type-mismatch",
    "a value of the wrong type",
    fix="change the declaration, or convert explicitly with `as`",
)
PARAM_TYPE = _says(
    TYPE_MISMATCH,
    "a param is a number, a duration or a bool, not {type}",
    "tunables are set at load time, so they must be plain values",
)
CANNOT_HOLD_TASK = _says(
    TYPE_MISMATCH, "a {kind} cannot hold a {type}", "store the task's pid instead (`t.pid`)"
)
ARRAY_ELEMENT_TYPE = _says(TYPE_MISMATCH, "an array cannot hold {type}")
MAP_KEY_TYPE = _says(TYPE_MISMATCH, "a map cannot hold {type}", "use `t.pid` as a key")
# A `let` keeps a number, a bool, a duration, a time or a cpu; liveness follows a task by
# its parameter's name, so a task is only ever a callback's or fn's parameter.
TASK_IN_LET = _says(
    TYPE_MISMATCH,
    "a {type} cannot be stored in a `let`",
    "use the task's own name; a task is only ever a callback's or fn's parameter",
    "to remember which task it was, store its pid: `let pid = t.pid`",
)
COMM_IN_LET = _says(
    TYPE_MISMATCH,
    "a {type} cannot be stored in a `let`",
    'compare it where it is: `t.comm == "make"` or `startswith(t.comm, "ma")`',
)
VALUE_IN_LET = _says(TYPE_MISMATCH, "a {type} cannot be stored in a `let`")
# What the context wants against what it got (`what` names the context: "the returned value").
WRONG_TYPE = _says(TYPE_MISMATCH, "{what} must be {want}, not {have}")
_CAST = "convert explicitly: `(...) as {want}`"
WRONG_TYPE_CASTABLE = _says(TYPE_MISMATCH, "{what} must be {want}, not {have}", _CAST)
NUMBER_NOT_WANTED = _says(TYPE_MISMATCH, "{what} must be {want}, not a number")
DOES_NOT_FIT = _says(
    TYPE_MISMATCH,
    "{value} does not fit in {want} ({lo}..{hi})",
    "use a wider type or a smaller value",
)
CONSTANT_TOO_LARGE = _says(
    TYPE_MISMATCH,
    "this constant does not fit in 64 bits ({magnitude})",
    "a constant must stay within {lo}..{hi} at every step",
)
CONTAINER_AS_VALUE = _says(
    TYPE_MISMATCH, "`{name}` is {kind}; read one element", "index it: `{name}[...]`"
)
NOT_A_VALUE = _says(TYPE_MISMATCH, "`{name}` is a {kind}, not a value")
NOT_INDEXABLE = _says(TYPE_MISMATCH, "`{name}` is not an array or a map")
INDEX_TYPE = _says(TYPE_MISMATCH, "an array index must be an integer or a cpu, not {type}")
CANNOT_CONVERT = _says(TYPE_MISMATCH, "cannot convert {have} to {want}")
TAKES_A_QUEUE = _says(
    TYPE_MISMATCH,
    "{func} takes a queue, not {type}",
    "name a queue declared with `queue NAME: fifo|vtime`",
)
# A `--param` value its param's type cannot take; literals.py words what is wrong with it.
BAD_PARAM_VALUE = _says(TYPE_MISMATCH, "--param {name}={given}: {problem}", "{fix}")

NEEDS_UNIT = _code(
    "needs-unit",
    "a bare number where a duration is needed",
    fix="write the unit: `ns`, `us`, `ms` or `s`",
)
_NOT_A_DURATION = "{what} must be a duration, not a bare {have}"
COUNT_AS_DURATION = _says(NEEDS_UNIT, _NOT_A_DURATION)
COUNT_AS_DURATION_CASTABLE = _says(
    NEEDS_UNIT,
    _NOT_A_DURATION,
    _CAST,
)
# A literal number where a duration goes: every unit for a small number; for a large one
# (most likely nanoseconds), the nanoseconds and the same length in its largest unit.
_BARE_NUMBER = "a bare number is never a duration ({what})"
BARE_SMALL_DURATION = _says(
    NEEDS_UNIT,
    _BARE_NUMBER,
    "write the unit: `{value}us`, `{value}ms`, `{value}ns` or `{value}s`",
)
BARE_ROUND_DURATION = _says(
    NEEDS_UNIT,
    _BARE_NUMBER,
    "write the unit: `{value}ns` if that count is in nanoseconds (= `{scaled}{unit}`)",
)
BARE_DURATION = _says(
    NEEDS_UNIT,
    _BARE_NUMBER,
    "write the unit: `{value}ns` if that count is in nanoseconds",
)
BARE_TIME = _says(
    NEEDS_UNIT,
    'a bare number is never a time ({what}); `0` alone means "never"',
    "take a time from `now()`, and move it by a duration: `now() + 5ms`",
)
_OPERANDS = "`{op}` does not take {left} and {right}"
BARE_NUMBER_IN_UNITS = _says(
    NEEDS_UNIT,
    _OPERANDS,
    "a bare number is never a duration: write a unit (`5us`), or scale with * and /",
)

SIGN_MIX = _code(
    "sign-mix",
    "signed and unsigned mixed without `as`",
    fix="convert one side with `as`",
)
SIGNS_DIFFER = _says(SIGN_MIX, "{what}: {have} is not {want}")
SIGNS_DIFFER_CASTABLE = _says(SIGN_MIX, "{what}: {have} is not {want}", _CAST)
SIGNED_SCALE = _says(
    SIGN_MIX,
    "a duration is scaled by an unsigned number, not {type}",
    "convert: `(x as u64)`",
)
SIGNS_MIXED = _says(
    SIGN_MIX,
    "{left} and {right} mixed: signed and unsigned never mix implicitly",
    "convert one side with `as`, e.g. `(x as {left})`",
)

BAD_OPERAND = _code(
    "bad-operand",
    "an operator applied to types it does not take",
    fix="`t.comm` only compares with `==` or `startswith`; `not` takes a bool; arithmetic takes "
    "numbers and durations by the unit rules",
)
OPERAND_TYPES = _says(BAD_OPERAND, _OPERANDS)
TIME_NOT_SCALED = _says(
    BAD_OPERAND,
    _OPERANDS,
    "a time is a point in time and cannot be scaled: subtract two times first",
)
UNIT_ALGEBRA = _says(
    BAD_OPERAND,
    _OPERANDS,
    "time - time is a duration; time + duration is a time; duration / duration is a u64",
)
NOT_NEEDS_BOOL = _says(
    BAD_OPERAND, "`not` needs a bool, not {type}", "compare first, e.g. `not (x == 0)`"
)
LOGIC_NEEDS_BOOLS = _says(BAD_OPERAND, "`{op}` needs bools, not {type}")
CANNOT_NEGATE = _says(
    BAD_OPERAND,
    "cannot negate a {type}: only i32 and i64 have negative values",
    "convert first: `(x as i64)`",
)
SHIFT_PAST_32_BITS = _says(
    BAD_OPERAND,
    "a shift by {amount} is not below the {bits} bits of a {type}",
    "shift by 0 to {top}; to shift further, convert first: `(x as u64)`",
)
SHIFT_PAST_64_BITS = _says(
    BAD_OPERAND,
    "a shift by {amount} is not below the {bits} bits of a {type}",
    "shift by 0 to {top}",
)
COMM_WITH_COMM = _says(
    BAD_OPERAND,
    _OPERANDS,
    "compare a task's comm with a string literal",
)

BAD_CALL = _code(
    "bad-call",
    "a call with the wrong number or kind of arguments",
    fix="match the signature shown in the message",
)
TAKES_NUMBERS = _says(BAD_CALL, "{func} takes numbers, durations or times, not {type}")
ABS_TYPE = _says(BAD_CALL, "abs takes i32 or i64, not {type}", "unsigned values are never negative")
STARTSWITH_ARGS = _says(
    BAD_CALL,
    "startswith takes a task's comm and a string literal",
    'write `startswith(t.comm, "prefix")`',
)
BUILTIN_ARITY = _says(BAD_CALL, "wrong number of arguments: {signature}")
FN_ARITY = _says(BAD_CALL, "`{name}` takes {want} argument(s), not {got}")

BAD_TARGET = _code(
    "bad-target",
    "an assignment to something that cannot be assigned",
    fix="assign to a `let`, a `var`, a task var, a writable task field (`t.vtime`, `t.slice`), an "
    "array element or a map slot",
)
NOT_ASSIGNABLE = _says(BAD_TARGET, "this cannot be assigned to")

READ_ONLY = _code(
    "read-only",
    "an assignment to a read-only value",
    fix="declare a `var` for state that changes, or copy the value: `let my_limit = limit`",
)
PARAMETER_ASSIGNED = _says(
    READ_ONLY,
    "`{name}` is a parameter or loop variable and cannot be assigned",
    "copy it first: `let my_{name} = {name}`",
)
CONSTANT_ASSIGNED = _says(
    READ_ONLY,
    "`{name}` is a {kind} and cannot be assigned",
    "declare a `var` for state that changes",
)
READ_ONLY_FIELD = _says(
    READ_ONLY, "task field `{field}` is read-only", "writable fields: {writable} and task vars"
)

BAD_RETURN = _code(
    "bad-return",
    "a `return` whose value does not fit the callback or fn",
    fix="callbacks without a result take a bare `return`; `select_cpu` returns a `cpu`; an fn "
    "returns its declared type",
)
RETURN_NEEDS_VALUE = _says(BAD_RETURN, "this must return a {type}")
RETURNS_NOTHING = _says(BAD_RETURN, "{where} returns nothing", "write a bare `return`")

BAD_CALLBACK = _code(
    "bad-callback",
    "a callback with the wrong parameters or result",
    fix="write the parameters the operation has, e.g. `on select_cpu(t, prev, flags) -> cpu`",
)
CALLBACK_ARITY = _says(
    BAD_CALLBACK,
    "`on {op}` takes {want} parameter(s), not {got}",
    "write `on {op}{signature}`",
)
CALLBACK_RESULT = _says(BAD_CALLBACK, "`on {op}` has {want}", "write `on {op}{signature}`")

NOT_CONSTANT = _code(
    "not-constant",
    "a value that must be known at compile time is not",
    fix="use literals and other `const`s; params change at load time",
)
NOT_KNOWN_AT_COMPILE_TIME = _says(
    NOT_CONSTANT,
    "{what} must be known at compile time",
    "use literals and `const`s here (params can change at load time)",
)

WRONG_CALLBACK = _code(
    "wrong-callback",
    "a statement or built-in used where the kernel does not allow it",
    fix="move the statement into the callback the message names",
)
INSERT_OUTSIDE = _says(
    WRONG_CALLBACK,
    "`insert` is allowed only in `on select_cpu` and `on enqueue`, not in {here}",
    "the kernel hands a task to the scheduler only there",
)
BUILTIN_OUTSIDE = _says(
    WRONG_CALLBACK,
    "{func} can only be called in {where}, not in {here}",
    "the kernel allows this operation only there",
)

# ---------- safety rules
UNBOUNDED_LOOP = _code(
    "unbounded-loop",
    "a loop whose bound is not a compile-time constant",
    fix="use a literal or a `const` (the largest value you need); to visit CPUs write `for c in "
    "cpus`",
)
LOOP_BOUND_NOT_CONSTANT = _says(
    UNBOUNDED_LOOP,
    "the loop bound {bound} is not a compile-time constant",
    "use a literal or a `const` (params can change at load time): `for i in 0..N`",
    "to visit CPUs, write `for c in cpus`",
)

RECURSION = _code(
    "recursion",
    "an `fn` that calls itself, directly or through others",
    fix="turn the repetition into a bounded loop",
)
_BOUNDED_LOOP = "rewrite the repetition as a bounded loop (`for i in 0..N`)"
CALLS_ITSELF = _says(
    RECURSION,
    "fn `{name}` calls itself: fns are inlined, so they cannot recurse",
    _BOUNDED_LOOP,
)
CALLS_ITSELF_THROUGH = _says(
    RECURSION,
    "fn `{name}` calls itself through {cycle}: fns are inlined, so they cannot recurse",
    _BOUNDED_LOOP,
)

TOO_COMPLEX = _code(
    "too-complex",
    "a callback whose estimated size exceeds the instruction budget",
    fix="loop over fewer elements, move work out of loops, or keep running totals in a `var` or "
    "array so each call does a little work",
)
_OVER_BUDGET = (
    "`on {op}` is estimated at {total} BPF instructions, over the budget of {budget} (the "
    "kernel verifier stops at 1000000)"
)
_LESS_WORK = (
    "loop over fewer elements (a smaller `0..N`), or move work out of the loop",
    "keep running totals in a `var` or array so each call does a little work",
)
OVER_INSTRUCTION_BUDGET = _says(
    TOO_COMPLEX,
    _OVER_BUDGET,
    *_LESS_WORK,
)
OVER_INSTRUCTION_BUDGET_MOSTLY = _says(
    TOO_COMPLEX,
    _OVER_BUDGET + "; most of it is {part}",
    *_LESS_WORK,
)
OVER_INSTRUCTION_BUDGET_PATHS = _says(
    TOO_COMPLEX,
    _OVER_BUDGET + ": the {count} `if`s at lines {lines} each leave a local "
    "that is read later with a different value, so the verifier checks the rest of the "
    "callback once per combination of their branches",
    "keep what the branches decide in a `var` or an array instead of a local (the verifier "
    "does not tell memory contents apart, so the paths merge)",
    "or compute the value without a branch (`a = (x >> 3) & 1` instead of "
    "`if x & 8 != 0 {{ a = 1 }}`)",
)

INDEX_UNPROVEN = _code(
    "index-unproven",
    "an array index not proven in range",
    fix="guard the index (`if i < N { ... }`) or wrap it (`a[i % N]`) as the hint shows",
)
# `slots` says how many the array has ("8 slots", "one slot per CPU, 64"); the hints say how
# to bound the index (passes/show.range_fixes, or the two below).
INDEX_MAY_BE_NEGATIVE = _says(
    INDEX_UNPROVEN, "index out of range for `{array}` ({slots}): {index} may be negative here"
)
INDEX_PAST_END = _says(
    INDEX_UNPROVEN,
    "index out of range for `{array}` ({slots}): index {value} is past the last slot ({last})",
)
INDEX_UNBOUNDED = _says(
    INDEX_UNPROVEN,
    "index out of range for `{array}` ({slots}): nothing here keeps {index} below {size}",
)
INDEX_MAY_BE_LARGE = _says(
    INDEX_UNPROVEN,
    "index out of range for `{array}` ({slots}): {index} can be as large as {largest} here",
)
LITERAL_INDEX_FIX = phrase(INDEX_UNPROVEN, "use an index from 0 to {last}")
PER_CPU_INDEX_FIX = phrase(
    INDEX_UNPROVEN, "index `{array}` with a `cpu` value: `t.cpu`, `prev`, or `c` of `for c in cpus`"
)

MEMORY_BUDGET = _code(
    "memory-budget",
    "maps and arrays together exceed the memory budget",
    fix="lower map capacities or array sizes; the message names the largest",
)
OVER_MEMORY_BUDGET = _says(
    MEMORY_BUDGET,
    "maps, arrays and task vars need {total} bytes, over the budget of {budget}; the largest "
    "is {largest} with {size} bytes",
    "lower the map capacities or array sizes",
)

DIV_BY_ZERO = _code(
    "div-by-zero",
    "a divisor that may be zero",
    fix="give the divisor a floor (`max(d, 1)`) or guard it (`if d != 0 { ... }`) as the hint "
    "shows; for a param, raise its lower bound above 0",
)
DIVIDE_BY_CONSTANT_ZERO = _says(DIV_BY_ZERO, "{op} by the constant 0", "divide by a non-zero value")
# The divisor may be 0; the fix depends on what it is.
_MAY_DIVIDE_BY_ZERO = "the divisor {divisor} of {op} may be 0"
ZERO_DIVISOR_PARAM = _says(
    DIV_BY_ZERO,
    _MAY_DIVIDE_BY_ZERO,
    "make the range of `{param}` exclude 0 (its lower bound is {lo})",
    "or guard it: `if {param} != {zero} {{ ... }}`",
)
_FLOOR = "give it a floor: `max({bare}, {one})`"
ZERO_DIVISOR_LOCAL = _says(
    DIV_BY_ZERO,
    _MAY_DIVIDE_BY_ZERO,
    "guard it: `if {bare} != {zero} {{ ... }}`",
    _FLOOR,
)
ZERO_DIVISOR = _says(DIV_BY_ZERO, _MAY_DIVIDE_BY_ZERO, _FLOOR)
ZERO_DIVISOR_SHARED = _says(
    DIV_BY_ZERO,
    _MAY_DIVIDE_BY_ZERO,
    _FLOOR,
    "to guard it, copy it into a local first (others may change it): `let d = {bare}`, then "
    "`if d != {zero} {{ ... }}`",
)

UNORDERED_EFFECTS = _code(
    "unordered-effects",
    "a call changes state another part of the same expression uses",
    fix="compute the call into a local first (`let v = f()`), then use the local: the order "
    "is then the one written",
)
CALL_CHANGES_OPERAND = _says(
    UNORDERED_EFFECTS,
    "{call} changes {what}, which {other} in the same expression also uses; the kernel's C "
    "may evaluate the two in either order",
    "compute it on the line before: `let v = {bare}`, then use `v` here",
)

LOST_TASK = _code(
    "lost-task",
    "a path through `enqueue` that does not insert the task",
    fix="add an `else` branch that inserts `t`, or insert before an early `return`",
)
NEVER_INSERTS = _says(
    LOST_TASK,
    "`on {op}` never inserts `{task}`: the task is lost, and the kernel ejects the scheduler "
    "when its watchdog fires",
    "insert it into a queue: `insert {task} into global`",
)
# `where` names the branches taken (" on the path where ..."), `merged` says when the walk
# joined paths and the one named may be one no run takes.
PATH_LOSES_TASK = _says(
    LOST_TASK,
    "a path through `on {op}` ends here without inserting `{task}`{where}: the task would be "
    "lost{merged}",
    "insert `{task}` on this path too, e.g. `insert {task} into global`",
)
PATH_LOSES_TASK_NO_ELSE = _says(
    LOST_TASK,
    "a path through `on {op}` ends here without inserting `{task}`{where}: the task would be "
    "lost{merged}",
    "add an `else` branch to the `if` at line {line} that inserts `{task}`",
)

STARVING_QUEUE = _code(
    "starving-queue",
    "a queue that `dispatch` never moves from",
    fix="call `move_to_local(NAME)` in `on dispatch` on a path that runs (e.g. when the other "
    "queues are empty), or remove the queue",
)
_NEVER_MOVED = "queue `{queue}` is never moved from in `on dispatch`: its tasks would never run"
NEVER_MOVED = _says(
    STARVING_QUEUE,
    _NEVER_MOVED,
    "call `move_to_local({queue})` in `on dispatch` (e.g. when the other queues are empty)",
)
NEVER_MOVED_NO_DISPATCH = _says(
    STARVING_QUEUE,
    _NEVER_MOVED,
    "add `on dispatch(c) {{ move_to_local({queue}) }}`",
)
_NEVER_USED = "queue `{queue}` is never used: nothing inserts into it or moves from it"
NEVER_USED = _says(
    STARVING_QUEUE,
    _NEVER_USED,
    "remove `queue {queue}`, or insert into it and call `move_to_local({queue})` in "
    "`on dispatch` (e.g. when the other queues are empty)",
)
NEVER_USED_NO_DISPATCH = _says(
    STARVING_QUEUE,
    _NEVER_USED,
    "remove `queue {queue}`, or insert into it and add `on dispatch(c) {{ move_to_local({queue}) }}`",
)
# Dispatch names the queue, but no path the checker can vouch for reaches the move; the
# explanation (which condition or loop it could not decide) is built by the proof in
# passes/queues.py.
MOVE_NOT_PROVEN = _says(
    STARVING_QUEUE,
    "{explanation}",
    "call `move_to_local({queue})` on a path that always runs, e.g. "
    "`if not move_to_local(other) {{ move_to_local({queue}) }}`, and compare a local copy of "
    "a var or `queued(...)` with a constant where a guard is needed",
)

QUEUE_KIND = _code(
    "queue-kind",
    "vtime used with a FIFO or built-in queue, or a vtime queue filled FIFO",
    fix="give vtime queues a `vtime`, declare `queue NAME: vtime` for vtime ordering, keep `on "
    "CPU` for `local`, and move only from declared queues (`global` is drained by the kernel)",
)
ON_CPU_NOT_LOCAL = _says(
    QUEUE_KIND,
    "`on CPU` goes only with `local` (another CPU's local queue), not with `{queue}`",
    "write `insert {task} into local on ...`, or drop `on ...` to insert into `{queue}`",
)
VTIME_ON_FIFO = _says(
    QUEUE_KIND,
    "`vtime` orders only a vtime queue, and the fifo queue `{queue}` is not one (the kernel "
    "rejects it)",
    "declare it `queue {queue}: vtime` to order it by vtime, or drop `vtime ...`",
)
VTIME_ON_BUILTIN = _says(
    QUEUE_KIND,
    "`vtime` orders only a vtime queue, and the built-in `{queue}` is not one (the kernel "
    "rejects it)",
    "declare a queue (`queue shared: vtime`), insert there, and `move_to_local` it in dispatch",
)
VTIME_QUEUE_WITHOUT_VTIME = _says(
    QUEUE_KIND,
    "`{queue}` is a vtime queue, but this `insert` has no `vtime` (it would be filled FIFO, "
    "which the kernel rejects)",
    "give the order: `... vtime t.vtime`",
)
MOVE_FROM_GLOBAL = _says(
    QUEUE_KIND,
    "`move_to_local(global)` is not needed: the kernel runs tasks from `global` by itself",
    "drop this call, or declare a queue of your own and move from it",
)
MOVE_FROM_LOCAL = _says(
    QUEUE_KIND,
    "`move_to_local(local)` moves nothing: `local` is this CPU's own queue",
    "move from a declared queue: `move_to_local(NAME)`",
)

PARAM_RANGE = _code(
    "param-range",
    "a param whose range is empty, whose default is outside it, or a zero slice",
    fix="put the default inside the range, write the smaller bound first, give slices a floor "
    "(`t.slice = max(t.slice - used, 100us)`), or move a `t.slice` write before the insert",
)
EMPTY_PARAM_RANGE = _says(
    PARAM_RANGE,
    "param `{name}` has an empty range {lo}..{hi}: the lower bound is above the upper",
    "write the smaller bound first: `in {hi}..{lo}`",
)
DEFAULT_OUTSIDE_RANGE = _says(
    PARAM_RANGE,
    "the default {default} of param `{name}` is outside its range {lo}..{hi}",
    "pick a default between {lo} and {hi}, or widen the range",
)
# An `insert ... slice S` whose S is (or may be) 0, by what S is.
_ZERO_SLICE = "the slice {slice} {what}: the task would be preempted at once"
ZERO_SLICE_PARAM = _says(
    PARAM_RANGE,
    _ZERO_SLICE,
    "raise the lower bound of `{name}` above 0, e.g. `in {low}..{hi}`",
)
ZERO_SLICE_LOCAL = _says(
    PARAM_RANGE,
    _ZERO_SLICE,
    "guard it: `if {bare} > 0ns {{ insert ... }}`, or write `max({bare}, 100us)`",
)
ZERO_SLICE = _says(
    PARAM_RANGE,
    _ZERO_SLICE,
    "give it a floor: `slice max({bare}, 100us)`, or use a literal such as `5ms`",
)
# A `t.slice = ...` after the insert (or in a callback where it is what the task runs with).
_MAY_ZERO_SLICE = (
    "{write} {where} replaces the slice the task runs with, and may set it to 0: the task "
    "would be preempted at once"
)
_SET_SLICE_ELSEWHERE = (
    "or set it before the `insert` (which overrides it), or in `on tick`, where "
    "`t.slice = 0ns` is how a running task yields"
)
ZERO_SLICE_WRITE = _says(
    PARAM_RANGE,
    "{write} {where} replaces the slice the task runs with, and sets it to 0: the task would "
    "be preempted at once",
    "write a slice above 0, e.g. `t.slice = 100us`",
    _SET_SLICE_ELSEWHERE,
)
SLICE_WRITE_STEP = _says(
    PARAM_RANGE,
    _MAY_ZERO_SLICE,
    "give it a floor: `t.slice = max(t.slice {op} {bare}, 100us)`",
    _SET_SLICE_ELSEWHERE,
)
SLICE_WRITE = _says(
    PARAM_RANGE,
    _MAY_ZERO_SLICE,
    "give it a floor: `t.slice = max({bare}, 100us)`",
    _SET_SLICE_ELSEWHERE,
)
# `--param NAME=VALUE` at compile or load time.
PARAM_OVERRIDE_OUT_OF_RANGE = _says(
    PARAM_RANGE,
    "--param {name}={given}: outside the declared range {lo}..{hi}",
    "pick a value in {lo}..{hi}, or widen the range in the policy",
)

MISSING_RETURN = _code(
    "missing-return",
    "a path through `select_cpu` or an `fn` that returns no value",
    fix="end every path with `return VALUE`",
)
MAY_NOT_RETURN = _says(
    MISSING_RETURN,
    "{what} can reach its end without returning a {type}{where}{merged}",
    "end every path with `return ...`: add it after the last `if`, or to each branch",
)

DOUBLE_INSERT = _code(
    "double-insert",
    "a path that inserts the task more than once",
    fix="choose the queue first, then insert exactly once per path",
)
MAY_INSERT_TWICE = _says(
    DOUBLE_INSERT,
    "`{task}` may be inserted more than once: {why}",
    "insert the task exactly once per path: choose the queue first, then `insert` once",
)

BAD_SIZE = _code(
    "bad-size",
    "an array or map with no slots, or more slots than one object may have",
    fix="give it between 1 and 1048576 slots",
)
NO_SLOTS = _says(
    BAD_SIZE,
    "{kind} `{name}` has {what} {n}: it could hold nothing",
    "give it a {what} of at least 1",
)
TOO_MANY_SLOTS = _says(
    BAD_SIZE,
    "{kind} `{name}` has {what} {n}, above the limit of {limit}",
    "a policy needs far fewer slots; use a {what} up to {limit}",
)

CPU_RANGE = _code(
    "cpu-range",
    "a value stored as a `cpu` that is not proven below the CPU limit",
    fix="prove the value below the CPU limit (64 by default) as for an index (a signed value also "
    "above 0: `if n >= 0 and n < 64`, or `((n as u64) % 64) as cpu`), or take the CPU from "
    "the kernel",
)

INITIAL_CPU_OUT_OF_RANGE = _says(
    CPU_RANGE,
    "the initial value {value} of `{name}` is not a CPU below the CPU limit ({limit})",
    "start from CPU 0",
)
# The hints before the wording's own say how to bound this value (passes/show.range_fixes).
_CPU_BELOW_LIMIT = "; a `cpu` must name a CPU below the CPU limit ({limit})"
_CPU_FROM_KERNEL = (
    "or take the CPU from the kernel: `t.cpu`, `prev`, `default_cpu(...).cpu`, `for c in cpus`"
)
CPU_MAY_BE_NEGATIVE = _says(
    CPU_RANGE,
    "{value} is kept as a `cpu` here, but it may be negative" + _CPU_BELOW_LIMIT,
    _CPU_FROM_KERNEL,
)
CPU_MAY_BE_LARGE = _says(
    CPU_RANGE,
    "{value} is kept as a `cpu` here, but it can be as large as {largest}" + _CPU_BELOW_LIMIT,
    _CPU_FROM_KERNEL,
)
CPU_UNBOUNDED = _says(
    CPU_RANGE,
    "{value} is kept as a `cpu` here, but nothing here bounds it" + _CPU_BELOW_LIMIT,
    _CPU_FROM_KERNEL,
)

SUMMARY: dict[str, str] = {name: code.summary for name, code in CODES.items()}
