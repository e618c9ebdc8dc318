"""The firmware's therapy logic in the loop, from Python: adaptive and responsive therapy
end to end, hours of simulated time in one call, the emergency pause, the event log and
the telemetry ring (SIL library, virtual time)."""

from __future__ import annotations

import numpy as np
import pytest

from theraloop.therapy import (
    Command,
    ConfigRejected,
    Fault,
    Mode,
    Therapy,
    TherapyConfig,
    TherapyState,
    batch_inputs,
)
from theraloop.therapy.codes import (
    CommandResult,
    ConfigError,
    EventType,
    PolicyEvent,
    PolicyState,
    Reason,
)

HOP = 50  # ms


def adaptive_config() -> TherapyConfig:
    return TherapyConfig(
        {
            "policy": "adaptive",
            "adaptive_mode": "dual",
            "adaptive_threshold_lower": 10000,
            "adaptive_threshold_upper": 20000,
            "adaptive_amplitude_lower_ua": 1000,
            "adaptive_amplitude_upper_ua": 2500,
            "adaptive_onset_ms": 500,
            "adaptive_termination_ms": 2000,
            "adaptive_blanking_ms": 1000,
            "adaptive_startup_ms": 0,
            "adaptive_ramp_up_ms": 3000,
            "adaptive_ramp_down_ms": 6000,
        }
    )


def test_adaptive_follows_the_biomarker() -> None:
    th = Therapy(adaptive_config())
    th.set_model_hash(bytes.fromhex("0123456789abcdef"))
    # 10 s below lower, 15 s above upper, 10 s between, 20 s below lower
    score = np.concatenate(
        [np.full(200, 5000), np.full(300, 30000), np.full(200, 15000), np.full(400, 0)]
    )
    t = np.arange(len(score)) * HOP
    out = th.run(batch_inputs(t, score, command=[Command.START] + [0] * (len(t) - 1)))
    a = out["amplitude_ua"].astype(int)
    state = out["policy_state"]
    # start: slew (2 mA/s) from 0 to the lower amplitude; dual threshold starts "between"
    # (hold), the low score moves it to LOW after the 2 s termination duration
    assert a[0] == 0 and a[10] == 1000 and state[10] == PolicyState.ADAPTIVE_MID
    assert state[39] == PolicyState.ADAPTIVE_MID and state[40] == PolicyState.ADAPTIVE_LOW
    assert (a[10:200] == 1000).all()
    # above the upper threshold from t = 10 s: up after the 500 ms onset...
    up = int(np.flatnonzero(out["policy_event"] == PolicyEvent.ZONE_UP)[0])
    assert t[up] - t[200] == 500
    # ...then 1500 uA in 3 s: reaches 2500 exactly 3 s later
    assert a[up + 59] < 2500 and a[up + 60] == 2500
    # between the thresholds: held; below lower for 2 s: ramps down over 1500 uA / 6 s
    assert (a[700:900] >= 1000).all()
    down = int(np.flatnonzero(out["policy_event"] == PolicyEvent.ZONE_DOWN)[-1])
    assert t[down] - t[700] == 2000
    assert a[down + 120] == 1000 and a[down + 60] == pytest.approx(1750, abs=1)
    events, lost = th.events()
    assert lost == 0
    changes = [e for e in events if e.type == EventType.THERAPY]
    # target changes only: start (1000), up (2500), down (1000); the zone moves that
    # keep the target (LOW at the lower amplitude, MID holding) are policy events
    assert [e.after_ua for e in changes] == [1000, 2500, 1000]
    policy = [e.detail for e in events if e.type == EventType.POLICY]
    assert policy == [PolicyEvent.ZONE_DOWN, PolicyEvent.ZONE_DOWN]
    assert changes[1].reason == Reason.POLICY and changes[1].detail == PolicyEvent.ZONE_UP
    # the configuration came before the model: every later event carries its hash
    assert events[0].type == EventType.CONFIG and events[0].model_hash == bytes(8)
    assert all(e.model_hash == bytes.fromhex("0123456789abcdef") for e in events[1:])


def responsive_config(**extra: int | str) -> TherapyConfig:
    values: dict[str, int | str] = {
        "policy": "responsive",
        "slew_max_ua_per_s": 20000,
        "responsive_threshold": 20000,
        "responsive_onset_ms": 100,
        "burst_amplitude_ua": 2000,
        "burst_duration_ms": 500,
        "responsive_refractory_ms": 1000,
        "responsive_max_bursts_per_episode": 3,
        "responsive_episode_end_ms": 5000,
    }
    values.update(extra)
    return TherapyConfig(values)


def test_responsive_bursts_per_episode() -> None:
    th = Therapy(responsive_config())
    score = np.concatenate([np.zeros(20), np.full(400, 30000), np.zeros(200), np.full(40, 30000)])
    t = np.arange(len(score)) * HOP
    out = th.run(batch_inputs(t, score, command=[Command.START] + [0] * (len(t) - 1)))
    starts = np.flatnonzero(out["policy_event"] == PolicyEvent.BURST_START)
    # three in the first (20 s) episode, then limited; after it ended, a new 2 s detection
    # gets two (500 ms burst + 1000 ms refractory apart)
    assert len(starts) == 5 and (starts[:3] < 420).all() and (starts[3:] >= 620).all()
    assert (t[starts[1:3]] - t[starts[:2]] >= 500 + 1000).all()  # burst + refractory
    assert (out["policy_state"][starts[2] + 40 : 420] == PolicyState.RESPONSIVE_LIMITED).all()
    assert np.flatnonzero(out["policy_event"] == PolicyEvent.EPISODE_END).size == 1
    # the burst reaches 2 mA through the slew limit (20 mA/s: 100 ms) and ends
    a = out["amplitude_ua"]
    assert a[starts[0] + 2] == 2000 and a[starts[0] + 20] == 0


def test_daily_limit_over_26_simulated_hours() -> None:
    """26 h at a 100 ms hop (936 000 steps) in one call: never more than the daily limit
    in any 24 h, and bursts come back once the window has moved on."""
    hop = 100
    cfg = responsive_config(
        responsive_max_bursts_per_day=50,
        responsive_max_bursts_per_episode=2,
        responsive_episode_end_ms=1000,
    )
    th = Therapy(cfg)
    n = 26 * 3600 * 1000 // hop
    t = np.arange(n, dtype=np.int64) * hop
    # a 3 s "seizure" every 10 minutes
    score = np.where((t % 600_000) < 3000, 30000, 0)
    cmd = np.zeros(n, dtype=np.uint8)
    cmd[0] = Command.START
    out = th.run(batch_inputs(t, score, command=cmd))
    starts = t[out["policy_event"] == PolicyEvent.BURST_START]
    assert len(starts) > 50
    day = 24 * 3600 * 1000
    in_window = np.searchsorted(starts, starts + day) - np.arange(len(starts))
    assert in_window.max() <= 50
    assert (starts > day).any()  # the limit released within 25 h
    assert (out["policy_event"] == PolicyEvent.LIMIT_DAY).any()


def test_emergency_pause_acts_within_the_call() -> None:
    th = Therapy(TherapyConfig({"open_loop_amplitude_ua": 2000}))
    assert th.command(Command.START, now_ms=0)[0] == CommandResult.OK
    for k in range(1, 30):
        out = th.step(now_ms=k * 50)
    assert out.amplitude_ua == 2000 and out.enabled
    res, out = th.command(Command.PAUSE, now_ms=1475)
    assert res == CommandResult.OK
    assert (out.amplitude_ua, out.enabled, out.therapy_state) == (0, False, TherapyState.PAUSED)
    assert th.step(now_ms=1500).amplitude_ua == 0
    assert th.command(Command.RESUME, now_ms=1510)[0] == CommandResult.OK
    # from zero at 2 mA/s over the 50 ms since the last (paused, zero-output) step
    assert th.step(now_ms=1550).amplitude_ua == 100
    assert th.command(Command.RESUME, now_ms=1560)[0] == CommandResult.ERR_STATE


def test_faults_fall_back_and_recover() -> None:
    th = Therapy(
        TherapyConfig({"open_loop_amplitude_ua": 2000, "suspend_amplitude_ua": 500}), now_ms=0
    )
    th.command(Command.START, now_ms=0)
    for k in range(1, 30):
        th.step(now_ms=k * 50)
    out = th.step(now_ms=1500, faults=Fault.SATURATION)
    assert out.mode == Mode.FALLBACK and out.target_ua == 500 and out.amplitude_ua == 1900
    out = th.step(now_ms=1550, faults=Fault.LINK_TIMEOUT)
    assert out.mode == Mode.LINK_SAFE and out.amplitude_ua == 0
    events, _ = th.events()
    fault_events = [e for e in events if e.type == EventType.FAULT]
    assert [e.detail for e in fault_events] == [Fault.SATURATION, Fault.LINK_TIMEOUT]


def test_refused_configuration_changes_nothing() -> None:
    th = Therapy(TherapyConfig())
    bad = TherapyConfig()
    with pytest.raises(ConfigRejected, match="charge-per-phase"):
        bad.set("pulse_width_max_us", 1000)
    raw = bytearray(TherapyConfig().to_bytes())
    raw[4:8] = (25500).to_bytes(4, "little")  # amplitude_max_ua far above the ceilings
    with pytest.raises(ConfigRejected) as exc:
        th.configure(TherapyConfig.from_bytes(bytes(raw)), now_ms=5)
    assert exc.value.check.field == "amplitude_max_ua"
    events, _ = th.events()
    assert events[-1].type == EventType.CONFIG_REFUSED
    assert events[-1].aux == ConfigError.CHARGE


def test_telemetry_since_sequence_reports_losses() -> None:
    th = Therapy(TherapyConfig(), telemetry_capacity=1024)
    t = np.arange(3000) * 10
    th.run(batch_inputs(t, 7, command=[Command.START] + [0] * 2999))
    records, lost = th.telemetry(since=0)
    assert lost == 3000 - 1024 and len(records) == 1024
    assert records[0]["seq"] == 1976 and records[-1]["step"] == 2999
    assert records[-1]["score"] == 7 and records[-1]["amplitude_ua"] == 1000
    th.step(now_ms=30000, score=9, features=[1, 2, 3, 4, 5], model_class=3)
    (rec,), lost = th.telemetry()
    assert lost == 0 and rec["seq"] == 3000
    assert [rec[f"feature{i}"] for i in range(4)] == [1, 2, 3, 4] and rec["n_features"] == 4
    assert rec["model_class"] == 3
