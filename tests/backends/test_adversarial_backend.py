"""Regression tests for the adversarial findings that reach the C backend (docs/adversarial-findings.md 1-3).

Each program here passes `schedlang check`; the backend must then either turn it into C that
clang compiles and that keeps what the checker proved, or the checker must reject it. Tests
for bugs not fixed yet are `xfail(strict=True)`: they flip to a failure the day the bug is
fixed, so whoever fixes it removes the mark.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from schedlang.backends.bpf import build
from schedlang.cli import main

FINDINGS = "docs/adversarial-findings.md"


def _compile(tmp_path: Path, text: str, name: str = "policy.sched") -> tuple[int, Path]:
    src = tmp_path / name
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_text(text)
    out = tmp_path / "out"
    out.mkdir()
    return main(["compile", str(src), "-o", str(out)]), out


def _rejected_by_check(text: str) -> bool:
    from schedlang import check

    return any(d.severity == "error" for d in check(text))


FLAGS_INNER = """\
scheduler fshadow "a let in an inner block shadows the enqueue flags" {
    on enqueue(t, flags) {
        if t.pid != 0 {
            let flags: u64 = 0x0200_0000_0000_0000
            insert t into global slice 5ms
        } else {
            insert t into global slice 5ms
        }
    }
}
"""

FLAGS_TOP = """\
scheduler fshadow "a let at the top of the body shadows the enqueue flags" {
    on enqueue(t, flags) {
        let flags: u64 = 1
        insert t into global slice 5ms
    }
}
"""


@pytest.mark.clang
def test_a_shadowing_let_never_reaches_the_kernels_enq_flags(
    tmp_path: Path, clang: build.Clang
) -> None:
    """The kernel ejected this policy: `invalid enq_flags 0x200000000000000`. Whatever name
    the generated C gives the kernel's flags, every insert must pass exactly that value."""
    if _rejected_by_check(FLAGS_INNER):
        return
    rc, out = _compile(tmp_path, FLAGS_INNER)
    assert rc == 0
    c = (out / "fshadow.bpf.c").read_text()
    body = c[c.index("void fshadow_enqueue(") :]
    body = body[: body.index("\n}\n")]
    kernel_flags = re.search(r"u64 (\w+) = ctx\[1\];", body)
    assert kernel_flags, body
    name = kernel_flags.group(1)
    inserts = re.findall(r"sl_insert\(t, [^;]*, (\w+)\);", body)
    assert inserts and all(arg == name for arg in inserts), body
    assert len(re.findall(rf"\b{name}\s*=", body)) == 1, f"`{name}` is redeclared:\n{body}"


@pytest.mark.clang
def test_a_let_named_like_a_callback_parameter_compiles_or_is_rejected(
    tmp_path: Path, clang: build.Clang
) -> None:
    if _rejected_by_check(FLAGS_TOP):
        return
    rc, _ = _compile(tmp_path, FLAGS_TOP)
    assert rc == 0


@pytest.mark.clang
@pytest.mark.parametrize(
    "description",
    ["fast */ slow", "*/ int injected_by_description = 42; /*", "a */\\n#error injected\\n/* b"],
)
def test_the_description_cannot_leave_its_c_comment(
    tmp_path: Path, clang: build.Clang, description: str
) -> None:
    text = f'scheduler d "{description}" {{\n    on enqueue(t, f) {{ insert t into global slice 5ms }}\n}}\n'
    rc, out = _compile(tmp_path, text)
    assert rc == 0
    assert b"injected_by_description" not in (out / "d.bpf.o").read_bytes()


@pytest.mark.clang
def test_a_source_path_with_a_comment_end_compiles(tmp_path: Path, clang: build.Clang) -> None:
    text = 'scheduler p "path" {\n    on enqueue(t, f) { insert t into global slice 5ms }\n}\n'
    rc, _ = _compile(tmp_path, text, name="evil*/p.sched")
    assert rc == 0


# Names a policy may choose that collided with names of the generated C (docs/adversarial-findings.md #3).
COLLIDING = {
    "array_at": "array at: [u64; 4]\n on running(t) { at[1] = 1 }",
    "array_index": "array index: [u64; 4]\n on running(t) { index[1] = 1 }",
    "array_i": "array i: [u64; 4]\n on running(t) { i[1] = 1 }",
    "map_index": "map index: u32 -> u64 = 0 capacity 4\n on running(t) { index[1] = 1 }",
    "map_helper": "map bpf_map_lookup_elem: u32 -> u64 = 0 capacity 4\n"
    " on running(t) { bpf_map_lookup_elem[1] = 1 }",
    "fn_t": "var g: u64 = 0\n fn t(a: u64) -> u64 { return a }\n on running(t) { g = t(1) }",
    "let_macro": "var g: u64 = 0\n on running(t) { let SCX_DSQ_GLOBAL = 1\n g = SCX_DSQ_GLOBAL }",
    "param_macro": "var g: u64 = 0\n on stopping(PF_KTHREAD, runnable) { g = PF_KTHREAD.pid as u64 }",
    "fn_like_callback": "var g: u64 = 0\n fn coll_running(a: u64) -> u64 { return a }\n"
    " on running(t) { g = coll_running(1) }",
    "array_like_ops": "array coll_ops: [u64; 4]\n on running(t) { coll_ops[1] = 1 }",
    "array_like_queue_id": "queue q: fifo\n array DSQ_Q: [u64; 4]\n"
    " on enqueue(t, f) { insert t into q slice 5ms }\n on dispatch(c) { move_to_local(q) }\n"
    " on running(t) { DSQ_Q[1] = 1 }",
    "let_like_fn": "var g: u64 = 0\n fn double(x: u64) -> u64 { return x * 2 }\n"
    " on running(t) { let double = 3\n g = double(double) }",
    "let_like_accessor": "array hist: [u64; 4]\n on running(t) { let hist_at: u64 = 3\n hist[1] = hist_at }",
    "init_ret": "queue q: fifo\n var g: u64 = 0\n"
    " on enqueue(t, f) { insert t into q slice 5ms }\n on dispatch(c) { move_to_local(q) }\n"
    " on init() { let ret: u64 = 7\n g = ret }",
}


@pytest.mark.clang
@pytest.mark.parametrize("decls", COLLIDING.values(), ids=COLLIDING.keys())
def test_policy_names_never_collide_with_generated_c(
    tmp_path: Path, clang: build.Clang, decls: str
) -> None:
    text = 'scheduler coll "a name the generated C also uses" {\n ' + decls + "\n}\n"
    assert not _rejected_by_check(text), "the probe itself must pass check"
    rc, _ = _compile(tmp_path, text)
    assert rc == 0


FAKE_CLANG = """#!/bin/sh
case "$*" in
  *--version*) echo "clang version 19.1.7"; exit 0 ;;
esac
echo "policy.bpf.c:1:1: error: generated C this clang does not accept" >&2
exit 1
"""


def test_generated_c_that_clang_rejects_is_an_internal_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/cli.md: exit 2 means "change the command line or the machine", exit 3 "a bug in
    schedlang". A rejection of the generated C is the latter (its own message says so)."""
    fake = tmp_path / "clang"
    fake.write_text(FAKE_CLANG)
    fake.chmod(0o755)
    monkeypatch.setenv(build.CLANG_ENV, str(fake))
    build.find_clang.cache_clear()
    try:
        rc, _ = _compile(
            tmp_path, 'scheduler ok "x" {\n on enqueue(t, f) { insert t into global }\n}\n'
        )
    finally:
        build.find_clang.cache_clear()
    assert rc == 3
    err = capsys.readouterr().err
    assert "internal error while compiling" in err and "GeneratedCRejected" in err, err


QUEUES_BY_CASE = """\
scheduler qc "two queues that differ only in case" {
    queue fast: fifo
    queue FAST: fifo
    on enqueue(t, flags) {
        if t.weight > 100 {
            insert t into fast slice 5ms
        } else {
            insert t into FAST slice 5ms
        }
    }
    on dispatch(c) {
        if not move_to_local(fast) {
            move_to_local(FAST)
        }
    }
}
"""


@pytest.mark.clang
def test_queues_whose_names_differ_in_case_are_distinct_queues(
    tmp_path: Path, clang: build.Clang
) -> None:
    if _rejected_by_check(QUEUES_BY_CASE):
        return
    rc, out = _compile(tmp_path, QUEUES_BY_CASE)
    assert rc == 0
    c = (out / "qc.bpf.c").read_text()
    created = re.findall(r"scx_bpf_create_dsq\((\w+),", c)
    assert len(created) == 2 and len(set(created)) == 2, created
    macros = re.findall(r"#define (DSQ_\w+) ", c)
    assert len(macros) == len(set(macros)), macros
