"""The SMP transport on `socket://` URLs: what smpclient needs from pyserial's socket backend.

The peer here is a plain TCP socket that captures or sends SMP-framed bytes, encoded and
decoded with smp's own codec, so these tests check our wiring and not a fake device.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from serial.serialutil import SerialException
from smp import packet as smppacket
from smpclient.requests.os_management import EchoWrite
from smpclient.transport import SMPTransportDisconnected

from theraloop.errors import DeviceUnavailable, UsageError
from theraloop.transport import SerialPortTransport, SocketSerial, open_url


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(5)
    yield srv
    srv.close()


def _url(srv: socket.socket) -> str:
    return f"socket://127.0.0.1:{srv.getsockname()[1]}"


def _decode_frame(conn: socket.socket) -> bytes:
    """Read SMP serial lines from `conn` until one frame is complete; return it."""
    decoder = smppacket.decode()
    next(decoder)
    pending = b""
    while True:
        chunk = conn.recv(4096)
        assert chunk, "peer closed early"
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            try:
                decoder.send(line + b"\n")
            except StopIteration as stop:
                return bytes(stop.value)


def test_socket_serial_reads_everything_available_and_has_no_pending_output(listener):
    conn = open_url(_url(listener))
    peer, _ = listener.accept()
    try:
        assert isinstance(conn, SocketSerial)
        assert conn.out_waiting == 0
        assert conn.read_all() == b""
        payload = bytes(range(256)) * 8
        peer.sendall(payload)
        received = b""
        for _ in range(200):
            received += conn.read_all()
            if len(received) == len(payload):
                break
            asyncio.run(asyncio.sleep(0.005))
        assert received == payload
        peer.close()
        with pytest.raises(SerialException):
            for _ in range(200):
                conn.read_all()
                asyncio.run(asyncio.sleep(0.005))
    finally:
        conn.close()
    assert not conn.is_open


def test_transport_sends_smp_frames_and_receives_answers_over_tcp(listener):
    request = EchoWrite(d="x" * 300)  # several base64 lines

    async def exchange() -> bytes:
        transport = SerialPortTransport()
        transport.initialize(2048)  # as a device advertising buf_size 2048 would
        await transport.connect(_url(listener), 1.0)
        peer, _ = listener.accept()
        try:
            await transport.send(request.BYTES)
            assert await asyncio.to_thread(_decode_frame, peer) == request.BYTES
            answer = b"answer-bytes" * 40
            for packet in smppacket.encode(answer):
                peer.sendall(packet)
            return await asyncio.wait_for(transport.receive(), 5)
        finally:
            peer.close()
            await transport.disconnect()

    assert asyncio.run(exchange()) == b"answer-bytes" * 40


def test_transport_reports_a_closed_peer_as_disconnected(listener):
    async def run() -> None:
        transport = SerialPortTransport()
        await transport.connect(_url(listener), 1.0)
        peer, _ = listener.accept()
        peer.close()
        with pytest.raises(SMPTransportDisconnected):
            await asyncio.wait_for(transport.receive(), 5)
        await transport.disconnect()

    asyncio.run(run())


def test_connect_fails_fast_with_the_reason():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there

    async def run(address: str) -> None:
        await SerialPortTransport().connect(address, 0)

    with pytest.raises(DeviceUnavailable, match="Connection refused"):
        asyncio.run(run(f"socket://127.0.0.1:{port}"))
    with pytest.raises(DeviceUnavailable, match="No such file or directory"):
        asyncio.run(run("/dev/theraloop-no-such-port"))
    with pytest.raises(UsageError, match="socket://HOST:PORT"):
        asyncio.run(run("socket://127.0.0.1"))
    with pytest.raises(UsageError, match="not known"):
        asyncio.run(run("nosuchscheme://x"))


def test_connect_retries_until_the_port_appears(listener):
    port = listener.getsockname()[1]
    listener.close()
    replacement = socket.socket()

    def reopen() -> None:
        replacement.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        replacement.bind(("127.0.0.1", port))
        replacement.listen(1)

    async def run() -> None:
        transport = SerialPortTransport()
        loop = asyncio.get_running_loop()
        loop.call_later(0.2, reopen)
        await transport.connect(f"socket://127.0.0.1:{port}", 3.0)
        assert transport.is_connected
        await transport.disconnect()

    try:
        asyncio.run(run())
    finally:
        replacement.close()
