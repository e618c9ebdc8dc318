"""Model and firmware update commands without a device: files, signing, options, framing."""

from __future__ import annotations

import hashlib
import struct
import subprocess
import sys
from pathlib import Path

import cbor2
import pytest

from theraloop.bench.update import BOOT_LINE_RE, line_model, wire_bytes
from theraloop.errors import ExitCode, UsageError
from theraloop.mgmt import request_class
from theraloop.update.client import parse_slot, upload_request
from theraloop.update.image import (
    FIRMWARE_LOAD_ADDRESS,
    ImageFormatError,
    SigningOptions,
    parse_image,
    prepare_firmware_image,
    prepare_model_image,
)
from theraloop.update.model_cmds import render_listing

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
THERALOOP = str(BIN / "theraloop")
IMGTOOL = str(BIN / "imgtool")
MODEL = ROOT / "models/beta_biomarker/beta_biomarker.tflite"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "ed25519.pem"
    assert _run(IMGTOOL, "keygen", "-t", "ed25519", "-k", str(path)).returncode == 0
    return path


@pytest.fixture(scope="module")
def signed_model(key: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model") / "model.signed.bin"
    r = _run(THERALOOP, "sign", str(MODEL), "-k", str(key), "-o", str(out), "--version", "1.2.3")
    assert r.returncode == 0, r.stderr
    return out


def _usage_error(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == ExitCode.USAGE, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("theraloop: error: ")
    return r.stderr


def test_tflite_is_signed_as_a_model_image(key: Path, tmp_path: Path) -> None:
    opts = SigningOptions(key=key, version="2.1.7+9")
    image = prepare_model_image(MODEL, opts, tmp_path)
    tflite = MODEL.read_bytes()
    assert not image.bootable and image.header_size == 0x20
    assert image.payload == tflite and image.version == "2.1.7+9"
    assert image.security_counter == (2 << 24) + (1 << 16) + 7
    out = tmp_path / "check.bin"
    out.write_bytes(image.data)
    v = _run(IMGTOOL, "verify", "-k", str(key), str(out))
    assert v.returncode == 0 and "Image was correctly validated" in v.stdout
    # the hash TLV is SHA-256 over header, payload and protected TLVs
    prot = struct.unpack_from("<H", image.data, 10)[0]
    covered = image.data[: image.header_size + len(tflite) + prot]
    assert image.hash == hashlib.sha256(covered).digest()


def test_explicit_security_counter(key: Path, tmp_path: Path) -> None:
    opts = SigningOptions(key=key, version="3.0.0", security_counter="7")
    assert prepare_model_image(MODEL, opts, tmp_path).security_counter == 7


def test_firmware_bin_is_signed_with_the_bootloader_layout(key: Path, tmp_path: Path) -> None:
    src = tmp_path / "app.bin"
    body = struct.pack("<II", 0x2002_0000, FIRMWARE_LOAD_ADDRESS + 0x1C1) + bytes(range(256)) * 8
    src.write_bytes(body)
    image = prepare_firmware_image(src, SigningOptions(key=key, version="0.2.0"), tmp_path)
    assert image.bootable and image.header_size == 0x200
    assert image.payload == body and image.data[:4] == b"\x3d\xb8\xf3\x96"
    out = tmp_path / "fw.signed.bin"
    out.write_bytes(image.data)
    assert _run(IMGTOOL, "verify", "-k", str(key), str(out)).returncode == 0


def test_firmware_bin_not_linked_for_the_bootloader(key: Path, tmp_path: Path) -> None:
    src = tmp_path / "app.bin"
    src.write_bytes(struct.pack("<II", 0x2002_0000, 0x0800_01C1) + bytes(64))
    with pytest.raises(ImageFormatError, match="reset handler 0x080001c0 is outside"):
        prepare_firmware_image(src, SigningOptions(key=key), tmp_path)


def test_corrupted_image_is_refused(signed_model: Path, tmp_path: Path) -> None:
    data = bytearray(signed_model.read_bytes())
    data[0x40] ^= 0x01
    bad = tmp_path / "bad.bin"
    bad.write_bytes(bytes(data))
    assert "corrupted" in _usage_error(_run(THERALOOP, "model", "push", str(bad)))
    with pytest.raises(ImageFormatError, match="corrupted"):
        parse_image(bytes(data), "bad")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["model", "push", "{text}"], "neither a signed model image nor a .tflite"),
        (["model", "push", "{truncated}"], "header says 0x20"),
        (["model", "push", "{model}", "--version", "1.0.0"], "already signed: --version"),
        (["model", "push", "{model}", "--confirm"], "need --activate"),
        (["model", "push", "{model}", "--activate", "--confirm", "--confirm-after", "5"], "test"),
        (["model", "push", "{tflite}", "--version", "1.2"], "invalid version"),
        (["model", "push", "{tflite}", "--security-counter", "x1"], "invalid security counter"),
        (["model", "push", "{missing}"], "cannot read"),
        (["firmware", "push", "{model}"], "non-bootable (model) image, not firmware"),
        (["firmware", "push", "{text}", "--key", "{key}"], "too short for a vector table"),
        (["model", "activate", "c"], "invalid slot 'c'"),
        (["model", "activate", "--confirm", "--confirm-after", "3"], "--confirm-after is for"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], expected: str, signed_model: Path, key: Path, tmp_path: Path
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(signed_model.read_bytes()[:1000])
    names = {
        "text": str(text),
        "truncated": str(truncated),
        "model": str(signed_model),
        "tflite": str(MODEL),
        "missing": str(tmp_path / "nope.tflite"),
        "key": str(key),
    }
    err = _usage_error(_run(THERALOOP, *(a.format(**names) for a in args)))
    assert expected in err


def test_valid_file_then_needs_a_port(signed_model: Path) -> None:
    err = _usage_error(_run(THERALOOP, "model", "push", str(signed_model)))
    assert "no device port given" in err


def test_firmware_elf_linked_at_the_flash_base(key: Path, tmp_path: Path) -> None:
    # a minimal ARM ELF with one PT_LOAD segment at 0x08000000
    payload = struct.pack("<II", 0x2002_0000, 0x0800_0101) + bytes(56)
    ehdr = struct.pack(
        "<16sHHIIIIIHHHHHH",
        b"\x7fELF\x01\x01\x01" + bytes(9),
        2, 40, 1, 0x0800_0101, 52, 0, 0x0500_0000, 52, 32, 1, 40, 0, 0,
    )  # fmt: skip
    phdr = struct.pack("<IIIIIIII", 1, 84, 0x0800_0000, 0x0800_0000, 64, 64, 5, 4)
    elf = tmp_path / "app.elf"
    elf.write_bytes(ehdr + phdr + payload)
    err = _usage_error(_run(THERALOOP, "firmware", "push", str(elf), "--key", str(key)))
    assert "linked at 0x08000000, not 0x08020200" in err


@pytest.mark.parametrize(("text", "slot"), [("a", 0), ("B", 1), ("0", 0), ("1", 1), ("model_b", 1)])
def test_slot_names(text: str, slot: int) -> None:
    assert parse_slot(text) == slot


@pytest.mark.parametrize("text", ["c", "2", "-1", ""])
def test_bad_slot_names(text: str) -> None:
    with pytest.raises(UsageError):
        parse_slot(text)


@pytest.mark.parametrize("budget", [124, 508, 2044])
@pytest.mark.parametrize("off", [0, 5000])
def test_upload_chunks_fill_the_device_buffer(budget: int, off: int) -> None:
    data = bytes(range(256)) * 64
    first = {"image": 1, "len": len(data), "sha": hashlib.sha256(data).digest()}
    fields, n = upload_request(data, off, budget, first)
    cls = request_class(1, 1, write=True)
    encoded = cls(**fields).BYTES
    assert len(encoded) <= budget
    assert len(cls(**{**fields, "data": data[off : off + n + 1]}).BYTES) > budget
    body = cbor2.loads(encoded[8:])
    assert body["off"] == off and body["data"] == data[off : off + n]
    assert ("sha" in body and body["image"] == 1) == (off == 0)


def test_upload_last_chunk_is_the_rest() -> None:
    data = bytes(1000)
    fields, n = upload_request(data, 900, 2044, {})
    assert n == 100 and fields["data"] == data[900:]


def test_theoretical_line_rate() -> None:
    model = line_model(65536, 2044, 115200)
    assert model.line_bytes_per_s == 11520
    # base64 alone costs 4/3; line framing and the answer a little more
    assert 0.65 < model.chunk / (model.request_wire + model.answer_wire) < 0.75
    assert model.payload_bytes_per_s < 11520 * 0.75
    assert wire_bytes(bytes(96)) > 96 * 4 // 3


def test_boot_line_pattern() -> None:
    line = "boot: check fw_primary ok version 0.2.0+0 (131072 bytes, sha256 3407872 cycles, ed25519 1234567 cycles)"  # noqa: E501
    m = BOOT_LINE_RE.search(line)
    assert m is not None
    assert (m["area"], m["result"], m["version"]) == ("fw_primary", "ok", "0.2.0+0")
    assert (int(m["bytes"]), int(m["sha"]), int(m["ed"])) == (131072, 3407872, 1234567)


def test_list_rendering() -> None:
    slot_b = {"slot": 1, "area": "model_b", "state": "valid", "version": "1.0.0+0"}
    slot_b.update(hash=bytes(32), model_sha256=bytes(range(32)), size=3456, error=None)
    listing = {
        "active": {"source": "slot", "slot": 1, "hash": bytes(range(32))},
        "test": {"slot": 1, "steps": 12, "confirm_after": 100},
        "previous": "beta_biomarker",
        "slots": [slot_b, {"slot": 0, "area": "model_a", "state": "empty"}],
        "factory": [{"name": "beta_biomarker", "hash": bytes(32)}],
        "confirm_after": 100,
    }
    text = render_listing(listing).splitlines()
    assert text[0].split()[:3] == ["slot", "area", "state"]
    assert text[1].split()[:3] == ["a", "model_a", "empty"]
    assert text[2].split()[:4] == ["b", "model_b", "valid", "1.0.0+0"]
    assert text[2].endswith("active, test") and "3,456" in text[2]
    assert text[3] == "factory: beta_biomarker"
    assert "on test: slot b, 12 of 100 steps" in text[4] and "previous: beta_biomarker" in text[4]
