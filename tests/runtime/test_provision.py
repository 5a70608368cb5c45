"""Provisioning: pins, sha256 checks, vmlinux extraction, warm-cache idempotence, status.

Most tests use the real cached packages when `schedlang sandbox fetch` has run (and skip with
that advice when not); one test fetches a small package from nothing through the private apt
configuration, and skips only if the Debian archive cannot be reached.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest

from schedlang.runtime import provision

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _toolchain() -> provision.Toolchain:
    found = provision.cached_toolchain()
    if found is None:
        pytest.skip("sandbox not provisioned: run `schedlang sandbox fetch`")
    return found


def test_every_pin_has_a_version_and_sha256() -> None:
    pins = json.loads(provision.PINS_PATH.read_text())
    suites = set(pins["suites"])
    groups = [*pins["kernels"].values(), *pins["components"].values()]
    assert pins["kernel_default"] in pins["kernels"]
    for group in groups:
        assert group["suite"] in suites
        for pkg in group["packages"]:
            assert pkg["version"] and HEX64.match(pkg["sha256"]), pkg


def test_deb_filename_escapes_the_epoch() -> None:
    pin = provision.DebPin("libbpf1", "1:1.4.6-1~bpo12+1", "amd64", "bookworm-backports", None)
    assert pin.filename == "libbpf1_1%3a1.4.6-1~bpo12+1_amd64.deb"


def test_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert provision.cache_dir() == tmp_path / "schedlang"


def test_kernel_version_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(provision.KERNEL_ENV, raising=False)
    default = provision.kernel_version()
    monkeypatch.setenv(provision.KERNEL_ENV, "7.2.12+deb13")
    assert provision.kernel_version() == "7.2.12+deb13" != default
    # An unpinned version is fetched from the kernel suite with apt's own hash check.
    pins = provision._kernel_pins("7.2.12+deb13")
    assert [p.name for p in pins] == [
        "linux-binary-7.2.12+deb13-cloud-amd64",
        "linux-base-7.2.12+deb13-cloud-amd64",
    ]
    assert all(p.sha256 is None and p.suite == provision.KERNEL_SUITE for p in pins)


def test_empty_cache_reports_every_component_missing_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    components = {c.name: c for c in provision.status()}
    for name in ("kernel", "qemu", "virtiofsd", "libbpf", "bpftool"):
        assert not components[name].present
        assert components[name].fix == "schedlang sandbox fetch"
    assert provision.cached_toolchain() is None


def test_warm_cache_needs_no_apt(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _toolchain()

    def no_apt(*args: object, **kwargs: object) -> None:
        raise AssertionError("apt was called although everything is cached")

    monkeypatch.setattr(provision, "_apt", no_apt)
    assert provision.ensure() == expected
    assert all(c.present for c in provision.status() if c.name != "qemu-libs")


def test_sha256_mismatch_is_refused_with_how_to_update(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real_deb = _toolchain().cache_dir / "debs"
    libbpf_pin = provision._component_pins("libbpf")[0]
    source = real_deb / libbpf_pin.filename
    if not source.exists():
        pytest.skip(f"{source} not cached: run `schedlang sandbox fetch`")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (tmp_path / "schedlang" / "debs").mkdir(parents=True)
    shutil.copy(source, tmp_path / "schedlang" / "debs" / source.name)
    wrong = dataclasses.replace(libbpf_pin, sha256="0" * 64)
    with pytest.raises(provision.ProvisionError) as err:
        provision._download(wrong, provision._AptSession(lambda _: None))
    message = str(err.value)
    assert "sha256 mismatch" in message and str(provision.PINS_PATH) in message
    assert libbpf_pin.sha256 in message  # the value to put into the pin if the file is trusted
    assert not (tmp_path / "schedlang" / "debs" / source.name).exists()  # never used


def test_vmlinux_extracted_from_the_cached_vmlinuz(tmp_path: Path) -> None:
    toolchain = _toolchain()
    vmlinuz = next(toolchain.kernel_config.parent.glob("vmlinuz"))
    out = tmp_path / "vmlinux"
    provision.extract_vmlinux(vmlinuz, out)
    data = out.read_bytes()
    assert data[:4] == b"\x7fELF"
    assert data == toolchain.vmlinux.read_bytes()


def test_non_zstd_image_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "vmlinuz"
    fake.write_bytes(bytes(0x1000))
    with pytest.raises(provision.ProvisionError, match="not zstd"):
        provision.extract_vmlinux(fake, tmp_path / "vmlinux")


def test_kernel_without_sched_ext_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(
        "CONFIG_VIRTIO_FS=y\nCONFIG_DEBUG_INFO_BTF=y\n# CONFIG_SCHED_CLASS_EXT is not set\n"
    )
    with pytest.raises(provision.ProvisionError, match="CONFIG_SCHED_CLASS_EXT=y missing"):
        provision._check_kernel_config(config)


def test_cached_kernel_has_sched_ext() -> None:
    provision._check_kernel_config(_toolchain().kernel_config)


def test_fetch_from_nothing_through_the_private_apt_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """libbpf (160 kB) from an empty cache: private sources, download, sha256, unpack."""
    if shutil.which("apt-get") is None:
        pytest.skip("apt-get not available")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    system_sources = Path("/etc/apt/sources.list")
    before = system_sources.stat().st_mtime if system_sources.exists() else None
    spec = next(s for s in provision._specs(provision.kernel_version()) if s.name == "libbpf")
    try:
        provision._fetch(spec, provision._AptSession(lambda _: None))
    except provision.ProvisionError as exc:
        if "apt-get update" in str(exc):
            pytest.skip(f"the Debian archive is not reachable: {exc}")
        raise
    assert spec.ready()
    assert spec.file("libbpf").name.startswith("libbpf.so.1.4")
    sources = (tmp_path / "schedlang" / "apt" / "sources.list").read_text()
    assert "bookworm-backports" in sources
    after = system_sources.stat().st_mtime if system_sources.exists() else None
    assert before == after


def test_doctor_and_sandbox_status_report_components(capsys: pytest.CaptureFixture[str]) -> None:
    from schedlang.cli import main as cli

    rc = cli(["doctor", "--json"])
    doctor = json.loads(capsys.readouterr().out)
    names = {c["name"] for c in doctor["components"]}
    assert {"kernel", "qemu", "virtiofsd", "libbpf", "bpftool"} <= names
    facts = {f["name"]: f["value"] for f in doctor["host"]}
    assert {"host sched_ext", "kvm", "clang"} <= set(facts)
    assert rc == (0 if all(c["present"] for c in doctor["components"]) else 1)
    assert cli(["sandbox", "status", "--json"]) == rc
    assert {c["name"] for c in json.loads(capsys.readouterr().out)} == names


def test_sandbox_cli_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    from schedlang.cli import main as cli

    assert cli(["sandbox"]) == 2
    assert cli(["sandbox", "run"]) == 2
    assert "no command given" in capsys.readouterr().err
