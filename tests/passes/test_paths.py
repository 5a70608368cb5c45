"""The path walk (passes/paths.py) under the two path rules: size and precision limits."""

from __future__ import annotations

from dataclasses import replace

from schedlang import codes, ir
from schedlang.checker import check_source
from schedlang.diagnostics import Diagnostics
from schedlang.passes import liveness, paths, queues, termination, typecheck
from schedlang.source import SourceFile
from schedlang.syntax import parse_source

TEMPLATE = """scheduler p "d" {
 var hits: u64 = 0
 queue q: fifo
 on enqueue(t, flags) {
  let w = t.weight
  if w == 7 { hits += 1 }
  if t.pid == 3 { hits += 1 }
  insert t into q
 }
 on dispatch(c) {
  let k = queued(q)
  if k == 7 { hits += 1 }
  move_to_local(q)
 }
}
"""


def _program(text: str) -> tuple[ir.Program, Diagnostics]:
    source = SourceFile("case.sched", text)
    diags = Diagnostics(source)
    tree = parse_source(source, diags)
    assert tree is not None
    program = typecheck.run(tree, diags, path=source.path, max_cpus=64)
    assert program is not None
    return program, diags


def test_thirty_thousand_ifs_finish() -> None:
    """30,000 `if`s in a row (the size of a 1 MB file): each path rule walks them once per
    path it keeps, not once per `if` before it (the old walk copied the path's branch list
    at every `if`, quadratic). The file itself would spend minutes in the parser, so the
    statements are built from a small policy's IR."""
    program, diags = _program(TEMPLATE)
    enqueue, dispatch = program.callbacks
    let, on_local, on_field, insert = enqueue.body
    k, on_count, move = dispatch.body
    many = replace(enqueue, body=(let, *([on_local, on_field] * 15_000), insert))
    drain = replace(dispatch, body=(k, *([on_count] * 30_000), move))
    big = replace(program, callbacks=(many, drain))
    facts = liveness.run(big, diags)
    queues.run(big, diags)
    assert list(diags) == []
    # every `if` doubles the source paths (walked as one: the two sides differ only in
    # what the condition says about `w`, so they are joined where the `if` ends)
    assert facts == {"paths": {"enqueue": 2**30_000}}


def test_a_proof_past_the_path_cap_says_so() -> None:
    """More bool locals than the walk keeps apart (all read at the end, so their facts are
    kept): liveness joins paths, so `g` is no longer known to be `not h`, and the
    diagnostic says the proof failed there."""
    flags = "\n".join(f"  let f{i} = t.pid == {i}" for i in range(6))
    text = (
        'scheduler p "d" {\n var n: u64 = 0\n on enqueue(t, flags) {\n  let h = t.weight > 200\n'
        "  let g = not h\n" + flags + "\n"
        "  if h { insert t into global }\n"
        "  if g { insert t into global }\n"
        "  n += " + " + ".join(f"f{i} as u64" for i in range(6)) + "\n }\n}\n"
    )
    program, diags = _program(text)
    liveness.run(program, diags)
    assert 2**7 > paths.CAP
    assert {d.code for d in diags} == {codes.DOUBLE_INSERT, codes.LOST_TASK}
    lost = next(d for d in diags if d.code == codes.LOST_TASK)
    assert "could not prove otherwise: from line 9 on" in lost.message


def test_locals_nothing_reads_again_do_not_keep_paths_apart() -> None:
    """The same six flags, never read: their facts are dropped after the `let`, so the
    paths stay within the cap and `if h` / `if g` are seen to insert exactly once."""
    flags = "\n".join(f"  let f{i} = t.pid == {i}" for i in range(6))
    text = (
        'scheduler p "d" {\n on enqueue(t, flags) {\n  let h = t.weight > 200\n'
        "  let g = not h\n" + flags + "\n"
        "  if h { insert t into global }\n"
        "  if g { insert t into global }\n }\n}\n"
    )
    program, diags = _program(text)
    assert liveness.run(program, diags) == {"paths": {"enqueue": 2**7}}
    assert list(diags) == []


def test_an_else_if_chain_costs_no_stack() -> None:
    """3,000 `else if` links (nested in the IR, one inside the other's `else`): the walk
    follows the chain link by link, so its length is not bounded by Python's stack."""
    text = (
        'scheduler p "d" {\n on enqueue(t, flags) {\n  let w = t.weight\n'
        "  if w == 1 { insert t into global } else { insert t into global }\n }\n}\n"
    )
    program, diags = _program(text)
    (enqueue,) = program.callbacks
    let, link = enqueue.body
    assert isinstance(link, ir.If)
    chain = link
    for _ in range(3_000):
        chain = replace(link, orelse=(chain,))
    facts = liveness.run(replace(program, callbacks=(replace(enqueue, body=(let, chain)),)), diags)
    assert list(diags) == []
    assert facts == {"paths": {"enqueue": 3_002}}


def _bools(n: int) -> str:
    """Finding #22's probe: n bool locals alive across 2n `if`s (each tested once, then a
    placed-flag chain over all of them). bench/checker_scale.py --shape bools times it."""
    params = "".join(f" param p{j}: u64 = 0 in 0..65535\n" for j in range((n + 15) // 16))
    tests = "".join(
        f"  let b{i} = p{i // 16} & {1 << (i % 16)} != 0\n  if b{i} {{ g += 1 }}\n"
        for i in range(n)
    )
    chain = "".join(
        f"  if b{i} and not placed {{\n   insert t into q{i % 2}\n   placed = true\n  }}\n"
        for i in range(n)
    )
    return (
        f'scheduler bools "finding 22" {{\n{params} queue q0: fifo\n queue q1: fifo\n'
        f" var g: u64 = 0\n on enqueue(t, flags) {{\n{tests}  let placed = false\n{chain}"
        "  if not placed {\n   insert t into global\n  }\n }\n"
        " on dispatch(c) {\n  move_to_local(q0)\n  move_to_local(q1)\n }\n}\n"
    )


def test_many_bool_locals_across_joins_check_clean() -> None:
    """400 bool locals, each alive across the 800 `if`s after it (finding #22: the walk
    once joined every local's facts at every `if`; it now looks at the ones that differ).
    The placed-flag chain inserts exactly once on every path, and both queues are moved
    from; each `let` of a condition and each `if ... and not placed` is a branch, so the
    walk stands for 2^800 source paths."""
    checked, diags = check_source(SourceFile("bools.sched", _bools(400)))
    assert checked is not None, [d.message for d in diags]
    assert list(diags) == []
    assert checked.facts["paths"] == {"enqueue": 2**800}
    assert checked.facts["queues"] == {"q0": "fifo", "q1": "fifo"}
    instructions = checked.facts["instructions"]
    assert isinstance(instructions, dict)
    assert instructions["enqueue"] < termination.INSTRUCTION_BUDGET
