"""The firmware in QEMU answering the SMP management plane (one QEMU for the module)."""

from __future__ import annotations

import base64
import struct
from pathlib import Path

import pytest
from smp import packet as smppacket
from smpclient.requests.os_management import EchoWrite

from theraloop.errors import DeviceError
from theraloop.mgmt import THERALOOP_GROUP_ID, FaultTestWrite

pytestmark = pytest.mark.qemu

ROOT = Path(__file__).resolve().parents[2]
VERSION = (ROOT / "VERSION").read_text().strip()


def _frame(body: bytes) -> bytes:
    """One SMP serial line carrying `body` (length + packet + CRC, as sent) in base64."""
    return smppacket.START_DELIMITER + base64.b64encode(body) + b"\n"


def _good_body(request: bytes) -> bytes:
    crc = smppacket.crc16_func(request)
    return struct.pack("!H", len(request) + 2) + request + struct.pack("!H", crc)


def test_boot_info(qemu_device):
    info = qemu_device.boot_info
    assert info.firmware_version == VERSION
    assert info.board == "stm32f4"
    assert info.reset_reason == "power_on"
    assert info.fault is None
    assert len(info.build_id) >= 16 and int(info.build_id, 16) >= 0
    assert info.source_revision
    assert info.uptime_ms < 60_000


def test_uptime_advances_and_params_are_reported(qemu_device):
    with qemu_device.device() as dev:
        assert dev.params is not None
        assert dev.params.buf_size == 2048 and dev.params.buf_count == 1
        first = dev.info().uptime_ms
        second = dev.info().uptime_ms
        assert second >= first


def test_echo_of_1_kib_spans_several_frames(qemu_device):
    text = "".join(chr(ord("A") + i % 26) for i in range(1024))
    lines = list(smppacket.encode(EchoWrite(d=text).BYTES, line_length=128))
    assert len(lines) > 5  # really fragmented on the wire
    with qemu_device.device() as dev:
        assert dev.echo(text) == text
        assert dev.echo("") == ""


def test_device_survives_malformed_and_corrupt_frames(qemu_device):
    with qemu_device.device() as dev:
        before = dev.info().smp_stats
        good = _good_body(EchoWrite(d="corrupt me").BYTES)
        bad_crc = good[:-1] + bytes([good[-1] ^ 0x5A])
        dev.write_raw(_frame(bad_crc))
        assert dev.echo("after bad crc") == "after bad crc"

        dev.write_raw(smppacket.START_DELIMITER + b"@@not*base64@@\n")
        assert dev.echo("after bad base64") == "after bad base64"

        oversize = struct.pack("!H", 60000) + b"\x00" * 30
        dev.write_raw(_frame(oversize))
        assert dev.echo("after oversize") == "after oversize"

        truncated = _frame(good)[: len(_frame(good)) // 2]  # cut off, no newline
        dev.write_raw(truncated + b"\n")
        dev.write_raw(b"plain text noise, not SMP\r\n")
        assert dev.echo("after noise") == "after noise"

        after = dev.info().smp_stats
        assert after["bad_crc"] == before["bad_crc"] + 1
        assert after["bad_base64"] >= before["bad_base64"] + 1
        assert after["oversize"] >= before["oversize"] + 1
        assert after["frames_ok"] > before["frames_ok"]


def test_unknown_group_and_command_return_an_smp_error(qemu_device):
    with qemu_device.device() as dev:
        with pytest.raises(DeviceError) as caught:
            dev.raw(99, 0, write=False)
        assert (caught.value.rc, caught.value.name) == (8, "ENOTSUP")
        with pytest.raises(DeviceError) as caught:
            dev.raw(THERALOOP_GROUP_ID, 200, write=False)
        assert (caught.value.rc, caught.value.name) == (8, "ENOTSUP")
        # a group-specific error comes as a v2 `err` map naming the group
        with pytest.raises(DeviceError) as caught:
            dev.request(FaultTestWrite(kind=77))
        err = caught.value
        assert (err.version, err.group, err.rc, err.name) == (2, 64, 2, "INVALID")
        assert dev.echo("still answering") == "still answering"
