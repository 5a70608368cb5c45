"""Long `else if` chains are flat to a reader, so the parser does not count a link as a
level of nesting; every pass, `fmt` and the C backend walk a chain's links in a loop. Real
nesting (blocks inside blocks) still counts and still ends in `too-deep`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schedlang import ast
from schedlang.backends.bpf import build, objfile
from schedlang.checker import check_source
from schedlang.cli import main
from schedlang.diagnostics import Diagnostics
from schedlang.fmt import Comments, format_program
from schedlang.source import SourceFile
from schedlang.syntax import parse_source


def _chain(links: int, work: bool = True) -> str:
    """A policy whose enqueue is one `if` with `links - 1` `else if` links and an `else`.
    With `work` each link binds a local, updates a global, divides and indexes, so every
    pass has something to do; without, each link only inserts."""
    body = (
        "            let w = t.weight / {n}\n"
        "            seen = seen + w\n"
        "            hits[{slot}] = hits[{slot}] + 1\n"
        if work
        else ""
    )
    arms = " else ".join(
        f"if t.pid == {i} {{\n"
        + body.format(n=i + 1, slot=i % 4)
        + f"            insert t into global slice {i + 1}us\n"
        + "        }"
        for i in range(links)
    )
    return (
        'scheduler chain "a long else-if chain" {\n'
        "    var seen: u64 = 0\n"
        "    array hits: [u64; 4]\n"
        "\n"
        "    on enqueue(t, flags) {\n"
        f"        {arms} else {{\n"
        "            insert t into global\n"
        "        }\n"
        "    }\n"
        "}\n"
    )


def _nested(levels: int) -> str:
    opens = "".join(f"if t.pid == {i} {{\n" for i in range(levels))
    return (
        'scheduler deep "d" {\n on enqueue(t, flags) {\n'
        + opens
        + "insert t into global\n"
        + "}\n" * levels
        + "insert t into global\n }\n}\n"
    )


@pytest.mark.parametrize("links", [160, 1000])
def test_long_chain_checks_clean(links: int) -> None:
    checked, diags = check_source(SourceFile("chain.sched", _chain(links)))
    assert [d.code for d in diags] == []
    assert checked is not None and checked.facts["paths"] == {"enqueue": links + 1}


@pytest.mark.parametrize("links", [160, 1000])
def test_long_chain_formats_and_round_trips(
    links: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _chain(links)
    source = SourceFile("chain.sched", text)
    tree = parse_source(source, Diagnostics(source))
    assert tree is not None
    out = format_program(tree, Comments([]))
    assert out.count("} else if t.pid == ") == links - 1
    again = SourceFile("<fmt>", out)
    assert ast.same(parse_source(again, Diagnostics(again)), tree)
    path = tmp_path / "chain.sched"
    path.write_text(text)
    assert main(["fmt", str(path)]) == 0  # the CLI's own round-trip check passes too
    assert capsys.readouterr().out == out


GOTOL = 0x06  # BPF_JMP32 | BPF_JA: ISA v4's jump with a 32-bit offset


def _gotols(obj: Path) -> int:
    """How many `gotol` instructions the object's programs hold."""
    o = objfile.ObjectFile.read(obj)
    code = b"".join(o.section_bytes(name) for name in o.program_sections())
    return sum(code[i] == GOTOL for i in range(0, len(code), objfile.BPF_INSN_SIZE))


# 1,000 links that each do work make enqueue about 55,000 instructions: more than a v3 jump
# reaches (32,767; clang failed "Branch target out of insn range" and `compile` exited 3). The
# backend targets ISA v4, whose `gotol` reaches any instruction.
@pytest.mark.clang
@pytest.mark.parametrize(("links", "work", "long_jumps"), [(160, True, False), (1000, True, True)])
def test_long_chain_compiles_with_clang(
    links: int, work: bool, long_jumps: bool, tmp_path: Path
) -> None:
    try:
        build.find_clang()
    except build.ClangError as exc:
        pytest.skip(str(exc))
    path = tmp_path / "chain.sched"
    path.write_text(_chain(links, work))
    assert main(["compile", str(path), "-o", str(tmp_path)]) == 0
    c_text = (tmp_path / "chain.bpf.c").read_text()
    assert c_text.count("} else if ((u32)t->pid == ") == links - 1
    assert (_gotols(tmp_path / "chain.bpf.o") > 0) == long_jumps


@pytest.mark.vm
def test_long_chain_with_work_loads_and_schedules(vm_ready: None, tmp_path: Path) -> None:
    """The kernel's verifier accepts the `gotol`s and the 55,000-instruction enqueue."""
    import schedlang
    from schedlang.runtime import sandbox

    art = schedlang.compile(_chain(1000), outdir=tmp_path / "obj")
    out = tmp_path / "out"
    out.mkdir()
    result = sandbox.run_in_guest(
        f"timeout 240 python3 -m schedlang.runtime.loader {art.object_path} "
        "--run 'hackbench -g 2 -l 20' > chain.json",
        outdir=out,
        timeout_s=300,
    )
    assert result.rc == 0, result.output
    r = json.loads((out / "chain.json").read_text())
    assert r["ok"], r.get("verifier_log") or r.get("error")
    assert r["state"] == "enabled" and r["exit"]["kind_name"] == "UNREG"
    assert not r["exit"]["ejected"] and r["run"]["rc"] == 0
    assert r["stats"]["nr_enqueued"] > 0


def test_real_nesting_still_counts() -> None:
    checked, diags = check_source(SourceFile("deep.sched", _nested(200)))
    assert checked is None and [d.code for d in diags] == ["too-deep"]


def test_ast_same_ignores_spans_and_sees_differences() -> None:
    def tree(text: str) -> ast.Scheduler | None:
        source = SourceFile("t.sched", text)
        return parse_source(source, Diagnostics(source))

    text = _chain(3)
    assert ast.same(tree(text), tree(text.replace("\n", "\n\n")))
    assert not ast.same(tree(text), tree(text.replace("pid == 2", "pid == 7")))
    assert not ast.same(
        tree(text), tree(text.replace(" else {\n            insert t into global\n        }", ""))
    )


def test_dump_of_a_long_chain_says_it_is_too_deep_to_print(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "chain.sched"
    path.write_text(_chain(1000, work=False))
    assert main(["check", "--dump-after", "typecheck", str(path)]) == 0
    err = capsys.readouterr().err
    assert err == "schedlang check: the typecheck output nests too deeply to print\n"
