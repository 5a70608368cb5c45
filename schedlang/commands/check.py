"""`schedlang check FILE...`: prove policies safe, or say precisely why not.

Each file ends in one status, which `--format json` reports per file and the exit code
reports for the worst of them (see EXIT): `ok` (proven; the facts the checker proved come
with it), `diagnostics` (the policy has errors), `unreadable` (the OS error says why) or
`internal-error` (a bug in schedlang; see internal_error.py). Text output prints the
diagnostics, and for a proven policy a line `FILE: ok (NAME)` followed by its facts.
"""

from __future__ import annotations

import argparse
import errno
import pprint
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from schedlang import ir
from schedlang.checker import PASS_NAMES, Dump, check_path
from schedlang.commands import internal_error
from schedlang.diagnostics import Diagnostic, render_all, render_json
from schedlang.source import SourceFile
from schedlang.units import format_duration

HELP = "type-check and prove a policy safe"

Status = Literal["ok", "diagnostics", "unreadable", "internal-error"]
# The exit code of each status; a run over several files exits with the largest.
EXIT: dict[Status, int] = {
    "ok": 0,
    "diagnostics": 1,
    "unreadable": 2,
    "internal-error": internal_error.EXIT_CODE,
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="policy source (.sched)")
    p.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default text)"
    )
    p.add_argument(
        "--dump-after",
        choices=PASS_NAMES,
        metavar="PASS",
        help=f"print the output of a pass ({', '.join(PASS_NAMES)}) to stderr",
    )


@dataclass
class FileResult:
    """How checking one file ended (`compile` starts from the same)."""

    path: str
    status: Status
    checked: ir.CheckedProgram | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    source: SourceFile | None = None
    error: dict[str, Any] | None = None  # unreadable / internal-error: what went wrong
    exception: Exception | None = None
    imported: dict[str, SourceFile] = field(default_factory=dict)  # files its imports read

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.path, "status": self.status}
        if self.checked is not None:
            out["policy"] = self.checked.program.name
            out["facts"] = self.checked.facts
        if self.error is not None:
            out["error"] = self.error
        out["diagnostics"] = self.diagnostics
        return out


def check_file(path: str, dump: Dump | None = None) -> FileResult:
    try:
        checked, diags = check_path(path, dump=dump)
    except OSError as err:
        return FileResult(path, "unreadable", error=unreadable(err))
    except Exception as exc:  # a bug in a pass: report it as one, keep checking the others
        return FileResult(path, "internal-error", error=internal_error.record(exc), exception=exc)
    status: Status = "ok" if checked is not None else "diagnostics"
    return FileResult(path, status, checked, list(diags), diags.source, imported=diags.imported)


def unreadable(err: OSError) -> dict[str, Any]:
    """The error record of a file that cannot be read: the OS's reason and its errno name."""
    reason = err.strerror or str(err)
    return {"kind": "unreadable", "message": reason, "errno": errno.errorcode.get(err.errno or 0)}


def worst(statuses: list[Status]) -> Status:
    return max(statuses, key=EXIT.__getitem__, default="ok")


def run(args: argparse.Namespace) -> int:
    def dump(name: str, output: object) -> None:
        if name != args.dump_after:
            return
        try:
            text = pprint.pformat(output, width=100)
        except RecursionError:  # pprint recurses once per `else if` link of a long chain
            text = f"schedlang check: the {name} output nests too deeply to print"
        print(text, file=sys.stderr)

    results = [check_file(path, dump) for path in args.files]
    status = worst([r.status for r in results])
    if args.format == "json":
        print(render_json({"status": status, "files": [r.to_dict() for r in results]}))
    for r in results:
        if args.format == "text":
            print_text(r)
        if r.status == "unreadable" and r.error:
            print(f"schedlang check: cannot read {r.path}: {r.error['message']}", file=sys.stderr)
        if r.exception is not None:
            internal_error.report(
                r.exception, "check", f"while checking {r.path}", debug=args.debug
            )
    return EXIT[status]


def print_text(r: FileResult) -> None:
    print_diagnostics(r)
    if r.checked is not None:
        print(f"{r.path}: ok ({r.checked.program.name})")
        for line in fact_lines(r.checked.facts):
            print(f"  {line}")


def print_diagnostics(r: FileResult) -> None:
    """Each diagnostic with its source line (one in a C policy's header without)."""
    if r.diagnostics:
        own = {r.source.path: r.source} if r.source else {}
        print(render_all(r.diagnostics, {**r.imported, **own}))


def fact_lines(facts: Mapping[str, object]) -> list[str]:
    """The checker's facts as sentences, e.g. `instructions: enqueue <= 47, ...`. Facts this
    function does not know (a new pass's) are still printed, as `name: value`."""
    rest = dict(facts)
    lines = []
    instructions, budget = rest.pop("instructions", None), rest.pop("instruction_budget", None)
    if isinstance(instructions, Mapping) and instructions:
        per = ", ".join(f"{cb} <= {n}" for cb, n in instructions.items())
        lines.append(
            f"instructions: {per}"
            + (f" (estimated; budget {budget} per callback)" if budget else "")
        )
    memory, budget = rest.pop("memory_bytes", None), rest.pop("memory_budget", None)
    if isinstance(memory, int):
        lines.append(
            f"memory: {_size(memory)} of maps, arrays and task storage"
            + (f" (budget {_size(budget)})" if isinstance(budget, int) else "")
        )
    proven = []
    for key, one, many, what in (
        ("indices_proven", "array index", "array indices", "in range"),
        ("divisions_proven", "divisor", "divisors", "non-zero"),
        ("cpu_values_proven", "cpu value", "cpu values", "below the CPU limit"),
    ):
        n = rest.pop(key, None)
        if isinstance(n, int):
            proven.append(f"{n} {one if n == 1 else many} {what}")
    if proven:
        lines.append("proven: " + ", ".join(proven))
    paths = rest.pop("paths", None)
    if isinstance(paths, Mapping) and paths:
        # a count past a million says only "many" (finding #22 printed a 121-digit number)
        lines.append(
            "paths checked: "
            + ", ".join(f"{cb} {n if n <= 10**6 else 'more than 10^6'}" for cb, n in paths.items())
        )
    queues = rest.pop("queues", None)
    if isinstance(queues, Mapping):
        lines.append(
            "declared queues: "
            + (", ".join(f"{q} ({kind})" for q, kind in queues.items()) or "none")
        )
    slice_ns = rest.pop("min_slice_ns", None)
    if isinstance(slice_ns, int):
        lines.append(f"slices: at least {format_duration(slice_ns)}")
    for key, value in rest.items():
        if isinstance(value, Mapping):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
        lines.append(f"{key.replace('_', ' ')}: {value}")
    return lines


def _size(n: int) -> str:
    """`64 MiB`, `2.5 MiB`, `12.0 KiB`, `300 bytes`."""
    if n >= 1 << 20:
        return f"{n >> 20} MiB" if n % (1 << 20) == 0 else f"{n / (1 << 20):.1f} MiB"
    return f"{n / 1024:.1f} KiB" if n >= 1024 else f"{n} bytes"
