"""The CLI USART on a pty: the unmodified smpclient transport talks to the firmware."""

from __future__ import annotations

import asyncio

import pytest
from smpclient import SMPClient
from smpclient.generics import success
from smpclient.requests.os_management import EchoWrite, MCUMgrParametersRead
from smpclient.transport.serial import SMPSerialTransport

pytestmark = pytest.mark.qemu


def test_unmodified_smpclient_on_the_pty(qemu_pty_device):
    port = qemu_pty_device.cli_url
    assert port.startswith("/dev/")

    async def session() -> tuple[str, int]:
        async with SMPClient(SMPSerialTransport(), port, timeout_s=3.0) as client:
            params = await client.request(MCUMgrParametersRead())
            assert success(params), params
            echo = await client.request(EchoWrite(d="smpclient " * 60))
            assert success(echo), echo
            return echo.r, params.buf_size

    text, buf_size = asyncio.run(session())
    assert text == "smpclient " * 60
    assert buf_size == 2048


def test_theraloop_device_on_the_pty(qemu_pty_device):
    with qemu_pty_device.device() as dev:
        assert dev.info().board == "stm32f4"
