"""How schedlang names, types and literals are spelled in the generated C.

One place decides the C spelling of every DSL type and name, so the statement lowering, the
declarations and the manifest cannot disagree (e.g. about whether a `cpu` is signed).
"""

from __future__ import annotations

from schedlang.callbacks import CALLBACKS
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

# How policy names become C names. A policy may choose any identifier, and C has one
# namespace for variables, functions and macros, so every name a policy chooses goes through
# ident() and every name the generated C makes up is of one of three kinds that ident()
# never produces:
#
# * a name of the C language, of the template's own file scope or one of its macros (WORDS);
# * a name in a namespace of the kernel, libbpf or schedlang itself (RESERVED_PREFIXES:
#   `sl_` helpers and locals, `scx_`/`bpf_` kfuncs and helpers, `SCX_`/`BPF_`/`PF_`
#   constants, `DSQ_` queue ids, `__` compiler names);
# * a policy name, a double underscore and a word (derived()): `hist__at()` for
#   `array hist`, `double__fn` for `fn double`, `fair__enqueue` for `on enqueue` in
#   `scheduler fair`.
#
# A policy name that is one of the first two kinds or contains `__` gets the mark `__u`;
# every other name stays as written (a name without `__` cannot be the third kind), so the C
# reads with the policy's names. Proof sketch in tests/backends/test_cnames.py.
WORDS = frozenset(
    """auto break case char const continue default do double else enum extern float for goto
    if inline int long register restrict return short signed sizeof static struct switch
    typedef union unsigned void volatile while bool true false NULL u8 u32 s32 u64 s64
    params stats vars ctx main SEC task_ctx task_ctxs task_ctx_scratch MAX_CPUS
    WAKEUP_HIST_BUCKETS _license enq_flags typeof""".split()
)
RESERVED_PREFIXES = ("sl_", "SL_", "scx_", "SCX_", "bpf_", "BPF_", "PF_", "DSQ_")
MARK = "__u"
# The words derived() appends: accessors of arrays and maps, fns, the queue-slot macro, the
# ops table and one function per callback (the kernel's ops, `exit` included).
DERIVED_WORDS = frozenset({"at", "scratch", "get", "set", "fn", "IDX", "ops", "exit", *CALLBACKS})


def _reserved(name: str) -> bool:
    return name in WORDS or name.startswith(RESERVED_PREFIXES) or "__" in name


def ident(name: str) -> str:
    """A policy's name as the C identifier that nothing the generated C declares can be."""
    return name + MARK if _reserved(name) else name


def derived(name: str, word: str) -> str:
    """The C name of something the generated C makes for the policy's `name` (accessor,
    fn, callback): distinct from every ident() and from every other derived()."""
    if word not in DERIVED_WORDS:
        raise ValueError(f"{word!r} is not a derived word (cnames.DERIVED_WORDS)")
    return f"{ident(name)}__{word}"


def queue_const(name: str) -> str:
    """The macro of a queue's DSQ id: the name keeps its case, so `fast` and `FAST` stay two
    queues (finding 16 of docs/adversarial-findings.md: upper-casing merged them)."""
    return "DSQ_" + ident(name)


def queue_slot(name: str) -> str:
    """The macro of a queue's slot in stats.queue_inserts."""
    return "DSQ_" + derived(name, "IDX")


def c_type(t: Type) -> str:
    try:
        return C_TYPE[t]
    except KeyError:
        raise ValueError(f"type {t} has no C representation") from None


def is_signed(t: Type) -> bool:
    return C_TYPE.get(t) in SIGNED_C


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
