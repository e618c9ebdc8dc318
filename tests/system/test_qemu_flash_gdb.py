"""`theraloop flash --gdb` against QEMU's gdbstub: load, verify, start, the device answers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from theraloop.device import Device
from theraloop.flash.gdb_rsp import GdbClient, parse_address
from theraloop.flash.image import load_image
from theraloop.mgmt import NnStateRead
from theraloop.sim.qemu import QemuRunner

pytestmark = pytest.mark.qemu


def _flash(address: str, image: Path, *extra: str) -> dict[str, object]:
    r = subprocess.run(
        [
            str(Path(sys.executable).with_name("theraloop")),
            "--json",
            "flash",
            "--gdb",
            address,
            *extra,
            str(image),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _dsp(url: str) -> bool:
    with Device(url, timeout=2.0) as dev:
        dev.wait_ready(10.0)
        return dev.request(NnStateRead()).dsp


def test_flash_same_image_then_info(firmware_elf: Path) -> None:
    with QemuRunner(firmware_elf, gdb=True) as qemu:
        assert qemu.gdb_address is not None
        result = _flash(qemu.gdb_address, firmware_elf)
        assert result["verified"] is True and result["started"] is True
        with Device(qemu.cli_url, timeout=2.0) as dev:
            info = dev.wait_ready(10.0)
        assert info.board == "stm32f4"
        assert info.reset_reason == "power_on"


def test_flash_other_image_takes_effect(firmware_elf: Path) -> None:
    portable = firmware_elf.with_name("theraloop_portable.elf")
    with QemuRunner(firmware_elf, gdb=True) as qemu:
        assert qemu.gdb_address is not None
        _flash(qemu.gdb_address, portable)
        assert _dsp(qemu.cli_url) is False
    with QemuRunner(firmware_elf) as qemu:  # control: the image QEMU was started with
        assert _dsp(qemu.cli_url) is True


def test_rsp_client_reads_back_what_it_wrote(firmware_elf: Path) -> None:
    image = load_image(firmware_elf)
    with QemuRunner(firmware_elf, gdb=True) as qemu:
        assert qemu.gdb_address is not None
        with GdbClient(*parse_address(qemu.gdb_address)) as gdb:
            numbers = gdb.register_numbers()
            assert numbers["pc"] == 15 and numbers["sp"] == 13 and "xpsr" in numbers
            first = image.segments[0]
            assert gdb.read_memory(first.address, 256) == first.data[:256]
            # a RAM word: write, read back, both M/X paths go through write_memory
            gdb.write_memory(0x2001_0000, b"\xde\xad\xbe\xef#$}*")
            assert gdb.read_memory(0x2001_0000, 8) == b"\xde\xad\xbe\xef#$}*"
            gdb.detach()
