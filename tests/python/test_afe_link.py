"""AFE sample link: the Python encoder/decoder (theraloop.links.afe) against the device's
receiver and encoder (firmware/core/src/sense/afe_link.c, through the SIL library).

The Python decoder is the reference the virtual patient and tools rely on; the property
test feeds the same randomly damaged streams (drops, duplicates, reordering, bit flips,
truncation, garbage, out-of-range headers, other configurations) in random chunks to both
and requires identical blocks and identical counters.
"""

from __future__ import annotations

import ctypes
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theraloop import sil
from theraloop.links import afe


class CConfig(ctypes.Structure):
    _fields_ = [("sample_rate_hz", ctypes.c_uint16), ("channels", ctypes.c_uint8)]


STAT_NAMES = list(afe.AfeStats().as_dict())


class CStats(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint32) for n in STAT_NAMES]


class CBlock(ctypes.Structure):
    _fields_ = [
        ("samples", ctypes.POINTER(ctypes.c_int16)),
        ("seq", ctypes.c_uint16),
        ("samples_per_channel", ctypes.c_uint16),
        ("sample_rate_hz", ctypes.c_uint16),
        ("missing_before", ctypes.c_uint16),
        ("channels", ctypes.c_uint8),
        ("flags", ctypes.c_uint8),
        ("discontinuity", ctypes.c_bool),
    ]


BLOCK_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(CBlock))


def _lib() -> ctypes.CDLL:
    lib = sil.library()
    lib.tl_afe_rx_size.restype = ctypes.c_size_t
    lib.tl_afe_rx_init.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(CConfig),
        BLOCK_FN,
        ctypes.c_void_p,
    ]
    lib.tl_afe_rx_init.restype = ctypes.c_int
    lib.tl_afe_rx_feed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.tl_afe_rx_feed.restype = None
    lib.tl_afe_rx_stats.argtypes = [ctypes.c_void_p]
    lib.tl_afe_rx_stats.restype = ctypes.POINTER(CStats)
    lib.tl_afe_encode.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint16, ctypes.c_uint8, ctypes.c_uint16,
        ctypes.c_uint8, ctypes.c_uint8, ctypes.POINTER(ctypes.c_int16),
    ]  # fmt: skip
    lib.tl_afe_encode.restype = ctypes.c_size_t
    return lib


class CReceiver:
    """The device's receiver, collecting delivered blocks as (seq, flags, missing, disc,
    samples) tuples."""

    def __init__(self, rate_hz: int, channels: int) -> None:
        self.lib = _lib()
        self.state = ctypes.create_string_buffer(self.lib.tl_afe_rx_size())
        self.blocks: list[tuple[int, int, int, bool, bytes]] = []
        self._cb = BLOCK_FN(self._on_block)  # keep a reference for the library
        cfg = CConfig(rate_hz, channels)
        assert self.lib.tl_afe_rx_init(self.state, ctypes.byref(cfg), self._cb, None) == 0

    def _on_block(self, _ctx: int, p: ctypes._Pointer) -> None:
        b = p.contents
        n = b.channels * b.samples_per_channel
        data = ctypes.string_at(b.samples, 2 * n)
        self.blocks.append((b.seq, b.flags, b.missing_before, b.discontinuity, data))

    def feed(self, data: bytes) -> None:
        self.lib.tl_afe_rx_feed(self.state, data, len(data))

    def stats(self) -> dict[str, int]:
        s = self.lib.tl_afe_rx_stats(self.state).contents
        return {n: getattr(s, n) for n in STAT_NAMES}


def _py_blocks(blocks: list[afe.AfeBlock]) -> list[tuple[int, int, int, bool, bytes]]:
    return [
        (b.seq, b.flags, b.missing_before, b.discontinuity, b.samples.astype("<i2").tobytes())
        for b in blocks
    ]


def _signal(n: int, channels: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-32768, 32768, size=(n, channels)).astype(np.int16)


def test_crc_check_value() -> None:
    assert afe.crc16_xmodem(b"123456789") == 0x31C3
    assert afe.crc16_xmodem(b"6789", afe.crc16_xmodem(b"12345")) == 0x31C3


def test_encoder_is_byte_identical_to_the_device_encoder() -> None:
    lib = _lib()
    rng = random.Random(1)
    for _ in range(200):
        ch = rng.randint(1, 4)
        spc = rng.randint(1, min(255, afe.MAX_SAMPLES // ch))
        rate = rng.choice([250, 500, 1000])
        seq = rng.randrange(65536)
        flags = rng.randrange(4)
        samples = _signal(spc, ch, rng.randrange(1000))
        frame = afe.encode_block(seq, samples, rate, flags)
        buf = ctypes.create_string_buffer(afe.MAX_FRAME)
        flat = np.ascontiguousarray(samples).ravel()
        n = lib.tl_afe_encode(
            buf, afe.MAX_FRAME, seq, flags, rate, ch, spc,
            flat.ctypes.data_as(ctypes.POINTER(ctypes.c_int16)),
        )  # fmt: skip
        assert buf.raw[:n] == frame
        assert len(frame) == afe.HEADER_SIZE + 2 * spc * ch + afe.CRC_SIZE


def test_encoder_refuses_what_the_format_cannot_carry() -> None:
    ok = np.zeros((8, 1), np.int16)
    with pytest.raises(afe.AfeFrameError, match="rate"):
        afe.encode_block(0, ok, 400)
    with pytest.raises(afe.AfeFrameError, match="channels"):
        afe.encode_block(0, np.zeros((8, 5), np.int16), 250)
    with pytest.raises(afe.AfeFrameError, match="per block"):
        afe.encode_block(0, np.zeros((65, 4), np.int16), 250)
    with pytest.raises(afe.AfeFrameError, match="per block"):
        afe.encode_block(0, np.zeros((256, 1), np.int16), 250)
    with pytest.raises(afe.AfeFrameError, match="flag"):
        afe.encode_block(0, ok, 250, flags=0x10)
    with pytest.raises(afe.AfeFrameError, match="int16"):
        afe.encode_block(0, np.full((8, 1), 40000), 250)


def test_stream_round_trip_with_wrap() -> None:
    x = _signal(1000, 3)
    frames = afe.encode_stream(x, 500, 32, start_seq=65520)
    dec = afe.AfeDecoder(500, 3)
    blocks = dec.feed(b"".join(frames))
    assert [b.seq for b in blocks] == [(65520 + i) & 0xFFFF for i in range(len(frames))]
    assert np.array_equal(np.concatenate([b.samples for b in blocks]), x)
    assert blocks[0].discontinuity and not any(b.discontinuity for b in blocks[1:])
    assert dec.stats.missing_blocks == 0 and dec.stats.bytes_discarded == 0


def test_fault_helpers_are_counted_as_documented() -> None:
    frames = afe.encode_stream(_signal(400, 1), 1000, 10)  # 40 blocks
    stream = afe.drop(frames, 5, 6, 7)  # gap of 3 before block 8
    stream = afe.duplicate(stream, 10)  # block 13 repeated
    stream = afe.swap(stream, 20, 21)  # blocks 22/23 arrive 23, 22 (22 late)
    stream[30] = afe.corrupt(stream[30], -1)  # block 32: bad CRC, lost
    stream[33] = afe.truncate(stream[33], 15)  # block 35 cut: bad CRC, lost
    data = afe.garbage(50) + b"".join(stream)
    dec = afe.AfeDecoder(1000, 1)
    blocks = dec.feed(data)
    s = dec.stats
    assert s.duplicates == 1
    assert s.out_of_order == 1
    assert s.bad_crc == 2
    # Gaps: 5-7 (3), 22 (1, it came late), 32 (1), 35 (1).
    assert s.missing_blocks == 6 and s.gaps == 4
    assert len(blocks) == 40 - 3 - 1 - 1 - 1
    assert [b.missing_before for b in blocks if b.missing_before] == [3, 1, 1, 1]


def test_wrong_configuration_frames_are_counted_not_delivered() -> None:
    dec = afe.AfeDecoder(250, 2)
    data = afe.encode_block(0, np.zeros((4, 1), np.int16), 250) + afe.encode_block(
        1, np.zeros((4, 2), np.int16), 1000
    )
    assert dec.feed(data) == []
    assert dec.stats.config_mismatch == 2
    with pytest.raises(ValueError):
        afe.AfeDecoder(300, 1)


# -- differential: Python reference decoder vs the device receiver ---------------------------

_OPS = st.lists(
    st.tuples(
        st.sampled_from(
            ["good", "good", "good", "drop", "dup", "swap", "flip", "cut", "junk", "raw",
             "other", "jump"]
        ),
        st.integers(0, 2**31),
    ),
    min_size=1,
    max_size=40,
)  # fmt: skip


def _build_stream(rate: int, ch: int, ops: list[tuple[str, int]]) -> list[bytes]:
    """Frames and damage from a list of operations, deterministic in their seeds."""
    out: list[bytes] = []
    seq = 0
    for op, seed in ops:
        r = random.Random(seed)
        spc = r.randint(1, min(40, afe.MAX_SAMPLES // ch))
        frame = afe.encode_block(seq & 0xFFFF, _signal(spc, ch, seed), rate, r.randrange(4))
        if op in ("good", "dup", "swap", "flip", "cut"):
            seq += 1
        if op == "good":
            out.append(frame)
        elif op == "drop":
            seq += r.randint(1, 40)
        elif op == "dup":
            out += [frame, frame]
        elif op == "swap" and out:
            out.insert(len(out) - 1, frame)
        elif op == "swap":
            out.append(frame)
        elif op == "flip":
            out.append(afe.corrupt(frame, r.randrange(len(frame)), 1 << r.randrange(8)))
        elif op == "cut":
            out.append(afe.truncate(frame, r.randrange(len(frame))))
        elif op == "junk":
            out.append(afe.garbage(r.randint(1, 80), r))
        elif op == "raw":  # checksummed header with fields drawn at random
            out.append(
                afe.encode_raw(
                    seq=r.randrange(65536), channels=r.randrange(7),
                    samples_per_channel=r.randrange(256), rate_code=r.randrange(5),
                    version=r.choice([1, 1, 2]), flags=r.choice([0, 1, 0x40]),
                    payload=bytes(r.randrange(256) for _ in range(r.randrange(64))),
                )
            )  # fmt: skip
        elif op == "other":  # a valid frame of another configuration
            other_ch = ch % 4 + 1
            out.append(afe.encode_block(seq & 0xFFFF, _signal(3, other_ch, seed), rate))
        elif op == "jump":  # far back: a restart, or far ahead: a long gap
            seq += r.choice([-1000, 30000])
    return out


@settings(max_examples=300, deadline=None)
@given(
    rate=st.sampled_from([250, 500, 1000]),
    ch=st.integers(1, 4),
    ops=_OPS,
    chunk_seed=st.integers(0, 2**31),
)
def test_python_decoder_matches_device_receiver(rate, ch, ops, chunk_seed) -> None:
    data = b"".join(_build_stream(rate, ch, ops))
    dev = CReceiver(rate, ch)
    ref = afe.AfeDecoder(rate, ch)
    r = random.Random(chunk_seed)
    pos = 0
    py_blocks: list[afe.AfeBlock] = []
    while pos < len(data):
        n = r.randint(1, 64)
        dev.feed(data[pos : pos + n])
        py_blocks += ref.feed(data[pos : pos + n])
        pos += n
    assert dev.blocks == _py_blocks(py_blocks)
    assert dev.stats() == ref.stats.as_dict()
