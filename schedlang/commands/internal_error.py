"""Internal errors: an exception schedlang did not expect is a bug in schedlang, not a
problem with the input, and must not look like one.

Exit 1 means "the policy has problems", and an agent acts on it by editing the policy; a
crash reported that way sends it repairing a policy that may be fine. So an unexpected
exception exits with EXIT_CODE (3), says it is a bug and how to report it, and under
`--format json` is a record of kind `internal-error`. The traceback goes to stderr only with
`--debug` or SCHEDLANG_DEBUG=1: to an agent and to most users it is noise.
"""

from __future__ import annotations

import os
import sys

EXIT_CODE = 3
DEBUG_ENV = "SCHEDLANG_DEBUG"
HINT = (
    "this is a bug in schedlang, not a problem with the input: please report it with the "
    f"input and this message (run again with --debug or {DEBUG_ENV}=1 for the traceback)"
)


def _exception_name(exc: BaseException) -> str:
    cls = type(exc)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


def record(exc: BaseException) -> dict[str, str]:
    """The JSON form: what kind of failure, which exception, its message, what to do."""
    return {
        "kind": "internal-error",
        "exception": _exception_name(exc),
        "message": str(exc) or _exception_name(exc),
        "hint": HINT,
    }


def report(exc: BaseException, command: str, what: str = "", *, debug: bool = False) -> None:
    """Tell the user on stderr (`what`: e.g. "while checking fair.sched"), with the
    traceback when asked for."""
    if debug or os.environ.get(DEBUG_ENV, "") not in ("", "0"):
        import traceback  # only here: the import costs every run a few milliseconds

        traceback.print_exception(exc, file=sys.stderr)
    where = f" {what}" if what else ""
    print(
        f"schedlang {command}: internal error{where}: {_exception_name(exc)}: {exc}\n  help: {HINT}",
        file=sys.stderr,
    )
