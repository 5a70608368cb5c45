"""The library's measured claims: every header states one, the parser holds claims to the
workload catalogue, verdicts are the keep stage's, and every `Measured:` block and the README
table are exactly what `schedlang stdlib render` generates from the committed results."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from schedlang import claims
from schedlang.claims import Claim, ClaimError

POLICIES = claims.library()
HEAD = "// t: x\n// Idea: y\n"
CODE = (
    'scheduler t "a policy for the claims tests" {\n    on enqueue(t) { insert t into global }\n}\n'
)


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


@pytest.mark.parametrize("path", POLICIES, ids=_ids(POLICIES))
def test_every_policy_states_a_claim_that_parses(path: Path) -> None:
    assert claims.parse_claims(path.read_text(), str(path)), "no `// Claim:` line in the header"


def test_blocks_and_table_are_what_render_generates_from_the_committed_results() -> None:
    stale = claims.render(claims.read_results(), write=False)
    assert stale == [], f"run `schedlang stdlib render`; out of date: {stale}"


def test_committed_results_are_for_claims_that_exist() -> None:
    """No orphaned measurement: a claim removed from a header leaves no figure behind."""
    results = claims.read_results()
    for name, measured in results["policies"].items():
        path = claims.STDLIB / f"{name}.sched"
        assert path.exists(), name
        keys = {c.key for c in claims.parse_claims(path.read_text(), str(path))}
        assert set(measured) <= keys, (name, set(measured) - keys)


def test_parse_reads_both_kinds_of_claim() -> None:
    text = HEAD + (
        "// Claim: wins on vm:mix usecs_per_op (lower)\n"
        "// Claim: wins on sim:mix wakeup_p99_us[ping] (lower)\n"
    )
    assert claims.parse_claims(text + CODE, "t.sched") == [
        Claim("vm", "mix", "usecs_per_op", "lower"),
        Claim("sim", "mix", "wakeup_p99_us[ping]", "lower"),
    ]
    assert claims.parse_claims(text + CODE)[1].key == "sim:mix wakeup_p99_us[ping] (lower)"


def test_a_simulator_claim_may_name_an_rtapp_file() -> None:
    text = HEAD + "// Claim: wins on sim:runtime/sim/workloads/pipe.json makespan_s (lower)\n"
    (claim,) = claims.parse_claims(text + CODE, "t.sched")
    assert claim.workload == "runtime/sim/workloads/pipe.json"
    model = claims.sim_model(claim.workload)
    assert model is not None and Path(model).read_text().startswith("{")
    assert claims.sim_model("pipe") == "pipe"
    assert claims.sim_model("runtime/sim/workloads/nosuch.json") is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "// Claim: faster on mix",
            "t.sched:3:11: malformed claim 'faster on mix'; write `// Claim: wins on "
            "vm:WORKLOAD METRIC (lower|higher)` or `// Claim: wins on sim:MODEL METRIC "
            "(lower|higher)`",
        ),
        (
            "// Claim: wins on vm:nosuch time_s (lower)",
            "t.sched:3:19: no VM workload 'nosuch'; use one of ",
        ),
        (
            "// Claim: wins on vm:pipe time_s (lower)",
            "t.sched:3:27: workload pipe reports no metric 'time_s'; use one of usecs_per_op, "
            "ops_per_s, wall_s",
        ),
        (
            "// Claim: wins on vm:pipe ops_per_s (lower)",
            "t.sched:3:27: ops_per_s is better higher, not lower; write (higher)",
        ),
        (
            "// Claim: wins on sim:nosuch makespan_s (lower)",
            "t.sched:3:19: no simulator model 'nosuch'; use one of build, ",
        ),
    ],
)
def test_parse_says_where_and_how_to_fix(line: str, message: str) -> None:
    with pytest.raises(ClaimError) as caught:
        claims.parse_claims(HEAD + line + "\n" + CODE, "t.sched")
    assert str(caught.value).startswith(message)


def test_claims_after_the_header_are_not_claims() -> None:
    text = HEAD + CODE + "// Claim: wins on vm:nosuch x (lower)\n"
    assert claims.parse_claims(text) == []


FAST = [1.0, 1.1, 1.2, 1.05, 1.15]
SLOW = [2.0, 2.1, 2.2, 2.05, 2.15]


@pytest.mark.parametrize(
    ("candidate", "default", "outcome"),
    [
        (FAST, SLOW, "holds"),
        (SLOW, FAST, "contradicted"),
        (FAST, [1.0, 1.1, 1.2, 1.05, 1.16], "not significant"),
        (FAST[:4], SLOW, "too few runs"),
    ],
)
def test_verdict_is_the_keep_stages(
    candidate: list[float], default: list[float], outcome: str
) -> None:
    claim = Claim("vm", "pipe", "usecs_per_op", "lower")
    verdict = claims.verdict_of(claim, candidate, default)
    assert verdict["outcome"] == outcome
    if outcome == "holds":
        assert verdict["comparison"]["p"] == pytest.approx(2 / 252)
        assert verdict["comparison"]["ratio"] == pytest.approx(1.1 / 2.1)


def test_simulator_differences_under_one_percent_are_not_significant() -> None:
    """Seeds only jitter the model; a 0.5% shift on every seed is rounding, not a win."""
    claim = Claim("sim", "mix", "makespan_s", "lower")
    default = [1.000, 1.001, 1.002, 1.003, 1.004]
    candidate = [v * 0.995 - 0.01 for v in default]
    assert claims.verdict_of(claim, candidate, default)["outcome"] == "holds"
    candidate = [v * 0.995 for v in default]
    assert claims.verdict_of(claim, candidate, default)["outcome"] == "not significant"


def _entry(text: str) -> dict[str, object]:
    return {
        "policy_hash": claims.policy_hash(text),
        "date": "2026-11-30 17:00 UTC",
        "command": "schedlang stdlib measure --vm --repeat 5 t",
        "setting": "kernel 7.3.4, TCG 2 vCPUs, host load 3.0",
    } | claims.verdict_of(Claim("vm", "pipe", "usecs_per_op", "lower"), FAST, SLOW)


def test_block_says_verdict_figures_and_command() -> None:
    text = HEAD + "// Claim: wins on vm:pipe usecs_per_op (lower)\n" + CODE
    key = "vm:pipe usecs_per_op (lower)"
    results = {"schema": 1, "policies": {"t": {key: _entry(text)}}}
    c = results["policies"]["t"][key]["comparison"]  # type: ignore[index]
    assert claims.render_block(text, "t.sched", results) == [
        claims.MEASURED_HEAD,
        "//   vm:pipe usecs_per_op (lower): holds. 0.524x the default's median (95% interval "
        f"{c['low']:.3f}-{c['high']:.3f}),",
        "//     p=0.0079, n=5/5; 2026-11-30 17:00 UTC, kernel 7.3.4, TCG 2 vCPUs, host load "
        "3.0; `schedlang",
        "//     stdlib measure --vm --repeat 5 t`",
    ]
    with_block = claims.with_block(text, "t.sched", results)
    assert with_block.index(claims.MEASURED_HEAD) < with_block.index("scheduler t")
    assert claims.with_block(with_block, "t.sched", results) == with_block  # idempotent


def _prose(block: list[str]) -> str:
    """A block's text without its comment markers and wrapping."""
    return " ".join(line.removeprefix("//").strip() for line in block)


def test_block_says_when_the_code_changed_since_the_measurement() -> None:
    text = HEAD + "// Claim: wins on vm:pipe usecs_per_op (lower)\n" + CODE
    results = {"schema": 1, "policies": {"t": {"vm:pipe usecs_per_op (lower)": _entry(text)}}}
    changed = text.replace("insert t into global", "insert t into global slice 1ms")
    block = _prose(claims.render_block(changed, "t.sched", results))
    assert "holds. Measured on an earlier version of this policy's code; re-measure." in block
    relabelled = text.replace("// Idea: y", "// Idea: z")  # a comment edit keeps it current
    assert "earlier version" not in _prose(claims.render_block(relabelled, "t.sched", results))


def test_block_for_an_unmeasured_claim() -> None:
    text = HEAD + "// Claim: wins on vm:pipe usecs_per_op (lower)\n" + CODE
    assert claims.render_block(text, "t.sched", {"schema": 1, "policies": {}}) == [
        claims.MEASURED_HEAD,
        "//   vm:pipe usecs_per_op (lower): not measured yet.",
    ]


def test_merge_keeps_the_other_passes_figures() -> None:
    key = "vm:mix usecs_per_op (lower)"
    sim = {"sim": {"workload": "mix", "figures": {}}}
    vm = {"outcome": "holds", "date": "d"}
    results: dict[str, object] = {"schema": 1, "policies": {"p": {key: dict(sim)}}}
    claims.merge(results, "p", {key: dict(vm)})
    assert results["policies"] == {"p": {key: sim | vm}}  # type: ignore[comparison-overlap]
    again = copy.deepcopy(results)
    claims.merge(again, "p", {key: {"sim": {"workload": "mix", "figures": {"x": 1}}}})
    assert again["policies"]["p"][key] == vm | {"sim": {"workload": "mix", "figures": {"x": 1}}}  # type: ignore[index]


def test_lost_wins_names_a_claim_that_held_and_no_longer_does() -> None:
    key = "vm:pipe usecs_per_op (lower)"
    held = {"outcome": "holds", "comparison": {"ratio": 0.5, "low": 0.4, "high": 0.6, "p": 0.008}}
    gone = {"outcome": "not significant", "comparison": {"ratio": 0.9, "p": 0.3}}
    before = {"policies": {"a": {key: held}, "b": {key: held}, "c": {key: gone}}}
    after = {"policies": {"a": {key: gone}, "b": {key: held}, "c": {key: held}}}
    found = claims.lost_wins(before, after)
    assert [(f["policy"], f["lost"]) for f in found] == [("a", True), ("b", False)]
    assert found[0]["before"]["outcome"] == "holds"
    assert found[0]["now"] | {} == {
        "outcome": "not significant",
        "ratio": 0.9,
        "interval": [None, None],
        "p": 0.3,
        "n": None,
        "date": None,
        "setting": None,
    }
    assert claims.lost_wins(before, {"policies": {}}) == []  # not re-measured: not reported


def test_block_says_when_the_simulator_model_changed_since() -> None:
    text = HEAD + "// Claim: wins on sim:pipe makespan_s (lower)\n" + CODE
    claim = Claim("sim", "pipe", "makespan_s", "lower")
    entry = {
        "policy_hash": claims.policy_hash(text),
        "workload": "pipe",
        "model_hash": claims.model_hash("pipe"),
        "date": "2026-11-30 17:00 UTC",
        "command": "schedlang stdlib measure --sim t",
        "setting": "simulator",
        "sim": None,
    } | claims.verdict_of(claim, FAST, SLOW)
    results = {"schema": 1, "policies": {"t": {claim.key: entry}}}
    assert "earlier version" not in _prose(claims.render_block(text, "t.sched", results))
    entry["model_hash"] = "0" * 16
    assert (
        "holds. Measured on an earlier version of the simulator (its model or machine); re-measure."
        in _prose(claims.render_block(text, "t.sched", results))
    )


def test_a_simulator_metric_is_checked_when_measured(tmp_path: Path) -> None:
    fifo = (claims.STDLIB / "simple_fifo.sched").read_text()
    code = fifo[fifo.index("scheduler ") :]
    policy = tmp_path / "simple_fifo.sched"
    policy.write_text(HEAD + "// Claim: wins on sim:pipe nosuch (lower)\n" + code)
    wanted = claims.parse_claims(policy.read_text(), str(policy))
    with pytest.raises(ClaimError) as caught:
        claims.measure_sim(policy, wanted)
    assert str(caught.value).startswith(
        f"{policy}:3:28: sim:pipe reports no metric 'nosuch'; use one of makespan_s, "
    )
    policy.write_text(HEAD + "// Claim: wins on sim:pipe throughput (lower)\n" + code)
    wanted = claims.parse_claims(policy.read_text(), str(policy))
    with pytest.raises(ClaimError) as caught:
        claims.measure_sim(policy, wanted)
    assert str(caught.value) == (
        f"{policy}:3:28: throughput is better higher, not lower; write (higher)"
    )


def test_a_claims_class_is_its_workloads_unless_the_metric_is_a_side_figure() -> None:
    assert Claim("vm", "stress-cpu", "bogo_ops_per_s", "higher").benchmark_class == (
        "batch throughput"
    )
    assert Claim("sim", "hackbench", "wakeup_p99_us[g0-recv]", "lower").benchmark_class == (
        "message passing"
    )
    processes = Claim("sim", "tests/stdlib/workloads/processes.json", "process_fairness", "higher")
    assert processes.benchmark_class == "fairness between processes"
    assert Claim("sim", "build", "context_switches", "lower").benchmark_class is None
    tenants = Claim("sim", "tests/stdlib/workloads/tenants.json", "deadline_misses", "lower")
    assert tenants.benchmark_class is None
    assert Claim("vm", "pinned-noise", "wall_s", "lower").benchmark_class is None


def test_coverage_table_lists_exactly_the_holding_claims_of_each_class_in_claims_json() -> None:
    """Read back from the README: each class's row names every policy whose claim in that
    class holds in claims.json on its current code, and no other."""
    readme = claims.README.read_text()
    table = readme.split(claims.COVERAGE_BEGIN, 1)[1].split(claims.COVERAGE_END, 1)[0]
    shown = {}
    for line in table.strip().splitlines()[2:]:
        klass, cell = line.strip("| ").split(" | ")
        shown[klass] = set() if cell == "none yet" else set(cell.split(", "))
    assert list(shown) == list(claims.CLASSES)
    results = claims.read_results()
    want: dict[str, set[str]] = {c: set() for c in claims.CLASSES}
    for path in POLICIES:
        text = path.read_text()
        for claim in claims.parse_claims(text, str(path)):
            entry = results["policies"].get(path.stem, {}).get(claim.key, {})
            current = entry.get("policy_hash") == claims.policy_hash(text, str(path)) and (
                "model_hash" not in entry
                or entry["model_hash"] == claims.model_hash(entry["workload"])
            )
            if claim.benchmark_class and entry.get("outcome") == "holds" and current:
                ratio = entry["comparison"]["ratio"]
                want[claim.benchmark_class].add(
                    f"{path.stem} ({claim.where}:{claim.workload} {claim.metric} {ratio:.3f}x)"
                )
    assert shown == want


def test_prune_drops_the_figures_of_claims_no_longer_made() -> None:
    results = {"schema": 1, "policies": {"p": {"a": {"outcome": "holds"}, "b": {}}}}
    assert claims.prune(results, "p", ["b", "c"]) == ["a"]
    assert results["policies"] == {"p": {"b": {}}}
    assert claims.prune(results, "q", ["x"]) == []
