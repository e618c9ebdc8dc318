"""The control loop in the SIL library: real data end to end (responsive on Bonn EEG with a
spliced seizure, adaptive on the STN LFP), hours of therapy in seconds, the stimulator
stream one frame per step, the model step's integer arithmetic against its Python twin.

Models run from the SIL library's RAM slot (as after `nn upload` + `nn load`), with the
pipeline their contract describes; the factory build is covered by the QEMU tests.
"""

from __future__ import annotations

import contextlib
import ctypes
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theraloop.links import afe as afe_link
from theraloop.links.stim import decode_commands
from theraloop.loop import _native, quant
from theraloop.loop import scenarios as sc
from theraloop.loop.factory import preset_from_contract, preset_settings
from theraloop.loop.sil import LoopConfigRejected, SilLoop
from theraloop.therapy.codes import Fault, Mode, PolicyEvent, TherapyState

ROOT = Path(__file__).resolve().parents[2]
BENCH_CONV = ROOT / "models/bench/conv1d_classifier.tflite"


def _need_data() -> None:
    if not sc.data_dir().is_dir():
        pytest.skip(f"recordings not found in {sc.data_dir()} (see ../shared/data/README.md)")


def _model(name: str) -> tuple[bytes, dict]:
    path = ROOT / "models" / name / f"{name}.tflite"
    if not path.is_file():
        pytest.fail(f"{path} missing: train it (theraloop model train {name})", pytrace=False)
    return path.read_bytes(), sc.contract(name)


def _ram_loop(model: bytes, contract: dict, policy: dict) -> SilLoop:
    SilLoop.load_ram_model(model)
    loop = SilLoop()
    settings_ = preset_settings(preset_from_contract(contract, "test"))
    settings_.update({k: v for k, v in policy.items() if k != "model"})
    settings_["model"] = "ram"
    loop.configure(settings_)
    assert loop.model_state() == ("bound", 0)
    return loop


class _Q(ctypes.Structure):
    _fields_ = [("mult", ctypes.c_uint32), ("shift", ctypes.c_int32)]


@settings(max_examples=3000, deadline=None)
@given(
    bits=st.one_of(
        st.integers(0, 0xFFFFFFFF),
        st.builds(lambda e, m: (e << 23) | m, st.integers(80, 170), st.integers(0, (1 << 23) - 1)),
    ),
    v=st.one_of(st.integers(-(2**31), 2**31 - 1), st.integers(-50000, 50000)),
    zp=st.integers(-128, 127),
    q=st.integers(-128, 127),
)
def test_model_step_arithmetic_matches_python(bits, v, zp, q):
    lib = _native.lib()
    (scale,) = struct.unpack("<f", struct.pack("<I", bits))
    mi, mo = _Q(), _Q()
    ok = lib.tl_qmul_input(scale, ctypes.byref(mi))
    assert ok == lib.tl_qmul_output(scale, ctypes.byref(mo))
    try:
        want_in = quant.quantize(v, scale, zp)
        want_out = quant.dequantize_q15(q, scale, zp)
    except quant.ScaleError:
        assert not ok
        return
    assert ok
    assert lib.tl_quantize_i32(v, ctypes.byref(mi), zp) == want_in
    assert lib.tl_dequantize_q15(q, ctypes.byref(mo), zp) == want_out
    assert quant.quantize_array(np.array([v]), scale, zp)[0] == want_in


def test_power_of_two_input_scale_is_exact_rounding_half_away():
    v = np.arange(-3000, 3000)
    q = quant.quantize_array(v, 4.0, 0)
    x = v / 4.0
    want = np.clip(np.sign(x) * np.floor(np.abs(x) + 0.5), -128, 127)
    assert np.array_equal(q, want.astype(np.int8))


def test_responsive_policy_on_bonn_eeg_bursts_only_during_the_seizure():
    _need_data()
    model, contract = _model(sc.SEIZURE)
    x, mask = sc.bonn_splice()
    policy = sc.responsive_settings(contract)
    loop = _ram_loop(model, contract, policy)
    assert loop.command("start") == 0
    run = loop.feed_bytes(sc.afe_stream(x, 250, block=25))
    steps = run.steps
    ictal_ms = (int(np.argmax(mask)) * 4, int(mask.nonzero()[0][-1]) * 4)
    burst_t = steps["time_ms"][steps["policy_event"] == PolicyEvent.BURST_START]
    assert burst_t.size >= 1
    assert np.all((burst_t > ictal_ms[0]) & (burst_t < ictal_ms[1]))
    # the detector's score: high in the seizure, low in the interictal background
    valid = steps["score_valid"] == 1
    t = steps["time_ms"]
    inside = valid & (t > ictal_ms[0] + 1500) & (t < ictal_ms[1])
    outside = valid & ((t < ictal_ms[0]) | (t > ictal_ms[1] + 1500))
    thr = policy["responsive_threshold"]
    assert np.mean(steps["score"][inside] >= thr) > 0.8
    assert np.mean(steps["score"][outside] >= thr) < 0.05
    # stimulation was at the burst setting exactly when bursting, within limits always
    assert steps["amplitude_ua"].max() <= policy["burst_amplitude_ua"]
    cmds = decode_commands(run.stim)
    assert [c.seq for c in cmds[1:]] == list(steps["stim_seq"])


def test_adaptive_policy_on_stn_lfp_follows_the_beta_biomarker():
    """The beta-biomarker model on the real STN recording drives single-threshold adaptive
    DBS: the amplitude moves between the lower and upper limit with the biomarker."""
    _need_data()
    model, contract = _model(sc.BETA)
    policy = sc.adaptive_settings(contract)
    loop = _ram_loop(model, contract, policy)
    assert loop.command("start") == 0
    x = sc.stn_samples()
    run = loop.feed(x, block=20)
    s = run.steps
    assert s.size == x.size // 20
    assert np.count_nonzero(s["score_valid"]) > s.size // 2
    zone_changes = np.count_nonzero(
        np.isin(s["policy_event"], [PolicyEvent.ZONE_UP, PolicyEvent.ZONE_DOWN])
    )
    assert zone_changes >= 2, "the biomarker never moved the adaptive zone"
    on = s["enabled"] == 1
    lo, hi = policy["adaptive_amplitude_lower_ua"], policy["adaptive_amplitude_upper_ua"]
    reached = int(np.argmax(s["amplitude_ua"] >= lo))  # the start ramps up at the slew limit
    steady = on & (s["mode"] == Mode.POLICY) & (np.arange(s.size) >= reached)
    assert reached > 0 and s["amplitude_ua"][steady].min() >= lo
    assert s["amplitude_ua"].max() <= hi
    assert len(set(s["amplitude_ua"][steady])) > 5
    # high beta -> the amplitude heads up; the model's artifact class -> fallback
    art = (s["faults"] & Fault.ARTIFACT) != 0
    assert np.all(s["mode"][art & (s["therapy_state"] == TherapyState.RUNNING)] != Mode.POLICY)
    cmds = decode_commands(run.stim)
    assert [c.seq for c in cmds[1:]] == list(s["stim_seq"])


def test_an_hour_of_therapy_in_seconds():
    """One hour of responsive therapy on Bonn EEG (interictal background with a seizure
    every ~5 minutes), with every step checked against the safety limits."""
    _need_data()
    model, contract = _model(sc.SEIZURE)
    base = sc.data_dir() / "bonn_eeg"
    from theraloop.train.seizure import to_device_rate

    d = to_device_rate(np.load(base / "set_D_train.npy"), 250)
    e = to_device_rate(np.load(base / "set_E_train.npy"), 250)
    parts = []
    total = 0
    i = 0
    while total < 3600 * 250:
        seg = e[i % len(e)] if i % 12 == 11 else d[i % len(d)]
        parts.append(seg)
        total += seg.size
        i += 1
    x = np.concatenate(parts)
    policy = sc.responsive_settings(contract)
    policy["responsive_max_bursts_per_day"] = 100
    loop = _ram_loop(model, contract, policy)
    assert loop.command("start") == 0
    t0 = time.monotonic()
    run = loop.feed(x, block=25)
    elapsed = time.monotonic() - t0
    s = run.steps
    assert s["time_ms"][-1] >= 3600 * 1000
    assert elapsed < 120, f"an hour of therapy took {elapsed:.1f} s"
    bursts = np.count_nonzero(s["policy_event"] == PolicyEvent.BURST_START)
    seizures = sum(1 for k in range(i) if k % 12 == 11)
    assert bursts >= seizures  # every seizure treated (up to 3 bursts each)
    assert bursts <= 3 * seizures + 2
    assert s["amplitude_ua"].max() <= 1500
    cmds = decode_commands(run.stim)
    assert len(cmds) == s.size + 1  # one frame per step, plus the start command's


# --- invariants of the whole loop under random faults, commands and configuration -----------

_FAULTS = Fault.SATURATION | Fault.FLATLINE | Fault.DROPOUT | Fault.ARTIFACT | (1 << 4)
_MODEL = Fault.MODEL_LOAD | Fault.MODEL_INFERENCE | Fault.MODEL_DEADLINE


@st.composite
def _scenario(draw):
    n_blocks = draw(st.integers(50, 400))
    events = draw(
        st.lists(
            st.tuples(
                st.integers(0, n_blocks - 1),
                st.sampled_from(
                    ["gap", "sat", "leadoff", "flat", "garbage", "start", "stop", "pause",
                     "resume", "overrun", "no_overrun", "limit", "policy"]
                ),
            ),
            max_size=25,
        )
    )  # fmt: skip
    seed = draw(st.integers(0, 2**31))
    return n_blocks, sorted(events), seed


@settings(max_examples=60, deadline=None)
@given(_scenario())
def test_loop_invariants_under_random_faults_and_commands(scenario):
    n_blocks, events, seed = scenario
    rng = np.random.default_rng(seed)
    SilLoop.load_ram_model(BENCH_CONV.read_bytes())
    loop = SilLoop()
    loop.configure(
        model="ram",
        pipeline="raw",
        raw_len=256,
        afe_rate_hz=1000,
        hop_samples=20,
        score_class=1,
        artifact_class=-1,
        flatline_ms=50,
    )
    loop.configure(policy="adaptive", adaptive_startup_ms=0, adaptive_onset_ms=0,
                   adaptive_threshold_upper=16000, **sc.RUN_SETTINGS)  # fmt: skip
    loop.command("start")
    slew = int(loop.get("slew_max_ua_per_s"))
    amax = int(loop.get("amplitude_max_ua"))
    steps = []
    stim = bytearray(loop.drain().stim)
    seq = 0
    todo = list(events)
    for b in range(n_blocks):
        flags = 0
        x = rng.normal(0, 400, 20).astype(np.int16)
        while todo and todo[0][0] == b:
            _, what = todo.pop(0)
            if what == "gap":
                seq += 2
            elif what == "sat":
                flags |= 1
            elif what == "leadoff":
                flags |= 2
            elif what == "flat":
                x[:] = 5
            elif what == "garbage":
                stim += loop.feed_bytes(rng.integers(0, 256, 300, dtype=np.uint8).tobytes()).stim
            elif what in ("start", "stop", "pause", "resume"):
                loop.command(what)
            elif what == "overrun":
                loop.configure(debug_overrun=1)
            elif what == "no_overrun":
                loop.configure(debug_overrun=0)
            elif what == "limit":
                with contextlib.suppress(LoopConfigRejected):
                    loop.configure(
                        amplitude_max_ua=int(rng.integers(500, 3001)),
                        adaptive_amplitude_upper_ua=500,
                        adaptive_amplitude_lower_ua=500,
                        suspend_amplitude_ua=500,
                        open_loop_amplitude_ua=500,
                    )
                amax = int(loop.get("amplitude_max_ua"))
            elif what == "policy":
                loop.configure(policy=str(rng.choice(["open_loop", "adaptive"])))
        run = loop.feed_bytes(afe_link.encode_block(seq, x, 1000, flags))
        seq += 1
        stim += run.stim
        for r in run.steps:
            steps.append((r, amax))
    prev = None
    for r, limit in steps:
        amp = int(r["amplitude_ua"])
        assert amp <= limit
        if not r["enabled"]:
            assert amp == 0
        if r["therapy_state"] != TherapyState.RUNNING:
            assert not r["enabled"]
        if r["faults"] & (_FAULTS | _MODEL) and r["therapy_state"] == TherapyState.RUNNING:
            assert r["mode"] in (Mode.FALLBACK, Mode.LINK_SAFE), r  # within the step
        if prev is not None:
            dt = int(r["time_ms"]) - int(prev["time_ms"])
            rise = amp - int(prev["amplitude_ua"])
            assert rise <= -(-slew * dt // 1000) + 1, (prev, r)
        prev = r
    # the stream carries exactly the steps' outputs (plus command frames in between)
    by_seq = {c.seq: c for c in decode_commands(bytes(stim))}
    for r, _ in steps:
        c = by_seq[int(r["stim_seq"])]
        assert (c.enabled, c.amplitude_ua) == (bool(r["enabled"]), int(r["amplitude_ua"]))
