"""Every benchmark test signs with a key of its own: sealing (the runner seals at the end of a
run) makes a key in `$XDG_DATA_HOME`, which must never be the user's real data directory."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home
