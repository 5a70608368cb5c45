"""Sealed result bundles: verify says exactly what was changed, removed, added or replaced."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from bundles import make_result_dir
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from schedlang.benchmark import bundle
from schedlang.benchmark.bundle import BundleError, seal, verify
from schedlang.cli import main


@pytest.fixture
def sealed(tmp_path: Path) -> Path:
    return seal(make_result_dir(tmp_path), machine={"cores": 2})


def _faults(result: bundle.Verification) -> tuple[list[str], list[str], list[str], list[str]]:
    return result.changed, result.missing, result.added, sorted(result.seal_faults)


def test_round_trip_lists_every_file_and_signs_with_the_users_key(
    sealed: Path, data_home: Path
) -> None:
    manifest = json.loads((sealed / "MANIFEST.json").read_text())
    assert list(manifest["files"]) == [
        "policies/fifo_slice.sched",
        "raw/hackbench.txt",
        "raw/xz-corpus.txt",
        "scores.json",
    ]
    assert manifest["files"]["raw/hackbench.txt"]["size"] == len("Time: 1.01\nTime: 0.98\n")
    key_file = data_home / "schedlang" / "bench-signing-key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    result = verify(sealed)
    assert result.ok and result.signature_valid
    assert _faults(result) == ([], [], [], [])
    assert result.signer == bundle.fingerprint(bundle.load_or_create_key().public_key())
    # The same key signs the next bundle; verify --key with this bundle's PUBLIC_KEY accepts it.
    assert verify(sealed, key=sealed / "PUBLIC_KEY").ok


def test_the_manifest_records_the_machine_profile(tmp_path: Path) -> None:
    d = seal(make_result_dir(tmp_path))
    machine = json.loads((d / "MANIFEST.json").read_text())["machine"]
    pins = json.loads((Path(bundle.__file__).parents[1] / "runtime" / "pins.json").read_text())
    assert machine["cores"] == os.cpu_count()
    assert machine["sandbox"]["qemu"] == pins["components"]["qemu"]["packages"][0]["version"]
    assert machine["sandbox"]["kernel"] == (
        os.environ.get("SCHEDLANG_KERNEL_VERSION") or pins["kernel_default"]
    )
    assert machine["packages"]["cryptography"] is not None
    assert machine["cpu_model"]


def test_a_changed_byte_is_named(sealed: Path) -> None:
    path = sealed / "raw" / "hackbench.txt"
    data = bytearray(path.read_bytes())
    data[6] ^= 1  # same size, one bit
    path.write_bytes(bytes(data))
    result = verify(sealed)
    assert not result.ok and result.signature_valid
    assert _faults(result) == (["raw/hackbench.txt"], [], [], [])


def test_a_removed_file_is_named(sealed: Path) -> None:
    (sealed / "policies" / "fifo_slice.sched").unlink()
    assert _faults(verify(sealed)) == ([], ["policies/fifo_slice.sched"], [], [])


def test_an_added_file_is_named(sealed: Path) -> None:
    (sealed / "raw" / "extra.txt").write_text("not measured\n")
    assert _faults(verify(sealed)) == ([], [], ["raw/extra.txt"], [])


def test_a_file_replaced_by_a_symbolic_link_is_named_not_followed(sealed: Path) -> None:
    target = sealed / "raw" / "hackbench.txt"
    (sealed / "copy.txt").write_bytes(target.read_bytes())
    target.unlink()
    target.symlink_to(sealed / "copy.txt")
    (sealed / "raw" / "link").symlink_to("/etc/hostname")
    assert _faults(verify(sealed)) == (["raw/hackbench.txt"], [], ["copy.txt", "raw/link"], [])


def test_an_edited_manifest_is_named(sealed: Path) -> None:
    manifest = json.loads((sealed / "MANIFEST.json").read_text())
    manifest["machine"]["cores"] = 64
    (sealed / "MANIFEST.json").write_text(json.dumps(manifest))
    result = verify(sealed)
    assert not result.ok and not result.signature_valid
    assert _faults(result) == ([], [], [], ["MANIFEST.json"])
    assert "edited after signing" in result.seal_faults["MANIFEST.json"]


def test_an_edited_file_with_its_hash_updated_in_the_manifest_is_still_caught(
    sealed: Path,
) -> None:
    scores = sealed / "scores.json"
    scores.write_text(scores.read_text().replace("2.137", "9.137"))
    manifest = json.loads((sealed / "MANIFEST.json").read_text())
    data = scores.read_bytes()
    manifest["files"]["scores.json"] = {
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }
    (sealed / "MANIFEST.json").write_text(json.dumps(manifest))
    assert _faults(verify(sealed)) == ([], [], [], ["MANIFEST.json"])


def test_a_swapped_signature_is_named(sealed: Path) -> None:
    other = Ed25519PrivateKey.generate()
    sig = json.loads((sealed / "SIGNATURE").read_text())
    body = bundle.canonical(json.loads((sealed / "MANIFEST.json").read_text()))
    sig["signature"] = base64.b64encode(other.sign(body)).decode()
    (sealed / "SIGNATURE").write_text(json.dumps(sig))
    result = verify(sealed)
    assert not result.ok and not result.signature_valid
    assert _faults(result) == ([], [], [], ["SIGNATURE"])


def test_a_bundle_resealed_by_another_key_fails_only_when_a_key_is_required(
    tmp_path: Path, sealed: Path
) -> None:
    trusted = tmp_path / "trusted.pem"
    trusted.write_bytes((sealed / "PUBLIC_KEY").read_bytes())
    scores = sealed / "scores.json"
    scores.write_text(scores.read_text().replace("2.137", "9.137"))
    seal(sealed, key=Ed25519PrivateKey.generate(), machine={"cores": 2})
    assert verify(sealed).ok  # self-consistent: that is all a signature alone can say
    result = verify(sealed, key=trusted)
    assert not result.ok and result.signature_valid and not result.key_ok
    assert result.required == bundle.fingerprint(
        bundle.load_public_key(trusted.read_bytes(), "trusted")
    )
    assert result.signer != result.required


def test_tarball_round_trip_and_tampering(tmp_path: Path) -> None:
    archive = seal(make_result_dir(tmp_path), tar=True, machine={})
    assert archive.name == "run.tar.gz"
    assert verify(archive).ok
    # Rebuild the tarball with one member's bytes changed and one member added.
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(tampered, "w:gz") as dst:
        for member in src:
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "run/scores.json":
                data = data.replace(b"2.137", b"3.137")
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
        extra = tarfile.TarInfo("run/raw/extra.txt")
        extra.size = 2
        dst.addfile(extra, io.BytesIO(b"x\n"))
    assert _faults(verify(tampered)) == (["scores.json"], [], ["raw/extra.txt"], [])


def test_sealing_the_current_folder_names_the_tarball_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(make_result_dir(tmp_path))
    archive = seal(".", tar=True, machine={})
    assert archive == tmp_path / "run.tar.gz"
    assert verify(archive).ok


def test_a_tarball_member_outside_the_bundle_folder_is_unreadable(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(bad, "w:gz") as tf:
        info = tarfile.TarInfo("run/../../etc/passwd")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(BundleError, match="not inside one bundle folder"):
        verify(bad)


def test_a_signing_key_readable_by_others_is_refused(tmp_path: Path, data_home: Path) -> None:
    bundle.load_or_create_key()
    key_file = data_home / "schedlang" / "bench-signing-key"
    key_file.chmod(0o644)
    with pytest.raises(BundleError, match="chmod 600"):
        seal(make_result_dir(tmp_path), machine={})


def test_cli_exit_codes(sealed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "verify", str(sealed)]) == 0
    assert "intact" in capsys.readouterr().out
    (sealed / "raw" / "xz-corpus.txt").write_text("throughput 99\n")
    assert main(["bench", "verify", str(sealed), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert (out["ok"], out["changed"]) == (False, ["raw/xz-corpus.txt"])
    assert main(["bench", "verify", str(tmp_path / "nowhere")]) == 2
    assert "no such bundle" in capsys.readouterr().err
