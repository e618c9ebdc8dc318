"""Fault injectors, stimulation artifacts and the virtual stimulator, checked with the
device's own decoders: the C AFE receiver and the C stimulator-link codec (SIL library),
with the Python reference decoder agreeing."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from theraloop import sil
from theraloop.links import afe as afe_link
from theraloop.links import stim as stim_link
from theraloop.patient import (
    OFF,
    ArtifactParams,
    BetaPatient,
    Fault,
    FaultKind,
    FaultSchedule,
    StimArtifact,
    Stimulation,
    Stimulator,
    VirtualAfe,
)
from theraloop.therapy import _native

RATE = 1000
BLOCK = 20
SECONDS = 3.0
N_BLOCKS = int(SECONDS * RATE / BLOCK)


class _CConfig(ctypes.Structure):
    _fields_ = [("sample_rate_hz", ctypes.c_uint16), ("channels", ctypes.c_uint8)]


class _CBlock(ctypes.Structure):
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


_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(_CBlock))
_STATS = list(afe_link.AfeStats().as_dict())


class _CStats(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint32) for n in _STATS]


class CReceiver:
    """The firmware's AFE receiver (tl_afe_rx) through the SIL library."""

    def __init__(self) -> None:
        lib = sil.library()
        lib.tl_afe_rx_size.restype = ctypes.c_size_t
        lib.tl_afe_rx_init.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(_CConfig),
            _FN,
            ctypes.c_void_p,
        ]
        lib.tl_afe_rx_feed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        lib.tl_afe_rx_stats.argtypes = [ctypes.c_void_p]
        lib.tl_afe_rx_stats.restype = ctypes.POINTER(_CStats)
        self.lib = lib
        self.state = ctypes.create_string_buffer(lib.tl_afe_rx_size())
        self.samples: list[np.ndarray] = []
        self.flags: list[int] = []
        self._cb = _FN(self._on_block)
        assert lib.tl_afe_rx_init(self.state, ctypes.byref(_CConfig(RATE, 1)), self._cb, None) == 0

    def _on_block(self, _ctx: int, p: ctypes._Pointer) -> None:
        b = p.contents
        n = b.channels * b.samples_per_channel
        self.samples.append(np.ctypeslib.as_array(b.samples, shape=(n,)).copy())
        self.flags.append(b.flags)

    def feed(self, data: bytes) -> None:
        self.lib.tl_afe_rx_feed(self.state, data, len(data))

    def stats(self) -> dict[str, int]:
        s = self.lib.tl_afe_rx_stats(self.state).contents
        return {n: getattr(s, n) for n in _STATS}


def _run(faults: str, *, seed: int = 0, stim: Stimulation = OFF):
    """SECONDS of BetaPatient through a VirtualAfe with the given schedule; the bytes fed
    to the C receiver and to the Python decoder (which must agree)."""
    patient = BetaPatient(RATE, seed=seed)
    afe = VirtualAfe(RATE, block_samples=BLOCK, faults=FaultSchedule.parse(faults), seed=seed)
    hops = [afe.convert(patient.step(BLOCK * 2, stim).samples, stim) for _ in range(N_BLOCKS // 2)]
    data = b"".join(h.data for h in hops)
    c = CReceiver()
    c.feed(data)
    py = afe_link.AfeDecoder(RATE, 1)
    blocks = py.feed(data)
    assert c.stats() == py.stats.as_dict()
    assert [b.samples[:, 0].tolist() for b in blocks] == [s.tolist() for s in c.samples]
    adc = np.concatenate([h.samples[:, 0] for h in hops])
    return c, hops, adc, data


def test_clean_stream() -> None:
    c, hops, adc, _ = _run("")
    s = c.stats()
    assert s["blocks_ok"] == N_BLOCKS and s["gaps"] == 0 and s["bytes_discarded"] == 0
    assert np.array_equal(np.concatenate(c.samples), adc)
    assert all(h.faults == 0 for h in hops)


def test_dropout_is_a_sequence_gap() -> None:
    c, hops, _, _ = _run("dropout@1+0.5")
    s = c.stats()
    assert (s["gaps"], s["missing_blocks"], s["blocks_ok"]) == (1, 25, N_BLOCKS - 25)
    assert sum(1 for h in hops for b in h.blocks if b.copies == 0) == 25
    assert any(h.faults & FaultKind.DROPOUT.bit for h in hops)


def test_corrupt_blocks_fail_the_crc() -> None:
    c, _, _, _ = _run("corrupt@1+0.1")
    s = c.stats()
    assert (s["bad_crc"], s["gaps"], s["missing_blocks"]) == (5, 1, 5)
    assert s["blocks_ok"] == N_BLOCKS - 5


def test_duplicates_are_dropped_and_counted() -> None:
    c, _, adc, _ = _run("duplicate@0.5+0.2")
    s = c.stats()
    assert (s["duplicates"], s["blocks_ok"], s["gaps"]) == (10, N_BLOCKS, 0)
    assert np.array_equal(np.concatenate(c.samples), adc)


def test_garbage_is_discarded() -> None:
    c, _, adc, _ = _run("garbage@0.2+0.1=40")
    s = c.stats()
    assert s["blocks_ok"] == N_BLOCKS
    assert s["bytes_discarded"] == 5 * 40
    assert np.array_equal(np.concatenate(c.samples), adc)


def test_lead_off_flag() -> None:
    c, _, _, _ = _run("lead_off@2+0.2")
    assert c.stats()["lead_off"] == 10
    assert [f & afe_link.FLAG_LEAD_OFF != 0 for f in c.flags].count(True) == 10


def test_saturation_clips_and_flags() -> None:
    c, hops, adc, _ = _run("saturation@1+0.3")
    s = c.stats()
    window = adc[1000:1300]
    assert np.abs(window).max() == 32767
    assert np.mean(np.abs(window) == 32767) > 0.5
    assert np.abs(np.concatenate([adc[:1000], adc[1300:]])).max() < 32767
    flagged = [i for i, f in enumerate(c.flags) if f & afe_link.FLAG_SATURATED]
    assert s["saturated"] == len(flagged) > 0
    assert set(flagged) <= set(range(50, 65))  # only blocks in the window
    assert sum(h.clipped for h in hops) == int(np.sum(np.abs(adc) == 32767))


def test_flatline_holds_the_last_value() -> None:
    c, _, _, _ = _run("flatline@1.5+0.5")
    got = np.concatenate(c.samples)
    assert np.all(got[1500:2000] == got[1499])
    assert np.std(got[2000:2500]) > 100
    _, _, adc2, _ = _run("flatline@1.5+0.5=-1234")
    assert np.all(adc2[1500:2000] == -1234)


def test_noise_adds_the_stated_rms() -> None:
    _, _, clean, _ = _run("")
    _, _, noisy, _ = _run("noise@0.5+2=1500")
    diff = (noisy - clean.astype(np.int64)).astype(np.float64)
    assert np.all(diff[:500] == 0) and np.all(diff[2500:] == 0)
    assert np.std(diff[500:2500]) == pytest.approx(1500, rel=0.05)


def test_same_seed_same_bytes() -> None:
    spec = "noise@0.5+0.5,corrupt@1+0.2,garbage@2+0.2,dropout@2.5+0.1"
    assert _run(spec, seed=4)[3] == _run(spec, seed=4)[3]
    assert _run(spec, seed=4)[3] != _run(spec, seed=5)[3]


def test_fault_schedule_text() -> None:
    sched = FaultSchedule.parse("dropout@10+2, saturation@30+1.5=80,error_status@60+1=3")
    assert [f.kind for f in sched] == [
        FaultKind.DROPOUT,
        FaultKind.SATURATION,
        FaultKind.ERROR_STATUS,
    ]
    assert sched.spec() == "dropout@10+2,saturation@30+1.5=80,error_status@60+1=3"
    assert sched.at(11.9, FaultKind.DROPOUT) is not None
    assert sched.at(12.0, FaultKind.DROPOUT) is None
    with pytest.raises(ValueError, match="unknown kind"):
        FaultSchedule.parse("meltdown@1+1")
    with pytest.raises(ValueError, match="kind@start"):
        FaultSchedule.parse("dropout@1")
    with pytest.raises(ValueError, match="duration"):
        Fault(FaultKind.NOISE, 1.0, 0.0)


# --- stimulation artifacts ------------------------------------------------------------------


def _artifact(amplitude_ua: int, seconds: float = 2.0, rate: int = RATE) -> tuple[np.ndarray, int]:
    art = StimArtifact(ArtifactParams())
    stim = Stimulation(True, amplitude_ua, 60, 1300)
    hop = rate // 50
    x = np.concatenate([art.render(i * hop, hop, rate, stim) for i in range(int(seconds * 50))])
    return x, art.pulses


def test_artifact_is_proportional_to_amplitude_at_the_stimulation_rate() -> None:
    x2, pulses = _artifact(2000)
    x4, _ = _artifact(4000)
    assert pulses == 260  # 130 Hz x 2 s
    assert np.allclose(x4, 2 * x2)
    assert np.abs(x2).max() <= StimArtifact.peak_counts(ArtifactParams(), 2.0) + 1e-9
    assert abs(np.mean(x2[200:])) < 0.02 * np.abs(x2).max()  # charge balanced
    f = np.fft.rfftfreq(len(x2), 1 / RATE)
    spectrum = np.abs(np.fft.rfft(x2[:]))
    assert abs(f[np.argmax(spectrum[1:]) + 1] - 130.0) < 1.0


def test_no_artifact_without_stimulation_and_aliasing_at_250_hz() -> None:
    art = StimArtifact()
    assert not np.any(art.render(0, 100, RATE, Stimulation()))
    x, _ = _artifact(3000, rate=250)
    f = np.fft.rfftfreq(len(x), 1 / 250)
    spectrum = np.abs(np.fft.rfft(x))
    assert abs(f[np.argmax(spectrum[1:]) + 1] - 120.0) < 1.0  # 130 Hz aliased at fs=250


def test_artifact_reaches_the_device_samples() -> None:
    stim = Stimulation(True, 3000, 60, 1300)
    patient_a, patient_b = BetaPatient(RATE, seed=1), BetaPatient(RATE, seed=1)
    with_art = VirtualAfe(RATE, artifact=StimArtifact())
    without = VirtualAfe(RATE)
    a = with_art.convert(patient_a.step(200, stim).samples, stim).samples[:, 0]
    b = without.convert(patient_b.step(200, stim).samples, stim).samples[:, 0]
    diff = a.astype(np.int64) - b
    assert np.abs(diff).max() > 0.5 * StimArtifact.peak_counts(ArtifactParams(), 3.0)


# --- the stimulator --------------------------------------------------------------------------


def _c_set(seq: int, enabled: bool, amp: int, pw: int = 60, rate: int = 1300) -> bytes:
    p = _native.StimParams()
    p.enabled, p.amplitude_ua, p.pulse_width_us, p.rate_dhz = int(enabled), amp, pw, rate
    buf = ctypes.create_string_buffer(stim_link.MAX_FRAME)
    n = _native.lib().tl_stim_encode_set(ctypes.byref(p), seq, buf, len(buf))
    return buf.raw[:n]


def _c_statuses(data: bytes) -> tuple[list[tuple[int, int, int, int]], int]:
    """STATUS frames as the device decodes them: (ack_seq, status, active, delivered),
    and the parser's bad-CRC count."""
    lib = _native.lib()
    parser = _native.StimParser()
    lib.tl_stim_parser_init(ctypes.byref(parser))
    frame = _native.StimFrame()
    out = []
    for byte in data:
        if lib.tl_stim_parser_feed(ctypes.byref(parser), byte, ctypes.byref(frame)):
            st = _native.StimStatusFrame()
            assert lib.tl_stim_decode_status(ctypes.byref(frame), ctypes.byref(st))
            out.append((st.ack_seq, st.status, st.output_active, st.delivered_ua))
    return out, parser.bad_crc


def test_stimulator_applies_device_frames_and_acknowledges() -> None:
    s = Stimulator(ack=True)
    garbage = b"\x00\xaa\x13"
    cmds = s.receive(garbage + _c_set(0, True, 1500) + _c_set(1, True, 1500)[:7], 0.02)
    assert [c.amplitude_ua for c in cmds if c] == [1500]
    assert s.state == Stimulation(True, 1500, 60, 1300)
    cmds = s.receive(_c_set(1, True, 1500)[7:] + _c_set(2, False, 0), 0.04)
    assert len(cmds) == 2 and not s.state.active
    assert [h.stimulation.amplitude_ua for h in s.history] == [1500, 0]  # changes only
    statuses, bad = _c_statuses(s.respond(0.04))
    assert statuses == [(0, 0, 0, 0), (1, 0, 0, 0), (2, 0, 0, 0)] and bad == 0
    assert s.stats.commands == 3 and s.parser.stats.discarded == len(garbage)


def test_invalid_commands_are_refused_with_bad_frame() -> None:
    s = Stimulator(ack=True)
    bad = stim_link.encode_raw(stim_link.TYPE_SET, bytes([5, 0, 0x01 | 0x80, 0]) + bytes(8))
    assert s.receive(bad, 0.0) == [None]
    assert s.stats.refused == 1 and not s.state.active
    statuses, _ = _c_statuses(s.respond(0.0))
    assert statuses == [(5, int(stim_link.Status.BAD_FRAME), 0, 0)]


@pytest.mark.parametrize(
    ("kind", "level", "expect"),
    [
        ("no_ack", None, []),
        ("error_status", 3, [(7, 3, 1, 2000)]),
        ("bad_ack_seq", None, [((7 + 0x8000) & 0xFFFF, 0, 1, 2000)]),
        ("corrupt_status", None, "bad_crc"),
    ],
)
def test_link_faults_change_the_answers(kind: str, level: int | None, expect) -> None:
    faults = FaultSchedule([Fault(FaultKind(kind), 1.0, 1.0, level)])
    s = Stimulator(ack=True, faults=faults)
    s.receive(_c_set(6, True, 2000), 0.5)
    assert _c_statuses(s.respond(0.5))[0] == [(6, 0, 1, 2000)]  # before the window
    s.receive(_c_set(7, True, 2000), 1.5)
    statuses, bad = _c_statuses(s.respond(1.5))
    if expect == "bad_crc":
        assert statuses == [] and bad == 1
    else:
        assert statuses == expect
    assert s.link_faults(1.5) == FaultKind(kind).bit
    s.receive(_c_set(8, True, 2000), 2.5)
    assert _c_statuses(s.respond(2.5))[0] == [(8, 0, 1, 2000)]  # after it


def test_energy_and_charge_accounting() -> None:
    s = Stimulator(impedance_ohm=1200.0)
    s.receive(_c_set(0, True, 2000, pw=90, rate=1300), 0.0)
    s.deliver(10.0)
    pulses = 130 * 10
    assert s.stats.pulses == pytest.approx(pulses)
    assert s.stats.charge_uc == pytest.approx(2 * 2000e-6 * 90e-6 * pulses * 1e6)
    assert s.stats.energy_j == pytest.approx(2 * (2e-3) ** 2 * 1200 * 90e-6 * pulses)
    s.receive(_c_set(1, False, 0), 10.0)
    s.deliver(5.0)
    assert s.stats.stim_on_s == pytest.approx(10.0)


def test_compliance_limit() -> None:
    s = Stimulator(ack=True, impedance_ohm=2000.0, compliance_v=5.0)
    s.receive(_c_set(0, True, 4000), 0.0)
    assert s.state.amplitude_ua == 2500
    assert _c_statuses(s.respond(0.0))[0] == [(0, int(stim_link.Status.COMPLIANCE), 1, 2500)]
