"""`theraloop flash`: no probe, image parsing, RSP framing (no hardware needed)."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from theraloop.errors import ExitCode, UsageError
from theraloop.flash.gdb_rsp import decode_rle, escape_binary, frame, parse_address
from theraloop.flash.image import DEFAULT_BASE, load_image, parse_elf

ROOT = Path(__file__).resolve().parents[2]
ELF = ROOT / "build/stm32f4/firmware/boards/stm32f4/theraloop.elf"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("theraloop")), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_no_probe_is_one_line_and_no_device_code(tmp_path: Path) -> None:
    image = tmp_path / "fw.bin"
    image.write_bytes(bytes(range(256)))
    r = _cli("flash", str(image))
    assert r.returncode == ExitCode.NO_DEVICE
    assert r.stderr.startswith("theraloop: error: no debug probe found (")
    assert r.stderr.count("\n") == 1
    assert r.stdout == ""


def test_gdb_server_not_listening_is_no_device(tmp_path: Path) -> None:
    image = tmp_path / "fw.bin"
    image.write_bytes(b"\x00\x00\x02\x20\x01\x00\x00\x08" * 4)
    r = _cli("flash", "--gdb", "127.0.0.1:1", str(image))
    assert r.returncode == ExitCode.NO_DEVICE
    assert r.stderr.count("\n") == 1 and "GDB server 127.0.0.1:1" in r.stderr


def test_bad_gdb_address_is_usage() -> None:
    with pytest.raises(UsageError):
        parse_address("localhost")
    assert parse_address(":3333") == ("127.0.0.1", 3333)


def test_bin_goes_to_flash_base_and_signed_is_recognised(tmp_path: Path) -> None:
    raw = tmp_path / "a.bin"
    raw.write_bytes(b"\x01\x02\x03\x04")
    img = load_image(raw)
    assert (img.kind, img.base, img.size) == ("bin", DEFAULT_BASE, 4)
    assert load_image(raw, base=0x2000_0000).base == 0x2000_0000
    signed = tmp_path / "s.bin"
    signed.write_bytes(struct.pack("<I", 0x96F3B83D) + bytes(60))
    simg = load_image(signed)
    assert simg.kind == "signed"
    with pytest.raises(UsageError, match="signed MCUboot image"):
        simg.vector_table()


def test_elf_segments_are_the_load_addresses() -> None:
    if not ELF.is_file():
        pytest.fail(f"{ELF} not built")
    img = load_image(ELF)
    # the application is linked into fw_primary behind its 0x200-byte MCUboot header
    assert img.kind == "elf" and img.base == 0x0802_0200
    sp, pc = img.vector_table()
    assert 0x2000_0000 < sp <= 0x2002_0000 and pc & 1 and 0x0800_0000 <= pc < 0x0810_0000
    # the .data initialisers come right after the code, in flash (LMA), not in RAM
    assert all(0x0800_0000 <= s.address < 0x0810_0000 for s in img.segments)


@pytest.mark.parametrize("cut", [0, 10, 52, 60])
def test_truncated_elf_is_rejected(cut: int) -> None:
    if not ELF.is_file():
        pytest.fail(f"{ELF} not built")
    with pytest.raises(UsageError, match="not a loadable ARM ELF"):
        parse_elf(ELF.read_bytes()[:cut])


def test_elf_with_segment_outside_file_is_rejected() -> None:
    raw = bytearray(ELF.read_bytes())
    phoff = struct.unpack_from("<I", raw, 28)[0]
    phnum = struct.unpack_from("<H", raw, 44)[0]
    for i in range(phnum):  # p_filesz of every PT_LOAD segment
        if struct.unpack_from("<I", raw, phoff + 32 * i)[0] == 1:
            struct.pack_into("<I", raw, phoff + 32 * i + 16, len(raw) * 2)
    with pytest.raises(UsageError, match="outside the file"):
        parse_elf(bytes(raw))


def test_rsp_framing() -> None:
    assert frame(b"OK") == b"$OK#9a"
    assert frame(b"qSupported") == b"$qSupported#37"
    assert escape_binary(b"a#b$c}d*e") == b"a}\x03b}\x04c}]d}\ne"
    assert decode_rle(b"0* ") == b"0000"  # ' ' = 32: three more
    assert decode_rle(b"abc") == b"abc"
