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

_DURATION_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_BOOL_WORDS = {"true": 1, "false": 0}


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

    An integer; for a `duration` param also `5ms`, `200us`, `1s` (stored in ns); for a C
    `bool` also `true`/`false`. ValueError says what is wrong."""
    name, kind = spec["name"], spec.get("type")
    text = str(raw).strip()
    value: int | None = None
    if kind == "duration":
        for suffix in ("ns", "us", "ms", "s"):
            number = text.removesuffix(suffix)
            if number != text and number.strip().isdigit():
                value = int(number) * _DURATION_NS[suffix]
                break
    if kind == "bool" and text.lower() in _BOOL_WORDS:
        value = _BOOL_WORDS[text.lower()]
    if value is None:
        try:
            value = int(text)
        except ValueError:
            hint = {"duration": " or a duration such as 5ms, 200us", "bool": " or true/false"}
            raise ValueError(
                f"parameter {name}={raw!r}: expected an integer{hint.get(str(kind), '')}"
            ) from None
    low, high = spec.get("min"), spec.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"parameter {name}={value} is outside its range [{low}, {high}]")
    return value
