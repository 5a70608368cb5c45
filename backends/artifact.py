"""What a backend hands to the runtime: the files of one compiled policy.

The runtime reads only this (and the manifest it points at), never the DSL or the C, so a
hand-written object with a manifest beside it runs through the same path as a compiled policy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Artifact:
    name: str
    c_path: Path | None
    object_path: Path
    manifest_path: Path
    manifest: dict[str, Any]

    @classmethod
    def from_object(cls, object_path: Path) -> Artifact:
        """Open `X.bpf.o` with its manifest `X.json` beside it (the layout `compile` writes)."""
        object_path = Path(object_path)
        stem = object_path.name.removesuffix(".o").removesuffix(".bpf")
        manifest_path = object_path.with_name(stem + ".json")
        manifest = json.loads(manifest_path.read_text())
        c_path = object_path.with_name(stem + ".bpf.c")
        return cls(
            name=str(manifest["policy"]),
            c_path=c_path if c_path.exists() else None,
            object_path=object_path,
            manifest_path=manifest_path,
            manifest=manifest,
        )
