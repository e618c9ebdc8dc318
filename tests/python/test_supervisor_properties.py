"""Property-based tests of the safety supervisor's invariants, through the SIL library.

Hypothesis draws a valid configuration (any policy), a fault schedule (sensor, model and
link faults, including unknown bits), operator commands, and a seed for scores and step
times; the firmware's therapy object (policy -> supervisor) runs 5000 steps in one C call,
and every step is checked here against an independent model of the rules. 200 examples x
5000 steps = 10^6 steps per run.

Invariants: amplitude within [0, amplitude_max]; pulse width, rate, charge per phase,
charge density (<= 30 uC/cm2/phase) and Shannon k within the configured limits while
stimulating; |a(t1) - a(t0)| <= ceil(slew x (t1 - t0)) over every interval without a
documented instant transition (to 0 on stop/pause/link fault/fallback off); no stimulation
while off or paused; the fallback (or the link-safe state) from the very step a fault is
presented until it has been clear for its hold time; moving towards the target and never
past it; no lockout with a valid configuration.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from theraloop.therapy import Therapy, TherapyConfig, batch_inputs
from theraloop.therapy.codes import (
    LINK_MASK,
    MODEL_MASK,
    SENSOR_MASK,
    Command,
    CommandResult,
    Fallback,
    Fault,
    Mode,
    Policy,
    PolicyEvent,
    TherapyState,
)

STEPS = 5000


@st.composite
def configs(draw: st.DrawFn) -> TherapyConfig:
    """A valid configuration, built to satisfy every rule (so nearly all draws are used)."""
    v: dict[str, int] = {}
    area = draw(st.integers(20_000, 20_000_000))
    ceiling = draw(st.integers(100, 3000))
    pw_max = draw(st.integers(20, 1000))
    pw_min = draw(st.integers(10, pw_max))
    gap = draw(st.sampled_from([0, 20, 100]))
    rate_max = draw(st.integers(1, min(10_000, 10_000_000 // (2 * pw_max + gap))))
    rate_min = draw(st.integers(1, rate_max))
    amp_cap = min(25500, ceiling * area // (pw_max * 10_000))
    amp_max = draw(st.integers(0, amp_cap))
    slew = draw(st.sampled_from([1, 30, 500, 2000, 20_000, 1_000_000]))
    v.update(
        electrode_area_um2=area,
        charge_density_max_cuc_cm2=ceiling,
        charge_max_nc=25500,
        shannon_k_max_milli=1850,
        pulse_width_min_us=pw_min,
        pulse_width_max_us=pw_max,
        interphase_gap_us=gap,
        rate_min_dhz=rate_min,
        rate_max_dhz=rate_max,
        amplitude_min_ua=0,
        amplitude_max_ua=amp_max,
        slew_max_ua_per_s=slew,
        pulse_width_us=draw(st.integers(pw_min, pw_max)),
        rate_dhz=draw(st.integers(rate_min, rate_max)),
        waveform=draw(st.integers(0, 1)),
        policy=draw(st.integers(0, 2)),
        open_loop_amplitude_ua=draw(st.integers(0, amp_max)),
        fallback_mode=draw(st.integers(0, 1)),
        suspend_amplitude_ua=draw(st.integers(0, amp_max)),
        sensor_fault_hold_ms=draw(st.integers(0, 2000)),
        model_fault_hold_ms=draw(st.integers(0, 2000)),
        link_fault_hold_ms=draw(st.integers(0, 2000)),
    )
    # adaptive: ramps no faster than the slew limit
    lo = draw(st.integers(0, amp_max))
    hi = draw(st.integers(lo, min(amp_max, lo + slew * 3600)))
    min_ramp = -(-(hi - lo) * 1000 // slew)
    lower_thr = draw(st.integers(-500, 500))
    v.update(
        adaptive_mode=draw(st.integers(0, 1)),
        adaptive_threshold_lower=lower_thr,
        adaptive_threshold_upper=draw(st.integers(lower_thr, 600)),
        adaptive_amplitude_lower_ua=lo,
        adaptive_amplitude_upper_ua=hi,
        adaptive_ramp_up_ms=min_ramp + draw(st.integers(0, 3000)),
        adaptive_ramp_down_ms=min_ramp + draw(st.integers(0, 3000)),
        adaptive_onset_ms=draw(st.integers(0, 500)),
        adaptive_termination_ms=draw(st.integers(0, 1000)),
        adaptive_blanking_ms=draw(st.integers(0, 500)),
        adaptive_startup_ms=draw(st.integers(0, 1000)),
    )
    # responsive: the burst must be reachable within half its duration at this slew
    duration = draw(st.integers(10, 3000))
    v.update(
        responsive_threshold=draw(st.integers(-300, 300)),
        responsive_onset_ms=draw(st.integers(0, 200)),
        burst_duration_ms=duration,
        burst_amplitude_ua=draw(st.integers(0, min(amp_max, slew * duration // 2000))),
        burst_pulse_width_us=draw(st.integers(pw_min, pw_max)),
        burst_rate_dhz=draw(st.integers(rate_min, rate_max)),
        responsive_max_bursts_per_episode=draw(st.integers(1, 6)),
        responsive_refractory_ms=draw(st.integers(0, 1000)),
        responsive_episode_end_ms=draw(st.integers(0, 3000)),
        responsive_max_bursts_per_day=draw(st.integers(1, 200)),
    )
    cfg = TherapyConfig()
    cfg.update(v)  # raises if the construction above missed a rule
    return cfg


FAULT_KINDS = [int(f) for f in Fault] + [1 << 30]

fault_episodes = st.lists(
    st.tuples(
        st.integers(0, STEPS - 1),
        st.integers(1, 400),
        st.sampled_from(FAULT_KINDS),
        st.sampled_from([0, *FAULT_KINDS]),
    ),
    max_size=12,
)
command_schedule = st.lists(
    st.tuples(st.integers(1, STEPS - 1), st.sampled_from([1, 2, 3, 4, 9])), max_size=12
)


def _inputs(seed: int, faults_spec: list, cmds: list) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    dt = np.where(
        rng.random(STEPS) < 0.99, rng.integers(1, 51, STEPS), rng.integers(51, 20_000, STEPS)
    )
    t = 1000 + np.cumsum(dt)  # int64, no wrap here (the C test covers the wrap)
    score = np.clip(np.cumsum(rng.integers(-40, 41, STEPS)), -2000, 2000)
    jumps = rng.random(STEPS) < 0.05
    score[jumps] = rng.integers(-700, 701, int(jumps.sum()))
    faults = np.zeros(STEPS, dtype=np.uint32)
    for start, length, a, b in faults_spec:
        faults[start : start + length] |= np.uint32(a | b)
    flicker = rng.random(STEPS) < 0.1
    faults[flicker] = 0
    command = np.zeros(STEPS, dtype=np.uint8)
    command[0] = Command.START
    for step, cmd in cmds:
        command[step] = cmd
    valid = (rng.random(STEPS) < 0.99).astype(np.uint8)
    return t, batch_inputs(t, score, faults, score_valid=valid, command=command)


def _category_active(t: np.ndarray, bits: np.ndarray, hold: int) -> np.ndarray:
    """Fault held: present now, or cleared less than `hold` ms ago (clear time counted
    from the first step without it)."""
    idx = np.arange(len(t))
    last = np.maximum.accumulate(np.where(bits != 0, idx, -1))
    first_clear = np.minimum(last + 1, len(t) - 1)
    cleared_for = t - t[first_clear]
    return (bits != 0) | ((last >= 0) & (cleared_for < hold))


def _expected_states(cmd: np.ndarray) -> tuple[np.ndarray, dict[int, int]]:
    state = np.empty(len(cmd), dtype=np.uint8)
    results: dict[int, int] = {}
    s = TherapyState.OFF
    for i in range(len(cmd)):
        c = int(cmd[i])
        if c:
            ok = CommandResult.OK
            if c == Command.START:
                ok = CommandResult.OK if s == TherapyState.OFF else CommandResult.ERR_STATE
                s = TherapyState.RUNNING if ok == CommandResult.OK else s
            elif c == Command.STOP:
                s = TherapyState.OFF
            elif c == Command.PAUSE:
                ok = CommandResult.OK if s == TherapyState.RUNNING else CommandResult.ERR_STATE
                s = TherapyState.PAUSED if ok == CommandResult.OK else s
            elif c == Command.RESUME:
                ok = CommandResult.OK if s == TherapyState.PAUSED else CommandResult.ERR_STATE
                s = TherapyState.RUNNING if ok == CommandResult.OK else s
            else:
                ok = CommandResult.ERR_ARG
            results[i] = ok
        state[i] = s
    return state, results


def _between(prev: np.ndarray, a: np.ndarray, goal: np.ndarray) -> np.ndarray:
    return ((prev <= goal) & (a >= prev) & (a <= goal)) | (
        (prev >= goal) & (a <= prev) & (a >= goal)
    )


def check_run(cfg: TherapyConfig, t: np.ndarray, inp: np.ndarray, out: np.ndarray) -> None:
    c = {name: int(cfg[name]) for name in cfg.as_dict()}
    a = out["amplitude_ua"].astype(np.int64)
    pw = out["pulse_width_us"].astype(np.int64)
    rate = out["rate_dhz"].astype(np.int64)
    on = a > 0

    # limits while stimulating
    assert (a <= c["amplitude_max_ua"]).all()
    assert ((out["enabled"] == 1) == on).all()
    assert (pw[on] >= c["pulse_width_min_us"]).all() and (pw[on] <= c["pulse_width_max_us"]).all()
    assert (rate[on] >= c["rate_min_dhz"]).all() and (rate[on] <= c["rate_max_dhz"]).all()
    q_pc = a * pw
    assert (q_pc <= c["charge_max_nc"] * 1000).all()
    ceiling = min(c["charge_density_max_cuc_cm2"], 3000)
    assert (q_pc * 10_000 <= ceiling * c["electrode_area_um2"]).all()  # exact, in integers
    if on.any():
        q_uc = q_pc[on] * 1e-6
        k = np.log10(q_uc) + np.log10(q_uc / (c["electrode_area_um2"] * 1e-8))
        assert (k <= c["shannon_k_max_milli"] / 1000 + 0.0011).all()
    assert (2 * pw[on] + c["interphase_gap_us"] <= 10_000_000 // rate[on]).all()

    # commands and therapy state; nothing while off or paused
    state, results = _expected_states(inp["command"])
    for i, want in results.items():
        assert out["command_result"][i] == want, (i, inp["command"][i])
    assert (out["therapy_state"] == state).all()
    running = state == TherapyState.RUNNING
    assert (a[~running] == 0).all()

    # faults: the mode from an independent model of the hysteresis
    f = inp["faults"].astype(np.int64)
    sensor = _category_active(t, f & SENSOR_MASK, c["sensor_fault_hold_ms"])
    model = _category_active(t, f & MODEL_MASK, c["model_fault_hold_ms"])
    link = _category_active(t, f & LINK_MASK, c["link_fault_hold_ms"])
    mode = np.where(
        ~running,
        Mode.IDLE,
        np.where(link, Mode.LINK_SAFE, np.where(sensor | model, Mode.FALLBACK, Mode.POLICY)),
    )
    bad = np.flatnonzero(out["mode"] != mode)
    assert bad.size == 0, f"mode {out['mode'][bad[0]]} != {mode[bad[0]]} at step {bad[0]}"
    assert (a[mode == Mode.LINK_SAFE] == 0).all()
    assert (out["mode"] != Mode.LOCKOUT).all()

    # direction: towards the fallback target / the (clamped) request, never past it
    prev = np.concatenate([[0], a[:-1]])
    # a stop/pause command acts before the step: the step starts from 0
    stopped = np.isin(inp["command"], [Command.STOP, Command.PAUSE]) & (
        out["command_result"] == CommandResult.OK
    )
    prev[stopped] = 0
    fb = mode == Mode.FALLBACK
    if c["fallback_mode"] == Fallback.OFF:
        assert (a[fb] == 0).all()
    else:
        goal = np.full_like(a, c["suspend_amplitude_ua"])
        assert _between(prev[fb], a[fb], goal[fb]).all()
    pol = mode == Mode.POLICY
    target = out["target_ua"].astype(np.int64)
    assert (target[pol] <= c["amplitude_max_ua"]).all()
    assert _between(prev[pol], a[pol], target[pol]).all()

    # slew over every interval between documented instant transitions
    instant = ~running | link | stopped
    if c["fallback_mode"] == Fallback.OFF:
        instant |= fb
    assert (a[instant] == 0).all()
    s = c["slew_max_ua_per_s"]
    starts = np.flatnonzero(instant | (np.arange(len(a)) == 0))
    bounds = [*starts.tolist(), len(a)]
    up = 1000 * a - s * t
    down = -1000 * a - s * t
    for lo, hi in itertools.pairwise(bounds):
        u, d = up[lo:hi], down[lo:hi]
        assert (u <= np.minimum.accumulate(u) + 999).all(), f"slew up in [{lo}, {hi})"
        assert (d <= np.minimum.accumulate(d) + 999).all(), f"slew down in [{lo}, {hi})"
        # per step too: |da| <= ceil(slew x dt)
        if hi - lo > 1:
            da = np.abs(np.diff(a[lo:hi]))
            assert (1000 * da <= s * np.diff(t[lo:hi]) + 999).all()


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(configs(), fault_episodes, command_schedule, st.integers(0, 2**32 - 1))
def test_supervisor_invariants(
    cfg: TherapyConfig, faults_spec: list, cmds: list, seed: int
) -> None:
    t, inp = _inputs(seed, faults_spec, cmds)
    th = Therapy(cfg)
    out = th.run(inp)
    check_run(cfg, t, inp, out)
    event(f"policy {Policy(cfg['policy']).name.lower()}")
    for m in (Mode.FALLBACK, Mode.LINK_SAFE):
        if (out["mode"] == m).any():
            event(f"{m.name.lower()} reached")
    if (out["policy_event"] == PolicyEvent.BURST_START).any():
        event("bursts delivered")


def test_the_checks_catch_a_broken_supervisor() -> None:
    """The invariant checks are not vacuous: outputs that break a rule are caught."""
    cfg = TherapyConfig({"policy": "open_loop", "slew_max_ua_per_s": 2000})
    t, inp = _inputs(1, [(100, 50, int(Fault.DROPOUT), 0)], [])
    out = Therapy(cfg).run(inp)
    check_run(cfg, t, inp, out)  # the real one passes
    broken = [
        ("amplitude_ua", 400, 3001),  # above amplitude_max
        ("amplitude_ua", 30, 900),  # faster than the slew limit
        ("mode", 100, int(Mode.POLICY)),  # fault not acted on in its step
    ]
    for name, i, value in broken:
        bad = out.copy()
        bad[name][i] = value
        if name == "amplitude_ua":
            bad["enabled"][i] = 1
        try:
            check_run(cfg, t, inp, bad)
        except AssertionError:
            continue
        raise AssertionError(f"a broken {name} at step {i} was not caught")
