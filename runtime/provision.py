"""Fetch, verify and cache what the sandbox runs on: guest kernel, qemu, virtiofsd, libbpf, bpftool.

Nothing here needs root or touches the system's apt configuration. Packages come from Debian
through a *private* apt configuration (own sources.list naming the extra suites, own lists and
archive directories, all under the cache), are checked against the sha256 pinned in
`runtime/pins.json`, and are unpacked with `dpkg -x` into `~/.cache/schedlang` (or
`$XDG_CACHE_HOME/schedlang`). Each unpacked component gets a stamp file naming the exact pins it
came from, so `ensure()` on a warm cache is a few `stat` calls, and a changed pin is refetched.

The guest kernel version is a setting (`SCHEDLANG_KERNEL_VERSION`, default in pins.json). A
version without a pin is fetched with apt's own (signed-index) hash check and reported as
unpinned, with the sha256 to record.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from schedlang.runtime.cache import LIBBPF_DIR, LIBBPF_FILE, cache_dir

PINS_PATH = Path(__file__).with_name("pins.json")
KERNEL_ENV = "SCHEDLANG_KERNEL_VERSION"
KERNEL_SUITE = "trixie-backports"
SYSTEM_PACKAGES = "scripts/system-packages.txt"
INSTALL_HINT = "apt-get install $(cat scripts/system-packages.txt)"
FETCH_HINT = "schedlang sandbox fetch"
STAMP = ".schedlang-ready.json"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

Log = Callable[[str], None]


class ProvisionError(RuntimeError):
    """Provisioning failed; the message says what, and how to fix it."""


@dataclass(frozen=True)
class DebPin:
    name: str
    version: str
    arch: str
    suite: str
    sha256: str | None  # None: a kernel version chosen by setting, without a recorded pin

    @property
    def filename(self) -> str:
        """The name `apt-get download` gives the file (an epoch's colon becomes %3a)."""
        return f"{self.name}_{self.version.replace(':', '%3a')}_{self.arch}.deb"


@dataclass(frozen=True)
class Component:
    """One line of `schedlang doctor`: what it is, whether it is here, and how to get it."""

    name: str
    version: str
    present: bool
    path: Path | None
    detail: str
    fix: str


@dataclass(frozen=True)
class Toolchain:
    """Paths the sandbox and the loader need, all inside the cache."""

    cache_dir: Path
    kernel_version: str
    vmlinux: Path
    kernel_config: Path
    qemu: Path
    qemu_data: Path
    qboot: Path
    virtiofsd: tuple[str, ...]  # argv prefix: trixie's loader + library path + the daemon
    libbpf: Path
    bpftool: Path


def _pins() -> dict:
    return json.loads(PINS_PATH.read_text())


def kernel_version() -> str:
    """The guest kernel version setting: `SCHEDLANG_KERNEL_VERSION` or the pinned default."""
    return os.environ.get(KERNEL_ENV) or str(_pins()["kernel_default"])


def _kernel_pins(version: str) -> list[DebPin]:
    pinned = _pins()["kernels"].get(version)
    if pinned is not None:
        return [DebPin(suite=pinned["suite"], **p) for p in pinned["packages"]]
    # Not pinned: the package version is whatever the suite has (resolved at download time).
    return [
        DebPin(f"linux-{part}-{version}-cloud-amd64", "", "amd64", KERNEL_SUITE, None)
        for part in ("binary", "base")
    ]


def _component_pins(name: str) -> list[DebPin]:
    spec = _pins()["components"][name]
    return [DebPin(suite=spec["suite"], **p) for p in spec["packages"]]


# --- the private apt configuration -------------------------------------------------------


def _apt_dir() -> Path:
    return cache_dir() / "apt"


def _apt_options() -> list[str]:
    """Options that point apt at our own sources, lists and archives, never /etc/apt's."""
    apt = _apt_dir()
    return [
        "-o", f"Dir::Etc::sourcelist={apt / 'sources.list'}",
        "-o", "Dir::Etc::sourceparts=/nonexistent",
        "-o", f"Dir::State::Lists={apt / 'lists'}",
        "-o", f"Dir::Cache={apt / 'cache'}",
        "-o", "APT::Get::List-Cleanup=0",
        "-o", "APT::Sandbox::User=root" if os.geteuid() == 0 else "Debug::NoDropPrivs=1",
        "-o", "Acquire::Languages=none",
    ]  # fmt: skip


def _apt(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    if shutil.which(args[0]) is None:
        raise ProvisionError(f"{args[0]} not found: provisioning needs Debian's apt tools")
    cmd = [args[0], *_apt_options(), *args[1:]]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def _apt_update(log: Log) -> None:
    pins = _pins()
    apt = _apt_dir()
    (apt / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (apt / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
    signed = f" [signed-by={keyring}]" if Path(keyring).exists() else ""
    lines = [f"deb{signed} {pins['mirror']} {suite} main" for suite in pins["suites"]]
    (apt / "sources.list").write_text("\n".join(lines) + "\n")
    log(f"apt-get update (private lists in {apt})")
    proc = _apt(["apt-get", "update"])
    if proc.returncode != 0:
        raise ProvisionError(f"apt-get update (private config) failed:\n{proc.stderr.strip()}")


def _available_versions(name: str) -> list[str]:
    proc = _apt(["apt-cache", "madison", name])
    return [line.split("|")[1].strip() for line in proc.stdout.splitlines() if "|" in line]


def list_kernels(log: Log = lambda _: None) -> list[str]:
    """Cloud kernel versions trixie-backports offers now (for choosing a new pin)."""
    _apt_update(log)
    return _kernel_versions()


def _kernel_versions() -> list[str]:
    """Cloud kernel versions in the private lists as they are (no update)."""
    proc = _apt(["apt-cache", "search", "--names-only", r"^linux-binary-.*-cloud-amd64$"])
    found = set(re.findall(r"^linux-binary-(\d\S*)-cloud-amd64 ", proc.stdout, re.M))
    return sorted(found, key=lambda v: [int(x) for x in re.findall(r"\d+", v)])


# --- download, verify, unpack --------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class _AptSession:
    """One provisioning run: refreshes the private package lists at most once."""

    log: Log
    updated: bool = False

    def update_once(self) -> None:
        if not self.updated:
            _apt_update(self.log)
            self.updated = True


def _download(pin: DebPin, session: _AptSession) -> tuple[Path, str]:
    """Download one .deb into the cache (once) and check its sha256; returns (path, sha256)."""
    debs = cache_dir() / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    if pin.version and (debs / pin.filename).exists():
        path = debs / pin.filename
    else:
        spec = f"{pin.name}={pin.version}" if pin.version else f"{pin.name}/{pin.suite}"
        proc = None
        for attempt in range(2):
            if attempt or not (_apt_dir() / "lists").is_dir():
                session.update_once()
            session.log(f"apt-get download {spec}")
            proc = _apt(["apt-get", "download", spec], cwd=debs)
            if proc.returncode == 0:
                break
        assert proc is not None
        if proc.returncode != 0:
            raise ProvisionError(_vanished_message(pin, proc.stderr))
        matches = sorted(debs.glob(f"{pin.name}_*_{pin.arch}.deb"), key=lambda p: p.stat().st_mtime)
        if pin.version:
            matches = [p for p in matches if p.name == pin.filename]
        if not matches:
            raise ProvisionError(f"apt-get download {spec} left no {pin.name}_*.deb in {debs}")
        path = matches[-1]
    digest = _sha256(path)
    if pin.sha256 is not None and digest != pin.sha256:
        path.unlink()
        raise ProvisionError(
            f"sha256 mismatch for {path.name}: got {digest}, {PINS_PATH} pins {pin.sha256}.\n"
            f"The archive now serves a different file under the same version. If you trust it, "
            f'set "sha256": "{digest}" for {pin.name} in {PINS_PATH} and rerun `{FETCH_HINT}`.'
        )
    return path, digest


def _vanished_message(pin: DebPin, stderr: str) -> str:
    where = f"{pin.name}={pin.version}" if pin.version else f"{pin.name} in {pin.suite}"
    if pin.name.startswith("linux-"):
        offered = f"cloud kernel versions offered now: {', '.join(_kernel_versions()) or 'none'}"
        how = (
            f"set one with {KERNEL_ENV}=VERSION (or move kernel_default and its pins in "
            f"{PINS_PATH})"
        )
    else:
        offered = f"versions offered now: {', '.join(_available_versions(pin.name)) or 'none'}"
        how = f"set its version (and the sha256 `{FETCH_HINT}` then reports) in {PINS_PATH}"
    apt = " ".join(line.strip() for line in stderr.strip().splitlines()[:1])
    return f"cannot download {where}: the archive does not offer it ({apt}).\n{offered}.\nTo fix: {how}."


def _unpack(debs: list[Path], dest: Path) -> None:
    if shutil.which("dpkg-deb") is None:
        raise ProvisionError("dpkg-deb not found: provisioning needs Debian's dpkg tools")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for deb in debs:
        proc = subprocess.run(
            ["dpkg-deb", "-x", str(deb), str(dest)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise ProvisionError(f"dpkg-deb -x {deb} failed: {proc.stderr.strip()}")


def extract_vmlinux(vmlinuz: Path, out: Path) -> None:
    """Write the uncompressed ELF kernel inside a zstd bzImage, for PVH boot (~1 s faster).

    The setup header gives the payload's place (payload_offset/length at 0x248, relative to the
    protected-mode code that starts after setup_sects+1 sectors); a zstd payload is one frame
    followed by the 4-byte uncompressed size.
    """
    data = vmlinuz.read_bytes()
    start = (data[0x1F1] + 1) * 512
    offset, length = struct.unpack_from("<II", data, 0x248)
    payload = data[start + offset : start + offset + length]
    if not payload.startswith(ZSTD_MAGIC):
        raise ProvisionError(f"{vmlinuz}: payload is not zstd; boot the bzImage with --kernel")
    if shutil.which("zstd") is None:
        raise ProvisionError(f"zstd not found; install it: {INSTALL_HINT}")
    tmp = out.with_suffix(".part")
    with tmp.open("wb") as f:
        proc = subprocess.run(
            ["zstd", "-d", "-c"], input=payload[:-4], stdout=f, stderr=subprocess.PIPE
        )
    if proc.returncode != 0 or tmp.read_bytes()[:4] != b"\x7fELF":
        raise ProvisionError(f"zstd could not unpack {vmlinuz}: {proc.stderr.decode().strip()}")
    tmp.rename(out)


# --- components -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    """How one component is fetched and where its files are once unpacked."""

    name: str
    pins: list[DebPin]
    dirname: str
    files: dict[str, str]  # role -> path relative to the unpacked root (globs allowed)

    @property
    def root(self) -> Path:
        return cache_dir() / self.dirname

    def ready(self) -> bool:
        """Unpacked from exactly these pins (an unpinned kernel: from any version of them)."""
        try:
            recorded = json.loads((self.root / STAMP).read_text())["packages"]
        except (OSError, ValueError, KeyError):
            return False
        if self.pins[0].sha256 is None:
            return [r[0] for r in recorded] == [p.name for p in self.pins]
        return bool(recorded == [[p.name, p.filename, p.sha256] for p in self.pins])

    def file(self, role: str) -> Path:
        pattern = self.files[role]
        hits = sorted(self.root.glob(pattern))
        return hits[-1] if hits else self.root / pattern


def _specs(version: str) -> list[_Spec]:
    module_dir = f"usr/lib/modules/{version}-*"
    return [
        _Spec(
            "kernel", _kernel_pins(version), f"kernel-{version}",
            {"vmlinuz": f"{module_dir}/vmlinuz", "config": f"{module_dir}/config", "vmlinux": "vmlinux"},
        ),
        _Spec(
            "qemu", _component_pins("qemu"), "qemu",
            {"qemu": "usr/bin/qemu-system-x86_64", "data": "usr/share/qemu", "qboot": "usr/share/qemu/qboot.rom"},
        ),
        _Spec(
            "virtiofsd", _component_pins("virtiofsd"), "virtiofsd",
            {"virtiofsd": "usr/libexec/virtiofsd", "ld": "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
             "libdir": "usr/lib/x86_64-linux-gnu"},
        ),
        _Spec("libbpf", _component_pins("libbpf"), LIBBPF_DIR, {"libbpf": LIBBPF_FILE}),
        _Spec("bpftool", _component_pins("bpftool"), "bpftool", {"bpftool": "usr/sbin/bpftool"}),
    ]  # fmt: skip


def _display_version(spec: _Spec, version: str) -> str:
    if spec.name == "kernel":
        return version
    upstream = spec.pins[0].version.split(":")[-1]
    return re.split(r"[+-]", upstream)[0]


def _fetch(spec: _Spec, session: _AptSession) -> None:
    log = session.log
    downloaded = [_download(pin, session) for pin in spec.pins]
    for pin, (path, digest) in zip(spec.pins, downloaded, strict=True):
        if pin.sha256 is None:
            log(f"note: {path.name} is not pinned; its sha256 is {digest}")
    log(f"unpacking {spec.name} into {spec.root}")
    _unpack([path for path, _ in downloaded], spec.root)
    if spec.name == "kernel":
        _check_kernel_config(spec.file("config"))
        log("extracting vmlinux from vmlinuz")
        extract_vmlinux(spec.file("vmlinuz"), spec.root / "vmlinux")
    packages = [[p.name, path.name, d] for p, (path, d) in zip(spec.pins, downloaded, strict=True)]
    (spec.root / STAMP).write_text(json.dumps({"packages": packages}) + "\n")


def _check_kernel_config(config: Path) -> None:
    if not config.exists():
        raise ProvisionError(f"the kernel package has no config file ({config})")
    text = config.read_text(errors="replace")
    for option in ("CONFIG_SCHED_CLASS_EXT=y", "CONFIG_VIRTIO_FS=y", "CONFIG_DEBUG_INFO_BTF=y"):
        if option not in text.splitlines():
            raise ProvisionError(
                f"{config}: {option} missing; this kernel cannot run the sandbox. "
                f"Pick another version (`schedlang sandbox fetch --list-kernels`)."
            )


def ensure(version: str | None = None, log: Log = lambda _: None) -> Toolchain:
    """Fetch whatever is missing (idempotent; a warm cache costs a few stat calls)."""
    version = version or kernel_version()
    missing = [spec for spec in _specs(version) if not spec.ready()]
    if missing:
        # One fetcher at a time per cache: unpacking replaces directories another process
        # could be reading, and two downloads of one .deb would race.
        cache_dir().mkdir(parents=True, exist_ok=True)
        with (cache_dir() / ".fetch.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            session = _AptSession(log)
            for spec in missing:
                if not spec.ready():  # another process may have fetched it meanwhile
                    _fetch(spec, session)
    found = cached_toolchain(version)
    if found is None:
        raise ProvisionError(f"provisioning finished but files are missing under {cache_dir()}")
    return found


def cached_toolchain(version: str | None = None) -> Toolchain | None:
    """The toolchain if everything is already in the cache, else None (never downloads)."""
    version = version or kernel_version()
    specs = {spec.name: spec for spec in _specs(version)}
    if not all(spec.ready() for spec in specs.values()):
        return None
    kernel, qemu, vfs = specs["kernel"], specs["qemu"], specs["virtiofsd"]
    libdir = vfs.file("libdir")
    toolchain = Toolchain(
        cache_dir=cache_dir(),
        kernel_version=version,
        vmlinux=kernel.file("vmlinux"),
        kernel_config=kernel.file("config"),
        qemu=qemu.file("qemu"),
        qemu_data=qemu.file("data"),
        qboot=qemu.file("qboot"),
        virtiofsd=(
            str(vfs.file("ld")),
            "--library-path",
            f"{libdir}:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu",
            str(vfs.file("virtiofsd")),
        ),
        libbpf=specs["libbpf"].file("libbpf"),
        bpftool=specs["bpftool"].file("bpftool"),
    )
    paths = [
        toolchain.vmlinux,
        toolchain.qemu,
        toolchain.qboot,
        toolchain.libbpf,
        toolchain.bpftool,
    ]
    return toolchain if all(p.exists() for p in paths) else None


def status(version: str | None = None) -> list[Component]:
    """Each provisioned component: present or not, version, path, and the command to get it."""
    version = version or kernel_version()
    roles = {
        "kernel": "vmlinux",
        "qemu": "qemu",
        "virtiofsd": "virtiofsd",
        "libbpf": "libbpf",
        "bpftool": "bpftool",
    }
    out = []
    for spec in _specs(version):
        path = spec.file(roles[spec.name])
        present = spec.ready() and path.exists()
        pins = ", ".join(f"{p.name} {p.version or '(unpinned)'}" for p in spec.pins)
        out.append(
            Component(
                name=spec.name,
                version=_display_version(spec, version),
                present=present,
                path=path if present else None,
                detail=f"{spec.pins[0].suite}: {pins}",
                fix="" if present else FETCH_HINT,
            )
        )
    out.extend(_system_components())
    return out


def _system_components() -> list[Component]:
    """Host programs provisioning and the guest rely on, from system packages."""
    out = []
    for name, package in (
        ("zstd", "zstd"),
        ("busybox", "busybox-static"),
        ("clang-19", "clang-19"),
    ):
        path = shutil.which(name)
        out.append(
            Component(name, "", path is not None, Path(path) if path else None,
                      f"system package {package}", "" if path else f"apt-get install {package}")
        )  # fmt: skip
    qemu = cache_dir() / "qemu" / "usr/bin/qemu-system-x86_64"
    if qemu.exists():
        missing = missing_libraries(qemu)
        detail = "shared libraries of qemu: " + (", ".join(missing) if missing else "all found")
        out.append(
            Component(
                "qemu-libs", "", not missing, None, detail, "" if not missing else INSTALL_HINT
            )
        )
    return out


def missing_libraries(binary: Path) -> list[str]:
    proc = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
    return re.findall(r"^\s*(\S+) => not found", proc.stdout, re.M)


def main() -> None:  # pragma: no cover - a convenience for `python3 -m`
    print(ensure(log=lambda line: print(line, file=sys.stderr)))
