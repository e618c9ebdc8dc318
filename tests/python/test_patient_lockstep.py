"""Lockstep sessions: the virtual patient against real device code -- the firmware's
control loop in the SIL library, the core's parts wired in Python, and the firmware in
QEMU -- deterministic, closing the loop, and failing loudly when the device is silent."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from theraloop.paths import repo_root
from theraloop.patient import (
    BetaPatient,
    DataMissing,
    FaultKind,
    FaultSchedule,
    ReplayPatient,
    Stimulator,
)
from theraloop.patient.data import load_bonn_set
from theraloop.sim.lockstep import (
    RECORD_DTYPE,
    LockstepError,
    LockstepSession,
    SilLoopEndpoint,
    SilPartsEndpoint,
    SocketEndpoint,
)
from theraloop.therapy import TherapyConfig
from theraloop.therapy.codes import PolicyState

RESPONSIVE = {
    "model": "seizure_detector",
    "policy": "responsive",
    "dropout_ms": 0,
    "fallback_mode": "off",
}
"""The seizure detector's pipeline (its preset: 250 Hz, the contract's hop), responsive
therapy, no stimulation in the sensor-fault fallback (so any stimulation is a burst); the
silence timer off, so that the session depends on nothing but the bytes."""
HOP = int(
    json.loads((repo_root() / "models/seizure_detector/contract.json").read_text())["step"][
        "hop_samples"
    ]
)
FAULTS = "dropout@5+0.5,corrupt@8+0.3,duplicate@9+0.2,garbage@12+0.2,noise@14+1"


@pytest.fixture(scope="module")
def bonn() -> None:
    try:
        load_bonn_set("E")
    except DataMissing as exc:
        pytest.skip(f"real recordings not available: {exc}")


def _bonn_session(endpoint, seed: int, faults: str = "", **kw) -> LockstepSession:
    patient = ReplayPatient.bonn(250, duration_s=60, seed=seed, seizures=[(10.0, 12.0)])
    return LockstepSession(
        endpoint, patient, hop_samples=HOP, seed=seed, faults=FaultSchedule.parse(faults), **kw
    )


def test_same_seed_same_session(bonn) -> None:
    runs = [
        _bonn_session(SilLoopEndpoint.create(RESPONSIVE), 1, FAULTS).run(seconds=25)
        for _ in range(2)
    ]
    other = _bonn_session(SilLoopEndpoint.create(RESPONSIVE), 2, FAULTS).run(seconds=25)
    assert runs[0].digest() == runs[1].digest()
    assert np.array_equal(runs[0].records, runs[1].records)
    assert runs[0].stim_bytes == runs[1].stim_bytes and runs[0].afe_bytes == runs[1].afe_bytes
    assert other.digest() != runs[0].digest()
    assert runs[0].records.dtype == RECORD_DTYPE


def test_the_loop_treats_seizures_and_the_driver_predicts_every_step(bonn) -> None:
    ep = SilLoopEndpoint.create(RESPONSIVE)
    assert (ep.loop.get("afe_rate_hz"), ep.loop.get("hop_samples")) == (250, HOP)
    session = _bonn_session(ep, 3, FAULTS)
    calls: list[tuple[int, int]] = []
    res = session.run(seconds=25, progress=lambda done, total: calls.append((done, total)))
    rec = res.records
    steps = len(rec)
    assert calls[0] == (1, steps) and calls[-1] == (steps, steps)
    # one STIM_SET per device step, exactly as predicted from the bytes sent
    assert np.array_equal(rec["frames"], rec["expected"])
    assert rec["device_steps"][-1] == len(ep.steps) == ep.loop.counters()["steps"]
    # the receiver's counters as the driver predicted them are the device's own
    assert res.afe_stats == ep.loop.afe_stats()
    assert res.afe_stats["gaps"] >= 2 and res.afe_stats["bad_crc"] > 0
    assert res.afe_stats["duplicates"] > 0 and res.afe_stats["bytes_discarded"] > 0
    # the device flagged the dropout, and stimulated during the seizure only
    assert np.any(ep.steps["faults"] & 0x4)
    burst = rec["applied_ua"] > 0
    assert burst.any()
    first = rec["t_s"][np.argmax(burst)]
    assert 10.0 < first < 22.0 + 5.0
    assert not burst[rec["t_s"] < 10.0].any()
    assert res.stimulator["energy_j"] > 0


def test_acknowledgment_faults_reach_the_device() -> None:
    ep = SilLoopEndpoint.create(
        {
            "policy": "open_loop",
            "dropout_ms": 0,
            "afe_rate_hz": 1000,
            "hop_samples": 20,
            "model": "none",
        }
    )
    faults = FaultSchedule.parse("error_status@3+0.5=4")
    session = LockstepSession(
        ep,
        BetaPatient(1000, seed=1),
        hop_samples=20,
        faults=faults,
        stimulator=Stimulator(ack=True),
    )
    rec = session.run(seconds=8).records
    assert ep.loop.afe_stats()["blocks_ok"] == len(rec)
    status, t = rec["status"], rec["t_s"]
    window = (t >= 3.0) & (t < 3.5)
    assert set(status[~window]) == {0} and set(status[window]) == {4}
    assert np.all(rec["faults"][window] & FaultKind.ERROR_STATUS.bit)
    link_safe = np.flatnonzero(ep.steps["mode"] == 3)
    assert link_safe.size and rec["t_s"][link_safe[0]] == pytest.approx(3.02)
    assert np.all(rec["applied_ua"][link_safe[1:] + 1] == 0)  # off while link-safe
    assert rec["applied_ua"][-1] == 1000  # recovered after the hold


def test_adaptive_therapy_follows_beta_through_the_core_parts() -> None:
    cfg = TherapyConfig(
        {
            "policy": "adaptive",
            "adaptive_threshold_upper": 14000,
            "adaptive_amplitude_lower_ua": 500,
            "adaptive_amplitude_upper_ua": 2500,
            "adaptive_startup_ms": 2000,
            "adaptive_onset_ms": 500,
            "adaptive_termination_ms": 1000,
            "adaptive_blanking_ms": 500,
            "adaptive_ramp_up_ms": 1000,
            "adaptive_ramp_down_ms": 2000,
            "slew_max_ua_per_s": 4000,
        }
    )

    def run(seed: int):
        ep = SilPartsEndpoint(cfg, rate_hz=1000, score_shift=10)
        return ep, LockstepSession(ep, BetaPatient(1000, seed=seed), seed=seed).run(seconds=40)

    ep, res = run(3)
    rec = res.records
    amp = rec["applied_ua"]
    assert amp.max() == 2500 and amp[rec["t_s"] > 3].min() == 500
    # more stimulation -> less beta: the patient responds to what the device decided
    high, low = rec["biomarker"][amp >= 2000], rec["biomarker"][amp <= 600]
    assert high.mean() < low.mean() - 0.1
    # the device went to its HIGH zone after the score stayed above the threshold for the
    # onset time (500 ms = 25 steps), and back after the termination time below it
    tele, lost = ep.therapy.telemetry(since=0)
    assert lost == 0 and len(tele) == len(rec)
    score = np.array([t["score"] for t in tele])
    zone = np.array([t["policy_state"] for t in tele])
    low, high = int(PolicyState.ADAPTIVE_LOW), int(PolicyState.ADAPTIVE_HIGH)
    up = np.flatnonzero((zone[1:] == high) & (zone[:-1] == low)) + 1
    down = np.flatnonzero((zone[1:] == low) & (zone[:-1] == high)) + 1
    assert up.size >= 3 and down.size >= 3
    assert all(np.all(score[r - 25 : r + 1] >= 14000) for r in up)
    assert all(np.all(score[r - 50 : r + 1] < 14000) for r in down)
    assert run(3)[1].digest() == res.digest()


def test_silent_device_is_an_error_naming_the_step(bonn) -> None:
    ep = SilLoopEndpoint.create(RESPONSIVE)  # 250 Hz
    patient = ReplayPatient.bonn(500, duration_s=10, seed=0, seizures=[])
    session = LockstepSession(ep, patient, hop_samples=86)
    with pytest.raises(LockstepError, match="step 0: expected 1 STIM_SET") as err:
        session.step()
    assert err.value.step == 0
    assert ep.loop.afe_stats()["config_mismatch"] == 1


def test_faults_injected_on_demand() -> None:
    ep = SilPartsEndpoint(TherapyConfig({"policy": "open_loop"}), rate_hz=1000)
    session = LockstepSession(ep, BetaPatient(1000, seed=2))
    session.run(steps=50)
    fault = session.inject("saturation", 0.2)
    assert fault.start_s == pytest.approx(1.0)
    rec = session.run(steps=50).records
    hit = rec["faults"] & FaultKind.SATURATION.bit != 0
    assert hit.sum() == 10 and np.all(rec["clipped"][hit] > 0)
    assert np.all(rec["clipped"][~hit] == 0)
    assert session.result().afe_stats["saturated"] == 10


def test_result_saves_everything(tmp_path: Path) -> None:
    ep = SilPartsEndpoint(TherapyConfig({"policy": "open_loop"}), rate_hz=500)
    res = LockstepSession(ep, BetaPatient(500, seed=1)).run(seconds=2)
    res.save(tmp_path / "s.npz")
    with np.load(tmp_path / "s.npz") as d:
        assert np.array_equal(d["records"], res.records)
        assert d["stim_bytes"].tobytes() == res.stim_bytes
        assert d["samples"].shape == (1000, 1)


@pytest.mark.qemu
def test_qemu_session_equals_the_sil_session(firmware_elf: Path, bonn) -> None:
    """The firmware in QEMU, driven over its USART sockets, gives the SIL run's records
    and stimulator bytes exactly (and so does a second QEMU run)."""
    from theraloop.device import Device
    from theraloop.loop import client
    from theraloop.sim.qemu import QemuRunner

    digests = []
    for _ in range(2):
        with QemuRunner(firmware_elf) as qemu:
            dev = Device(qemu.cli_url, timeout=2.0)
            try:
                dev.wait_ready(10.0)
                client.config_set(dev, RESPONSIVE)
                assert client.config_get(dev, ["hop_samples"]) == {"hop_samples": HOP}
                client.therapy(dev, "start")
                with SocketEndpoint.from_qemu(qemu) as ep:
                    res = _bonn_session(ep, 5, FAULTS).run(seconds=25)
                assert client.status(dev)["sensing"]["silence_steps"] == 0
            finally:
                dev.close()
        digests.append(res.digest())
    sil = _bonn_session(SilLoopEndpoint.create(RESPONSIVE), 5, FAULTS).run(seconds=25)
    assert digests[0] == digests[1] == sil.digest()
    assert (sil.records["applied_ua"] > 0).any()
