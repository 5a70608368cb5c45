"""`schedlang bench report`: one static HTML page from result bundles, for people.

The page is a single file with nothing to fetch and no script: tables for the leaderboard
(per track, agents by score, with the held-out score and phase 1's goal score beside it),
each bundle's goals as stated and as the reference has them (schema 2), its workloads (the
ratio I of every metric with its interval, the SLOs met or not, the weighted contribution),
the budget used, and whether each bundle's signature holds. The ratios are also drawn with
matplotlib and embedded as PNG data URIs. Every string that came from a bundle is escaped:
a workload or agent name is data, never markup.

Numbers on the page are the bundle's own, rounded for display only (3 decimals for scores
and ratios), so a reader can check a figure against scores.json.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from schedlang.benchmark.bundle import BundleError, Verification, read_member, verify

SCORES = "scores.json"
SCORES_SCHEMAS = (1, 2)  # 2 adds phase 1 (goal inference); a schema 1 bundle shows it as -
# Colours of the ratio plot: workloads the agent tuned on, and the held-out ones.
SEEN_COLOUR = "#1f77b4"
HELD_OUT_COLOUR = "#d62728"

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; padding: 0 1em; max-width: 90em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #176117; } .fail { color: #a11; font-weight: bold; }
.wide { background: #fff3cd; } .heldout { font-style: italic; }
img { max-width: 100%; }
"""


@dataclass(frozen=True)
class Result:
    """One bundle: where it is, what its signature says, and its scores.json."""

    path: Path
    verification: Verification
    scores: dict[str, Any]


def load(path: Path) -> Result:
    """Verify a bundle and read its scores; BundleError when it cannot be read at all."""
    verification = verify(path)
    raw = read_member(path, SCORES)
    try:
        scores = json.loads(raw)
    except ValueError as exc:
        raise BundleError(f"{path}: {SCORES} is not JSON ({exc})") from exc
    if not isinstance(scores, dict) or scores.get("schema") not in SCORES_SCHEMAS:
        found = scores.get("schema") if isinstance(scores, dict) else None
        raise BundleError(f"{path}: {SCORES} has schema {found!r}; this report reads schema 1 or 2")
    shape = SHAPE if scores["schema"] == 1 else SHAPE_2
    where = _shape_error(scores, shape, "")
    if where is not None:
        raise BundleError(
            f"{path}: {SCORES}: {where}; the runner writes schema 2 (docs/benchmark.md)"
        )
    return Result(path, verification, scores)


@dataclass(frozen=True)
class Nullable:
    """A shape whose value may also be null."""

    shape: Any


# What the report reads from scores.json schema 1, and so checks before it renders anything:
# a type (or tuple of types), a dict of required keys, a one-element list (each item), or
# Nullable. A metric's I and interval are null when the agent's runs are missing (its policy
# did not load, was ejected, or the output could not be read): that workload counts 0 and
# the page shows a dash, as it must still render the bundle.
Number = (int, float)
OptNumber = (int, float, type(None))
SHAPE: Any = {
    "track": str,
    "agent": str,
    "score": Number,
    "score_held_out": OptNumber,
    "budget": {k: OptNumber for k in ("wall_s", "vm_runs", "tokens", "overuse", "lambda")},
    "workloads": [
        {
            "name": str,
            "held_out": bool,
            "slos_met": bool,
            "weighted": Number,
            "slos": [
                {"metric": str, "bound": Number, "value": OptNumber, "met": bool, "hard": bool}
            ],
            "metrics": [
                {
                    "name": str,
                    "direction": str,
                    "I": OptNumber,
                    "interval": Nullable([Number]),
                    "wide": bool,
                    "baseline": list,
                    "agent": list,
                }
            ],
        }
    ],
}


# Schema 2: phase 1's scores as well (each workload's `goal` is an object or null: read with .get).
SHAPE_2: Any = {**SHAPE, "goal_score": OptNumber, "goal_score_held_out": OptNumber}


def _shape_error(value: Any, shape: Any, where: str) -> str | None:
    """Where `value` first departs from `shape` (`workloads[2].metrics[0].I: ...`), or None."""
    if isinstance(shape, Nullable):
        return None if value is None else _shape_error(value, shape.shape, where)
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return f"{where or 'the top level'}: expected an object, found {type(value).__name__}"
        for key, sub in shape.items():
            if key not in value:
                return f"{where + '.' if where else ''}{key}: missing"
            found = _shape_error(value[key], sub, f"{where + '.' if where else ''}{key}")
            if found:
                return found
        return None
    if isinstance(shape, list):
        if not isinstance(value, list):
            return f"{where}: expected a list, found {type(value).__name__}"
        for n, item in enumerate(value):
            found = _shape_error(item, shape[0], f"{where}[{n}]")
            if found:
                return found
        return None
    numeric = shape in (Number, OptNumber)
    if (numeric and isinstance(value, bool)) or not isinstance(value, shape):
        names = {str: "a string", bool: "true or false", list: "a list"}
        wanted = "a number" if numeric else names.get(shape, str(shape))
        return f"{where}: expected {wanted}, found {json.dumps(value)[:40]}"
    return None


def write_report(bundles: Iterable[Path], output: Path) -> None:
    results = [load(Path(b)) for b in bundles]
    output.write_text(render(results), encoding="utf-8")


def render(results: list[Result]) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>schedlang bench report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>schedlang bench report</h1>",
        _bundles_table(results),
        _leaderboards(results),
    ]
    for n, result in enumerate(results):
        parts.append(_bundle_section(n, result))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# --- pieces --------------------------------------------------------------------------------


def _num(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return escape(str(value)) if value is not None else "&ndash;"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _cell(text: str, cls: str = "", raw: bool = False) -> str:
    body = text if raw else escape(text)
    return f'<td class="{cls}">{body}</td>' if cls else f"<td>{body}</td>"


def _row(cells: Iterable[str]) -> str:
    return "<tr>" + "".join(cells) + "</tr>"


def _table(cls: str, headers: list[str], rows: list[str]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return (
        f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _status(v: Verification) -> tuple[str, str]:
    """(css class, words) for a bundle's verification."""
    if v.ok:
        return "pass", f"verified, signed by {v.signer}"
    faults = [f"changed: {f}" for f in v.changed]
    faults += [f"missing: {f}" for f in v.missing]
    faults += [f"added: {f}" for f in v.added]
    faults += [f"{name}: {why}" for name, why in v.seal_faults.items()]
    return "fail", "NOT VERIFIED: " + "; ".join(faults)


def _bundles_table(results: list[Result]) -> str:
    rows = []
    for n, r in enumerate(results):
        cls, words = _status(r.verification)
        s = r.scores
        rows.append(
            _row(
                [
                    _cell(f'<a href="#bundle-{n}">{escape(str(r.path))}</a>', raw=True),
                    _cell(str(s.get("track"))),
                    _cell(str(s.get("agent"))),
                    _cell(str(s.get("created"))),
                    _cell("yes" if s.get("quick") else "no"),
                    _cell(words, f"verification {cls}"),
                ]
            )
        )
    headers = ["bundle", "track", "agent", "created", "quick", "verification"]
    return "<h2>Bundles</h2>" + _table("bundles", headers, rows)


def _leaderboards(results: list[Result]) -> str:
    tracks: dict[str, list[Result]] = {}
    for r in results:
        tracks.setdefault(str(r.scores.get("track")), []).append(r)
    out = ["<h2>Leaderboard</h2>"]
    for track in sorted(tracks):
        ranked = sorted(tracks[track], key=lambda r: -float(r.scores.get("score") or 0.0))
        rows = []
        for rank, r in enumerate(ranked, 1):
            s = r.scores
            workloads = s.get("workloads", [])
            met = sum(1 for w in workloads if w.get("slos_met"))
            cls, _ = _status(r.verification)
            rows.append(
                _row(
                    [
                        _cell(str(rank), "num"),
                        _cell(str(s.get("agent")), "agent"),
                        _cell(_num(s.get("score")), "num score", raw=True),
                        _cell(_num(s.get("score_held_out")), "num held-out", raw=True),
                        _cell(_num(s.get("goal_score")), "num goal", raw=True),
                        _cell(f"{met}/{len(workloads)}", "num slos"),
                        _cell("verified" if cls == "pass" else "NOT VERIFIED", cls),
                    ]
                )
            )
        headers = ["rank", "agent", "score", "held-out score", "goal score (phase 1)",
                   "hard SLOs met", "bundle"]  # fmt: skip
        out.append(f"<h3>Track {escape(track)}</h3>")
        out.append(_table(f"leaderboard track-{escape(track)}", headers, rows))
    return "\n".join(out)


def _bundle_section(n: int, r: Result) -> str:
    s = r.scores
    title = f"{s.get('track')} / {s.get('agent')}: {r.path}"
    workloads = s.get("workloads", [])
    return "\n".join(
        [
            f'<section id="bundle-{n}"><h2>{escape(title)}</h2>',
            _plot(workloads),
            "<h3>Goals (phase 1)</h3>",
            _goals_table(workloads),
            "<h3>Workloads</h3>",
            _workloads_table(workloads),
            "<h3>SLOs</h3>",
            _slos_table(workloads),
            "<h3>Budget</h3>",
            _budget_table(s.get("budget", {})),
            "</section>",
        ]
    )


def _goals_table(workloads: list[dict[str, Any]]) -> str:
    graded = [(w, w["goal"]) for w in workloads if isinstance(w.get("goal"), dict)]
    if not graded:
        return "<p>Not graded: the agent states no goals, or the bundle predates phase 1.</p>"
    rows = [
        _row(
            [
                _cell(str(w.get("name")), "workload"),
                _cell("held out" if w.get("held_out") else "seen", "split"),
                _cell(_shown(w.get("profile")), "profile"),
                _cell(str((g.get("stated") or {}).get("text", "no goal")), "stated"),
                _cell(str((g.get("reference") or {}).get("text")), "reference"),
                _cell(_num(g.get("metric")), "num goal-metric", raw=True),
                _cell(_num(g.get("floors")), "num goal-floors", raw=True),
                _cell(_num(g.get("grade")), "num grade", raw=True),
            ]
        )
        for w, g in graded
    ]
    headers = ["workload", "split", "profile", "stated", "reference", "metric", "floors", "grade"]
    return _table("goals", headers, rows)


def _shown(profile: Any) -> str:
    """The profile a goal was stated from: its source and bottleneck (`vm: ping-pong`), `none`
    when there was none, `–` for a bundle that does not say (before profiles were traced)."""
    if not isinstance(profile, dict):
        return "–"
    if profile.get("source") is None:
        return "none"
    return f"{profile['source']}: {profile.get('bottleneck')}"


def _workloads_table(workloads: list[dict[str, Any]]) -> str:
    rows = []
    for w in workloads:
        for m in w.get("metrics", []):
            lo, hi = (list(m.get("interval") or []) + [None, None])[:2]
            cls = "wide" if m.get("wide") else ""
            rows.append(
                _row(
                    [
                        _cell(str(w.get("name")), "workload"),
                        _cell(str(w.get("category"))),
                        _cell("held out" if w.get("held_out") else "seen", "split"),
                        _cell(str(w.get("policy") or "default")),
                        _cell(str(m.get("name")), "metric"),
                        _cell(str(m.get("direction"))),
                        _cell(_num(m.get("alpha")), "num alpha", raw=True),
                        _cell(_num(m.get("I")), f"num ratio {cls}".strip(), raw=True),
                        _cell(
                            f"{_num(lo)} &ndash; {_num(hi)}",
                            f"num interval {cls}".strip(),
                            raw=True,
                        ),
                        _cell(f"{len(m.get('baseline', []))}/{len(m.get('agent', []))}", "num"),
                        _cell("too wide" if m.get("wide") else "", cls),
                        _cell(_num(w.get("weighted")), "num weighted", raw=True),
                    ]
                )
            )
    headers = [
        "workload", "category", "split", "policy", "metric", "better", "α", "I",
        "interval", "runs default/agent", "note", "weighted",
    ]  # fmt: skip
    return _table("workloads", headers, rows)


def _slos_table(workloads: list[dict[str, Any]]) -> str:
    rows = []
    for w in workloads:
        for slo in w.get("slos", []):
            met = bool(slo.get("met"))
            bound = _num(slo.get("bound")) + (" &times; default" if slo.get("relative") else "")
            rows.append(
                _row(
                    [
                        _cell(str(w.get("name")), "workload"),
                        _cell(str(slo.get("metric"))),
                        _cell("hard" if slo.get("hard") else "soft"),
                        _cell(bound, "num bound", raw=True),
                        _cell(_num(slo.get("value")), "num value", raw=True),
                        _cell("pass" if met else "FAIL", "slo pass" if met else "slo fail"),
                    ]
                )
            )
    return _table("slos", ["workload", "metric", "kind", "bound", "value", "result"], rows)


def _budget_table(budget: dict[str, Any]) -> str:
    overuse, lam = budget.get("overuse"), budget.get("lambda")
    penalty = (
        overuse * lam if isinstance(overuse, int | float) and isinstance(lam, int | float) else None
    )
    rows = [
        _row([_cell(label), _cell(_num(budget.get(key)), f"num budget-{key}", raw=True)])
        for key, label in (
            ("wall_s", "wall clock (s)"),
            ("vm_runs", "VM runs"),
            ("tokens", "model tokens"),
            ("overuse", "overuse"),
            ("lambda", "λ"),
        )
    ]
    rows.append(_row([_cell("penalty λ · overuse"), _cell(_num(penalty), "num penalty", raw=True)]))
    return _table("budget", ["budget", "used"], rows)


def _plot(workloads: list[dict[str, Any]]) -> str:
    """Each metric's ratio I with its interval, one row per metric; 1.0 is the default."""
    rows = [(w, m) for w in workloads for m in w.get("metrics", [])]
    if not rows:
        return "<p>No metrics to plot.</p>"
    fig = Figure(figsize=(8, 0.45 * len(rows) + 1.2), dpi=100)
    ax = fig.add_subplot()
    for y, (w, m) in enumerate(rows):
        if m.get("I") is None:  # no ratio to draw; its label says so
            continue
        i = float(m["I"])
        lo, hi = (list(m.get("interval") or [i, i]) + [i, i])[:2]
        colour = HELD_OUT_COLOUR if w.get("held_out") else SEEN_COLOUR
        ax.errorbar(
            [i], [y], xerr=[[i - float(lo)], [float(hi) - i]], fmt="o", color=colour,
            capsize=4, markersize=7, linewidth=2,
        )  # fmt: skip
    ax.axvline(1.0, color="#888", linestyle="--", linewidth=1)
    labels = [
        f"{w.get('name')} · {m.get('name')}" + (" (held out)" if w.get("held_out") else "")
        + (" [no ratio: counts 0]" if m.get("I") is None else " [wide]" if m.get("wide") else "")
        for w, m in rows
    ]  # fmt: skip
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("I = improvement over the default (> 1 is better)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    data = base64.b64encode(buf.getvalue()).decode()
    alt = "ratio I of each workload's metrics with its interval"
    return f'<img class="ratios" alt="{alt}" src="data:image/png;base64,{data}">'
