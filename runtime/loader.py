"""Load a compiled policy into the running sched_ext kernel, watch it, and take it out again.

Runs where the kernel is (the sandbox guest, or a sched_ext host) and needs nothing but the
object and its manifest (docs/internals.md): open the object with libbpf, write tunables into
the `.rodata.params` map's initial value, load (the verifier runs here; its log is captured),
attach the struct_ops map named by the manifest, and wait until the kernel says the policy is
enabled. Stats come from the `.data.stats` map, decoded by the manifest's field list (a
hand-written C policy may have none). Detaching (or noticing that the kernel already ejected
the policy) yields an `ExitInfo`: from the policy's exit record, else from the kernel log.

A failed load or attach raises `LoadError` and changes nothing in the kernel: the object is
closed before anything was attached, so whatever scheduler ran before still runs.

`python3 -m schedlang.runtime.loader OBJ [--param k=v] [--hold S | --run CMD]` does one
load/measure/unload cycle and prints the result as JSON.
"""

from __future__ import annotations

import ctypes
import json
import struct
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any

from schedlang.backends.artifact import Artifact, param_value
from schedlang.runtime import libbpf as libbpf_mod
from schedlang.runtime.exitinfo import ExitInfo, KernelLog, from_kernel_log, kind_name
from schedlang.runtime.verifier_log import VerifierPosition, error_position

SCX_DIR = Path("/sys/kernel/sched_ext")
ENABLE_WAIT_S = 20.0  # TCG guests can take seconds to switch every task over
DISABLE_WAIT_S = 20.0
EXIT_RECORD_WAIT_S = 2.0
POLL_S = 0.01

MANIFEST_KEYS = ("policy", "ops_map")  # what the loader cannot do without

StatValue = int | list[int] | str


class LoadError(RuntimeError):
    """The policy did not get loaded; the kernel is as it was.

    `stage`: "open", "params", "load" (verifier) or "attach". `verifier_log`: libbpf's and the
    verifier's messages. `position`: where the verifier complained, in C and in the DSL.
    """

    def __init__(
        self,
        message: str,
        *,
        stage: str,
        errno: int = 0,
        verifier_log: str = "",
        position: VerifierPosition | None = None,
    ) -> None:
        super().__init__(message)
        self.stage = stage
        self.errno = errno
        self.verifier_log = verifier_log
        self.position = position


# --- sysfs -------------------------------------------------------------------------------


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def scx_state() -> str:
    """`enabled`, `disabled`, `enabling`, ... or `unsupported` when the kernel has no sched_ext."""
    return _read(SCX_DIR / "state") or "unsupported"


def scx_ops() -> str | None:
    """Name of the loaded policy (root/ops exists only while one is loaded)."""
    return _read(SCX_DIR / "root" / "ops")


def scx_sysfs() -> dict[str, str]:
    """Every readable file under /sys/kernel/sched_ext, by relative path."""
    out: dict[str, str] = {}
    if SCX_DIR.is_dir():
        for path in sorted(SCX_DIR.rglob("*")):
            value = _read(path) if path.is_file() else None
            if value is not None:
                out[str(path.relative_to(SCX_DIR))] = value
    return out


def _wait(predicate: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
    return True


# --- params and stats --------------------------------------------------------------------


_INT_FORMATS = {1: "b", 2: "h", 4: "i", 8: "q"}


def param_section(manifest: Mapping[str, Any], spec: Mapping[str, Any]) -> str:
    """The data section (map) holding tunable `spec`: its own `section`, else the manifest's."""
    return str(spec.get("section") or manifest.get("params_section", ".rodata.params"))


def _param_format(spec: Mapping[str, Any]) -> str:
    fmt = _INT_FORMATS.get(int(spec.get("size", 8)))
    if fmt is None:
        raise LoadError(
            f"parameter {spec['name']}: size {spec.get('size')} is not 1, 2, 4 or 8 bytes",
            stage="params",
        )
    return "<" + (fmt if spec.get("signed") else fmt.upper())


def encode_params(manifest: Mapping[str, Any], initial: bytes, values: Mapping[str, int]) -> bytes:
    """`initial` with each named tunable replaced; names and ranges checked against the manifest.

    `initial` is the one section all of `values` live in (`param_section`)."""
    specs = {p["name"]: p for p in manifest.get("params", [])}
    data = bytearray(initial)
    for name, value in values.items():
        spec = specs.get(name)
        if spec is None:
            known = ", ".join(specs) or "none"
            raise LoadError(
                f"unknown parameter {name!r} (this policy has: {known})", stage="params"
            )
        if isinstance(value, bool) or not isinstance(value, int):
            raise LoadError(f"parameter {name}: {value!r} is not an integer", stage="params")
        low, high = spec.get("min"), spec.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            raise LoadError(f"parameter {name}={value} is outside [{low}, {high}]", stage="params")
        fmt = _param_format(spec)
        offset, size = int(spec["offset"]), int(spec.get("size", 8))
        if offset + size > len(data):
            raise LoadError(
                f"parameter {name}: manifest offset {offset}/size {size} do not fit", stage="params"
            )
        try:
            struct.pack_into(fmt, data, offset, value)
        except struct.error as exc:
            raise LoadError(f"parameter {name}={value}: {exc}", stage="params") from exc
    return bytes(data)


def decode_params(
    manifest: Mapping[str, Any], data: bytes, section: str | None = None
) -> dict[str, int]:
    """Tunable values from a params section's bytes (only that section's, if `section`)."""
    out = {}
    for spec in manifest.get("params", []):
        if section is None or param_section(manifest, spec) == section:
            out[spec["name"]] = struct.unpack_from(_param_format(spec), data, int(spec["offset"]))[
                0
            ]
    return out


def decode_stats(fields: list[Mapping[str, Any]], data: bytes) -> dict[str, StatValue]:
    """Stats struct bytes -> {field: int | [int] | str} as the manifest describes them."""
    out: dict[str, StatValue] = {}
    for field in fields:
        offset, count, kind = int(field["offset"]), int(field.get("count", 1)), field["type"]
        if kind == "char":
            out[field["name"]] = (
                data[offset : offset + count].split(b"\0", 1)[0].decode(errors="replace")
            )
            continue
        values = list(struct.unpack_from(f"<{count}{'q' if kind == 's64' else 'Q'}", data, offset))
        out[field["name"]] = values[0] if count == 1 else values
    return out


# --- the loaded policy ----------------------------------------------------------------------


class LoadedPolicy:
    """A policy the kernel runs. Use as a context manager: leaving the block always detaches."""

    def __init__(self, lib: libbpf_mod.Libbpf, obj: int, link: int, manifest: Mapping[str, Any],
                 kmsg: KernelLog, started: float, load_s: float, verifier_log: str) -> None:  # fmt: skip
        self._lib = lib
        self._obj: int | None = obj
        self._link: int | None = link
        self.manifest = manifest
        self.name = str(manifest["policy"])
        self.started = started
        self.load_s = load_s
        self.attach_s = 0.0
        self.load_log = verifier_log
        self._kmsg = kmsg
        self._exit: ExitInfo | None = None

    def __enter__(self) -> LoadedPolicy:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.detach()

    def state(self) -> str:
        return scx_state()

    def ejected(self) -> bool:
        """True once the kernel has disabled this policy without us detaching it."""
        return self._link is not None and (scx_state() != "enabled" or scx_ops() != self.name)

    def _map_bytes(self, section: str) -> bytes:
        if self._obj is None:
            raise RuntimeError(f"{self.name}: already detached")
        lib = self._lib
        map_ptr = lib.bpf_object__find_map_by_name(self._obj, section.encode())
        if not map_ptr:
            raise RuntimeError(f"{self.name}: the object has no map {section!r}")
        size = int(lib.bpf_map__value_size(map_ptr))
        key = ctypes.c_uint32(0)
        value = ctypes.create_string_buffer(size)
        err = lib.bpf_map__lookup_elem(map_ptr, ctypes.byref(key), 4, value, size, 0)
        if err:
            raise RuntimeError(f"{self.name}: reading map {section}: {lib.strerror(err)}")
        return value.raw

    def stats(self) -> dict[str, StatValue]:
        """The policy's counters now (`.data.stats`, decoded per the manifest); `{}` for a C
        policy without the stats contract."""
        if not self.manifest.get("stats"):
            return {}
        section = self.manifest.get("stats_section", ".data.stats")
        return decode_stats(self.manifest["stats"]["fields"], self._map_bytes(section))

    def params(self) -> dict[str, int]:
        """Tunable values as the kernel holds them (read back from the loaded rodata maps)."""
        out: dict[str, int] = {}
        specs = self.manifest.get("params", [])
        for section in dict.fromkeys(param_section(self.manifest, p) for p in specs):
            out.update(decode_params(self.manifest, self._map_bytes(section), section))
        return out

    def kernel_log(self) -> list[str]:
        return self._kmsg.read()

    def _records_exit(self) -> bool:
        fields = (self.manifest.get("stats") or {}).get("fields", [])
        return any(f["name"] == "exit_kind" for f in fields)

    def _exit_stats(self) -> dict[str, StatValue]:
        """Stats once ops.exit has filled the exit fields (it may run just after `disabled`).

        A policy whose stats keep no exit record (hand-written C) gets the kernel's own
        words instead: kind, reason and message from its "disabled" log line."""
        deadline = time.monotonic() + EXIT_RECORD_WAIT_S
        if not self._records_exit():
            while True:
                found = from_kernel_log(self._kmsg.read(), self.name)
                if found is not None or time.monotonic() > deadline:
                    break
                time.sleep(POLL_S)
            kind, reason, message = found or (0, "", "no exit record in the kernel log")
            return {"exit_kind": kind, "exit_code": 0, "exit_reason": reason, "exit_msg": message}
        while True:
            try:
                stats = self.stats()
            except RuntimeError as exc:
                return {"exit_kind": 0, "exit_code": 0, "exit_reason": "", "exit_msg": str(exc)}
            if stats.get("exit_kind") or time.monotonic() > deadline:
                return stats
            time.sleep(POLL_S)

    def detach(self) -> ExitInfo:
        """Unload (if still attached) and say how the policy ended. Safe to call twice."""
        if self._exit is not None:
            return self._exit
        lib = self._lib
        ejected = self.ejected()
        if self._link is not None:
            lib.bpf_link__destroy(self._link)
            self._link = None
        _wait(lambda: scx_state() == "disabled", DISABLE_WAIT_S)
        stats = self._exit_stats()
        kind = int(stats.get("exit_kind", 0))  # type: ignore[arg-type]
        self._exit = ExitInfo(
            kind=kind,
            kind_name=kind_name(kind),
            code=int(stats.get("exit_code", 0)),  # type: ignore[arg-type]
            reason=str(stats.get("exit_reason", "")),
            message=str(stats.get("exit_msg", "")),
            ejected=ejected,
            kernel_log_lines=tuple(self._kmsg.read()),
        )
        if self._obj is not None:
            lib.bpf_object__close(self._obj)
            self._obj = None
        self._kmsg.close()
        return self._exit


def _resolve(
    target: Artifact | Path | str, manifest: Mapping[str, Any] | None
) -> tuple[Path, Mapping[str, Any]]:
    if isinstance(target, Artifact):
        path, manifest = target.object_path, manifest or target.manifest
    else:
        path = Path(target)
        if manifest is None:
            try:
                manifest = Artifact.from_object(path).manifest
            except (OSError, ValueError, KeyError) as exc:
                raise LoadError(f"{path}: cannot read its manifest ({exc})", stage="open") from exc
    missing = [key for key in MANIFEST_KEYS if key not in manifest]
    if "stats" in manifest and "fields" not in (manifest["stats"] or {}):
        missing.append("stats.fields")
    if missing:
        raise LoadError(
            f"{path}: the manifest lacks {', '.join(missing)} (see docs/internals.md)", stage="open"
        )
    return path, manifest


def load(
    target: Artifact | Path | str,
    manifest: Mapping[str, Any] | None = None,
    params: Mapping[str, int] | None = None,
) -> LoadedPolicy:
    """Load and attach a policy; returns once the kernel reports it enabled.

    `target`: an Artifact, or a `.bpf.o` path (manifest given, or read from beside it).
    `params`: tunable overrides by manifest name (range-checked).
    """
    obj_path, manifest = _resolve(target, manifest)
    if not obj_path.is_file():
        raise LoadError(f"{obj_path}: no such object file", stage="open")
    try:
        lib = libbpf_mod.get()
    except libbpf_mod.LibbpfError as exc:
        raise LoadError(str(exc), stage="open") from exc
    with lib.capture_log() as messages:
        obj = lib.bpf_object__open_file(str(obj_path).encode(), None)
        if not obj:
            err = ctypes.get_errno()
            raise LoadError(f"{obj_path}: libbpf cannot open it: {lib.strerror(err)}", stage="open",
                            errno=err, verifier_log="".join(messages))  # fmt: skip
    try:
        policy = _load_and_attach(lib, obj, obj_path, manifest, params or {})
    except BaseException:
        lib.bpf_object__close(obj)
        raise
    # From here the policy owns the object. The kernel enables a struct_ops scheduler before
    # the attach call returns, but a policy can be ejected at once (a stall freezes this
    # process until the watchdog acts): that is a loaded policy whose exit info says why.
    name = policy.name
    settled = _wait(
        lambda: scx_state() == "disabled" or (scx_state() == "enabled" and scx_ops() == name),
        ENABLE_WAIT_S,
    )
    policy.attach_s = time.monotonic() - policy.started - policy.load_s
    if not settled:
        info = policy.detach()
        raise LoadError(
            f"{name} was attached but never reported enabled (state {scx_state()}, "
            f"exit {info.kind_name}: {info.reason})",
            stage="attach", verifier_log=policy.load_log + "\n".join(info.kernel_log_lines),
        )  # fmt: skip
    return policy


def _load_and_attach(lib: libbpf_mod.Libbpf, obj: int, obj_path: Path, manifest: Mapping[str, Any],
                     params: Mapping[str, int]) -> LoadedPolicy:  # fmt: skip
    """Set params, load, attach; on failure the caller closes `obj` and nothing is attached."""
    if params:
        _set_params(lib, obj, manifest, params)
    ops_map = lib.bpf_object__find_map_by_name(obj, str(manifest["ops_map"]).encode())
    if not ops_map:
        raise LoadError(
            f"{obj_path}: no struct_ops map named {manifest['ops_map']!r}", stage="open"
        )
    kmsg = KernelLog()
    started = time.monotonic()
    with lib.capture_log() as messages:
        err = lib.bpf_object__load(obj)
    load_s = time.monotonic() - started
    log = "".join(messages)
    if err:
        kmsg.close()
        raise LoadError(
            f"the kernel rejected {obj_path.name}: {lib.strerror(err)}",
            stage="load", errno=-err, verifier_log=log, position=error_position(log, manifest),
        )  # fmt: skip
    with lib.capture_log() as messages:
        link = lib.bpf_map__attach_struct_ops(ops_map)
        errno = ctypes.get_errno()
    if not link:
        kmsg.close()
        hint = " (another sched_ext scheduler is loaded)" if errno == 16 else ""
        raise LoadError(
            f"attaching {manifest['ops_map']} failed: {lib.strerror(-errno)}{hint}",
            stage="attach", errno=errno, verifier_log=log + "".join(messages),
        )  # fmt: skip
    return LoadedPolicy(lib, obj, link, manifest, kmsg, started, load_s, log)


def _set_params(
    lib: libbpf_mod.Libbpf, obj: int, manifest: Mapping[str, Any], params: Mapping[str, int]
) -> None:
    specs = {p["name"]: p for p in manifest.get("params", [])}
    by_section: dict[str, dict[str, int]] = {}
    for name, value in params.items():
        spec = specs.get(name, {})
        by_section.setdefault(param_section(manifest, spec), {})[name] = value
    for section, values in by_section.items():
        map_ptr = lib.bpf_object__find_map_by_name(obj, section.encode())
        if not map_ptr:
            raise LoadError(f"the object has no {section} map to hold parameters", stage="params")
        size = ctypes.c_size_t(0)
        current = lib.bpf_map__initial_value(map_ptr, ctypes.byref(size))
        if not current:
            raise LoadError(f"cannot read the initial value of {section}", stage="params")
        data = encode_params(manifest, ctypes.string_at(current, size.value), values)
        err = lib.bpf_map__set_initial_value(map_ptr, data, len(data))
        if err:
            raise LoadError(f"setting {section}: {lib.strerror(err)}", stage="params", errno=-err)


# --- command line (JSON out) -------------------------------------------------------------------


def _parse_param(text: str) -> tuple[str, str]:
    import argparse

    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--param {text!r}: use NAME=VALUE")
    return name, value


def _param_values(manifest: Mapping[str, Any], texts: Mapping[str, str]) -> dict[str, int]:
    """`--param` texts read as `schedlang run` and `compile` read them (param_value)."""
    specs = {p["name"]: p for p in manifest.get("params", [])}
    values: dict[str, int] = {}
    for name, text in texts.items():
        if name not in specs:
            known = ", ".join(specs) or "none"
            raise LoadError(
                f"unknown parameter {name!r} (this policy has: {known})", stage="params"
            )
        try:
            values[name] = param_value(specs[name], text)
        except ValueError as exc:
            raise LoadError(str(exc), stage="params") from None
    return values


def run_cli(argv: list[str]) -> tuple[int, dict[str, Any]]:
    import argparse  # here, not at the top: the guest runners import this module, never this

    parser = argparse.ArgumentParser(
        prog="python3 -m schedlang.runtime.loader", description=__doc__.splitlines()[0]
    )
    parser.add_argument("object", type=Path, help="NAME.bpf.o (NAME.json beside it)")
    parser.add_argument("--manifest", type=Path, help="manifest, if not beside the object")
    parser.add_argument(
        "--param", action="append", default=[], type=_parse_param, metavar="NAME=VALUE"
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--hold",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="stay loaded this long (less if ejected)",
    )
    what.add_argument("--run", metavar="CMD", help="run this shell command while loaded")
    args = parser.parse_args(argv)
    manifest = json.loads(args.manifest.read_text()) if args.manifest else None
    result: dict[str, Any] = {"object": str(args.object), "state_before": scx_state()}
    try:
        _, specs = _resolve(args.object, manifest)
        policy = load(args.object, manifest, _param_values(specs, dict(args.param)))
    except LoadError as exc:
        result.update(ok=False, stage=exc.stage, error=str(exc), errno=exc.errno,
                      verifier_log=exc.verifier_log, position=asdict(exc.position) if exc.position else None,
                      state_after=scx_state())  # fmt: skip
        return 1, result
    with policy:
        result.update(ok=True, load_s=round(policy.load_s, 4), attach_s=round(policy.attach_s, 4),
                      state=policy.state(), ops=scx_ops(), params=policy.params(), sysfs=scx_sysfs())  # fmt: skip
        if args.run:
            proc = subprocess.run(args.run, shell=True, capture_output=True, text=True)
            result["run"] = {"rc": proc.returncode, "output": proc.stdout + proc.stderr}
        elif args.hold:
            # Hold, but stop as soon as the kernel ejects the policy: nothing more to see.
            _wait(policy.ejected, args.hold)
        result["state_at_end"] = policy.state()
        result["stats"] = policy.stats()
    result["exit"] = asdict(policy.detach())
    result["state_after"] = scx_state()
    return 0, result


def main() -> None:
    rc, result = run_cli(sys.argv[1:])
    print(json.dumps(result, indent=2))
    sys.exit(rc)


if __name__ == "__main__":
    main()
