"""Checker passes over the IR (the safety rules); the pipeline order lives in RULES.

typecheck (AST -> IR) always runs first, in schedlang.checker; the rules below run only
on a program that typechecked, and all of them run so every error of a file is reported.
"""

from __future__ import annotations

from collections.abc import Callable

from schedlang import ir
from schedlang.diagnostics import Diagnostics

Rule = Callable[[ir.Program, Diagnostics], dict[str, object]]

RULES: tuple[tuple[str, Rule], ...] = ()
