"""Stage 7, Remember: a local SQLite store of what was tried, on what workload, and what won.

A new synthesis for a workload like one seen before starts from what won there (`similar`).
The store lives in the user's data directory, `$XDG_DATA_HOME/schedlang/history.sqlite`
(`~/.local/share/schedlang/` without the variable); the directory is made on the first
write, mode 0700, since policies and workload profiles say what a machine runs.

What it holds, each row written by one `record_*` method:
* **profiles**: a `WorkloadProfile` as JSON, once per distinct content, with its feature
  vector (`features`) for similarity;
* **policies**: source text keyed by the sha256 of its canonical form
  (`schedlang.canonical_source`: formatted, comments dropped), so the same policy re-indented
  or re-commented is one row; text that does not parse is hashed as written;
* **measurements**: one policy with its params on one workload in one boot, every metric's
  runs of both sides (`keep.Samples`) and the boot's facts;
* **verdicts**: `keep.Verdict`s on measurements, the test's numbers included;
* **syntheses**: one `synthesize` run: its goal, the verdicts it reached, what it cost
  (seconds, VM runs, tokens in and out, money).

Several processes may use one store at once: it runs in WAL mode (readers never wait for a
writer), each write is one `BEGIN IMMEDIATE` transaction, and a busy store is waited for.

The schema is versioned with SQLite's `user_version`. `MIGRATIONS[i]` takes a store from
version i to i + 1, and opening a store applies the missing steps in one transaction (so two
processes opening an old store at once upgrade it once); a store from a newer schedlang is
refused rather than misread. Step 2 (syntheses) is written as its own step, as every later
change will be, so the upgrade path is exercised from the first version on.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import schedlang
from schedlang.agent.goal import Goal
from schedlang.agent.keep import Samples, Verdict
from schedlang.agent.profile import Bottleneck, Dist, WorkloadProfile
from schedlang.errors import SchedlangError

FILENAME = "history.sqlite"
BUSY_TIMEOUT_S = 30.0  # how long a write waits for another process's transaction

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 0 -> 1: profiles, policies, measurements, verdicts
        """CREATE TABLE profiles (
            id INTEGER PRIMARY KEY,
            recorded TEXT NOT NULL,
            digest TEXT NOT NULL UNIQUE,
            workload TEXT NOT NULL,
            profile TEXT NOT NULL,
            features TEXT NOT NULL
        )""",
        """CREATE TABLE policies (
            hash TEXT PRIMARY KEY,
            recorded TEXT NOT NULL,
            name TEXT NOT NULL,
            source TEXT NOT NULL
        )""",
        """CREATE TABLE measurements (
            id INTEGER PRIMARY KEY,
            recorded TEXT NOT NULL,
            policy TEXT NOT NULL REFERENCES policies(hash),
            params TEXT NOT NULL,
            workload TEXT NOT NULL,
            profile INTEGER REFERENCES profiles(id),
            samples TEXT NOT NULL,
            boot TEXT NOT NULL
        )""",
        """CREATE TABLE verdicts (
            id INTEGER PRIMARY KEY,
            recorded TEXT NOT NULL,
            measurement INTEGER NOT NULL REFERENCES measurements(id),
            outcome TEXT NOT NULL,
            metric TEXT NOT NULL,
            gain REAL,
            sentence TEXT NOT NULL,
            verdict TEXT NOT NULL
        )""",
        "CREATE INDEX measurements_workload ON measurements(workload)",
        "CREATE INDEX verdicts_measurement ON verdicts(measurement)",
    ),
    (  # 1 -> 2: synthesis runs and their costs; verdicts say which run reached them
        """CREATE TABLE syntheses (
            id INTEGER PRIMARY KEY,
            recorded TEXT NOT NULL,
            goal TEXT NOT NULL,
            workload TEXT NOT NULL,
            profile INTEGER REFERENCES profiles(id),
            winner INTEGER REFERENCES verdicts(id),
            summary TEXT NOT NULL,
            seconds REAL NOT NULL,
            vm_runs INTEGER NOT NULL,
            tokens_in INTEGER NOT NULL,
            tokens_out INTEGER NOT NULL,
            cost_usd REAL NOT NULL
        )""",
        "ALTER TABLE verdicts ADD COLUMN synthesis INTEGER REFERENCES syntheses(id)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class HistoryError(Exception):
    """The store cannot be used as asked: what, and what to do about it."""


def default_path() -> Path:
    """`$XDG_DATA_HOME/schedlang/history.sqlite`, else under `~/.local/share`."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "schedlang" / FILENAME


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def policy_hash(source: str) -> str:
    """The sha256 of the policy's canonical form, or of its text (line ends normalised) when
    it does not parse."""
    try:
        text = schedlang.canonical_source(source)
    except SchedlangError:
        text = source.replace("\r\n", "\n")
    return hashlib.sha256(text.encode()).hexdigest()


# --- similarity ----------------------------------------------------------------------------------

FEATURES = (
    "utilisation",
    "threads per CPU",
    "wakeups per CPU-second",
    "switches per CPU-second",
    "migrations per switch",
    "typical run burst",
    "typical sleep",
    "typical p99 wakeup latency",
    *(f"bottleneck {b.value}" for b in Bottleneck),
)
_DECADES = 7.0  # log10 scales are divided by this: 1 µs .. 10 s, 1 .. 10^7 events/s
_BOTTLENECK_WEIGHT = 0.5  # two different bottlenecks are sqrt(2) * 0.5 = 0.71 apart


def _log_scale(value: float) -> float:
    return min(1.0, math.log10(1.0 + max(0.0, value)) / _DECADES)


def _typical(dists: Iterable[Dist], pick: str) -> float:
    """The sample-weighted mean over threads of one percentile (µs); 0 with no samples."""
    weighted = [(d.count, getattr(d, pick)) for d in dists if d.count and getattr(d, pick)]
    total = sum(n for n, _ in weighted)
    return sum(n * v for n, v in weighted) / total if total else 0.0


def features(profile: WorkloadProfile) -> tuple[float, ...]:
    """The profile as a vector (names in `FEATURES`), every coordinate in 0..1, so the plain
    Euclidean distance between two vectors is the dissimilarity of two workloads.

    Rates are per CPU-second of traced time and, like the durations (µs), on a log10 scale
    over seven decades: a workload waking 10x as often is as far away at any rate. Threads
    per CPU are log2 over seven doublings (127 and more count as 1). Migrations per switch
    and utilisation are shares. The bottleneck Observe named is one-hot, weighted 0.5: two
    workloads with different bottlenecks are 0.71 apart, as far as five decades of one rate,
    so the bottleneck decides first and the figures order workloads within one bottleneck."""
    cpu_seconds = max(profile.cpus, 1) * max(profile.duration_s, 1e-9)
    counts = profile.counts
    threads = profile.threads
    return (
        min(1.0, max(0.0, profile.utilisation)),
        min(1.0, math.log2(1.0 + counts.threads / max(profile.cpus, 1)) / 7.0),
        _log_scale(counts.wakeups / cpu_seconds),
        _log_scale(counts.switches / cpu_seconds),
        min(1.0, counts.migrations / counts.switches) if counts.switches else 0.0,
        _log_scale(_typical((t.run for t in threads), "p50_us")),
        _log_scale(_typical((t.sleep for t in threads), "p50_us")),
        _log_scale(_typical((t.wakeup_latency for t in threads), "p99_us")),
        *(_BOTTLENECK_WEIGHT if profile.bottleneck == b else 0.0 for b in Bottleneck),
    )


def distance(a: Iterable[float], b: Iterable[float]) -> float:
    return math.dist(tuple(a), tuple(b))


# --- what reads come back as ---------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One verdict with what it was reached on: a row of `schedlang history list`."""

    id: int
    recorded: str
    workload: str
    candidate: str
    policy: str  # the policy's hash
    params: dict[str, int]
    outcome: str
    metric: str
    gain: float | None  # the candidate over the default, oriented: above 1 is better
    sentence: str
    synthesis: int | None


@dataclass(frozen=True)
class PastWinner:
    """A policy that won on a workload similar to the one asked about."""

    entry: Entry
    profile: int
    distance: float  # between the two profiles' feature vectors (`features`)
    source: str


class History:
    """An open store; `History.open()` is the usual way in. Use it as a context manager."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path

    @classmethod
    def open(cls, path: Path | None = None, *, create: bool = True) -> History:
        """The store at `path` (default `default_path()`), upgraded to this schedlang's
        schema. With `create=False` a missing store is a HistoryError instead of a new one.
        HistoryError, too, when the file is not a store this schedlang can read."""
        path = path or default_path()
        if not path.exists():
            if not create:
                raise HistoryError(f"no history yet: {path} does not exist")
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            raise HistoryError(f"{path}: not a schedlang history store ({exc})") from None
        store = cls(db, path)
        try:
            store._migrate()
        except BaseException:
            db.close()
            raise
        return store

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction that holds the write lock from its start, so a read-then-write
        (the upgrade, a find-or-insert) cannot interleave with another process's."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @property
    def version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        try:
            with self._write() as db:
                version = self.version
                if version > SCHEMA_VERSION:
                    raise HistoryError(
                        f"{self.path} was written by a newer schedlang (schema version "
                        f"{version}; this one reads up to {SCHEMA_VERSION}): upgrade schedlang"
                    )
                for step in MIGRATIONS[version:]:
                    for statement in step:
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise HistoryError(f"{self.path}: not a schedlang history store ({exc})") from None

    # --- writing --------------------------------------------------------------------------------

    def record_profile(self, profile: WorkloadProfile) -> int:
        """The profile's id; the same profile recorded twice is one row."""
        text = _canonical_json(profile.to_dict())
        digest = hashlib.sha256(text.encode()).hexdigest()
        with self._write() as db:
            row = db.execute("SELECT id FROM profiles WHERE digest = ?", (digest,)).fetchone()
            if row is not None:
                return int(row["id"])
            cursor = db.execute(
                "INSERT INTO profiles (recorded, digest, workload, profile, features) "
                "VALUES (?, ?, ?, ?, ?)",
                (_now(), digest, profile.workload, text, json.dumps(features(profile))),
            )
            return int(cursor.lastrowid or 0)

    def record_policy(self, source: str, name: str) -> str:
        """The policy's hash (`policy_hash`); the first name and text it was recorded with
        stay."""
        digest = policy_hash(source)
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO policies (hash, recorded, name, source) VALUES (?, ?, ?, ?)",
                (digest, _now(), name, source),
            )
        return digest

    def record_measurement(
        self,
        policy: str,
        params: dict[str, int],
        workload: str,
        samples: Iterable[Samples],
        *,
        profile: int | None = None,
        boot: dict[str, Any] | None = None,
    ) -> int:
        """A measurement of the recorded policy `policy` (its hash) with `params` on
        `workload`; `profile` is the workload's recorded profile, if there is one."""
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO measurements (recorded, policy, params, workload, profile, samples,"
                " boot) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    _now(),
                    policy,
                    _canonical_json(params),
                    workload,
                    profile,
                    json.dumps([asdict(s) for s in samples]),
                    json.dumps(boot or {}, default=str),
                ),
            )
            return int(cursor.lastrowid or 0)

    def record_verdict(self, verdict: Verdict, measurement: int) -> int:
        """The verdict reached on the recorded measurement `measurement`."""
        gain = verdict.vs_default.oriented()[0] if verdict.vs_default is not None else None
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO verdicts (recorded, measurement, outcome, metric, gain, sentence,"
                " verdict) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    _now(),
                    measurement,
                    verdict.outcome,
                    verdict.metric,
                    gain,
                    verdict.sentence,
                    json.dumps(verdict.to_dict()),
                ),
            )
            return int(cursor.lastrowid or 0)

    def record_synthesis(
        self,
        goal: Goal,
        summary: str,
        *,
        verdicts: Iterable[int] = (),
        winner: int | None = None,
        profile: int | None = None,
        seconds: float,
        vm_runs: int,
        tokens_in: int = 0,
        tokens_out: int = 0,
        cost_usd: float = 0.0,
    ) -> int:
        """One synthesis run: its goal, the one-paragraph `summary` it ended with, the
        recorded verdicts it reached (`winner` the kept one's), and what it cost."""
        if goal.workload is None:
            raise ValueError("a synthesis is recorded for a goal with its workload")
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO syntheses (recorded, goal, workload, profile, winner, summary,"
                " seconds, vm_runs, tokens_in, tokens_out, cost_usd)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _now(),
                    json.dumps(goal.to_dict()),
                    goal.workload,
                    profile,
                    winner,
                    summary,
                    seconds,
                    vm_runs,
                    tokens_in,
                    tokens_out,
                    cost_usd,
                ),
            )
            synthesis = int(cursor.lastrowid or 0)
            db.executemany(
                "UPDATE verdicts SET synthesis = ? WHERE id = ?",
                [(synthesis, v) for v in verdicts],
            )
            return synthesis

    # --- reading --------------------------------------------------------------------------------

    _ENTRIES = (
        "SELECT v.id, v.recorded, m.workload, p.name, p.hash, m.params, v.outcome, v.metric,"
        " v.gain, v.sentence, v.synthesis, m.profile, p.source"
        " FROM verdicts v JOIN measurements m ON m.id = v.measurement"
        " JOIN policies p ON p.hash = m.policy"
    )

    @staticmethod
    def _entry(row: sqlite3.Row) -> Entry:
        return Entry(
            id=row["id"],
            recorded=row["recorded"],
            workload=row["workload"],
            candidate=row["name"],
            policy=row["hash"],
            params=json.loads(row["params"]),
            outcome=row["outcome"],
            metric=row["metric"],
            gain=row["gain"],
            sentence=row["sentence"],
            synthesis=row["synthesis"],
        )

    def entries(self, workload: str | None = None) -> list[Entry]:
        """Every verdict, oldest first (on `workload` only, if given)."""
        where, args = (" WHERE m.workload = ?", (workload,)) if workload else ("", ())
        rows = self._db.execute(self._ENTRIES + where + " ORDER BY v.id", args).fetchall()
        return [self._entry(r) for r in rows]

    def winners(self, workload: str | None = None) -> list[Entry]:
        """The verdicts that kept their candidate, the largest gain over the default first."""
        where = " WHERE v.outcome = 'win'"
        args: tuple[str, ...] = ()
        if workload:
            where, args = where + " AND m.workload = ?", (workload,)
        rows = self._db.execute(
            self._ENTRIES + where + " ORDER BY v.gain DESC, v.id", args
        ).fetchall()
        return [self._entry(r) for r in rows]

    def show(self, verdict: int) -> dict[str, Any]:
        """Everything about one verdict: the entry, the policy's source, the measurement's
        runs and boot, the verdict's numbers, the synthesis it belongs to. HistoryError when
        there is no such verdict."""
        row = self._db.execute(self._ENTRIES + " WHERE v.id = ?", (verdict,)).fetchone()
        if row is None:
            count = self._db.execute("SELECT count(*) FROM verdicts").fetchone()[0]
            known = f"ids 1-{count}" if count else "the store has none yet"
            raise HistoryError(f"no entry {verdict} ({known}; see `schedlang history list`)")
        measurement = self._db.execute(
            "SELECT m.id, m.samples, m.boot, v.verdict FROM measurements m JOIN verdicts v"
            " ON v.measurement = m.id WHERE v.id = ?",
            (verdict,),
        ).fetchone()
        entry = self._entry(row)
        synthesis = None
        if entry.synthesis is not None:
            s = self._db.execute(
                "SELECT id, recorded, goal, summary, winner, seconds, vm_runs, tokens_in,"
                " tokens_out, cost_usd FROM syntheses WHERE id = ?",
                (entry.synthesis,),
            ).fetchone()
            synthesis = {**dict(s), "goal": json.loads(s["goal"])}
        return {
            "entry": asdict(entry),
            "profile": row["profile"],
            "source": row["source"],
            "measurement": {
                "id": measurement["id"],
                "samples": json.loads(measurement["samples"]),
                "boot": json.loads(measurement["boot"]),
            },
            "verdict": json.loads(measurement["verdict"]),
            "synthesis": synthesis,
        }

    def similar(self, profile: WorkloadProfile, k: int = 5) -> list[PastWinner]:
        """Up to `k` past winners, those on the most similar recorded profiles first (the
        Euclidean distance between `features` vectors; the larger gain first at equal
        distance). Only verdicts on measurements recorded with a profile take part. The
        vectors are stored as recorded: a change to `features` needs a migration step that
        recomputes them from the stored profiles."""
        target = features(profile)
        rows = self._db.execute(
            self._ENTRIES + " WHERE m.profile IS NOT NULL AND v.outcome = 'win'",
        ).fetchall()
        vectors = {
            r["id"]: json.loads(r["features"])
            for r in self._db.execute("SELECT id, features FROM profiles")
        }
        found = [
            PastWinner(self._entry(r), r["profile"], distance(target, vectors[r["profile"]]),
                       r["source"])
            for r in rows
            if len(vectors[r["profile"]]) == len(target)
        ]  # fmt: skip
        found.sort(key=lambda w: (w.distance, -(w.entry.gain or 0.0), w.entry.id))
        return found[:k]
