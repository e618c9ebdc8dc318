"""The AFE sample link (host side): frame encoder, a reference decoder, fault injection.

Frame format version 1 (the device's receiver is firmware/core/src/sense/afe_link.c; byte
table and counting rules in docs/sensing.md). All multi-byte fields little-endian::

    A5 5A | ver | flags | seq u16 | channels | samples/ch | rate code | hdr CRC u16
    | channels x samples int16, interleaved | frame CRC u16

Header CRC = CRC-16/XMODEM over bytes 2..8; frame CRC over bytes 2 .. end of samples.

The virtual patient and the tests build streams with :func:`encode_stream` and damage them
with the fault-injection helpers (:func:`drop`, :func:`duplicate`, :func:`swap`,
:func:`corrupt`, :func:`truncate`, :func:`garbage`, :func:`encode_raw` for well-checksummed
frames with out-of-range fields). :class:`AfeDecoder` implements the receiver's rules
exactly (resynchronisation, sequence bookkeeping, counters) and is checked against the C
receiver byte stream for byte stream in tests/python/test_afe_link.py.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields

import numpy as np

SYNC = b"\xa5\x5a"
VERSION = 1
HEADER_SIZE = 11
CRC_SIZE = 2
MAX_CHANNELS = 4
MAX_SAMPLES = 256
"""Largest block: channels x samples per channel."""
MAX_SAMPLES_PER_CHANNEL = 255
MAX_FRAME = HEADER_SIZE + 2 * MAX_SAMPLES + CRC_SIZE
HISTORY = 32
"""Blocks behind the last delivered one the receiver remembers (duplicate vs late)."""

FLAG_SATURATED = 0x01
FLAG_LEAD_OFF = 0x02
FLAGS_KNOWN = FLAG_SATURATED | FLAG_LEAD_OFF

RATE_CODES = {250: 1, 500: 2, 1000: 3}
RATES = {code: hz for hz, code in RATE_CODES.items()}

_CRC_TABLE = []
for _i in range(256):
    _c = _i << 8
    for _ in range(8):
        _c = ((_c << 1) ^ 0x1021) if _c & 0x8000 else (_c << 1)
    _CRC_TABLE.append(_c & 0xFFFF)


def crc16_xmodem(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC-16/XMODEM (poly 0x1021, init 0, no reflection): check("123456789") = 0x31C3."""
    for b in bytes(data):
        crc = ((crc << 8) & 0xFFFF) ^ _CRC_TABLE[((crc >> 8) ^ b) & 0xFF]
    return crc


class AfeFrameError(ValueError):
    """A block that the format cannot carry (rate, channels, size, flags)."""


@dataclass(frozen=True)
class AfeBlock:
    """One block of samples: `samples` is (samples_per_channel, channels) int16."""

    seq: int
    samples: np.ndarray
    rate_hz: int
    flags: int = 0
    missing_before: int = 0
    """(decoded) blocks lost immediately before this one."""
    discontinuity: bool = False
    """(decoded) first block since reset, or a sequence restart."""

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def samples_per_channel(self) -> int:
        return int(self.samples.shape[0])


def encode_raw(
    *,
    seq: int,
    channels: int,
    samples_per_channel: int,
    rate_code: int,
    payload: bytes,
    version: int = VERSION,
    flags: int = 0,
    header_crc: int | None = None,
    frame_crc: int | None = None,
) -> bytes:
    """A frame from raw field values, without range checks: for fault injection (e.g. a
    correctly checksummed header announcing 5 channels). CRCs are computed unless given."""
    head = struct.pack(
        "<BBHBBB",
        version & 0xFF,
        flags & 0xFF,
        seq & 0xFFFF,
        channels & 0xFF,
        samples_per_channel & 0xFF,
        rate_code & 0xFF,
    )
    hcrc = crc16_xmodem(head) if header_crc is None else header_crc
    body = head + struct.pack("<H", hcrc & 0xFFFF) + payload
    fcrc = crc16_xmodem(body) if frame_crc is None else frame_crc
    return SYNC + body + struct.pack("<H", fcrc & 0xFFFF)


def encode_block(seq: int, samples: np.ndarray, rate_hz: int, flags: int = 0) -> bytes:
    """Encode one block; samples is (samples_per_channel, channels) or (n,) for one channel."""
    s = np.asarray(samples)
    if s.ndim == 1:
        s = s[:, None]
    if s.ndim != 2:
        raise AfeFrameError("samples must be (samples_per_channel, channels)")
    spc, ch = s.shape
    if rate_hz not in RATE_CODES:
        raise AfeFrameError(f"rate {rate_hz} Hz: the link carries 250, 500 or 1000 Hz")
    if not 1 <= ch <= MAX_CHANNELS:
        raise AfeFrameError(f"{ch} channels: the link carries 1..{MAX_CHANNELS}")
    if not 1 <= spc <= MAX_SAMPLES_PER_CHANNEL or spc * ch > MAX_SAMPLES:
        raise AfeFrameError(
            f"{spc} samples x {ch} channels: at most {MAX_SAMPLES_PER_CHANNEL} per channel "
            f"and {MAX_SAMPLES} per block"
        )
    if flags & ~FLAGS_KNOWN:
        raise AfeFrameError(f"unknown flag bits 0x{flags & ~FLAGS_KNOWN:02x}")
    if s.dtype != np.int16:
        if np.issubdtype(s.dtype, np.floating) or s.min() < -32768 or s.max() > 32767:
            raise AfeFrameError("samples must be int16 counts")
        s = s.astype(np.int16)
    payload = np.ascontiguousarray(s, dtype="<i2").tobytes()
    return encode_raw(
        seq=seq,
        channels=ch,
        samples_per_channel=spc,
        rate_code=RATE_CODES[rate_hz],
        payload=payload,
        flags=flags,
    )


def encode_stream(
    samples: np.ndarray,
    rate_hz: int,
    block_size: int,
    *,
    start_seq: int = 0,
    flags: Sequence[int] | None = None,
) -> list[bytes]:
    """Cut (n, channels) samples into blocks of `block_size` frames (the last one may be
    shorter), numbered from start_seq (wrapping at 2^16); one encoded frame per block.
    `flags`, if given, holds the flags byte of each block."""
    s = np.asarray(samples)
    if s.ndim == 1:
        s = s[:, None]
    out = []
    for i, start in enumerate(range(0, s.shape[0], block_size)):
        f = 0 if flags is None else flags[i]
        out.append(
            encode_block((start_seq + i) & 0xFFFF, s[start : start + block_size], rate_hz, f)
        )
    return out


# --- fault injection (on lists of frames / single frames) ---------------------------------


def drop(frames: Sequence[bytes], *indices: int) -> list[bytes]:
    """Remove the frames at `indices` (a gap of len(indices) blocks if consecutive)."""
    gone = set(indices)
    return [f for i, f in enumerate(frames) if i not in gone]


def duplicate(frames: Sequence[bytes], index: int, times: int = 1) -> list[bytes]:
    """Repeat frame `index` right after itself."""
    out = list(frames)
    out[index + 1 : index + 1] = [frames[index]] * times
    return out


def swap(frames: Sequence[bytes], i: int, j: int) -> list[bytes]:
    """Exchange two frames (the later one arrives early, the earlier one late)."""
    out = list(frames)
    out[i], out[j] = out[j], out[i]
    return out


def corrupt(frame: bytes, offset: int, xor: int = 0xFF) -> bytes:
    """Flip bits of one byte (offset may be negative, from the end)."""
    b = bytearray(frame)
    b[offset] ^= xor
    return bytes(b)


def truncate(frame: bytes, keep: int) -> bytes:
    """The first `keep` bytes of a frame (a UART that lost the rest)."""
    return frame[:keep]


def garbage(n: int, rng: random.Random | None = None) -> bytes:
    """n random bytes (noise on the line)."""
    r = rng or random.Random(0)
    return bytes(r.randrange(256) for _ in range(n))


# --- reference decoder ----------------------------------------------------------------------


@dataclass
class AfeStats:
    """The receiver's counters (tl_afe_stats_t), same names and meaning."""

    bytes: int = 0
    bytes_discarded: int = 0
    blocks_ok: int = 0
    bad_header: int = 0
    oversize: int = 0
    bad_crc: int = 0
    config_mismatch: int = 0
    gaps: int = 0
    missing_blocks: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    restarts: int = 0
    saturated: int = 0
    lead_off: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class AfeDecoder:
    """Receiver with the device's rules, for tests and tools (e.g. to check a capture)."""

    rate_hz: int
    channels: int
    stats: AfeStats = field(default_factory=AfeStats)
    _buf: bytearray = field(default_factory=bytearray, repr=False)
    _frame_len: int = field(default=0, repr=False)
    _last: int | None = field(default=None, repr=False)
    _history: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if self.rate_hz not in RATE_CODES:
            raise ValueError("rate must be 250, 500 or 1000 Hz")
        if not 1 <= self.channels <= MAX_CHANNELS:
            raise ValueError(f"channels must be 1..{MAX_CHANNELS}")

    def reset(self) -> None:
        self._buf.clear()
        self._frame_len = 0
        self._last = None
        self._history = 0

    def feed(self, data: bytes | Iterable[bytes]) -> list[AfeBlock]:
        """Consume bytes (or an iterable of byte strings); return the delivered blocks."""
        chunks = [data] if isinstance(data, bytes | bytearray) else list(data)
        out: list[AfeBlock] = []
        for chunk in chunks:
            self.stats.bytes += len(chunk)
            for b in chunk:
                if not self._buf and b != SYNC[0]:
                    self.stats.bytes_discarded += 1
                    continue
                self._buf.append(b)
                self._settle(out)
        return out

    def _resync(self) -> None:
        buf = self._buf
        k = 1
        while k < len(buf):
            if buf[k] == SYNC[0] and (k + 1 == len(buf) or buf[k + 1] == SYNC[1]):
                break
            k += 1
        self.stats.bytes_discarded += k
        del buf[:k]
        self._frame_len = 0

    def _settle(self, out: list[AfeBlock]) -> None:
        buf = self._buf
        while buf:
            if buf[0] != SYNC[0] or (len(buf) >= 2 and buf[1] != SYNC[1]):
                self._resync()
                continue
            if self._frame_len == 0:
                if len(buf) < HEADER_SIZE:
                    return
                verdict = _check_header(bytes(buf[:HEADER_SIZE]))
                if isinstance(verdict, str):
                    setattr(self.stats, verdict, getattr(self.stats, verdict) + 1)
                    self._resync()
                    continue
                self._frame_len = verdict
            if len(buf) < self._frame_len:
                return
            body = self._frame_len - CRC_SIZE
            want = int.from_bytes(buf[body : self._frame_len], "little")
            if crc16_xmodem(buf[2:body]) != want:
                self.stats.bad_crc += 1
                self._resync()
                continue
            block = self._accept(bytes(buf[: self._frame_len]))
            if block is not None:
                out.append(block)
            del buf[: self._frame_len]
            self._frame_len = 0

    def _accept(self, f: bytes) -> AfeBlock | None:
        flags, seq, ch, spc, code = f[3], int.from_bytes(f[4:6], "little"), f[6], f[7], f[8]
        if ch != self.channels or RATES[code] != self.rate_hz:
            self.stats.config_mismatch += 1
            return None
        missing, disc = 0, False
        if self._last is None:
            disc = True
            self._history = 0
        else:
            ahead = (seq - self._last) & 0xFFFF
            if ahead == 0:
                self.stats.duplicates += 1
                return None
            if ahead <= 0x8000:
                if ahead > 1:
                    missing = ahead - 1
                    self.stats.gaps += 1
                    self.stats.missing_blocks += missing
                if ahead <= HISTORY:
                    self._history = ((self._history << ahead) | (1 << (ahead - 1))) & 0xFFFFFFFF
                else:
                    self._history = 0
            else:
                behind = (self._last - seq) & 0xFFFF
                if behind <= HISTORY:
                    bit = 1 << (behind - 1)
                    if self._history & bit:
                        self.stats.duplicates += 1
                    else:
                        self._history |= bit
                        self.stats.out_of_order += 1
                    return None
                self.stats.restarts += 1
                self._history = 0
                disc = True
        self._last = seq
        samples = np.frombuffer(f, dtype="<i2", count=ch * spc, offset=HEADER_SIZE)
        self.stats.blocks_ok += 1
        if flags & FLAG_SATURATED:
            self.stats.saturated += 1
        if flags & FLAG_LEAD_OFF:
            self.stats.lead_off += 1
        return AfeBlock(
            seq=seq,
            samples=samples.astype(np.int16).reshape(spc, ch),
            rate_hz=self.rate_hz,
            flags=flags,
            missing_before=missing,
            discontinuity=disc,
        )


def _check_header(h: bytes) -> int | str:
    """The frame length for a good header, else the name of the counter to increment."""
    if crc16_xmodem(h[2:9]) != int.from_bytes(h[9:11], "little"):
        return "bad_header"
    version, flags, ch, spc, code = h[2], h[3], h[6], h[7], h[8]
    if version != VERSION or flags & ~FLAGS_KNOWN & 0xFF:
        return "bad_header"
    if not 1 <= ch <= MAX_CHANNELS or spc == 0 or code not in RATES:
        return "bad_header"
    if ch * spc > MAX_SAMPLES:
        return "oversize"
    return HEADER_SIZE + 2 * ch * spc + CRC_SIZE
