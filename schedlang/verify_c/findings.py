"""What the C gate reports: the table of its codes, the wording of what each rule found, and
`found()` / `finding()`, which make the diagnostic.

Why a table: every code has one title and one how-to-fix wording, documented with a wrong
and a right example in docs/verify-c.md; the details below say what was found, and rules
pass only the specifics (names, lines). A message reads "TITLE: DETAIL".
`error` findings are known-bad code; `warning` findings say the gate could NOT analyse
something ("not analysed: ..."). Both block: the gate only passes what it could check.
A finding is the same `Diagnostic` the DSL checker reports, rendered by the same code.
"""

from __future__ import annotations

from collections.abc import Sequence

from schedlang.codes import Code, Phrase, phrase
from schedlang.diagnostics import Diagnostic
from schedlang.source import Span

CODES: dict[str, Code] = {
    c.name: c
    for c in (
        Code(
            "C001",
            "loop without a constant bound",
            "bound every loop by a compile-time constant: `for (i = 0; i < MAX_N; i++)` "
            "(add `&& i < MAX_N` to a runtime condition), step the induction variable once "
            "per iteration and never assign it in the body",
            "error",
        ),
        Code(
            "C002",
            "recursion",
            "BPF has no recursion: rewrite the cycle as a loop with a constant bound",
            "error",
        ),
        Code(
            "C003",
            "call to an unknown function",
            "call only functions defined in this file, sched_ext kfuncs, or the allowed BPF "
            "helpers (see docs/verify-c.md); check the spelling and the kernel name",
            "error",
        ),
        Code(
            "C004",
            "no `struct sched_ext_ops` definition",
            'define the ops table: `SEC(".struct_ops.link") struct sched_ext_ops NAME_ops = '
            '{ .enqueue = (void *)NAME_enqueue, ..., .name = "NAME" };`',
            "error",
        ),
        Code(
            "C005",
            "`struct sched_ext_ops` without a usable `.name`",
            'give the ops table a `.name = "NAME"` (a string literal, at most 127 characters: '
            "letters, digits, `_` and `.`)",
            "error",
        ),
        Code(
            "C006",
            "no GPL-compatible license",
            'add `char _license[] SEC("license") = "GPL";` (sched_ext kfuncs are GPL-only)',
            "error",
        ),
        Code(
            "C007",
            "write to a task_struct field the kernel does not allow",
            "a sched_ext program may write only p->scx.slice, p->scx.dsq_vtime and "
            "p->scx.disallow; keep other per-task state in a task-storage map",
            "error",
        ),
        Code(
            "C008",
            "ops callback is not a function defined in this file",
            "point each ops member at a function defined in this file with "
            'SEC("struct_ops/NAME") (or "struct_ops.s/NAME" for a sleepable init)',
            "error",
        ),
        Code(
            "C009",
            "sleepable-only kfunc called from a non-sleepable program",
            'put the callback that calls it in SEC("struct_ops.s/NAME") (e.g. ops.init), or '
            "move the call there",
            "error",
        ),
        # Not the gate's own rules: what `schedlang compile/run FILE.bpf.c` reports after the
        # gate passed (backends/bpf/cpolicy.py).
        Code(
            "C010",
            "clang rejected the file",
            "fix the error clang reports; the file must compile on its own with "
            "`clang -target bpf -O2 -g -c` (declare kernel types locally, or pass -I DIR)",
            "error",
        ),
        Code(
            "C011",
            "the compiled object cannot be loaded as a policy",
            'see docs/verify-c.md, "Running hand-written C", for what the loader reads '
            "from the object",
            "error",
        ),
        Code(
            "C012",
            "bad --param override",
            "name a `const volatile` global of the file (or a member of a `const volatile` "
            "struct) and give an integer its C type can hold (true/false for a bool)",
            "error",
        ),
        Code(
            "C100",
            "not analysed: input is not C text",
            "pass a UTF-8 C source file (`NAME.bpf.c`)",
            "warning",
        ),
        Code(
            "C101",
            "not analysed: preprocessing failed",
            "fix the preprocessor error at this line; for a header that is not found, make the "
            "file self-contained (declare the kernel types you use with "
            "`__attribute__((preserve_access_index))` and kfuncs as `__ksym __weak` externs) "
            "or pass include directories with -I",
            "warning",
        ),
        Code(
            "C102",
            "not analysed: parse error",
            "write plain C (GNU C statement expressions are fine); the gate cannot parse "
            "`a ?: b`, `typeof(expression)`, `__int128`, or calls of macros it cannot see: "
            "define such macros in the file",
            "warning",
        ),
        Code(
            "C103",
            "not analysed: inline assembly",
            "replace the asm with C; the gate cannot see what inline assembly does",
            "warning",
        ),
        Code(
            "C104",
            "not analysed: indirect call through a function pointer",
            "call functions by name; BPF helpers are recognised by their names",
            "warning",
        ),
        Code(
            "C105",
            "not analysed: backward goto (a loop the gate cannot bound)",
            "write the loop as a `for` loop with a constant bound instead of a backward goto",
            "warning",
        ),
        Code(
            "C106",
            "not analysed: the gate failed on this file",
            "this is a bug in the gate; rewrite the construct named in the message more plainly "
            "and report the file to the schedlang maintainers",
            "warning",
        ),
    )
}


# What a rule found, after its code's title. (Text from cpp, clang or an exception is passed
# through as it is: `finding(code, ..., detail)`.)
NO_CONDITION = phrase("C001", "the loop has no condition")
CONSTANT_CONDITION = phrase(
    "C001", "the condition is the constant {value}: the loop only ends through break/return"
)
NO_BOUNDING_COMPARISON = phrase(
    "C001", "the condition compares no loop variable against a constant"
)
STEP_NOT_CONSTANT = phrase("C001", "the loop step does not {direction} `{var}` by a constant")
BOUND_CHANGED_IN_BODY = phrase("C001", "`{var}` bounds the loop but is also changed in the body")
BODY_STEP_NOT_ONCE = phrase(
    "C001", "the body must {direction} `{var}` by a constant exactly once, unconditionally"
)
BOUND_CHANGED_OUTSIDE_STEP = phrase(
    "C001", "`{var}` bounds the loop but is changed outside its one step"
)
CONTINUE_SKIPS_STEP = phrase("C001", "`continue` can skip the step of `{var}`")
ITERATOR_BOUNDS = phrase("C001", "the bounds of this bpf_for/bpf_repeat are not constants")
CALLS_ITSELF = phrase("C002", "`{name}` calls itself")
CALL_CYCLE = phrase("C002", "call cycle {path}")
UNKNOWN_FUNCTION = phrase(
    "C003",
    "`{name}` is not defined in this file, not a known kfunc and not an allowed BPF helper",
)
UNKNOWN_FUNCTION_POINTER = phrase(
    "C003", "`{name}` is a function pointer that is not an allowed BPF helper"
)
LOOKS_LIKE_A_MACRO = phrase(
    "C003", "`{name}` looks like a macro the gate could not see: define it in the file"
)
OPS_WITHOUT_INITIALIZER = phrase("C004", "`{name}` is declared but has no initializer")
NO_OPS_TABLE = phrase("C004", "the file defines no ops table")
OPS_NOT_IN_SECTION = phrase(
    "C004",
    '`{name}` is not in SEC(".struct_ops.link") (or ".struct_ops"), so libbpf will not register it',
)
OPS_WITHOUT_NAME = phrase("C005", "`{name}` has no `.name`")
NAME_NOT_A_STRING = phrase("C005", "`.name` is not a string literal")
BAD_OPS_NAME = phrase(
    "C005",
    '`.name = "{value}"` is empty, too long or has characters other than letters, digits, '
    "`_` and `.`",
)
NO_LICENSE = phrase("C006", 'no variable in SEC("license")')
LICENSE_NOT_A_STRING = phrase("C006", "`{name}` is not initialised with a string literal")
LICENSE_NOT_GPL = phrase("C006", '"{value}" is not GPL-compatible for the kernel')
TASK_FIELD_WRITE = phrase("C007", "writes `{field}` of a task_struct")
CALLBACK_WITHOUT_BODY = phrase("C008", "`.{member} = {name}`: `{name}` has no body in this file")
CALLBACK_NOT_IN_SECTION = phrase(
    "C008", '`.{member} = {name}`: `{name}` is not in a SEC("struct_ops/...") section'
)
SLEEPABLE_FROM_NON_SLEEPABLE = phrase(
    "C009", "`{callee}` is reached from the non-sleepable program `{program}`{path}"
)
CANNOT_READ = phrase("C100", "cannot read {path}: {reason}")
NO_SUCH_FILE = phrase("C100", "no such file: {path}")
EMPTY_INPUT = phrase("C100", "the input is empty")
NUL_BYTES = phrase("C100", "the input contains NUL bytes (a binary file?)")
NOT_UTF8 = phrase("C100", "byte {offset} is not valid UTF-8")
NO_PREPROCESSOR = phrase("C101", "no C preprocessor found (apt-get install clang-19)")
PREPROCESSOR_DID_NOT_RUN = phrase("C101", "{command} failed to run: {error}")
ASM_STATEMENT = phrase("C103", "an `asm` statement")
CALLEE_IS_AN_EXPRESSION = phrase("C104", "the callee is an expression, not a function name")
CALLEE_IS_A_VARIABLE = phrase("C104", "`{name}` is a local variable or parameter")
BACKWARD_GOTO = phrase("C105", "`goto {label}` jumps back to an earlier label")
GATE_FAILED = phrase("C106", "{exception}: {error}")
RULE_FAILED = phrase("C106", "rule `{rule}` stopped with {exception}: {error}")


def found(
    detail: Phrase,
    file: str,
    line: int,
    col: int,
    *,
    suggest: Sequence[str] = (),
    **fields: object,
) -> Diagnostic:
    """The diagnostic for one of the details above, filled in with `fields`."""
    return finding(detail.code, file, line, col, detail.format(**fields), suggest)


def finding(
    code: str, file: str, line: int, col: int, detail: str, suggest: Sequence[str] = ()
) -> Diagnostic:
    """A diagnostic whose message is the code's title plus `detail`; its hints are `suggest`
    (what fits this case, e.g. "did you mean"), then the code's fix from the table.
    `line`/`col` are 1-based positions in the original file (a header's, for a header)."""
    info = CODES[code]
    message = f"{info.summary}: {detail}" if detail else info.summary
    line, col = max(line, 1), max(col, 1)
    span = Span(line, col, line, col + 1)
    return Diagnostic(code, info.severity, file, span, message, (*suggest, info.fix))
