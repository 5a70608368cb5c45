"""Properties of generated policies: they print and re-parse to themselves, and the checker
accepts every one (a rejection is a generator bug or a checker false positive).

Reproduce a seeded failure with `python -m schedlang.fuzzgen SEED`; hypothesis prints the
shrunk policy itself.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings

from schedlang import ast
from schedlang.checker import check_source
from schedlang.diagnostics import render_text
from schedlang.fmt import format_program
from schedlang.fuzzgen import generate, generate_text
from schedlang.fuzzgen.mutate import nodes
from schedlang.fuzzgen.strategy import policies
from schedlang.source import SourceFile
from schedlang.syntax import parse

SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]


def _rejections(text: str) -> str:
    source = SourceFile("generated.sched", text)
    try:
        checked, diags = check_source(source)
    except Exception as exc:  # a checker crash: show the policy (hypothesis shows a tree)
        raise AssertionError(f"the checker raised {exc!r}\n--- policy:\n{text}") from exc
    if checked is not None:
        return ""
    return "\n".join(render_text(d, source) for d in diags) + "\n--- policy:\n" + text


@settings(max_examples=150, deadline=None, suppress_health_check=SLOW)
@given(policies())
def test_generated_policy_round_trips_and_is_accepted(tree: ast.Scheduler) -> None:
    text = format_program(tree)
    assert parse(text) == tree, text
    assert format_program(parse(text)) == text
    assert not (why := _rejections(text)), why


def test_seeded_generator_acceptance_rate() -> None:
    rejected = [seed for seed in range(200) if _rejections(generate_text(seed))]
    assert len(rejected) <= 10, f"rejected seeds (want >= 95% accepted): {rejected}"


def test_same_seed_same_policy() -> None:
    assert generate_text(11) == generate_text(11)
    assert generate_text(11) != generate_text(12)


def _features(tree: ast.Scheduler) -> Counter[str]:
    seen: Counter[str] = Counter()
    for n in nodes(tree):
        seen[type(n).__name__] += 1
        match n:
            case ast.Callback(name=op):
                seen["on " + op] += 1
            case ast.Array(size=None):
                seen["array cpus"] += 1
            case ast.Queue(kind=k):
                seen["queue " + k] += 1
            case ast.Insert(queue=q, on_cpu=on, vtime=vt):
                seen[
                    "insert " + ("local on" if on else q if q in ("local", "global") else "q")
                ] += 1
                seen["insert vtime"] += vt is not None
            case ast.Kick(mode=m):
                seen[f"kick {m}"] += 1
            case ast.Call(func=f):
                seen["call " + f] += 1
            case ast.Name(ident="nr_cpus"):
                seen["nr_cpus"] += 1
            case ast.Assign(op=op):
                seen["assign " + op] += 1
            case ast.If(orelse=ast.If()):
                seen["else if"] += 1
            case ast.Return(value=None):
                seen["bare return"] += 1
            case ast.DurationLit(unit=u):
                seen["unit " + u] += 1
            case ast.Binary(op=op):
                seen["op " + op] += 1
            case ast.Cast(to=t):
                seen["as " + t.name] += 1
    return seen


def test_generator_covers_the_language() -> None:
    """A guard against the generator quietly losing a construct (each must show up)."""
    seen: Counter[str] = Counter()
    for seed in range(150):
        seen += _features(generate(seed))
    wanted = (
        "Param Const Queue Var TaskVar Array MapDecl Fn Let If ForRange ForCpus Kick ExprStmt "
        "Cast Index Field Unary StrLit BoolLit"
    ).split()
    wanted += [f"on {op}" for op in ("select_cpu", "enqueue", "dispatch", "runnable", "running")]
    wanted += [f"on {op}" for op in ("stopping", "quiescent", "tick", "enable", "init")]
    wanted += ["array cpus", "queue fifo", "queue vtime", "insert vtime", "else if", "nr_cpus"]
    wanted += [f"insert {q}" for q in ("local", "local on", "global", "q")]
    wanted += ["kick None", "kick idle", "kick preempt", "bare return"]
    wanted += [f"call {f}" for f in ("now", "default_cpu", "move_to_local", "queued", "allowed")]
    wanted += [f"call {f}" for f in ("min", "max", "clamp", "abs", "startswith")]
    wanted += [f"assign {op}" for op in ("=", "+=", "-=", "*=", "/=")]
    wanted += [f"unit {u}" for u in ("ns", "us", "ms", "s")]
    wanted += [f"op {op}" for op in "+ - * / % & | ^ << >> == != < <= > >= and or".split()]
    wanted += [f"as {t}" for t in ("u32", "u64", "i32", "i64", "duration", "time", "cpu")]
    missing = [w for w in wanted if seen[w] == 0]
    assert not missing, f"the generator never produced: {missing}"
