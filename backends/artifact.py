"""What a backend hands to the runtime: the files of one compiled policy.

The runtime reads only this (and the manifest it points at), never the DSL or the C, so a
hand-written object with a manifest beside it runs through the same path as a compiled policy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schedlang.literals import LiteralError, tunable


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


def param_value(spec: Mapping[str, Any], raw: Any) -> int:
    """The value of a `--param` override for the manifest param `spec`, range-checked.

    Text is read as a literal of the param's type (schedlang.literals.tunable, the reader
    `compile --param` uses too); an int from the Python API is taken as it is. LiteralError
    (a ValueError) says the text is malformed, a plain ValueError that it is out of range."""
    name = spec["name"]
    if isinstance(raw, int):
        value = raw
    else:
        try:
            value = tunable(str(raw), str(spec.get("type")))
        except LiteralError as err:
            raise LiteralError(f"parameter {name}={raw!r}: {err} ({err.hint})", err.hint) from None
    low, high = spec.get("min"), spec.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"parameter {name}={value} is outside its range [{low}, {high}]")
    return value
