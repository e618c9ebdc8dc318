"""`theraloop sign`: imgtool-signed MCUboot images with the project's defaults."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from theraloop.errors import ExitCode

BIN = Path(sys.executable).parent
THERALOOP = str(BIN / "theraloop")
IMGTOOL = str(BIN / "imgtool")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "ed25519.pem"
    assert _run(IMGTOOL, "keygen", "-t", "ed25519", "-k", str(path)).returncode == 0
    return path


def _sign(src: Path, key: Path, out: Path, *extra: str) -> dict[str, object]:
    r = _run(THERALOOP, "sign", str(src), "--key", str(key), "-o", str(out), "--json", *extra)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_firmware_signed_and_verified_by_imgtool(tmp_path: Path, key: Path) -> None:
    src = tmp_path / "fw.bin"
    payload = bytes(range(256)) * 40
    src.write_bytes(payload)
    out = tmp_path / "fw.signed.bin"
    result = _sign(src, key, out, "--version", "1.2.3+4")
    v = _run(IMGTOOL, "verify", "-k", str(key), str(out))
    assert v.returncode == 0 and "Image was correctly validated" in v.stdout
    data = out.read_bytes()
    magic, _load, hdr, _prot, size, flags = struct.unpack_from("<IIHHII", data)
    major, minor, rev, build = struct.unpack_from("<BBHI", data, 20)
    assert (magic, hdr, size, flags) == (0x96F3B83D, 0x200, len(payload), 0)
    assert (major, minor, rev, build) == (1, 2, 3, 4)
    assert data[0x200 : 0x200 + len(payload)] == payload
    assert result["version"] == "1.2.3+4" and result["bootable"] is True
    assert result["bytes"] == len(data) and result["slot_size"] == 0x40000
    assert {"0x10", "0x01", "0x24", "0x50"} <= set(result["tlvs"])  # + security counter
    assert result["security_counter"] == (1 << 24) + (2 << 16) + 3  # imgtool's auto
    assert len(str(result["sha256"])) == 64


def test_model_is_non_bootable_automatically(tmp_path: Path, key: Path) -> None:
    src = tmp_path / "model.tflite"
    src.write_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(1000))
    out = tmp_path / "model.signed.bin"
    result = _sign(src, key, out)
    assert result["bootable"] is False and result["slot_size"] == 0x20000
    assert struct.unpack_from("<I", out.read_bytes(), 16)[0] & 0x10  # IMAGE_F_NON_BOOTABLE
    assert _run(IMGTOOL, "verify", "-k", str(key), str(out)).returncode == 0


def test_wrong_key_fails_imgtool_verify(tmp_path: Path, key: Path) -> None:
    other = tmp_path / "other.pem"
    _run(IMGTOOL, "keygen", "-t", "ed25519", "-k", str(other))
    src = tmp_path / "fw.bin"
    src.write_bytes(bytes(512))
    out = tmp_path / "o.bin"
    _sign(src, key, out)
    assert _run(IMGTOOL, "verify", "-k", str(other), str(out)).returncode != 0


def _error(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == ExitCode.USAGE, r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("theraloop: error: ")
    return r.stderr


def test_missing_key(tmp_path: Path) -> None:
    src = tmp_path / "fw.bin"
    src.write_bytes(bytes(64))
    err = _error(_run(THERALOOP, "sign", str(src), "-k", str(tmp_path / "no.pem"), "-o", "x"))
    assert "cannot read key" in err


def test_wrong_key_type(tmp_path: Path) -> None:
    ec = tmp_path / "ec.pem"
    assert _run(IMGTOOL, "keygen", "-t", "ecdsa-p256", "-k", str(ec)).returncode == 0
    src = tmp_path / "fw.bin"
    src.write_bytes(bytes(64))
    err = _error(_run(THERALOOP, "sign", str(src), "-k", str(ec), "-o", str(tmp_path / "o")))
    assert "Ed25519" in err


def test_image_too_big_for_slot(tmp_path: Path, key: Path) -> None:
    src = tmp_path / "fw.bin"
    src.write_bytes(bytes(0x2000))
    out = tmp_path / "o.bin"
    err = _error(
        _run(THERALOOP, "sign", str(src), "-k", str(key), "-o", str(out), "--slot-size", "0x1000")
    )
    assert "too big" in err


def test_bad_version(tmp_path: Path, key: Path) -> None:
    src = tmp_path / "fw.bin"
    src.write_bytes(bytes(64))
    err = _error(_run(THERALOOP, "sign", str(src), "-k", str(key), "-o", "x", "--version", "1.2"))
    assert "invalid version" in err
