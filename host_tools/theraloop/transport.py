"""SMP-over-serial transport for serial ports, ptys and pyserial URLs (`socket://host:port`).

SMP framing (base64 lines, CRC16, fragmentation) is smpclient's `SMPSerialTransport`;
this subclass only changes *what byte pipe* it runs on:

- a plain path (`/dev/ttyACM0`, `/dev/pts/3`, `COM4`) opens a serial port exactly as
  smpclient does;
- a pyserial URL (`socket://127.0.0.1:4321`, `rfc2217://...`, `loop://`) opens through
  `serial.serial_for_url`. For `socket://` a small subclass of pyserial's socket backend
  provides what smpclient needs and pyserial lacks: `out_waiting` (always 0, because
  `write` returns only once the kernel holds every byte) and a `read_all` that returns
  everything received instead of one byte per call.

Connecting fails fast with `DeviceUnavailable` (no retry loop unless a connect timeout
is given), so a wrong port is reported at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from time import monotonic
from typing import Any
from urllib.parse import urlsplit

import serial
from serial.serialutil import PortNotOpenError, SerialException
from serial.urlhandler import protocol_socket
from smpclient.transport.serial import SMPSerialTransport

from theraloop.errors import DeviceUnavailable, UsageError

_RECV_CHUNK = 65536
_RETRY_INTERVAL_S = 0.05


class SocketSerial(protocol_socket.Serial):
    """pyserial's `socket://` backend with the parts smpclient's transport relies on."""

    @property
    def out_waiting(self) -> int:
        """Bytes not yet handed to the kernel: always 0 (`write` blocks until sent)."""
        if not self.is_open:
            raise PortNotOpenError()
        return 0

    def read_all(self) -> bytes:
        """Everything received so far (possibly nothing); raises when the peer closed."""
        if not self.is_open or self._socket is None:
            raise PortNotOpenError()
        try:
            data: bytes = self._socket.recv(_RECV_CHUNK)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError as exc:
            raise SerialException(f"read failed: {exc}") from exc
        if not data:
            raise SerialException("socket disconnected")
        return data

    def close(self) -> None:
        """Close at once (pyserial's backend sleeps 0.3 s after every close)."""
        if self.is_open:
            if self._socket is not None:
                with contextlib.suppress(OSError):
                    self._socket.shutdown(socket.SHUT_RDWR)
                self._socket.close()
                self._socket = None
            self.is_open = False


def is_url(port: str) -> bool:
    """True for a pyserial URL such as `socket://127.0.0.1:4000`."""
    return "://" in port


def _check_socket_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"invalid port URL {url!r}: {exc}") from exc
    if not parts.hostname or port is None:
        raise UsageError(f"invalid port URL {url!r}: expected socket://HOST:PORT")


def open_url(url: str, **kwargs: Any) -> serial.SerialBase:
    """Open a pyserial URL; `socket://` URLs get `SocketSerial`.

    Raises `UsageError` for an unknown URL scheme and `SerialException` when the
    connection cannot be made.
    """
    scheme = url.split("://", 1)[0].lower()
    if scheme == "socket":
        _check_socket_url(url)
        conn = SocketSerial(None, **kwargs)
        conn.port = url
        conn.open()
        return conn
    try:
        return serial.serial_for_url(url, **kwargs)
    except ValueError as exc:
        raise UsageError(f"unsupported port URL {url!r}: {exc}") from exc


def _reason(exc: BaseException) -> str:
    """The OS's words for why a port did not open (pyserial wraps them verbosely)."""
    for candidate in (exc.__cause__, exc.__context__, exc):
        if isinstance(candidate, OSError) and candidate.strerror:
            return candidate.strerror
    return str(exc) or exc.__class__.__name__


class SerialPortTransport(SMPSerialTransport):
    """smpclient's SMP serial transport on a serial port, a pty or a pyserial URL."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._native_conn = self._conn
        self._write_timeout: float | None = kwargs.get("write_timeout")

    async def connect(self, address: str, timeout_s: float) -> None:
        """Open `address`, retrying until `timeout_s` has passed (0: one attempt).

        Raises `DeviceUnavailable` with the last reason when it cannot be opened.
        """
        self._reset_state()
        deadline = monotonic() + max(0.0, timeout_s)
        while True:
            try:
                self._open(address)
                return
            except (SerialException, OSError) as exc:
                reason = _reason(exc)
                remaining = deadline - monotonic()
                if remaining <= 0:
                    raise DeviceUnavailable(f"cannot open port {address}: {reason}") from exc
                await asyncio.sleep(min(_RETRY_INTERVAL_S, remaining))

    def _open(self, address: str) -> None:
        if is_url(address):
            # The base class declares `_conn` Final; on a URL it must be a different
            # pyserial class, chosen only now that the address is known.
            self._conn = open_url(address, write_timeout=self._write_timeout)  # type: ignore[misc]
        else:
            self._conn = self._native_conn  # type: ignore[misc]
            if self._conn.is_open:
                self._conn.close()
            self._conn.port = address
            self._conn.open()
        self._conn.reset_input_buffer()

    @property
    def is_connected(self) -> bool:
        """True while the port is open."""
        return bool(self._conn.is_open)

    def flush_input(self) -> None:
        """Drop every received byte and partly parsed frame.

        Used after a timeout, so that a late answer to an abandoned request is not
        taken as the answer to the next one.
        """
        self._reset_state()
        if self._conn.is_open:
            with contextlib.suppress(SerialException):
                self._conn.reset_input_buffer()

    def write_raw(self, data: bytes) -> None:
        """Write bytes to the port unframed (for testing how a device handles garbage)."""
        try:
            self._conn.write(data)
            self._conn.flush()
        except SerialException as exc:
            raise DeviceUnavailable(f"write to {self._conn.port} failed: {exc}") from exc
