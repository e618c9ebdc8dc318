"""The stimulator link (host side): frame encoder and decoder, a stream parser, and
fault injection, for the virtual patient and the tests.

Frame format version 1 (the device side is firmware/core/src/therapy/stim_link.c; byte
tables in docs/therapy.md). Multi-byte payload fields are little-endian::

    AA 53 | version | type | length N | payload (N bytes) | CRC-16/XMODEM (big-endian)

The CRC covers version, type, length and payload. Frame types:

- ``0x01`` STIM_SET, device -> stimulator, 12 bytes: seq u16, flags u8 (bit 0 enable,
  bits 1-3 waveform), reserved u8, amplitude_ua u16, pulse_width_us u16, rate_dhz u16,
  interphase_gap_us u16. The whole setting, every control step.
- ``0x81`` STATUS, stimulator -> device, 8 bytes: ack_seq u16, status u8, flags u8
  (bit 0 output active), delivered_ua u16, impedance_ohm u16.

:class:`StimParser` follows the device parser's rules exactly (resynchronisation on the
next ``AA`` byte, counters), so a stream can be checked on both sides.
"""

from __future__ import annotations

import binascii
import enum
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

SYNC = b"\xaa\x53"
VERSION = 1
HEADER_SIZE = 5
CRC_SIZE = 2
MAX_PAYLOAD = 32
MAX_FRAME = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE

TYPE_SET = 0x01
TYPE_STATUS = 0x81
SET_PAYLOAD = 12
STATUS_PAYLOAD = 8
SET_FRAME_SIZE = HEADER_SIZE + SET_PAYLOAD + CRC_SIZE
STATUS_FRAME_SIZE = HEADER_SIZE + STATUS_PAYLOAD + CRC_SIZE

_SET = struct.Struct("<HBBHHHH")
_STATUS = struct.Struct("<HBBHH")


class Waveform(enum.IntEnum):
    """Charge-balanced biphasic pulse shapes (tl_waveform_t)."""

    BIPHASIC_ACTIVE = 0
    BIPHASIC_PASSIVE = 1


class Status(enum.IntEnum):
    """What the stimulator reports (tl_stim_status_t)."""

    OK = 0
    BAD_FRAME = 1
    OUT_OF_RANGE = 2
    COMPLIANCE = 3
    HW_FAULT = 4
    IMPEDANCE = 5


class StimFrameError(ValueError):
    """A frame or field the format cannot carry, or a payload that does not decode."""


def crc16_xmodem(data: bytes) -> int:
    """CRC-16/XMODEM (poly 0x1021, init 0): crc16_xmodem(b"123456789") == 0x31C3."""
    return binascii.crc_hqx(data, 0)


@dataclass(frozen=True)
class Frame:
    """A frame that passed the checks of the parser (sync, version, length, CRC)."""

    type: int
    payload: bytes
    version: int = VERSION


@dataclass(frozen=True)
class StimCommand:
    """A STIM_SET frame: the stimulation the device asks for."""

    seq: int
    enabled: bool
    amplitude_ua: int
    pulse_width_us: int
    rate_dhz: int
    interphase_gap_us: int = 0
    waveform: Waveform = Waveform.BIPHASIC_ACTIVE

    @property
    def rate_hz(self) -> float:
        return self.rate_dhz / 10.0

    @property
    def charge_nc(self) -> float:
        """Charge per phase in nC."""
        return self.amplitude_ua * self.pulse_width_us / 1000.0


@dataclass(frozen=True)
class StimStatus:
    """A STATUS frame: the stimulator's acknowledgment."""

    ack_seq: int
    status: Status | int = Status.OK
    output_active: bool = False
    delivered_ua: int = 0
    impedance_ohm: int = 0


def encode_raw(
    frame_type: int, payload: bytes, *, version: int = VERSION, crc: int | None = None
) -> bytes:
    """A frame from raw parts without checks (fault injection: wrong version, bad CRC)."""
    body = bytes([version & 0xFF, frame_type & 0xFF, len(payload) & 0xFF]) + payload
    value = crc16_xmodem(body) if crc is None else crc
    return SYNC + body + struct.pack(">H", value & 0xFFFF)


def _u16(name: str, value: int) -> int:
    if not 0 <= value <= 0xFFFF:
        raise StimFrameError(f"{name} {value} does not fit 16 bits")
    return value


def encode_set(cmd: StimCommand) -> bytes:
    """Encode a STIM_SET frame; a disabled command is sent with amplitude 0."""
    flags = (1 if cmd.enabled else 0) | (int(Waveform(cmd.waveform)) << 1)
    payload = _SET.pack(
        _u16("seq", cmd.seq),
        flags,
        0,
        _u16("amplitude_ua", cmd.amplitude_ua if cmd.enabled else 0),
        _u16("pulse_width_us", cmd.pulse_width_us),
        _u16("rate_dhz", cmd.rate_dhz),
        _u16("interphase_gap_us", cmd.interphase_gap_us),
    )
    return encode_raw(TYPE_SET, payload)


def encode_status(st: StimStatus) -> bytes:
    """Encode a STATUS frame (what a stimulator sends back)."""
    if not 0 <= int(st.status) <= 0xFF:
        raise StimFrameError(f"status {st.status} does not fit 8 bits")
    payload = _STATUS.pack(
        _u16("ack_seq", st.ack_seq),
        int(st.status),
        1 if st.output_active else 0,
        _u16("delivered_ua", st.delivered_ua),
        _u16("impedance_ohm", st.impedance_ohm),
    )
    return encode_raw(TYPE_STATUS, payload)


def decode_set(frame: Frame) -> StimCommand:
    """Decode a STIM_SET frame, with the device's validity rules."""
    if frame.type != TYPE_SET or len(frame.payload) != SET_PAYLOAD:
        raise StimFrameError(f"not a STIM_SET frame (type 0x{frame.type:02x})")
    seq, flags, reserved, amp, pw, rate, gap = _SET.unpack(frame.payload)
    waveform = (flags >> 1) & 0x7
    if flags & 0xF0 or reserved or waveform >= len(Waveform):
        raise StimFrameError(f"invalid flags 0x{flags:02x} / reserved 0x{reserved:02x}")
    enabled = bool(flags & 1)
    if not enabled and amp:
        raise StimFrameError("disabled command with a non-zero amplitude")
    return StimCommand(seq, enabled, amp, pw, rate, gap, Waveform(waveform))


def decode_status(frame: Frame) -> StimStatus:
    """Decode a STATUS frame. Unknown status codes are kept as plain ints."""
    if frame.type != TYPE_STATUS or len(frame.payload) != STATUS_PAYLOAD:
        raise StimFrameError(f"not a STATUS frame (type 0x{frame.type:02x})")
    ack, status, flags, delivered, impedance = _STATUS.unpack(frame.payload)
    if flags & 0xFE:
        raise StimFrameError(f"invalid flags 0x{flags:02x}")
    code: Status | int = Status(status) if status in Status._value2member_map_ else status
    return StimStatus(ack, code, bool(flags & 1), delivered, impedance)


@dataclass
class ParserStats:
    """Same counters as tl_stim_parser_stats_t."""

    frames: int = 0
    bad_crc: int = 0
    bad_header: int = 0
    discarded: int = 0


@dataclass
class StimParser:
    """Finds frames in a byte stream; resynchronises after garbage like the device does."""

    stats: ParserStats = field(default_factory=ParserStats)
    _buf: bytearray = field(default_factory=bytearray)

    def _resync(self) -> None:
        i = 1
        while i < len(self._buf) and self._buf[i] != SYNC[0]:
            i += 1
        self.stats.discarded += i
        del self._buf[:i]

    def _scan(self) -> Frame | None:
        buf = self._buf
        while buf:
            if buf[0] != SYNC[0] or (len(buf) >= 2 and buf[1] != SYNC[1]):
                self._resync()
                continue
            if (len(buf) >= 3 and buf[2] != VERSION) or (len(buf) >= 5 and buf[4] > MAX_PAYLOAD):
                self.stats.bad_header += 1
                self._resync()
                continue
            if len(buf) < HEADER_SIZE:
                return None
            total = HEADER_SIZE + buf[4] + CRC_SIZE
            if len(buf) < total:
                return None
            want = (buf[total - 2] << 8) | buf[total - 1]
            if crc16_xmodem(bytes(buf[2 : total - 2])) != want:
                self.stats.bad_crc += 1
                self._resync()
                continue
            frame = Frame(type=buf[3], payload=bytes(buf[HEADER_SIZE : total - 2]), version=buf[2])
            del buf[:total]
            self.stats.frames += 1
            return frame
        return None

    def feed(self, data: bytes | bytearray | Iterable[int]) -> list[Frame]:
        """Feed bytes; returns the frames they completed (in order)."""
        out = []
        for byte in bytes(data):
            self._buf.append(byte)
            frame = self._scan()
            if frame is not None:
                out.append(frame)
        return out


def decode_commands(stream: bytes) -> list[StimCommand]:
    """All valid STIM_SET commands in a captured stream (e.g. the device's USART3 output)."""
    out = []
    for frame in StimParser().feed(stream):
        if frame.type == TYPE_SET:
            try:
                out.append(decode_set(frame))
            except StimFrameError:
                continue
    return out
