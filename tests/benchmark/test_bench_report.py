"""The HTML report: rendered by a real headless Chromium, the numbers on it are the bundles'.

The browser tests skip, saying why, when no Chromium is installed (Debian: `apt-get install
chromium`, listed in scripts/system-packages.txt).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from bundles import make_result_dir
from matplotlib.image import imread

from schedlang.benchmark import bundle, report
from schedlang.benchmark.bundle import BundleError, seal
from schedlang.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium)"
)


@pytest.fixture
def bundles(tmp_path: Path) -> list[Path]:
    """Two T1 agents (offline with phase 1's goals, schema 2), a T2 agent as a tarball, and a
    T1 bundle tampered with after sealing."""
    offline = seal(make_result_dir(tmp_path, "offline", goals=True), machine={})
    default = seal(make_result_dir(tmp_path, "default", agent="default", score=0.5), machine={})
    naive = seal(
        make_result_dir(tmp_path, "naive", agent="naive", track="T2", score=1.25),
        tar=True,
        machine={},
    )
    tampered = seal(make_result_dir(tmp_path, "rules", agent="rules", score=3.0), machine={})
    (tampered / "raw" / "hackbench.txt").write_text("Time: 0.10\n")
    return [offline, default, naive, tampered]


def _scores(path: Path) -> dict[str, Any]:
    return json.loads(bundle.read_member(path, "scores.json"))


class _Tables(HTMLParser):
    """Every table of a page by its first class: rows of (cell classes, cell text)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[list[tuple[str, str]]]]] = {}
        self.images: list[dict[str, str | None]] = []
        self._rows: list[list[tuple[str, str]]] | None = None
        self._cell: tuple[str, list[str]] | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._rows = []
            self.tables.setdefault((a.get("class") or "").split()[0], []).append(self._rows)
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body and self._rows is not None:
            self._rows.append([])
        elif tag == "td" and self._rows is not None:
            self._cell = (a.get("class") or "", [])
        elif tag == "img":
            self.images.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._rows is not None:
            self._rows[-1].append((self._cell[0], "".join(self._cell[1]).strip()))
            self._cell = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._rows = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[1].append(data)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    argv = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}", *args,
    ]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, timeout=180)


def _col(rows: list[list[tuple[str, str]]], cls: str) -> list[str]:
    return [text for row in rows for c, text in row if cls in c.split()]


@needs_chromium
def test_the_page_renders_with_the_bundles_numbers(tmp_path: Path, bundles: list[Path]) -> None:
    page = tmp_path / "report.html"
    assert main(["bench", "report", *map(str, bundles), "-o", str(page)]) == 0
    proc = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert "<table" in proc.stdout, proc.stderr[-2000:]
    dom = _Tables()
    dom.feed(proc.stdout)

    # Leaderboards: per track, best score first; the held-out score beside it.
    (t1,) = dom.tables["leaderboard"][:1]
    assert _col(t1, "agent") == ["rules", "offline", "default"]
    assert _col(t1, "score") == ["3.000", "2.137", "0.500"]
    assert _col(t1, "held-out") == ["0.912"] * 3
    assert _col(t1, "slos") == ["2/3"] * 3
    assert _col(t1, "goal") == ["–", "0.825", "–"]  # only offline's bundle graded phase 1
    assert [row[-1][1] for row in t1] == ["NOT VERIFIED", "verified", "verified"]
    t2 = dom.tables["leaderboard"][1]
    assert (_col(t2, "agent"), _col(t2, "score")) == (["naive"], ["1.250"])

    # The bundles table names what was tampered with.
    status = _col(dom.tables["bundles"][0], "verification")
    assert status[:3] == [f"verified, signed by {bundle.verify(bundles[0]).signer}"] * 3
    assert status[3].startswith("NOT VERIFIED: changed: raw/hackbench.txt")

    # Each bundle's workloads, SLOs and budget are its scores.json, in order.
    assert len(dom.tables["workloads"]) == len(bundles)
    for n, path in enumerate(bundles):
        scores = _scores(path)
        rows = dom.tables["workloads"][n]
        metrics = [(w, m) for w in scores["workloads"] for m in w["metrics"]]
        assert _col(rows, "workload") == [w["name"] for w, _ in metrics]
        assert _col(rows, "ratio") == [f"{m['I']:.3f}" for _, m in metrics]
        assert _col(rows, "interval") == [
            f"{m['interval'][0]:.3f} – {m['interval'][1]:.3f}" for _, m in metrics
        ]
        assert _col(rows, "weighted") == [f"{w['weighted']:.3f}" for w, _ in metrics]
        assert _col(rows, "split") == ["held out" if w["held_out"] else "seen" for w, _ in metrics]
        wide = [c for row in rows for c, _ in row if "ratio" in c.split()]
        assert ["wide" in c.split() for c in wide] == [m["wide"] for _, m in metrics]

        slos = [(w, s) for w in scores["workloads"] for s in w["slos"]]
        slo_rows = dom.tables["slos"][n]
        assert _col(slo_rows, "value") == [f"{s['value']:.3f}" for _, s in slos]
        assert _col(slo_rows, "slo") == ["pass" if s["met"] else "FAIL" for _, s in slos]

        goals = [(w, w["goal"]) for w in scores["workloads"] if w.get("goal")]
        if goals:
            rows = dom.tables["goals"][0]
            assert _col(rows, "stated") == [g["stated"]["text"] if g["stated"] else "no goal"
                                            for _, g in goals]  # fmt: skip
            assert _col(rows, "reference") == [g["reference"]["text"] for _, g in goals]
            assert _col(rows, "grade") == [f"{g['grade']:.3f}" for _, g in goals]

        budget = dom.tables["budget"][n]
        assert _col(budget, "budget-wall_s") == [f"{scores['budget']['wall_s']:.3f}"]
        assert _col(budget, "budget-vm_runs") == [str(scores["budget"]["vm_runs"])]

    assert [img["src"][:22] for img in dom.images] == ["data:image/png;base64,"] * len(bundles)


@needs_chromium
def test_the_embedded_plots_are_drawn(tmp_path: Path, bundles: list[Path]) -> None:
    """The screenshot holds the plot's two colours: the data-URI images decoded and drew."""
    page = tmp_path / "report.html"
    report.write_report(bundles[:1], page)
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,1400", page.as_uri())
    pixels = (imread(shot)[:, :, :3] * 255).round().astype(int)

    def count(colour: str) -> int:
        rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
        return int((abs(pixels - rgb).sum(axis=2) <= 30).sum())

    assert count(report.SEEN_COLOUR) > 50
    assert count(report.HELD_OUT_COLOUR) > 20


def test_strings_from_a_bundle_are_escaped(tmp_path: Path, bundles: list[Path]) -> None:
    html = report.render([report.load(bundles[0])])
    assert "nginx-&lt;wrk&gt;" in html
    assert "<wrk>" not in html
    assert "<script" not in html


def test_phase_1_goals_are_tabled_and_a_schema_1_bundle_says_it_was_not_graded(
    tmp_path: Path,
) -> None:
    dom = _Tables()
    two = seal(make_result_dir(tmp_path, "two", goals=True), machine={})
    one = seal(make_result_dir(tmp_path, "one"), machine={})
    html = report.render([report.load(two), report.load(one)])
    dom.feed(html)
    (goals,) = dom.tables["goals"]
    assert _col(goals, "stated") == ["cut time", "no goal", "cut time"]
    assert _col(goals, "reference") == ["cut time", "raise throughput", "raise throughput"]
    assert _col(goals, "grade") == ["1.000", "0.000", "0.650"]
    assert _col(goals, "profile") == ["vm: cpu-saturated", "sim: none", "–"]
    assert _col(dom.tables["leaderboard"][0], "goal") == ["0.825", "–"]
    assert "Not graded: the agent states no goals, or the bundle predates phase 1." in html


def test_a_null_held_out_score_is_a_dash(tmp_path: Path) -> None:
    d = make_result_dir(tmp_path, "tuned-only")
    scores = json.loads((d / "scores.json").read_text())
    scores["score_held_out"] = None  # no held-out workload ran
    (d / "scores.json").write_text(json.dumps(scores))
    dom = _Tables()
    dom.feed(report.render([report.load(seal(d, machine={}))]))
    assert _col(dom.tables["leaderboard"][0], "held-out") == ["–"]


def test_a_workload_without_agent_runs_renders_with_dashes(tmp_path: Path) -> None:
    """The runner writes I and interval null when the policy left no valid run (it did not
    load, was ejected, its output was unreadable): the page shows the bundle, a dash for I
    and its interval, the SLO failed, and the plot is still drawn."""
    d = make_result_dir(tmp_path, "load-failed")
    scores = json.loads((d / "scores.json").read_text())
    hackbench = scores["workloads"][0]
    hackbench["metrics"][0].update(agent=[], I=None, interval=None, wide=True)
    hackbench["slos"][0].update(value=None, met=False)
    hackbench.update(slos_met=False, weighted=0.0)
    (d / "scores.json").write_text(json.dumps(scores))
    html = report.render([report.load(seal(d, machine={}))])
    dom = _Tables()
    dom.feed(html)
    (workloads,) = dom.tables["workloads"]
    assert _col(workloads, "ratio") == ["–", "0.912", "0.603"]
    assert _col(workloads, "interval")[0] == "– – –"
    assert _col(workloads, "weighted")[0] == "0.000"
    assert _col(dom.tables["slos"][0], "slo")[0] == "FAIL"
    assert len(dom.images) == 1


def test_a_bundle_of_an_unknown_schema_is_unreadable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = make_result_dir(tmp_path, "future")
    (d / "scores.json").write_text(json.dumps({"schema": 3}))
    seal(d, machine={})
    with pytest.raises(BundleError, match="schema 3; this report reads schema 1 or 2"):
        report.load(d)
    assert main(["bench", "report", str(d), "-o", str(tmp_path / "r.html")]) == 2
    assert "schema 3" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s["workloads"][2]["metrics"][0].update(I="1.2"),
         'workloads[2].metrics[0].I: expected a number, found "1.2"'),
        (lambda s: s["workloads"][0]["slos"][0].update(met=1),
         "workloads[0].slos[0].met: expected true or false, found 1"),
        (lambda s: s["budget"].pop("lambda"), "budget.lambda: missing"),
        (lambda s: s.update(workloads={}), "workloads: expected a list, found dict"),
    ],
)  # fmt: skip
def test_a_malformed_scores_file_is_named_not_a_traceback(
    tmp_path: Path, edit: Any, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    d = make_result_dir(tmp_path, "bad")
    scores = json.loads((d / "scores.json").read_text())
    edit(scores)
    (d / "scores.json").write_text(json.dumps(scores))
    assert main(["bench", "report", str(d), "-o", str(tmp_path / "r.html")]) == 2
    assert f"scores.json: {message}" in capsys.readouterr().err
