"""The public functions stay callable whatever the package has imported.

A submodule import binds the submodule's name on the package, so a module named like a
public function (`schedlang/parse.py` beside `schedlang.parse()`) replaced the function as
soon as anything imported it: `schedlang.check(...)` followed by `schedlang.parse(...)` raised
"'module' object is not callable". Each check runs in a fresh interpreter so the order of
imports is the one a user's program has.
"""

from __future__ import annotations

import subprocess
import sys

POLICY = 'scheduler p "d" { on enqueue(t, flags) { insert t into global slice 5ms } }'


def test_no_submodule_shadows_a_public_name() -> None:
    probe = (
        "import importlib, pkgutil, types, schedlang\n"
        "for m in pkgutil.iter_modules(schedlang.__path__):\n"
        "    importlib.import_module('schedlang.' + m.name)\n"
        "print([n for n in schedlang.__all__\n"
        "       if isinstance(getattr(schedlang, n), types.ModuleType)])\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_parse_after_check() -> None:
    probe = (
        "import schedlang\n"
        f"assert schedlang.check({POLICY!r}) == []\n"
        f"print(schedlang.parse({POLICY!r}).name)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "p"
