"""How policy text reaches the generated C: comments that the user's text cannot end, and
names that the user's choice cannot make collide (schedlang/backends/bpf/cnames.py)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

import schedlang
from schedlang.backends.bpf import build, cnames
from schedlang.source import SourceFile


def _c(tmp_path: Path, text: str, path: str = "policy.sched") -> str:
    art = schedlang.compile(SourceFile(path, text), outdir=tmp_path, emit="c")
    assert art.c_path is not None
    return art.c_path.read_text()


def _comments_closed_where_opened(c: str) -> None:
    """Outside comments there is no stray text: every `/*` is closed by the next `*/`."""
    for body in re.findall(r"/\*(.*?)\*/", c, flags=re.S):
        assert "/*" not in body, body
    assert "*/" not in re.sub(r"/\*.*?\*/", "", c, flags=re.S)


def test_comment_text_splits_comment_ends_and_shows_control_characters() -> None:
    assert cnames.comment("fast */ slow") == "fast * / slow"
    assert cnames.comment("**/") == "** /"
    assert cnames.comment("/*/") == "/ * /"
    assert cnames.comment("a\n#define X 1\rb\x7f") == "a\\n#define X 1\\rb\\x7f"
    assert cnames.comment("tabs\tand é stay") == "tabs\tand é stay"
    assert cnames.comment(42) == "42"


def test_a_description_and_a_path_stay_inside_their_comments(tmp_path: Path) -> None:
    text = (
        'scheduler d "x */ int leaked = 1; /* y\\n#define SCX_DSQ_GLOBAL 0" {\n'
        "    on enqueue(t, f) { insert t into global slice 5ms }\n"
        "}\n"
    )
    c = _c(tmp_path, text, path="dir*/odd */name.sched")
    assert c.splitlines()[0] == ("/* d: x * / int leaked = 1; / * y\\n#define SCX_DSQ_GLOBAL 0")
    assert "from dir* /odd * /name.sched;" in c
    assert "/* dir* /odd * /name.sched:2 */" not in c  # statement marks name the file only
    _comments_closed_where_opened(c)
    assert not re.search(r"^#define SCX_DSQ_GLOBAL 0$", c, re.M)


def test_inserts_pass_the_kernels_flags_whatever_the_parameter_is_called(
    tmp_path: Path,
) -> None:
    """Finding 1: the flags reach every insert by the generated C's own name, which a policy
    name cannot take (a parameter called `enq_flags` is marked, not merged with it)."""
    text = (
        'scheduler ef "flags by any name" {\n'
        "    var g: u64 = 0\n"
        "    on enqueue(t, enq_flags) {\n"
        "        g = enq_flags\n"
        "        insert t into global slice 5ms\n"
        "    }\n"
        "}\n"
    )
    c = _c(tmp_path, text)
    body = c[c.index("void BPF_STRUCT_OPS(ef__enqueue,") :]
    body = body[: body.index("\n}\n")]
    assert "(ef__enqueue, struct task_struct *t, u64 enq_flags)" in body
    assert "\tu64 enq_flags__u = enq_flags;" in body
    assert "vars.g = enq_flags__u;" in body
    assert re.findall(r"sl_insert\(t, [^;]*, (\w+)\);", body) == ["enq_flags"]


# Names a policy may choose that look like what the generated C names itself.
TRICKY = sorted(
    {
        *cnames.WORDS,
        *(p + "x" for p in cnames.RESERVED_PREFIXES),
        *("x_" + w for w in cnames.DERIVED_WORDS),
        *("x__" + w for w in cnames.DERIVED_WORDS),
        *cnames.DERIVED_WORDS,
        "x",
        "x_",
        "x__",
        "x__u",
        "x__u__fn",
        "__attribute_",
        "__attribute",
        "_x",
        "index",
        "ret",
        "sl_err",
        "FAST",
        "fast",
    }
)


def test_ident_is_injective_and_never_a_generated_name() -> None:
    """The argument of cnames, checked on names chosen to break it: ident() is injective; its
    results are never a WORDS name, never in a reserved namespace unless marked, never a
    derived() name; derived() is injective; queue ids differ with the names."""
    idents = {cnames.ident(n): n for n in TRICKY}
    assert len(idents) == len(TRICKY)
    derived = {
        cnames.derived(n, w): (n, w) for n, w in itertools.product(TRICKY, cnames.DERIVED_WORDS)
    }
    assert len(derived) == len(TRICKY) * len(cnames.DERIVED_WORDS)
    for c in idents:
        assert c not in cnames.WORDS and c != "__attribute__", c
        assert c.endswith(cnames.MARK) or not c.startswith(cnames.RESERVED_PREFIXES), c
        assert c not in derived, (c, idents[c], derived.get(c))
    assert {cnames.queue_const(n) for n in TRICKY} | {cnames.queue_slot(n) for n in TRICKY} == {
        *(cnames.queue_const(n) for n in TRICKY),
        *(cnames.queue_slot(n) for n in TRICKY),
    }
    assert len({cnames.queue_const(n) for n in TRICKY}) == len(TRICKY)
    assert not {cnames.queue_const(n) for n in TRICKY} & {cnames.queue_slot(n) for n in TRICKY}
    assert not {cnames.queue_const(n) for n in TRICKY} & set(idents)
    # Ordinary names stay the policy's own.
    for name in ("flags", "hist_at", "loaded_at", "best_running", "fast", "FAST", "index"):
        assert cnames.ident(name) == name


def test_no_kernel_name_looks_like_a_marked_or_derived_name() -> None:
    """The kfuncs and helpers the C may declare are in reserved namespaces; none ends like a
    marked policy name or a derived one (which is what keeps those two kinds apart)."""
    from schedlang import kernel_api

    names = {k.name for k in kernel_api.KFUNCS} | {h.name for h in kernel_api.HELPERS}
    for name in names:
        assert cnames.ident(name) != name, name  # reserved: a policy name is marked
        assert not name.endswith(cnames.MARK), name
        assert not any(name.endswith("__" + w) for w in cnames.DERIVED_WORDS), name


NAMES_EVERYWHERE = """\
scheduler a "policy names that the generated C also uses, all at once" {
    queue fast: fifo
    queue FAST: fifo
    queue fast__IDX: fifo
    var a__ops: u64 = 0
    array printf: [u64; 4]
    array index: [u64; 4]
    array at: [u64; 4]
    map memcpy: u32 -> u64 = 0 capacity 4
    fn t(x: u64) -> u64 { return x + 1 }
    fn a__enqueue(x: u64) -> u64 { return x }
    on enqueue(t, enq_flags) {
        let sl_err: u64 = t(enq_flags)
        let printf__at: u64 = a__enqueue(1)
        let PF_KTHREAD: u64 = 2
        printf[1] = sl_err + printf__at + PF_KTHREAD
        index[2] = memcpy[3] + at[0]
        if t.weight > 200 {
            insert t into fast slice 5ms
        } else if t.weight > 100 {
            insert t into FAST slice 5ms
        } else {
            insert t into fast__IDX slice 5ms
        }
    }
    on dispatch(c) {
        if not move_to_local(fast) {
            if not move_to_local(FAST) {
                move_to_local(fast__IDX)
            }
        }
    }
    on init() {
        let ret: u64 = 7
        a__ops = ret
    }
}
"""


@pytest.mark.clang
def test_names_the_generated_c_uses_compile_as_the_policys_own(
    tmp_path: Path, clang: build.Clang
) -> None:
    art = schedlang.compile(SourceFile("a.sched", NAMES_EVERYWHERE), outdir=tmp_path)
    assert art.object_path.exists()
    c = art.c_path.read_text() if art.c_path else ""
    # Each queue its own id, created once; names stay the policy's, recognisably.
    assert re.findall(r"scx_bpf_create_dsq\((\w+), -1\)", c) == [
        "DSQ_fast",
        "DSQ_FAST",
        "DSQ_fast__IDX__u",
    ]
    assert "static __always_inline u64 t__fn(u64 x)" in c
    assert "\tsl_err__u = t__fn(enq_flags__u);" in c and "\tu64 sl_err__u;" in c
    assert "\tprintf__at__u = a__enqueue__u__fn(1);" in c
    assert "*index__at(2) = memcpy__get(3) + *at__at(0);" in c
    assert art.manifest["ops_map"] == "a__ops" and "struct sched_ext_ops a__ops = {" in c
    assert "vars.a__ops__u = ret;" in c
