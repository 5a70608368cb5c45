"""The workload catalogue: real programs, sized for a TCG guest, and parsers of their output.

A comparison is only as honest as its workload, so every entry runs an unmodified tool
(hackbench, perf bench, stress-ng, cyclictest, make + gcc) and every metric is read from that
tool's own output. Sizes aim at roughly 1-5 s per run under TCG on an idle 2-core host, so a
same-boot A/B with a handful of repeats of one workload fits in about a minute.

Each metric says which direction is better, so the report can say "better"/"worse" without
knowing the tool. Parsers raise `WorkloadOutputError` when the output does not have what they
need (a tool that crashed or changed its format must not turn into a silent zero).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Better = Literal["lower", "higher"]


class WorkloadOutputError(ValueError):
    """A workload's output lacks a metric its parser needs."""


@dataclass(frozen=True)
class MetricSpec:
    name: str
    unit: str
    better: Better
    description: str


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    command: str  # run with `sh -c` in a scratch directory; `$(nproc)` etc. expand in the guest
    metrics: tuple[MetricSpec, ...]  # what `parse` returns; `wall_s` is added by the runner
    parse: Callable[[str], dict[str, float]]
    tools: tuple[str, ...]  # executables the command needs (checked before running)
    prepare: Callable[[Path], None] | None = None  # untimed setup in the scratch directory
    condense: Callable[[str], str] | None = None  # shrink the output kept in the results
    noisy_under_tcg: bool = False


# Every run's wall time, measured by the runner around the command (not parsed).
WALL = MetricSpec("wall_s", "s", "lower", "wall time of the whole command")


def _number(pattern: str, text: str, what: str) -> float:
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        raise WorkloadOutputError(f"no {what} in the output (looked for /{pattern}/)")
    return float(match.group(1))


# --- hackbench (rt-tests) ------------------------------------------------------------------


def parse_hackbench(output: str) -> dict[str, float]:
    """`Time: 1.436` is the time for all groups to pass all their messages."""
    return {"time_s": _number(r"^Time:\s*([0-9.]+)", output, "hackbench 'Time:' line")}


# --- perf bench sched messaging / pipe ------------------------------------------------------


def parse_perf_messaging(output: str) -> dict[str, float]:
    return {"time_s": _number(r"Total time:\s*([0-9.]+)\s*\[sec\]", output, "'Total time'")}


def parse_perf_pipe(output: str) -> dict[str, float]:
    return {
        "usecs_per_op": _number(r"^\s*([0-9.]+)\s+usecs/op", output, "'usecs/op' line"),
        "ops_per_s": _number(r"^\s*([0-9.]+)\s+ops/sec", output, "'ops/sec' line"),
    }


# --- stress-ng --------------------------------------------------------------------------------

# stress-ng: metrc: [4653] cpu   10948   2.00   3.97   0.01   5473.96   2754.90
_STRESS_ROW = re.compile(
    r"stress-ng: metrc: \[\d+\]\s+(?P<stressor>[a-z][\w-]*)\s+(?P<ops>\d+)\s+(?P<real>[0-9.]+)"
    r"\s+[0-9.]+\s+[0-9.]+\s+(?P<rate_real>[0-9.]+)\s+[0-9.]+"
)


def parse_stress_ng(output: str, stressor: str = "cpu") -> dict[str, float]:
    """Bogo-ops per second of wall time: how much work the hogs got done."""
    for match in _STRESS_ROW.finditer(output):
        if match.group("stressor") == stressor:
            return {
                "bogo_ops": float(match.group("ops")),
                "bogo_ops_per_s": float(match.group("rate_real")),
            }
    raise WorkloadOutputError(f"no stress-ng metrics row for stressor '{stressor}'")


# --- cyclictest (rt-tests), histogram mode ---------------------------------------------------


def _histogram_percentile(
    counts: list[tuple[int, int]], overflow: int, p: float, max_us: float
) -> float:
    """The smallest bucket value with at least p of all samples at or below it.

    Samples past the histogram's last bucket are only known to be <= the reported maximum,
    so a percentile that lands among them is reported as that maximum (an upper bound).
    """
    total = sum(n for _, n in counts) + overflow
    if total == 0:
        raise WorkloadOutputError("cyclictest histogram has no samples")
    need = p * total
    seen = 0
    for value, n in counts:
        seen += n
        if seen >= need:
            return float(value)
    return max_us


_ZERO_ROW = re.compile(r"^\d+(?:\s+0+)+$")


def condense_histogram(output: str) -> str:
    """Drop cyclictest's all-zero histogram rows (a 100 ms histogram has 100,000 rows, nearly
    all empty); the rows kept still parse to the same metrics."""
    kept = [line for line in output.splitlines() if not _ZERO_ROW.match(line)]
    dropped = len(output.splitlines()) - len(kept)
    return f"# [schedlang: {dropped} all-zero histogram rows omitted]\n" + "\n".join(kept)


# What cyclictest's histogram gives, read alone (cyclictest) and beside hogs (cyclictest-hogs).
CYCLICTEST_METRICS = (
    MetricSpec("p50_us", "us", "lower", "median wakeup latency"),
    MetricSpec("p99_us", "us", "lower", "99th percentile wakeup latency"),
    MetricSpec("max_us", "us", "lower", "worst wakeup latency"),
    MetricSpec("avg_us", "us", "lower", "mean wakeup latency"),
    MetricSpec("min_us", "us", "lower", "best wakeup latency"),
)


def parse_cyclictest(output: str) -> dict[str, float]:
    """Wakeup latency of a periodic timer thread per CPU (µs), from `-h` histogram output."""
    per_bucket: dict[int, int] = {}
    for line in output.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0].isdigit() and all(f.isdigit() for f in fields[1:]):
            per_bucket[int(fields[0])] = per_bucket.get(int(fields[0]), 0) + sum(
                int(f) for f in fields[1:]
            )
    if not per_bucket:
        raise WorkloadOutputError("no cyclictest histogram rows (was it run with -h?)")

    def row(label: str) -> list[int]:
        match = re.search(rf"^# {label}:((?:\s+\d+)+)\s*$", output, re.MULTILINE)
        if match is None:
            raise WorkloadOutputError(f"no '# {label}:' line in cyclictest output")
        return [int(v) for v in match.group(1).split()]

    mins, avgs, maxs = row("Min Latencies"), row("Avg Latencies"), row("Max Latencies")
    overflow = sum(row("Histogram Overflows"))
    counts = sorted(per_bucket.items())
    max_us = float(max(maxs))
    return {
        "p50_us": _histogram_percentile(counts, overflow, 0.50, max_us),
        "p99_us": _histogram_percentile(counts, overflow, 0.99, max_us),
        "max_us": max_us,
        "avg_us": sum(avgs) / len(avgs),
        "min_us": float(min(mins)),
    }


# --- a real parallel build (make -j + gcc) ----------------------------------------------------

# Four units: make, gcc's start-up and the link cost about 3-4 s under TCG whatever the size,
# and each unit about 0.8 s more (measured in one boot at load 7-8: 3 units 4.6-7.1 s, 4 units
# 4.5-8.3 s, 6 units 6.4-8.2 s, 12 units 12.4-14.7 s; -O0 instead of -O1 saved nothing).
BUILD_FILES = 4


def write_build_project(directory: Path, n_files: int = BUILD_FILES) -> None:
    """Write a small C project (n_files units + main + Makefile) into `directory`.

    Generated rather than shipped so that its size is one number; each unit has a few
    functions with loops and a switch, enough for gcc -O1 to do real work (~0.03 s per unit
    natively, ~0.8 s under TCG). The Makefile is plain make: `make -j` runs one gcc per unit.
    """
    directory.mkdir(parents=True, exist_ok=True)
    names = [f"unit{i:02d}" for i in range(n_files)]
    for i, name in enumerate(names):
        (directory / f"{name}.c").write_text(_unit_source(name, i))
    calls = "\n".join(f"    acc ^= {name}_run(acc + {i}u);" for i, name in enumerate(names))
    decls = "\n".join(f"unsigned {name}_run(unsigned seed);" for name in names)
    (directory / "main.c").write_text(
        f"#include <stdio.h>\n{decls}\n\nint main(void)\n{{\n    unsigned acc = 1;\n"
        f'{calls}\n    printf("%u\\n", acc);\n    return 0;\n}}\n'
    )
    objects = " ".join(f"{n}.o" for n in [*names, "main"])
    (directory / "Makefile").write_text(
        "CC = gcc\nCFLAGS = -O1 -Wall\n\n"
        f"app: {objects}\n\t$(CC) -o $@ $^\n\n"
        "%.o: %.c\n\t$(CC) $(CFLAGS) -c -o $@ $<\n\n"
        "clean:\n\trm -f *.o app\n"
    )


def _unit_source(name: str, seed: int) -> str:
    return f"""\
/* {name}: generated build workload unit */
struct {name}_state {{ unsigned a, b, c, d; }};

static unsigned {name}_mix(struct {name}_state *s, unsigned x)
{{
    for (int i = 0; i < 16; i++) {{
        switch ((x + i) & 3) {{
        case 0: s->a += x * {seed + 3}u; break;
        case 1: s->b ^= s->a >> (i & 7); break;
        case 2: s->c = s->c * 33u + s->b; break;
        default: s->d -= s->c | x; break;
        }}
        x = (x << 5) ^ (x >> 3) ^ s->d;
    }}
    return x;
}}

static void {name}_sort(unsigned *v, int n)
{{
    for (int i = 1; i < n; i++) {{
        unsigned key = v[i];
        int j = i - 1;
        while (j >= 0 && v[j] > key) {{
            v[j + 1] = v[j];
            j--;
        }}
        v[j + 1] = key;
    }}
}}

unsigned {name}_run(unsigned seed)
{{
    struct {name}_state s = {{ seed, seed * 3u, seed * 5u, seed * 7u }};
    unsigned v[64];
    for (int i = 0; i < 64; i++)
        v[i] = {name}_mix(&s, seed + (unsigned)i);
    {name}_sort(v, 64);
    return v[0] ^ v[63] ^ s.a ^ s.d;
}}
"""


def _prepare_build(scratch: Path) -> None:
    write_build_project(scratch / "build")


def parse_build(output: str) -> dict[str, float]:
    """The build's figure of merit is its wall time (measured by the runner); this only
    checks that make really built the program, so a failed build is not timed as fast."""
    if "-o app" not in output:
        raise WorkloadOutputError("make did not link 'app' (see the run's output)")
    return {}


def parse_mix(output: str) -> dict[str, float]:
    """The probe's round trip and the hogs' rate, from their interleaved output."""
    return {
        "usecs_per_op": parse_perf_pipe(output)["usecs_per_op"],
        "bogo_ops_per_s": parse_stress_ng(output)["bogo_ops_per_s"],
    }


# --- rt-app: the simulator's workload files, run by the real tool ------------------------------

RTAPP_PREFIX = "rt-app:"
_LOG_MARK = "@@rt-app-log "
# The columns of rt-app 1.0's per-thread log (doc/tutorial.txt, "Trace and Log"); times in µs.
_LOG_COLUMNS = (
    "idx", "perf", "run", "period", "start", "end", "rel_st", "slack", "c_duration", "c_period",
    "wu_lat",
)  # fmt: skip


def parse_rtapp_logs(output: str, finite_rows: dict[str, int]) -> dict[str, float]:
    """The simulator's figures (runtime/sim/metrics.py names) from rt-app's per-thread logs.

    `finite_rows` maps each task with a finite loop to the rows one of its threads logs when
    it finishes (one row per phase iteration). A row's end is `rel_st + (end - start)` from
    the start of the use case, as the simulator counts from its start. Wakeup latency and
    slack exist only where a timer ended the row (`c_period` > 0): rt-app measures the
    latency of timer wakeups, not of every wakeup as the simulator does.
    """
    logs: dict[str, list[list[int]]] = {}
    current: list[list[int]] | None = None
    for line in output.splitlines():
        if line.startswith(_LOG_MARK):
            stem = line[len(_LOG_MARK) :].strip().removesuffix(".log").removeprefix("rt-app-")
            current = logs.setdefault(stem, [])
        elif current is not None and line.strip() and not line.startswith("#"):
            fields = line.split()
            if len(fields) != len(_LOG_COLUMNS) or not all(f.lstrip("-").isdigit() for f in fields):
                raise WorkloadOutputError(f"not an rt-app log row: {line!r}")
            current.append([int(f) for f in fields])
    if not logs:
        raise WorkloadOutputError("no rt-app thread logs in the output")
    col = {name: i for i, name in enumerate(_LOG_COLUMNS)}
    rows = [r for rs in logs.values() for r in rs]
    ends = [r[col["rel_st"]] + r[col["end"]] - r[col["start"]] for r in rows]
    metrics: dict[str, float] = {}
    if rows:
        first = min(r[col["rel_st"]] for r in rows)
        work_s = sum(r[col["c_duration"]] for r in rows) / 1e6
        metrics["work_s"] = work_s
        metrics["throughput"] = work_s / max((max(ends) - first) / 1e6, 1e-6)
    finite = {stem: rs for stem, rs in logs.items() if stem.rsplit("-", 1)[0] in finite_rows}
    if finite and all(len(rs) >= finite_rows[s.rsplit("-", 1)[0]] for s, rs in finite.items()):
        metrics["makespan_s"] = (
            max(
                r[col["rel_st"]] + r[col["end"]] - r[col["start"]]
                for rs in finite.values()
                for r in rs
            )
            / 1e6
        )
    timed = [r for r in rows if r[col["c_period"]] > 0]
    if timed:
        lat = sorted(r[col["wu_lat"]] for r in timed)
        metrics["wakeup_p50_us"] = float(lat[max(0, -(-len(lat) * 50 // 100) - 1)])
        metrics["wakeup_p99_us"] = float(lat[max(0, -(-len(lat) * 99 // 100) - 1)])
        metrics["wakeup_max_us"] = float(lat[-1])
        metrics["activations"] = float(len(timed))
        metrics["deadline_misses"] = float(sum(1 for r in timed if r[col["slack"]] < 0))
        metrics["slack_min_us"] = float(min(r[col["slack"]] for r in timed))
    return metrics


def condense_rtapp(output: str) -> str:
    """Keep each thread log's header and first rows; the rest only as a count."""
    kept: list[str] = []
    rows = 0
    for line in output.splitlines():
        if line.startswith(_LOG_MARK):
            rows = 0
        elif line.strip() and not line.startswith("#"):
            rows += 1
            if rows > 5:
                continue
        kept.append(line)
    dropped = len(output.splitlines()) - len(kept)
    return f"# [schedlang: {dropped} rt-app log rows omitted]\n" + "\n".join(kept)


_RTAPP_METRICS = (
    MetricSpec("makespan_s", "s", "lower", "when the last finite-loop thread ended"),
    MetricSpec("throughput", "cpus", "higher", "configured run time done per second"),
    MetricSpec("work_s", "s", "higher", "configured run time of the rows logged"),
    MetricSpec("wakeup_p50_us", "us", "lower", "median timer wakeup latency (rt-app wu_lat)"),
    MetricSpec("wakeup_p99_us", "us", "lower", "99th percentile timer wakeup latency"),
    MetricSpec("wakeup_max_us", "us", "lower", "worst timer wakeup latency"),
    MetricSpec("activations", "", "higher", "timer periods reached"),
    MetricSpec("deadline_misses", "", "lower", "periods already over at the timer"),
    MetricSpec("slack_min_us", "us", "higher", "least slack before a timer"),
)


def rtapp_workload(spec: str) -> Workload:
    """`rt-app:FILE.json` or `rt-app:NAME` (a shipped simulator model, runtime/sim/workloads):
    the same file the simulator reads, run by the real rt-app in the scratch directory (its
    logs land there, rt-app's default `logdir`, and are printed after it for the parser).

    The file is read by the simulator's reader first, so a file the simulator rejects is
    rejected here too, with its line and column, and the parser knows which tasks finish.
    """
    from schedlang.runtime.sim import rtapp

    target = spec[len(RTAPP_PREFIX) :]
    try:
        model = rtapp.load(target)
        path = (
            Path(target)
            if "/" in target or target.endswith(".json")
            else rtapp.shipped_path(target)
        )
    except rtapp.WorkloadError as err:
        raise UnknownWorkloadError(spec, str(err)) from None
    path = path.resolve()  # the guest runs it from another directory
    finite_rows = {
        t.name: t.loop * sum(p.loop for p in t.phases)
        for t in model.threads
        if t.loop != -1 and all(p.loop != -1 for p in t.phases)
    }
    file = shlex.quote(str(path))
    command = (
        f"rt-app {file} > rt-app.out 2>&1; rc=$?; "
        f'for f in rt-app-*.log; do echo "{_LOG_MARK}$f"; cat "$f"; done; '
        "if [ $rc -ne 0 ]; then cat rt-app.out; fi; exit $rc"
    )
    return Workload(
        name=spec if target == model.name and "/" not in target else f"{RTAPP_PREFIX}{path}",
        description=f"rt-app {path.name}: {model.description}",
        command=command,
        metrics=_RTAPP_METRICS,
        parse=lambda output: parse_rtapp_logs(output, finite_rows),
        tools=("rt-app",),
        prepare=lambda scratch: None,  # a fresh scratch directory: no old logs
        condense=condense_rtapp,
    )


# --- analytics and compression on a generated corpus ------------------------------------------

# 2 MiB: xz -T2 -2 takes 1.4-2.0 s a run under TCG (256 KiB took 0.25-0.33 s); gzip -6 of
# this very compressible text stays fast (two at once: 0.45 s at 2 MiB, 0.6 s at 4 MiB, and
# -9 no slower), so the gzip workload compresses it four times over in each process.
CORPUS_BYTES = 2 * 1024 * 1024
# sort-join: 160k rows a file is about 1.7-1.9 s a run under TCG on an idle host (20k rows
# took 0.35-0.42 s, mostly sort's and join's start-up; 200k 2.2-2.3 s). The files share
# half their keys, JOIN_SHARED, which its suite file's correctness SLO states exactly.
JOIN_ROWS = 160_000
JOIN_SHARED = JOIN_ROWS // 2


def write_corpus(path: Path, size: int = CORPUS_BYTES, seed: int = 11) -> None:
    """Log-like text from a fixed LCG: compressible the way real logs are (repeated words,
    varying numbers), the same bytes on every run, no file shipped in the package."""
    words = ("sched", "wakeup", "enqueue", "dispatch", "cpu", "task", "slice", "vtime",
             "idle", "migrate", "tick", "runnable", "stopping", "quiescent")  # fmt: skip
    state = seed
    lines = []
    total = 0
    while total < size:
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        a, b, c = state % 14, (state >> 8) % 14, state >> 12
        line = f"{c % 100000:05d} {words[a]} pid={c % 4096} {words[b]} ns={c}\n"
        lines.append(line)
        total += len(line)
    path.write_text("".join(lines))


def _prepare_corpus(scratch: Path) -> None:
    write_corpus(scratch / "corpus.txt")


def _prepare_join(scratch: Path) -> None:
    """Two key-value files of JOIN_ROWS unique keys each, in scrambled order (each prime
    multiplier permutes 0..JOIN_ROWS-1), sharing exactly JOIN_SHARED keys."""
    for name, mult, offset in (("left.txt", 7919, 0), ("right.txt", 104729, JOIN_SHARED)):
        rows = ((i * mult) % JOIN_ROWS + offset for i in range(JOIN_ROWS))
        (scratch / name).write_text("".join(f"k{k:06d} {name[0]}{k}\n" for k in rows))


def parse_byte_count(output: str) -> dict[str, float]:
    """Compressors: the output size `wc -c` printed, so a failed compressor (0 bytes, or
    no line) is not timed as fast. The figure of merit is the wall time."""
    size = _number(r"^\s*([0-9]+)\s*$", output, "byte count from wc -c")
    if size <= 0:
        raise WorkloadOutputError("the compressor wrote nothing")
    return {}


def parse_sqlite(output: str) -> dict[str, float]:
    """The query script ends with `SELECT 'rows', count(*)`; both sessions must print it."""
    counts = [float(m) for m in re.findall(r"^rows\|([0-9]+)$", output, re.MULTILINE)]
    if len(counts) < 2 or min(counts) <= 0:
        raise WorkloadOutputError("sqlite3 did not print 'rows|N' for both sessions")
    return {}


def parse_join(output: str) -> dict[str, float]:
    """`join | wc -l`: the pipeline must have matched rows, or the sorts failed."""
    joined = _number(r"^\s*([0-9]+)\s*$", output, "joined line count from wc -l")
    if joined <= 0:
        raise WorkloadOutputError("join matched no rows (did the sorts fail?)")
    return {"joined_rows": joined}


def parse_vm_pressure(output: str) -> dict[str, float]:
    """Memory stressors' rate beside hackbench's time (latency under memory pressure)."""
    return {
        "time_s": parse_hackbench(output)["time_s"],
        "vm_bogo_ops_per_s": parse_stress_ng(output, "vm")["bogo_ops_per_s"],
    }


def parse_cyclictest_hogs(output: str) -> dict[str, float]:
    """cyclictest's wakeup latencies while CPU hogs run, and the hogs' rate."""
    return {
        **parse_cyclictest(output),
        "bogo_ops_per_s": parse_stress_ng(output)["bogo_ops_per_s"],
    }


def parse_pinned_noise(output: str) -> dict[str, float]:
    """hackbench's time while a CPU hog is pinned to CPU 0, and the hog's own rate."""
    return {
        "time_s": parse_hackbench(output)["time_s"],
        "bogo_ops_per_s": parse_stress_ng(output)["bogo_ops_per_s"],
    }


_SQL = (
    "CREATE TABLE t(id INTEGER PRIMARY KEY, g INTEGER, v INTEGER);"
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8000)"
    " INSERT INTO t SELECT i, i % 97, (i * 7919) % 10007 FROM n;"
    "CREATE INDEX t_g ON t(g);"
    "SELECT g, count(*), sum(v), max(v) FROM t GROUP BY g ORDER BY 3 DESC LIMIT 3;"
    "SELECT count(*) FROM t a JOIN t b ON a.g = b.g AND a.id < b.id AND b.id - a.id < 200;"
    "SELECT 'rows', count(*) FROM t;"
)

# --- servers and their load generators: nginx + wrk, redis-server + redis-benchmark ----------

# The guest's root is the host's, read-only: everything a server writes (pid file, temp
# directories, its socket) goes in the scratch directory, and its log goes to the output.
NGINX_PORT = 18080  # a fixed port nothing else here uses; a busy port fails the run, saying so
PAGE_BYTES = 4096
# `user root`: the workers keep the runner's user (root in the guest) instead of dropping to
# `nobody`, who cannot enter the runner's private temp directories.
_NGINX_CONF = f"""\
user root;
worker_processes 2;
daemon off;
pid nginx.pid;
error_log stderr;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    server {{
        listen 127.0.0.1:{NGINX_PORT};
        root html;
    }}
}}
"""


def _prepare_nginx(scratch: Path) -> None:
    """nginx.conf (paths relative to the scratch directory, nginx's prefix) and a 4 KiB page."""
    (scratch / "tmp").mkdir()
    (scratch / "html").mkdir()
    (scratch / "html" / "index.html").write_text(
        ("schedlang " * PAGE_BYTES)[: PAGE_BYTES - 1] + "\n"
    )
    (scratch / "nginx.conf").write_text(_NGINX_CONF)


def served(start: str, ready: str, client: str) -> str:
    """A shell command: start a server in the background, wait until `ready` (a shell test)
    holds, run `client`, and stop the server however the command ends (an EXIT trap: a failed
    client, a server that died, a server never ready). The command's exit code is the
    client's, or 1 with a line saying why when the server exited before it was ready, was not
    ready within 20 s, or died while the client ran (wrk counts the refused requests as
    socket errors and still exits 0)."""
    return (
        f"{start} & srv=$!; "
        "trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null' EXIT; "
        f"n=0; until {ready}; do "
        "kill -0 $srv 2>/dev/null || { echo 'schedlang: the server exited before it was ready'; "
        "exit 1; }; "
        "n=$((n + 1)); [ $n -le 400 ] || { echo 'schedlang: the server was not ready after 20 s'; "
        "exit 1; }; "
        f"sleep 0.05; done; {client}; rc=$?; "
        "kill -0 $srv 2>/dev/null || { echo 'schedlang: the server died during the run'; exit 1; }; "
        "exit $rc"
    )


_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _wrk_ms(value: str, unit: str) -> float:
    return float(value) * _WRK_UNITS[unit]


def parse_wrk(output: str) -> dict[str, float]:
    """wrk's `Requests/sec:` and its `--latency` distribution (50/75/90/99%, in us, ms or s).

    A run where nginx answered with errors (`Non-2xx or 3xx responses`) fails: its requests
    are fast because they did nothing. Socket errors are counted, not fatal: under load a
    connection can time out, and that is part of what a scheduler is measured on."""
    non2xx = re.search(r"^\s*Non-2xx or 3xx responses:\s*(\d+)", output, re.MULTILINE)
    if non2xx is not None:
        raise WorkloadOutputError(f"nginx answered {non2xx.group(1)} requests with an error")
    quantiles = {
        int(m.group(1)): _wrk_ms(m.group(2), m.group(3))
        for m in re.finditer(r"^\s+(50|90|99)%\s+([0-9.]+)(us|ms|s|m|h)\s*$", output, re.MULTILINE)
    }
    if set(quantiles) != {50, 90, 99}:
        raise WorkloadOutputError("no wrk latency distribution (was it run with --latency?)")
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    rate = _number(r"^Requests/sec:\s*([0-9.]+)", output, "'Requests/sec:' line")
    if rate <= 0:
        raise WorkloadOutputError("wrk completed no requests")
    return {
        "requests_per_s": rate,
        "p50_ms": quantiles[50],
        "p90_ms": quantiles[90],
        "p99_ms": quantiles[99],
        "socket_errors": float(sum(int(g) for g in errors.groups())) if errors else 0.0,
    }


# Per test (SET, then GET): 20,000 took 11-13 s a run under TCG at load 11 (3.5-4k req/s).
REDIS_REQUESTS = 8_000
_REDIS_ROW = re.compile(r'^"(SET|GET)","([0-9.]+)"((?:,"[0-9.]+"){6})\s*$', re.MULTILINE)


def parse_redis_benchmark(output: str) -> dict[str, float]:
    """redis-benchmark --csv: one row per test, `"test","rps","avg_latency_ms","min_latency_ms",
    "p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"`.

    `requests_per_s` is all requests over the time both tests took (each test makes the same
    number of requests, so it is the harmonic mean of the two rates), `p99_ms` the worse
    test's 99th percentile."""
    rows: dict[str, tuple[float, float]] = {}  # test -> (rps, p99_ms)
    for match in _REDIS_ROW.finditer(output):
        latencies = [float(v.strip('"')) for v in match.group(3).lstrip(",").split(",")]
        rows[match.group(1)] = (float(match.group(2)), latencies[4])
    if set(rows) != {"SET", "GET"}:
        missing = ", ".join(sorted({"SET", "GET"} - set(rows)))
        raise WorkloadOutputError(
            f"no redis-benchmark CSV row for {missing} (8 columns, as redis-benchmark 7 writes)"
        )
    if min(rps for rps, _ in rows.values()) <= 0:
        raise WorkloadOutputError("redis-benchmark reported 0 requests per second")
    set_rps, get_rps = rows["SET"][0], rows["GET"][0]
    return {
        "requests_per_s": 2 / (1 / set_rps + 1 / get_rps),
        "set_rps": set_rps,
        "get_rps": get_rps,
        "p99_ms": max(p99 for _, p99 in rows.values()),
    }


# --- the catalogue -----------------------------------------------------------------------------

_TIME = MetricSpec("time_s", "s", "lower", "tool-reported time to finish the fixed work")

WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            name="hackbench",
            description="hackbench: 2 groups x 40 processes passing 100 messages over sockets "
            "(wakeup-heavy throughput)",
            command="hackbench -g 2 -l 100",
            metrics=(_TIME,),
            parse=parse_hackbench,
            tools=("hackbench",),
        ),
        Workload(
            name="messaging",
            description="perf bench sched messaging: 2 groups of senders/receivers, 100 loops",
            command="perf bench sched messaging -g 2 -l 100",
            metrics=(_TIME,),
            parse=parse_perf_messaging,
            tools=("perf",),
        ),
        Workload(
            name="pipe",
            description="perf bench sched pipe: two processes ping-pong over a pipe "
            "(context-switch round trip)",
            command="perf bench sched pipe -l 1000",
            metrics=(
                MetricSpec("usecs_per_op", "us", "lower", "round trip per pipe operation"),
                MetricSpec("ops_per_s", "ops/s", "higher", "pipe operations per second"),
            ),
            parse=parse_perf_pipe,
            tools=("perf",),
        ),
        Workload(
            name="stress-cpu",
            description="stress-ng --cpu on every CPU for 2 s (pure CPU throughput)",
            command="stress-ng --cpu 0 --cpu-method int64 -t 2 --metrics-brief 2>&1",
            metrics=(
                MetricSpec("bogo_ops_per_s", "ops/s", "higher", "stress-ng bogo ops per second"),
                MetricSpec("bogo_ops", "ops", "higher", "stress-ng bogo ops in the run"),
            ),
            parse=parse_stress_ng,
            tools=("stress-ng",),
        ),
        Workload(
            name="cyclictest",
            description="cyclictest: one 1 ms periodic SCHED_OTHER thread per CPU for 2 s "
            "(timer wakeup latency; meaningless in absolute terms under TCG)",
            command="cyclictest -q -m -t -i 1000 -D 2 -h 100000",
            metrics=CYCLICTEST_METRICS,
            parse=parse_cyclictest,
            tools=("cyclictest",),
            condense=condense_histogram,
            noisy_under_tcg=True,
        ),
        Workload(
            name="build",
            description=f"make -j(2 x CPUs) of a generated {BUILD_FILES}-file C project, gcc -O1 "
            "(a real parallel build: many short CPU-bound processes)",
            command="make -C build -j$(($(nproc) * 2)) app 2>&1",
            metrics=(),
            parse=parse_build,
            tools=("make", "gcc"),
            prepare=_prepare_build,
        ),
        Workload(
            name="mix",
            description="stress-ng CPU hogs on every CPU for 3 s while perf bench sched pipe "
            "measures round trips (latency under load, and the hogs' throughput)",
            command="stress-ng --cpu 0 --cpu-method int64 -t 3 --metrics-brief 2>&1 & "
            "sleep 0.3; perf bench sched pipe -l 1000; wait",
            metrics=(
                MetricSpec("usecs_per_op", "us", "lower", "pipe round trip under CPU load"),
                MetricSpec("bogo_ops_per_s", "ops/s", "higher", "CPU hogs' bogo ops per second"),
            ),
            parse=parse_mix,
            tools=("stress-ng", "perf"),
        ),
        Workload(
            name="xz",
            description="xz -2 of a 2 MiB log-like corpus, two threads (CPU-bound batch)",
            command="xz -T2 -2 -c corpus.txt | wc -c",
            metrics=(),
            parse=parse_byte_count,
            tools=("xz", "wc"),
            prepare=_prepare_corpus,
        ),
        Workload(
            name="gzip",
            description="two processes at once, each gzip -6 of the corpus four times over "
            "(CPU-bound batch, one process per CPU)",
            command="for i in 1 2 3 4; do gzip -6 -c corpus.txt; done > a.gz & "
            "for i in 1 2 3 4; do gzip -6 -c corpus.txt; done > b.gz; wait; cat a.gz b.gz | wc -c",
            metrics=(),
            parse=parse_byte_count,
            tools=("gzip", "wc"),
            prepare=_prepare_corpus,
        ),
        Workload(
            name="sqlite",
            description="two sqlite3 sessions at once: build an 8k-row table, index it, "
            "group-by and a self-join (analytics)",
            command=f'sqlite3 :memory: "{_SQL}" & sqlite3 :memory: "{_SQL}"; wait',
            metrics=(),
            parse=parse_sqlite,
            tools=("sqlite3",),
        ),
        Workload(
            name="sort-join",
            description=f"sort two {JOIN_ROWS}-row files concurrently, then join them "
            "(a shell analytics pipeline)",
            command="sort -k1,1 left.txt > l.s & sort -k1,1 right.txt > r.s; wait; "
            "join l.s r.s | wc -l",
            metrics=(MetricSpec("joined_rows", "rows", "higher", "rows the join matched"),),
            parse=parse_join,
            tools=("sort", "join", "wc"),
            prepare=_prepare_join,
        ),
        Workload(
            name="mem-pressure",
            description="stress-ng --vm (2 x 24 MiB) for 2 s beside hackbench (wakeups "
            "under memory pressure)",
            command="stress-ng --vm 2 --vm-bytes 24M -t 2 --metrics-brief 2>&1 & "
            "sleep 0.3; hackbench -g 2 -l 100; wait",
            metrics=(
                _TIME,
                MetricSpec("vm_bogo_ops_per_s", "ops/s", "higher", "memory stressors' rate"),
            ),
            parse=parse_vm_pressure,
            tools=("stress-ng", "hackbench"),
        ),
        Workload(
            name="pinned-noise",
            description="a stress-ng CPU hog pinned to CPU 0 for 3 s while hackbench runs "
            "(perturbation: one CPU is taken)",
            command="taskset -c 0 stress-ng --cpu 1 --cpu-method int64 -t 3 --metrics-brief "
            "2>&1 & sleep 0.3; hackbench -g 2 -l 100; wait",
            metrics=(
                _TIME,
                MetricSpec("bogo_ops_per_s", "ops/s", "higher", "the pinned hog's bogo ops/s"),
            ),
            parse=parse_pinned_noise,
            tools=("stress-ng", "hackbench", "taskset"),
        ),
        Workload(
            name="cyclictest-hogs",
            description="cyclictest (one 1 ms periodic thread per CPU, 3 s) beside two "
            "stress-ng CPU hogs per CPU (wakeup latency of interactive work under load)",
            command="stress-ng --cpu $(($(nproc) * 2)) --cpu-method int64 -t 4 --metrics-brief "
            "2>&1 & sleep 0.3; cyclictest -q -m -t -i 1000 -D 3 -h 100000; wait",
            metrics=(
                *CYCLICTEST_METRICS,
                MetricSpec("bogo_ops_per_s", "ops/s", "higher", "CPU hogs' bogo ops per second"),
            ),
            parse=parse_cyclictest_hogs,
            tools=("stress-ng", "cyclictest"),
            condense=condense_histogram,
        ),
        Workload(
            name="nginx",
            description=f"nginx (2 workers) serving a {PAGE_BYTES // 1024} KiB page, wrk -t2 "
            "-c32 -d2s against it over loopback (a server: request rate and tail latency)",
            # The guest boots with its loopback down; on a host it is up already.
            command="ip link set lo up 2>/dev/null; "
            + served(
                'nginx -p "$PWD/" -c nginx.conf',
                "[ -s nginx.pid ]",  # written once nginx listens
                f"wrk -t2 -c32 -d2s --latency http://127.0.0.1:{NGINX_PORT}/",
            ),
            metrics=(
                MetricSpec("requests_per_s", "req/s", "higher", "requests served per second"),
                MetricSpec("p50_ms", "ms", "lower", "median request latency"),
                MetricSpec("p90_ms", "ms", "lower", "90th percentile request latency"),
                MetricSpec("p99_ms", "ms", "lower", "99th percentile request latency"),
                MetricSpec("socket_errors", "", "lower", "connect/read/write errors and timeouts"),
            ),
            parse=parse_wrk,
            tools=("nginx", "wrk", "ip"),
            prepare=_prepare_nginx,
        ),
        Workload(
            name="redis",
            description=f"redis-server (persistence off) on a unix socket, redis-benchmark "
            f"-c 20 -n {REDIS_REQUESTS} -t set,get (a single-threaded server and its clients)",
            command=served(
                'redis-server --port 0 --unixsocket "$PWD/redis.sock" --save "" '
                '--appendonly no --dir "$PWD" --loglevel warning',
                "[ -S redis.sock ]",  # created once redis listens
                f"redis-benchmark -s redis.sock -c 20 -n {REDIS_REQUESTS} -t set,get --csv",
            ),
            metrics=(
                MetricSpec("requests_per_s", "req/s", "higher", "SET and GET requests per second"),
                MetricSpec("set_rps", "req/s", "higher", "SET requests per second"),
                MetricSpec("get_rps", "req/s", "higher", "GET requests per second"),
                MetricSpec("p99_ms", "ms", "lower", "99th percentile latency, the worse test's"),
            ),
            parse=parse_redis_benchmark,
            tools=("redis-server", "redis-benchmark"),
            prepare=lambda scratch: None,  # a fresh scratch directory: no old socket
        ),
    )
}


class UnknownWorkloadError(KeyError):
    def __init__(self, name: str, why: str | None = None) -> None:
        if why is not None:
            self.message = f"workload '{name}': {why}"
        else:
            import difflib  # only for this hint: kept out of the guest runners' start

            close = difflib.get_close_matches(name, list(WORKLOADS), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            self.message = (
                f"unknown workload '{name}'{hint} (known: {', '.join(WORKLOADS)}, "
                f"or {RTAPP_PREFIX}FILE.json / {RTAPP_PREFIX}MODEL)"
            )
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def get(name: str) -> Workload:
    if name.startswith(RTAPP_PREFIX):
        return rtapp_workload(name)
    try:
        return WORKLOADS[name]
    except KeyError:
        raise UnknownWorkloadError(name) from None


def metric_specs(workload: Workload) -> tuple[MetricSpec, ...]:
    """The metrics a run of `workload` reports: the tool's own, then the wall time."""
    return (*workload.metrics, WALL)
