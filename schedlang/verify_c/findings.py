"""What the C gate reports: the table of its codes, and `finding()`, which makes the diagnostic.

Why a table: every code has one title and one how-to-fix wording, documented with a wrong
and a right example in docs/verify-c.md; rules pass only the specifics (names, lines).
`error` findings are known-bad code; `warning` findings say the gate could NOT analyse
something ("not analysed: ..."). Both block: the gate only passes what it could check.
A finding is the same `Diagnostic` the DSL checker reports, rendered by the same code.
"""

from __future__ import annotations

from schedlang.codes import Code
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


def finding(code: str, file: str, line: int, col: int, detail: str, hint: str = "") -> Diagnostic:
    """A diagnostic whose message is the code's title plus `detail`, hint from the table.
    `line`/`col` are 1-based positions in the original file (a header's, for a header)."""
    info = CODES[code]
    message = f"{info.summary}: {detail}" if detail else info.summary
    line, col = max(line, 1), max(col, 1)
    span = Span(line, col, line, col + 1)
    return Diagnostic(code, info.severity, file, span, message, (hint or info.fix,))
