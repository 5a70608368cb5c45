"""Signed result bundles: a sha256 manifest of every file plus an ed25519 signature over it.

A benchmark result is only worth quoting if a reader can tell it is the one that was produced.
`seal(DIR)` writes DIR/MANIFEST.json (every file's sha256 and size, sorted, and the profile of
the machine that produced them: pinned kernel and qemu, clang, Python package versions, CPU),
DIR/SIGNATURE (ed25519 over the manifest's canonical bytes, beside their sha256 so that
`verify` can tell an edited manifest from a replaced signature) and DIR/PUBLIC_KEY. `verify` reads
a directory or a .tar.gz made by `seal(..., tar=True)` and names every file that was changed,
removed or added, whether the signature holds and under which key; with `key=` it also demands
that key, because anyone can re-sign an edited bundle with a key of their own.

The signing key is per user, `$XDG_DATA_HOME/schedlang/bench-signing-key` (mode 0600), made on
first use. The signature proves "unchanged since this key sealed it", not who ran it: publish
the PUBLIC_KEY you trust next to your results.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from schedlang.version import __version__

MANIFEST = "MANIFEST.json"
SIGNATURE = "SIGNATURE"
PUBLIC_KEY = "PUBLIC_KEY"
SEAL_FILES = (MANIFEST, SIGNATURE, PUBLIC_KEY)
MANIFEST_SCHEMA = 1
KEY_FILENAME = "bench-signing-key"
# The Python distributions whose versions decide a result (the measurement and the scoring).
PACKAGES = ("schedlang", "numpy", "scipy", "llvmlite", "optuna", "cryptography", "matplotlib")


class BundleError(Exception):
    """The bundle (or the signing key) cannot be read or written: what, and what to do."""


# --- keys ----------------------------------------------------------------------------------


def default_key_path() -> Path:
    """`$XDG_DATA_HOME/schedlang/bench-signing-key`, else under `~/.local/share`."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "schedlang" / KEY_FILENAME


def load_or_create_key(path: Path | None = None) -> Ed25519PrivateKey:
    """The user's signing key; created (mode 0600, never readable by others) on first use."""
    path = path or default_key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return load_or_create_key(path)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        return key
    if path.stat().st_mode & 0o077:
        raise BundleError(
            f"{path}: the signing key is readable by other users; `chmod 600 {path}` "
            "(or delete it to make a new key)"
        )
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path}: not a readable PEM private key ({exc})") from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise BundleError(f"{path}: not an ed25519 key (delete it to make a new one)")
    return loaded


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(key: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: `ed25519:` and 16 hex digits of its sha256."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def load_public_key(data: bytes, where: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise BundleError(f"{where}: not a PEM public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError(f"{where}: not an ed25519 public key")
    return key


# --- the machine profile -------------------------------------------------------------------


def machine_profile() -> dict[str, Any]:
    """What produced the numbers: CPU, cores, host kernel, the sandbox's pins, tool versions.

    The sandbox's pins are read as data from the pin table the package ships
    (schedlang/runtime/pins.json): every guest kernel and qemu is fetched by exactly these
    Debian versions and sha256 sums, so recording them records what ran.
    """
    pins = json.loads(resources.files("schedlang.runtime").joinpath("pins.json").read_text())
    kernel = os.environ.get("SCHEDLANG_KERNEL_VERSION") or pins["kernel_default"]
    sandbox = {"kernel": kernel}
    for name, spec in sorted(pins["components"].items()):
        sandbox[name] = spec["packages"][0]["version"]
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "host_kernel": platform.release(),
        "python": platform.python_version(),
        "sandbox": sandbox,
        "clang": _first_line(["clang-19", "--version"]),
        "packages": {name: _dist_version(name) for name in PACKAGES},
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _first_line(argv: list[str]) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    lines = proc.stdout.splitlines()
    return lines[0].strip() if lines else None


def _dist_version(name: str) -> str | None:
    if name == "schedlang":
        return __version__
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


# --- sealing -------------------------------------------------------------------------------


def canonical(manifest: dict[str, Any]) -> bytes:
    """The bytes the signature covers: sorted keys, no whitespace, ASCII only. MANIFEST.json
    is written indented for people; re-indenting it changes nothing that is signed."""
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _hash(data: Iterator[bytes]) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    for chunk in data:
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            yield chunk


def _dir_files(root: Path, links: bool = False) -> dict[str, Path]:
    """Every regular file under root by its POSIX path relative to root, seal files excluded.
    A symbolic link is refused when sealing; when verifying (`links`) it is listed, so that it
    is named as added or changed, never followed."""
    out: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink() and not links:
            raise BundleError(f"{root}: {rel} is a symbolic link; a bundle holds regular files")
        if path.is_symlink() or (path.is_file() and rel not in SEAL_FILES):
            out[rel] = path
    return out


def seal(
    directory: Path | str,
    key: Ed25519PrivateKey | Path | None = None,
    *,
    tar: bool = False,
    machine: dict[str, Any] | None = None,
) -> Path:
    """Write DIR's manifest, signature and public key; return DIR, or DIR.tar.gz with `tar`.

    `key` is a private key or the path of a PEM file (default: the user's signing key).
    Sealing again after adding files replaces the three seal files.
    """
    root = Path(directory)
    if not root.is_dir():
        raise BundleError(f"{root}: not a directory")
    private = key if isinstance(key, Ed25519PrivateKey) else load_or_create_key(key)
    files = {}
    for rel, path in _dir_files(root).items():
        digest, size = _hash(_chunks(path))
        files[rel] = {"sha256": digest, "size": size}
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "files": files,
        "machine": machine if machine is not None else machine_profile(),
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    body = canonical(manifest)
    signature = {
        "algorithm": "ed25519",
        "manifest_sha256": hashlib.sha256(body).hexdigest(),
        "signature": base64.b64encode(private.sign(body)).decode(),
    }
    (root / SIGNATURE).write_text(json.dumps(signature, indent=2) + "\n")
    (root / PUBLIC_KEY).write_bytes(public_pem(private.public_key()))
    if not tar:
        return root
    named = root.resolve()  # `seal .` still names the tarball after the folder
    archive = named.with_name(named.name + ".tar.gz")
    _write_tar(named, archive)
    return archive


def _write_tar(root: Path, archive: Path) -> None:
    """A reproducible tarball: sorted members under one folder, no owners, no times."""
    names = sorted([*_dir_files(root), *SEAL_FILES])
    with tarfile.open(archive, "w:gz") as tf:
        for rel in names:
            data = (root / rel).read_bytes()
            info = tarfile.TarInfo(f"{root.name}/{rel}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tf.addfile(info, io.BytesIO(data))


# --- verifying -----------------------------------------------------------------------------


@dataclass
class Verification:
    """What `verify` found. `ok` only when every file matches and the signature holds under
    the required key (if one was required)."""

    bundle: str
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    signature_valid: bool = False
    signer: str | None = None  # fingerprint of the bundle's PUBLIC_KEY
    required: str | None = None  # fingerprint of the key the caller demanded
    # The seal's own files that are at fault (MANIFEST.json, SIGNATURE, PUBLIC_KEY) -> why.
    seal_faults: dict[str, str] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)

    @property
    def key_ok(self) -> bool:
        return self.required is None or self.required == self.signer

    @property
    def ok(self) -> bool:
        return (
            self.signature_valid
            and self.key_ok
            and not (self.changed or self.missing or self.added or self.seal_faults)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "bundle": self.bundle,
            "ok": self.ok,
            "signature_valid": self.signature_valid,
            "signer": self.signer,
            "required_key": self.required,
            "changed": self.changed,
            "missing": self.missing,
            "added": self.added,
            "seal_faults": self.seal_faults,
        }

    def describe(self) -> str:
        lines = [f"{self.bundle}: " + ("intact" if self.ok else "TAMPERED or not trusted")]
        if self.signature_valid:
            lines.append(f"  signature holds, signed by {self.signer}")
        lines.extend(f"  {name}: {why}" for name, why in self.seal_faults.items())
        if not self.key_ok:
            lines.append(f"  signed by {self.signer}, not by the required key {self.required}")
        lines.extend(f"  changed: {rel}" for rel in self.changed)
        lines.extend(f"  missing: {rel}" for rel in self.missing)
        lines.extend(f"  added:   {rel}" for rel in self.added)
        return "\n".join(lines)


class _Source:
    """A bundle's files, from a directory or a tarball, with one way to read them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.hashes: dict[str, tuple[str, int]] = {}
        self.seal: dict[str, bytes] = {}
        if path.is_dir():
            for rel, file in _dir_files(path, links=True).items():
                if file.is_symlink():  # no manifest entry is a link: never equal to one
                    self.hashes[rel] = ("symbolic link to " + os.readlink(file), -1)
                else:
                    self.hashes[rel] = _hash(_chunks(file))
            for name in SEAL_FILES:
                if (path / name).is_file():
                    self.seal[name] = (path / name).read_bytes()
        elif path.is_file() and tarfile.is_tarfile(path):
            self._read_tar()
        elif path.exists():
            raise BundleError(f"{path}: neither a bundle directory nor a .tar.gz")
        else:
            raise BundleError(f"{path}: no such bundle")

    def _read_tar(self) -> None:
        try:
            with tarfile.open(self.path, "r:*") as tf:
                for member in tf:
                    if member.isdir():
                        continue
                    rel = self._member_path(member)
                    f = tf.extractfile(member)
                    if f is None:
                        raise BundleError(f"{self.path}: {member.name} is not a regular file")
                    data = f.read()
                    if rel in SEAL_FILES:
                        self.seal[rel] = data
                    else:
                        self.hashes[rel] = _hash(iter([data]))
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BundleError(f"{self.path}: cannot read the tarball ({exc})") from exc

    def _member_path(self, member: tarfile.TarInfo) -> str:
        """The path inside the bundle: the tarball's one top folder stripped, nothing unsafe."""
        parts = PurePosixPath(member.name).parts
        if member.name.startswith("/") or ".." in parts or len(parts) < 2:
            raise BundleError(
                f"{self.path}: member {member.name!r} is not inside one bundle folder"
            )
        return PurePosixPath(*parts[1:]).as_posix()


def read_member(bundle: Path | str, rel: str) -> bytes:
    """One file of a bundle (a directory or a tarball) by its path inside the bundle."""
    path = Path(bundle)
    if path.is_dir():
        try:
            return (path / rel).read_bytes()
        except OSError as exc:
            raise BundleError(f"{path}: cannot read {rel} ({exc})") from exc
    if not (path.is_file() and tarfile.is_tarfile(path)):
        raise BundleError(f"{path}: no such bundle (a directory or a .tar.gz)")
    try:
        with tarfile.open(path, "r:*") as tf:
            for member in tf:
                parts = PurePosixPath(member.name).parts
                f = tf.extractfile(member) if member.isfile() else None
                if f is not None and PurePosixPath(*parts[1:]).as_posix() == rel:
                    return f.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BundleError(f"{path}: cannot read the tarball ({exc})") from exc
    raise BundleError(f"{path}: the bundle has no {rel}")


def verify(bundle: Path | str, key: Path | str | None = None) -> Verification:
    """Check a bundle; raises BundleError only when it cannot be read at all."""
    source = _Source(Path(bundle))
    result = Verification(bundle=str(bundle))
    if key is not None:
        key_path = Path(key)
        try:
            required = load_public_key(key_path.read_bytes(), str(key_path))
        except OSError as exc:
            raise BundleError(f"{key_path}: cannot read the public key ({exc})") from exc
        result.required = fingerprint(required)
    manifest = _manifest(source, result)
    if manifest is None:
        return result
    result.machine = manifest.get("machine", {})
    listed: dict[str, Any] = manifest["files"]
    for rel, entry in sorted(listed.items()):
        found = source.hashes.get(rel)
        if found is None:
            result.missing.append(rel)
        elif found != (entry.get("sha256"), entry.get("size")):
            result.changed.append(rel)
    result.added = sorted(set(source.hashes) - set(listed))
    _check_signature(source, manifest, result)
    return result


def _manifest(source: _Source, result: Verification) -> dict[str, Any] | None:
    raw = source.seal.get(MANIFEST)
    if raw is None:
        result.seal_faults[MANIFEST] = "missing: nothing says what the bundle held"
        return None
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        result.seal_faults[MANIFEST] = f"edited: not JSON any more ({exc})"
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        result.seal_faults[MANIFEST] = "edited: it has no file table"
        return None
    return manifest


def _check_signature(source: _Source, manifest: dict[str, Any], result: Verification) -> None:
    if PUBLIC_KEY not in source.seal:
        result.seal_faults[PUBLIC_KEY] = "missing: the signature cannot be checked"
        return
    try:
        public = load_public_key(source.seal[PUBLIC_KEY], PUBLIC_KEY)
    except BundleError as exc:
        result.seal_faults[PUBLIC_KEY] = f"unreadable: {exc}"
        return
    result.signer = fingerprint(public)
    if SIGNATURE not in source.seal:
        result.seal_faults[SIGNATURE] = "missing: the manifest is unsigned"
        return
    body = canonical(manifest)
    try:
        sealed = json.loads(source.seal[SIGNATURE])
        signed_digest = str(sealed["manifest_sha256"])
        signature = base64.b64decode(sealed["signature"], validate=True)
    except (ValueError, KeyError, TypeError):
        result.seal_faults[SIGNATURE] = "unreadable: not the JSON `seal` writes"
        return
    digest = hashlib.sha256(body).hexdigest()
    if digest != signed_digest:
        result.seal_faults[MANIFEST] = (
            f"edited after signing: its sha256 is {digest[:16]}..., the signature was made "
            f"over {signed_digest[:16]}..."
        )
        return
    try:
        public.verify(signature, body)
    except InvalidSignature:
        result.seal_faults[SIGNATURE] = (
            f"replaced: it does not hold over {MANIFEST} under {PUBLIC_KEY} ({result.signer})"
        )
        return
    result.signature_valid = True
