"""The parser's table cache: never in the shared temp dir, only in a dir no one else can write.

Lark unpickles its cache file, so a file another user can plant or edit would run their code
in our process. Each test builds the parser in a fresh interpreter (the parser is built once
per process) with an audit hook recording every file opened.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
from schedlang.syntax import parse
tree = parse('scheduler p "d" { }')
print(json.dumps({"name": tree.name, "opened": opened}))
"""


def _build_parser(tmp: Path, cache_home: Path) -> tuple[str, list[str]]:
    env = {
        **os.environ,
        "TMPDIR": str(tmp),
        "XDG_CACHE_HOME": str(cache_home),
        "PYTHONPATH": str(ROOT),
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout)
    return result["name"], result["opened"]


def test_tables_live_in_a_private_cache_dir_not_the_temp_dir(tmp_path: Path) -> None:
    tmp, cache_home = tmp_path / "tmp", tmp_path / "cache"
    tmp.mkdir()
    # What Lark's cache=True would have unpickled: planted where the old code looked.
    (tmp / ".lark_cache_planted.tmp").write_bytes(b"not a pickle")
    for _ in range(2):  # the first run writes the tables, the second reads them
        name, opened = _build_parser(tmp, cache_home)
        assert name == "p"
        assert not [p for p in opened if p.startswith(str(tmp))]
    assert sorted(p.name for p in tmp.iterdir()) == [".lark_cache_planted.tmp"]
    cache_dir = cache_home / "schedlang"
    assert cache_dir.stat().st_mode & 0o777 == 0o700
    (table,) = cache_dir.iterdir()
    assert table.name.startswith("parser-") and table.stat().st_mode & 0o777 == 0o600
    assert str(table) in opened  # the second run read the tables it cached


def test_a_cache_dir_others_can_write_is_not_used(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache" / "schedlang"
    cache_dir.mkdir(parents=True)
    cache_dir.chmod(0o777)
    name, opened = _build_parser(tmp_path, tmp_path / "cache")
    assert name == "p"
    assert list(cache_dir.iterdir()) == []
    assert not [p for p in opened if p.startswith(str(cache_dir))]


def test_a_cache_file_others_can_write_is_never_read(tmp_path: Path) -> None:
    cache_home = tmp_path / "cache"
    _build_parser(tmp_path, cache_home)
    (table,) = (cache_home / "schedlang").iterdir()
    table.chmod(0o666)
    name, opened = _build_parser(tmp_path, cache_home)
    assert name == "p"
    assert str(table) not in opened


def test_a_symlinked_cache_dir_is_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "schedlang").symlink_to(elsewhere)
    name, opened = _build_parser(tmp_path, tmp_path / "cache")
    assert name == "p"
    assert list(elsewhere.iterdir()) == []
