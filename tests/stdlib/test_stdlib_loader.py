"""The loader API agents use to list and fetch library policies, and the packaging that
ships them inside the wheel."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import pytest

import schedlang.stdlib as stdlib

ROOT = Path(__file__).resolve().parents[2]


def test_names_lists_every_policy_file_sorted() -> None:
    on_disk = sorted(p.stem for p in (ROOT / "stdlib").glob("*.sched"))
    assert stdlib.names() == on_disk
    assert len(on_disk) >= 12


def test_source_returns_the_file_text() -> None:
    for name in stdlib.names():
        assert stdlib.source(name) == (ROOT / "stdlib" / f"{name}.sched").read_text()


def test_unknown_name_is_a_key_error_listing_the_library() -> None:
    with pytest.raises(KeyError) as err:
        stdlib.source("no_such_policy")
    assert "simple_fifo" in str(err.value)


@pytest.mark.parametrize("bad", ["../pyproject", "simple_fifo.sched", ""])
def test_names_outside_the_library_are_refused(bad: str) -> None:
    with pytest.raises(KeyError):
        stdlib.source(bad)


def test_package_data_ships_the_policies() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["schedlang.stdlib"]
    for name in stdlib.names():
        assert any(fnmatch.fnmatch(f"{name}.sched", pat) for pat in patterns), name
