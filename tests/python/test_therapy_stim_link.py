"""Stimulator link frames: the Python codec (virtual patient side) and the firmware's C
codec agree byte for byte, and the two stream parsers agree frame for frame and counter
for counter on damaged streams."""

from __future__ import annotations

import ctypes
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theraloop.links import stim
from theraloop.therapy import _native

u16 = st.integers(0, 0xFFFF)


@st.composite
def commands(draw: st.DrawFn) -> stim.StimCommand:
    enabled = draw(st.booleans())
    return stim.StimCommand(
        seq=draw(u16),
        enabled=enabled,
        amplitude_ua=draw(u16) if enabled else 0,
        pulse_width_us=draw(u16),
        rate_dhz=draw(u16),
        interphase_gap_us=draw(u16),
        waveform=draw(st.sampled_from(list(stim.Waveform))),
    )


def c_encode_set(cmd: stim.StimCommand) -> bytes:
    p = _native.StimParams()
    p.enabled = int(cmd.enabled)
    p.amplitude_ua = cmd.amplitude_ua
    p.pulse_width_us = cmd.pulse_width_us
    p.rate_dhz = cmd.rate_dhz
    p.interphase_gap_us = cmd.interphase_gap_us
    p.waveform = int(cmd.waveform)
    buf = ctypes.create_string_buffer(stim.MAX_FRAME)
    n = _native.lib().tl_stim_encode_set(ctypes.byref(p), cmd.seq, buf, len(buf))
    return buf.raw[:n]


class CParser:
    """The firmware's stream parser, fed byte by byte."""

    def __init__(self) -> None:
        self.p = _native.StimParser()
        _native.lib().tl_stim_parser_init(ctypes.byref(self.p))

    def feed(self, data: bytes) -> list[stim.Frame]:
        out = []
        frame = _native.StimFrame()
        for b in data:
            if _native.lib().tl_stim_parser_feed(ctypes.byref(self.p), b, ctypes.byref(frame)):
                out.append(stim.Frame(frame.type, bytes(frame.payload[: frame.len]), frame.version))
        return out

    def stats(self) -> stim.ParserStats:
        p = self.p
        return stim.ParserStats(p.frames, p.bad_crc, p.bad_header, p.discarded)


def test_crc_check_value() -> None:
    assert stim.crc16_xmodem(b"123456789") == 0x31C3


@settings(max_examples=300, deadline=None)
@given(commands())
def test_python_and_c_encode_the_same_bytes(cmd: stim.StimCommand) -> None:
    raw = stim.encode_set(cmd)
    assert len(raw) == stim.SET_FRAME_SIZE
    assert raw == c_encode_set(cmd)
    (frame,) = stim.StimParser().feed(raw)
    assert stim.decode_set(frame) == cmd


def test_status_frames_decode_in_c() -> None:
    st_py = stim.StimStatus(
        ack_seq=513, status=stim.Status.COMPLIANCE, output_active=True, delivered_ua=1234
    )
    raw = stim.encode_status(st_py)
    (frame,) = CParser().feed(raw)
    cf = _native.StimFrame(frame.type, frame.version, len(frame.payload))
    ctypes.memmove(cf.payload, frame.payload, len(frame.payload))
    out = _native.StimStatusFrame()
    assert _native.lib().tl_stim_decode_status(ctypes.byref(cf), ctypes.byref(out))
    assert (out.ack_seq, out.status, out.output_active, out.delivered_ua) == (513, 3, 1, 1234)
    assert stim.decode_status(frame) == st_py


def test_encoder_refuses_what_the_format_cannot_carry() -> None:
    with pytest.raises(stim.StimFrameError):
        stim.encode_set(stim.StimCommand(0, True, 70000, 60, 1300))
    with pytest.raises(stim.StimFrameError):
        stim.decode_set(stim.Frame(stim.TYPE_SET, bytes(12)[:11]))
    bad_flags = stim.encode_raw(stim.TYPE_SET, bytes([0, 0, 0x20, 0]) + bytes(8))
    (frame,) = stim.StimParser().feed(bad_flags)
    with pytest.raises(stim.StimFrameError):
        stim.decode_set(frame)


@settings(max_examples=150, deadline=None)
@given(st.lists(commands(), min_size=1, max_size=12), st.integers(0, 2**32 - 1))
def test_parsers_agree_on_damaged_streams(cmds: list[stim.StimCommand], seed: int) -> None:
    rnd = random.Random(seed)
    parts: list[bytes] = []
    for cmd in cmds:
        frame = bytearray(stim.encode_set(cmd))
        r = rnd.random()
        if r < 0.15:
            frame[rnd.randrange(len(frame))] ^= 1 << rnd.randrange(8)
        elif r < 0.25:
            frame = frame[: rnd.randrange(len(frame))]
        elif r < 0.35:
            parts.append(bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 20))))
        elif r < 0.4:
            parts.append(stim.encode_raw(stim.TYPE_SET, bytes(12), version=2))
        elif r < 0.45:
            parts.append(stim.SYNC + bytes([1, 1, 200]))
        parts.append(bytes(frame))
        if rnd.random() < 0.2:
            parts.append(stim.encode_status(stim.StimStatus(cmd.seq)))
    stream = b"".join(parts)
    py = stim.StimParser()
    c = CParser()
    assert py.feed(stream) == c.feed(stream)
    assert py.stats == c.stats()


def test_decode_commands_from_a_capture() -> None:
    cmds = [stim.StimCommand(i, True, 100 * i, 60, 1300) for i in range(1, 6)]
    capture = b"\x00\xff" + b"".join(stim.encode_set(c) for c in cmds) + b"\xaa\x53\x01"
    assert stim.decode_commands(capture) == cmds
