"""Resets and deliberate faults of the firmware in QEMU (a fresh QEMU per test)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from theraloop.cli import main
from theraloop.errors import DeviceUnavailable
from theraloop.mgmt import FaultTestKind

pytestmark = pytest.mark.qemu

FLASH = range(0x0800_0000, 0x0810_0000)
SRAM = range(0x2000_0000, 0x2002_0000)

CFSR_UNDEFINSTR = 1 << 16
CFSR_DIVBYZERO = 1 << 25
CFSR_BFSR_MASK = 0xFF00
CFSR_BFARVALID = 1 << 15
HFSR_FORCED = 1 << 30


def test_reset_reboots_with_reason_software(fresh_qemu_device):
    with fresh_qemu_device.device() as dev:
        dev.reset()
        info = dev.wait_ready(10.0)
        assert info.reset_reason == "software"
        assert info.fault is None
        assert dev.echo("back") == "back"
    assert fresh_qemu_device.runner.running


def test_cli_reset_wait_reports_the_new_reset_reason(fresh_qemu_device):
    result = CliRunner().invoke(
        main, ["--port", fresh_qemu_device.cli_url, "--json", "reset", "--wait"]
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["reset"] == "accepted"
    assert data["reset_reason"] == "software"
    assert data["uptime_ms"] < 10_000


@pytest.mark.parametrize("kind", list(FaultTestKind))
def test_fault_test_reboots_with_a_fault_record(fresh_qemu_device, kind):
    with fresh_qemu_device.device() as dev:
        dev.fault_test(kind)
        info = dev.wait_ready(10.0)
    assert info.reset_reason == "fault"
    fault = info.fault
    assert fault is not None
    assert fault.pc in FLASH, hex(fault.pc)
    assert fault.sp in SRAM, hex(fault.sp)
    if kind is FaultTestKind.BUS_READ:
        assert fault.kind in {"bus", "hard"}
        assert fault.cfsr & CFSR_BFSR_MASK, hex(fault.cfsr)
        if fault.cfsr & CFSR_BFARVALID:
            assert fault.bfar not in SRAM and fault.bfar not in FLASH, hex(fault.bfar)
    elif kind is FaultTestKind.UNDEF_INSN:
        assert fault.kind in {"usage", "hard"}
        assert fault.cfsr & CFSR_UNDEFINSTR, hex(fault.cfsr)
    else:
        assert fault.kind in {"usage", "hard"}
        assert fault.cfsr & CFSR_DIVBYZERO, hex(fault.cfsr)
    if fault.kind == "hard":
        assert fault.hfsr & HFSR_FORCED, hex(fault.hfsr)


def test_lost_connection_is_reported_as_unavailable(fresh_qemu_device):
    with fresh_qemu_device.device() as dev:
        assert dev.echo("before") == "before"
        fresh_qemu_device.runner.stop()
        with pytest.raises(DeviceUnavailable, match="lost"):
            dev.echo("anyone there?")


def test_device_keeps_its_buffer_size_across_a_reconnect(fresh_qemu_device):
    text = "z" * 1500  # needs the device's 2048-byte buffer, not the 128-byte default
    with fresh_qemu_device.device() as dev:
        dev.reset()
        dev.disconnect()
        assert dev.wait_ready(10.0).reset_reason == "software"
        assert dev.echo(text) == text
