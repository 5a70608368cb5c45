"""How schedlang names, types and literals are spelled in the generated C.

One place decides the C spelling of every DSL type and name, so the statement lowering, the
declarations and the manifest cannot disagree (e.g. about whether a `cpu` is signed).
"""

from __future__ import annotations

from schedlang.types import Type
from schedlang.units import format_duration as format_duration  # comments use policy units

# C type of each storable/declarable DSL type. `cpu` is s32 because the kernel's CPU ids are
# (select_cpu returns s32, scx_bpf_task_cpu returns s32); durations and times are u64 ns.
C_TYPE: dict[Type, str] = {
    Type.BOOL: "bool",
    Type.U32: "u32",
    Type.U64: "u64",
    Type.I32: "s32",
    Type.I64: "s64",
    Type.DURATION: "u64",
    Type.TIME: "u64",
    Type.CPU: "s32",
    Type.TASK: "struct task_struct *",
    Type.INT: "s64",
    Type.PICK: "struct sl_pick",
}

SIGNED_C = frozenset({"s32", "s64"})

# Names the generated C uses for itself; a DSL name equal to one of these (or to a C keyword)
# gets a trailing underscore so the program still means what it says.
C_KEYWORDS = frozenset(
    """auto break case char const continue default do double else enum extern float for goto
    if inline int long register restrict return short signed sizeof static struct switch
    typedef union unsigned void volatile while bool true false NULL u8 u32 s32 u64 s64
    params stats vars ctx main SEC task_ctx task_ctxs task_ctx_scratch record_wakeup MAX_CPUS
    WAKEUP_HIST_BUCKETS _license enq_flags""".split()
)


def c_type(t: Type) -> str:
    try:
        return C_TYPE[t]
    except KeyError:
        raise ValueError(f"type {t} has no C representation") from None


def is_signed(t: Type) -> bool:
    return C_TYPE.get(t) in SIGNED_C


def ident(name: str) -> str:
    """A DSL identifier as a C identifier that clashes with nothing the C itself declares."""
    if name in C_KEYWORDS or name.startswith(("sl_", "SL_", "__")) or name.startswith("scx_"):
        return name + "_"
    return name


def comment(text: object) -> str:
    """Any text (the description, a path, a name) as it may stand inside a C block comment.

    The description and the source path are the user's; pasted as they are, a `*/` in them
    ends the comment and what follows is compiled (finding 2 of docs/adversarial-findings.md
    injected a global that way), and a newline could start a preprocessor line. So control
    characters become visible escapes and every `*/` (and `/*`, which clang warns about) is
    split; nothing else changes."""
    shown = "".join(ch if ch == "\t" or " " <= ch != "\x7f" else repr(ch)[1:-1] for ch in str(text))
    return shown.replace("*/", "* /").replace("/*", "/ *")


def int_lit(value: int, t: Type) -> str:
    """An integer literal with the suffix that keeps its width and signedness in C."""
    if t is Type.BOOL:
        return "true" if value else "false"
    if t in (Type.I32, Type.U32, Type.CPU):
        # 32 bits stay 32 bits: a u64 suffix would widen `x + 3000000000` past u32's wrap
        if value == -(2**31):
            return "(-2147483647 - 1)"
        return f"{value}U" if value >= 2**31 else str(value)
    if is_signed(t) or t is Type.INT:
        if value == -(2**63):
            return "(-9223372036854775807LL - 1)"
        return f"{value}LL" if abs(value) >= 2**31 else str(value)
    if value >= 2**31:
        return f"{value}ULL"
    return str(value)


def char_lit(ch: str) -> str:
    """One byte of a string literal as a C character constant."""
    if ch == "'" or ch == "\\":
        return "'\\" + ch + "'"
    if ch == "\0":
        return "'\\0'"
    if " " <= ch <= "~":
        return f"'{ch}'"
    return f"'\\x{ord(ch) & 0xFF:02x}'"
