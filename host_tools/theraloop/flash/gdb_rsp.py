"""A small, strict client of the GDB remote serial protocol (RSP) over TCP.

Enough to load and start a program through a GDB server (QEMU's `-gdb` stub,
OpenOCD, pyOCD's gdbserver): packets `$data#cs` with checksum and acknowledgement,
`qSupported`, memory writes (`X` binary, falling back to `M` hex) in chunks the server
accepts, `m` reads, `P` register writes, flash programming through the server's memory
map (`vFlashErase`/`vFlashWrite`/`vFlashDone`) when it has one, and detach `D`.

Every answer is checked: a bad checksum is NAKed and re-read, an `Exx` answer or an
unexpected reply raises `RspError` (a `DeviceProtocolError`), a closed or silent
connection raises `DeviceUnavailable`/`DeviceTimeout`.
"""

from __future__ import annotations

import logging
import re
import socket
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from types import TracebackType
from typing import Final

from theraloop.errors import DeviceProtocolError, DeviceTimeout, DeviceUnavailable, UsageError

logger = logging.getLogger(__name__)

_ESCAPED: Final = frozenset(b"#$}*")
_MAX_RETRIES: Final = 3
_DEFAULT_PACKET: Final = 400
_MAX_CHUNK: Final = 4096
_MAX_PACKET: Final = 1 << 20
_ELEMENT_PREFIX: Final = re.compile(r"<(/?)[A-Za-z_][\w.-]*:")


class RspError(DeviceProtocolError):
    """The GDB server refused a request or answered something invalid."""


def checksum(data: bytes) -> int:
    return sum(data) & 0xFF


def frame(data: bytes) -> bytes:
    """`data` as one RSP packet: `$data#cs`."""
    return b"$" + data + b"#" + b"%02x" % checksum(data)


def escape_binary(data: bytes) -> bytes:
    """Binary data for `X`/`vFlashWrite`: `#$}*` become `}` + (byte ^ 0x20)."""
    out = bytearray()
    for b in data:
        if b in _ESCAPED:
            out += bytes((0x7D, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


def decode_rle(data: bytes) -> bytes:
    """Expand RSP run-length encoding (`X*n`: repeat X n-29 more times)."""
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b == 0x2A:  # '*'
            if not out or i + 1 >= len(data):
                raise RspError("GDB server sent a malformed run-length encoding")
            count = data[i + 1] - 29
            if count < 3:
                raise RspError("GDB server sent a malformed run-length encoding")
            out += bytes((out[-1],)) * count
            i += 2
            continue
        out.append(b)
        i += 1
    return bytes(out)


def parse_address(text: str) -> tuple[str, int]:
    """`HOST:PORT` (HOST may be empty: localhost) as (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"invalid GDB server address {text!r}: expected HOST:PORT")
    return host or "127.0.0.1", int(port)


@dataclass(frozen=True)
class FlashRegion:
    """A flash range from the server's memory map; erased in `blocksize` blocks."""

    start: int
    length: int
    blocksize: int

    @property
    def end(self) -> int:
        return self.start + self.length


def parse_memory_map(xml_text: str) -> list[FlashRegion]:
    """The flash regions of a GDB `memory-map` XML document."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise RspError(f"GDB server sent an invalid memory map: {exc}") from exc
    regions: list[FlashRegion] = []
    for mem in root.iter("memory"):
        if mem.get("type") != "flash":
            continue
        block = next((p.text for p in mem.iter("property") if p.get("name") == "blocksize"), None)
        try:
            start, length = int(mem.get("start", ""), 0), int(mem.get("length", ""), 0)
            blocksize = int(block or "", 0)
        except ValueError as exc:
            raise RspError(f"GDB server sent an invalid memory map entry: {exc}") from exc
        if length <= 0 or blocksize <= 0:
            raise RspError("GDB server sent a memory map entry with no size")
        regions.append(FlashRegion(start, length, blocksize))
    return regions


class GdbClient:
    """One connection to a GDB server; a context manager (detaches on close)."""

    def __init__(self, host: str, port: int, *, timeout: float = 5.0) -> None:
        self.host: Final = host
        self.port: Final = port
        self.timeout: Final = timeout
        self._sock: socket.socket | None = None
        self._buf = bytearray()
        self.features: dict[str, str] = {}
        self.packet_size = _DEFAULT_PACKET
        self._x_supported: bool | None = None

    # --- connection --------------------------------------------------------------------

    def __enter__(self) -> GdbClient:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def connect(self) -> None:
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise DeviceUnavailable(
                f"cannot connect to GDB server {self.host}:{self.port}: {exc.strerror or exc}"
            ) from exc
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._handshake()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _handshake(self) -> None:
        reply = self.request(b"qSupported:multiprocess-;swbreak+;hwbreak+;xmlRegisters=arm")
        for item in reply.decode("ascii", "replace").split(";"):
            if "=" in item:
                key, value = item.split("=", 1)
                self.features[key] = value
            elif item.endswith(("+", "-", "?")):
                self.features[item[:-1]] = item[-1]
        size = self.features.get("PacketSize")
        if size is not None:
            try:
                self.packet_size = max(64, min(int(size, 16), _MAX_PACKET))
            except ValueError as exc:
                raise RspError(f"GDB server sent an invalid PacketSize {size!r}") from exc
        stop = self.request(b"?")
        if not stop or stop[:1] not in b"STWX":
            raise RspError(f"GDB server sent an invalid stop reply {stop[:40]!r}")
        logger.info("GDB server %s:%d: packet size %d", self.host, self.port, self.packet_size)

    # --- packets -----------------------------------------------------------------------

    def request(self, data: bytes) -> bytes:
        """Send one packet and return the server's answer (RLE-decoded)."""
        self._send(data)
        return self._receive()

    def _send(self, data: bytes) -> None:
        packet = frame(data)
        for _ in range(_MAX_RETRIES):
            self._write(packet)
            ack = self._read_byte()
            if ack not in (b"+", b"-"):
                raise RspError(f"GDB server sent {bytes((ack[0],))!r} instead of an ack")
            if ack == b"+":
                logger.debug("rsp -> %r", data[:80])
                return
        raise RspError(f"GDB server rejected a packet {_MAX_RETRIES} times")

    def _receive(self) -> bytes:
        for _ in range(_MAX_RETRIES):
            while self._read_byte() != b"$":
                pass
            body = bytearray()
            while True:
                b = self._read_byte()
                if b == b"#":
                    break
                body += b
                if len(body) > _MAX_PACKET:
                    raise RspError("GDB server sent an oversized packet")
            cs_text = self._read_byte() + self._read_byte()
            try:
                ok = int(cs_text, 16) == checksum(body)
            except ValueError:
                ok = False
            if ok:
                self._write(b"+")
                logger.debug("rsp <- %r", bytes(body[:80]))
                return decode_rle(bytes(body))
            self._write(b"-")
        raise RspError(f"GDB server sent {_MAX_RETRIES} packets with a bad checksum")

    def _write(self, data: bytes) -> None:
        sock = self._require()
        try:
            sock.sendall(data)
        except OSError as exc:
            raise DeviceUnavailable(f"GDB server connection lost: {exc}") from exc

    def _read_byte(self) -> bytes:
        if not self._buf:
            sock = self._require()
            try:
                chunk = sock.recv(65536)
            except TimeoutError as exc:
                raise DeviceTimeout(
                    f"GDB server {self.host}:{self.port} did not answer within {self.timeout:g} s"
                ) from exc
            except OSError as exc:
                raise DeviceUnavailable(f"GDB server connection lost: {exc}") from exc
            if not chunk:
                raise DeviceUnavailable(f"GDB server {self.host}:{self.port} closed the connection")
            self._buf += chunk
        b = bytes(self._buf[:1])
        del self._buf[:1]
        return b

    def _require(self) -> socket.socket:
        if self._sock is None:
            raise DeviceUnavailable("not connected to a GDB server")
        return self._sock

    def _expect_ok(self, reply: bytes, what: str) -> None:
        if reply != b"OK":
            raise RspError(f"GDB server refused {what}: {_describe(reply)}")

    # --- memory ------------------------------------------------------------------------

    @property
    def chunk_size(self) -> int:
        """Bytes of data per memory packet (hex `M`/`m` doubles them)."""
        return max(16, min((self.packet_size - 32) // 2, _MAX_CHUNK))

    def write_memory(self, address: int, data: bytes) -> None:
        """Write one chunk (at most `chunk_size` bytes) with `X`, or `M` if unsupported."""
        head = b"%x,%x:" % (address, len(data))
        if self._x_supported is not False:
            reply = self.request(b"X" + head + escape_binary(data))
            if reply == b"":
                self._x_supported = False
            else:
                self._x_supported = True
                self._expect_ok(reply, f"a write of {len(data)} bytes at {address:#010x}")
                return
        reply = self.request(b"M" + head + data.hex().encode())
        self._expect_ok(reply, f"a write of {len(data)} bytes at {address:#010x}")

    def read_memory(self, address: int, length: int) -> bytes:
        """Read `length` bytes (in chunks)."""
        out = bytearray()
        while len(out) < length:
            n = min(self.chunk_size, length - len(out))
            addr = address + len(out)
            reply = self.request(b"m%x,%x" % (addr, n))
            if not reply or (reply.startswith(b"E") and len(reply) == 3):
                raise RspError(f"GDB server refused a read at {addr:#010x}: {_describe(reply)}")
            try:
                data = bytes.fromhex(reply.decode("ascii"))
            except ValueError as exc:
                raise RspError(f"GDB server sent invalid memory data at {addr:#010x}") from exc
            if not 0 < len(data) <= n:
                raise RspError(f"GDB server sent {len(data)} bytes for a read of {n}")
            out += data
        return bytes(out)

    # --- flash through the server's memory map -------------------------------------------

    def flash_regions(self) -> list[FlashRegion]:
        """The server's flash regions (empty if it publishes no memory map, like QEMU)."""
        if self.features.get("qXfer:memory-map:read") != "+":
            return []
        return parse_memory_map(self.read_xfer("memory-map", ""))

    def read_xfer(self, obj: str, annex: str) -> str:
        """A whole `qXfer:OBJ:read:ANNEX` document."""
        text = bytearray()
        while True:
            query = b"qXfer:%s:read:%s:%x,%x" % (
                obj.encode(),
                annex.encode(),
                len(text),
                self.chunk_size,
            )
            reply = self.request(query)
            if not reply or reply[:1] not in b"ml":
                raise RspError(f"GDB server refused {obj} {annex!r}: {_describe(reply)}")
            text += reply[1:]
            if len(text) > _MAX_PACKET:
                raise RspError(f"GDB server sent an oversized {obj} document")
            if reply[:1] == b"l":
                return text.decode("utf-8", "replace")

    def register_numbers(self) -> dict[str, int]:
        """Register name -> number from the server's target description.

        Reading the description also tells QEMU's stub that the client knows its
        register layout; it refuses `P` before that.
        """
        if self.features.get("qXfer:features:read") != "+":
            return {}
        numbers: dict[str, int] = {}
        next_number = 0
        pending = ["target.xml"]
        seen: set[str] = set()
        while pending:
            annex = pending.pop(0)
            if annex in seen or len(seen) > 16:
                continue
            seen.add(annex)
            try:
                # QEMU writes `<xi:include>` without declaring the prefix: drop prefixes.
                text = _ELEMENT_PREFIX.sub(r"<\1", self.read_xfer("features", annex))
                root = ET.fromstring(text)
            except ET.ParseError as exc:
                raise RspError(f"GDB server sent an invalid {annex}: {exc}") from exc
            for elem in root.iter():
                tag = elem.tag.rsplit("}", 1)[-1]
                if tag == "include" and elem.get("href"):
                    pending.append(str(elem.get("href")))
                elif tag == "reg" and elem.get("name"):
                    regnum = elem.get("regnum")
                    try:
                        number = int(regnum) if regnum is not None else next_number
                    except ValueError as exc:
                        raise RspError(f"invalid register number {regnum!r}") from exc
                    numbers.setdefault(str(elem.get("name")).lower(), number)
                    next_number = number + 1
        return numbers

    def flash_erase(self, address: int, length: int) -> None:
        self._expect_ok(
            self.request(b"vFlashErase:%x,%x" % (address, length)),
            f"erasing flash at {address:#010x}",
        )

    def flash_write(self, address: int, data: bytes) -> None:
        self._expect_ok(
            self.request(b"vFlashWrite:%x:" % address + escape_binary(data)),
            f"writing flash at {address:#010x}",
        )

    def flash_done(self) -> None:
        self._expect_ok(self.request(b"vFlashDone"), "finishing the flash write")

    # --- registers and execution -------------------------------------------------------

    def write_register(self, number: int, value: int) -> None:
        """`P n=v`: a 32-bit register in target (little-endian) byte order."""
        reply = self.request(b"P%x=%s" % (number, value.to_bytes(4, "little").hex().encode()))
        self._expect_ok(reply, f"writing register {number}")

    def monitor(self, command: str) -> bytes:
        """`monitor COMMAND` (qRcmd); the server's console output, decoded."""
        reply = self.request(b"qRcmd," + command.encode().hex().encode())
        output = bytearray()
        while reply.startswith(b"O") and reply != b"OK":
            output += bytes.fromhex(reply[1:].decode("ascii"))
            reply = self._receive()
        if reply not in (b"OK",) and not (reply and not reply.startswith(b"E")):
            raise RspError(f"GDB server refused 'monitor {command}': {_describe(reply)}")
        return bytes(output)

    def detach(self) -> None:
        """`D`: the server lets the target run and forgets this client."""
        self._expect_ok(self.request(b"D"), "detach")


def _describe(reply: bytes) -> str:
    if not reply:
        return "not supported"
    return reply[:40].decode("ascii", "replace")
