"""What a closed-loop session shows, in numbers: time in each therapy state, energy
delivered vs open loop, beta power reduction vs no stimulation, seizure detection latency
and false alarms, cycles per control step, model hash -- and the safety checks the
fault-injection tests assert (every STIM_SET frame within the configured limits, the
fallback entered in the step a fault became visible).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from theraloop.links import stim as stim_link
from theraloop.patient import OFF, Stimulation, score_detections
from theraloop.patient.replay import Seizure
from theraloop.patient.stimulator import DEFAULT_IMPEDANCE_OHM
from theraloop.sim.session import SessionOutcome, make_patient
from theraloop.therapy.codes import LINK_MASK, MODEL_MASK, SENSOR_MASK

QEMU_SYSTICK_HZ = 168_000_000
"""The firmware's SysTick clock; under QEMU -icount shift=0 one instruction is 1 ns."""


# --- safety checks ------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """A STIM_SET frame the device sent, with the device clock it was sent at."""

    index: int
    time_ms: float
    command: stim_link.StimCommand


def _same(c: stim_link.StimCommand, r: dict[str, Any]) -> bool:
    if not c.enabled or not r["enabled"]:
        return c.enabled == bool(r["enabled"])
    return (c.amplitude_ua, c.pulse_width_us, c.rate_dhz) == (
        r["amplitude_ua"],
        r["pulse_width_us"],
        r["rate_dhz"],
    )


def frames(outcome: SessionOutcome) -> list[Frame]:
    """Every STIM_SET frame of the session (pre-session frames first, at time 0), each
    with the device clock it was sent at.

    The device sends one frame per control step, equal to that step's telemetry record
    (its output), plus a frame for each operator command (pause, resume, a configuration
    that lowers a limit). Walking the frames in order against the telemetry steps in
    order, a frame equal to the next step's record is that step's frame (the step's
    clock); any other frame is a command frame, at the clock of the last step before it.
    (The lockstep step in which a frame arrived is not used: a frame from a command sent
    from another thread shifts the driver's count by one.) Without complete telemetry,
    frames are timed by the lockstep step they arrived in."""
    res = outcome.result
    hop_ms = res.config["hop_samples"] * 1000.0 / res.config["rate_hz"]
    out: list[Frame] = []
    for cmd in stim_link.decode_commands(res.pre_session_bytes):
        out.append(Frame(len(out), 0.0, cmd))
    cmds = [(step, c) for step, c in res.commands if c is not None]
    tel = outcome.trace.telemetry
    steps = [int(r["step"]) for r in tel]
    complete = outcome.trace.lost_telemetry == 0 and steps == list(range(len(steps)))
    if complete:
        k, now = 0, 0.0
        for _, c in cmds:
            if k < len(tel) and _same(c, tel[k]):
                now = float(tel[k]["time_ms"])
                k += 1
            out.append(Frame(len(out), now, c))
        return out
    rec = res.records
    for step, c in cmds:
        out.append(Frame(len(out), float(rec["device_steps"][step]) * hop_ms, c))
    return out


def check_limits(outcome: SessionOutcome) -> list[str]:
    """Every STIM_SET frame against the configured hard limits: amplitude, pulse width,
    rate, charge per phase, charge density, and the slew limit on every rise (reductions
    may be instant: pause, stop, faults, a lowered limit). Returns the violations."""
    cfg = outcome.config
    amax = int(cfg["amplitude_max_ua"])
    pw_lo, pw_hi = int(cfg["pulse_width_min_us"]), int(cfg["pulse_width_max_us"])
    r_lo, r_hi = int(cfg["rate_min_dhz"]), int(cfg["rate_max_dhz"])
    q_max_pc = int(cfg["charge_max_nc"]) * 1000
    area = int(cfg["electrode_area_um2"])
    d_max = int(cfg["charge_density_max_cuc_cm2"])
    slew = int(cfg["slew_max_ua_per_s"])
    bad: list[str] = []
    prev_amp, prev_t = 0, 0.0
    for f in frames(outcome):
        c = f.command
        where = f"frame {f.index} (seq {c.seq}, t {f.time_ms:.0f} ms)"
        amp = c.amplitude_ua if c.enabled else 0
        if not c.enabled and c.amplitude_ua != 0:
            bad.append(f"{where}: disabled with amplitude {c.amplitude_ua} uA")
        if c.enabled:
            q = c.amplitude_ua * c.pulse_width_us
            if c.amplitude_ua > amax:
                bad.append(f"{where}: amplitude {c.amplitude_ua} > {amax} uA")
            if not pw_lo <= c.pulse_width_us <= pw_hi:
                bad.append(f"{where}: pulse width {c.pulse_width_us} outside {pw_lo}..{pw_hi}")
            if not r_lo <= c.rate_dhz <= r_hi:
                bad.append(f"{where}: rate {c.rate_dhz} outside {r_lo}..{r_hi} dHz")
            if q > q_max_pc:
                bad.append(f"{where}: charge {q / 1000:.1f} nC > {q_max_pc // 1000} nC")
            if q * 10000 > d_max * area:
                bad.append(f"{where}: charge density {q * 100 / area:.2f} > {d_max / 100} uC/cm2")
        if amp > prev_amp:
            allowed = math.ceil(slew * max(0.0, f.time_ms - prev_t) / 1000.0)
            if amp - prev_amp > allowed:
                bad.append(
                    f"{where}: rise {prev_amp} -> {amp} uA in {f.time_ms - prev_t:.0f} ms "
                    f"> slew {slew} uA/s"
                )
        prev_amp, prev_t = amp, f.time_ms
    return bad


def fallback_lapses(outcome: SessionOutcome) -> list[str]:
    """Device steps (telemetry) where a fault was presented and the supervisor was not in
    the documented safe state in that same step: a sensor or model fault -> `fallback`
    (or stricter: `link_safe`, therapy off/paused), a link fault -> `link_safe` and no
    stimulation. Also flags telemetry the host could not read (lost records)."""
    bad: list[str] = []
    if outcome.trace.lost_telemetry:
        bad.append(f"{outcome.trace.lost_telemetry} telemetry records lost before being read")
    for r in outcome.trace.telemetry:
        faults = int(r["faults"])
        if not faults or r["therapy_state"] != "running":
            continue
        where = f"step {r['step']} (t {r['time_ms']} ms, faults {r['fault_names']})"
        if faults & LINK_MASK:
            if r["mode"] not in ("link_safe", "lockout") or r["enabled"]:
                bad.append(f"{where}: mode {r['mode']}, enabled {r['enabled']} (want link_safe)")
        elif faults & (SENSOR_MASK | MODEL_MASK) and r["mode"] not in (
            "fallback",
            "link_safe",
            "lockout",
        ):
            bad.append(f"{where}: mode {r['mode']} (want fallback)")
    return bad


# --- the summary ---------------------------------------------------------------------------


def _energy_j(stim: Stimulation, seconds: float, impedance_ohm: float) -> float:
    if not stim.active:
        return 0.0
    amp = stim.amplitude_ua * 1e-6
    return 2 * amp * amp * impedance_ohm * stim.pulse_width_us * 1e-6 * stim.rate_hz * seconds


def _reference_stimulation(outcome: SessionOutcome) -> Stimulation:
    """Open loop at the session's upper amplitude (the policy's ceiling)."""
    cfg = outcome.config
    policy = str(cfg["policy"])
    if policy == "adaptive":
        return Stimulation(
            True,
            int(cfg["adaptive_amplitude_upper_ua"]),
            int(cfg["pulse_width_us"]),
            int(cfg["rate_dhz"]),
        )
    if policy == "responsive":
        return Stimulation(
            True,
            int(cfg["burst_amplitude_ua"]),
            int(cfg["burst_pulse_width_us"]),
            int(cfg["burst_rate_dhz"]),
        )
    return Stimulation(
        True, int(cfg["open_loop_amplitude_ua"]), int(cfg["pulse_width_us"]), int(cfg["rate_dhz"])
    )


def _counterfactual_biomarker(outcome: SessionOutcome, stim: Stimulation) -> float:
    """Mean biomarker of the same patient (same seed) under constant `stim`."""
    res = outcome.result
    patient = make_patient(outcome.spec, res.config["rate_hz"])
    hop = res.config["hop_samples"]
    vals = [patient.step(hop, stim).biomarker for _ in range(len(res.records))]
    return float(np.mean(vals)) if vals else math.nan


def device_time_s(outcome: SessionOutcome, step: int) -> float:
    """Patient time at the end of the lockstep step that completed device step `step`."""
    rec = outcome.result.records
    i = int(np.searchsorted(rec["device_steps"], step + 1))
    return float(rec["t_s"][min(i, len(rec) - 1)])


def detections(outcome: SessionOutcome) -> list[float]:
    """Patient times at which the device started a detection episode (a burst from idle)."""
    out = []
    prev = ""
    for r in outcome.trace.telemetry:
        state = r["policy_state"]
        if state == "responsive_burst" and prev in ("responsive_idle", "none", ""):
            out.append(device_time_s(outcome, int(r["step"])))
        prev = state
    return out


def _sha(value: Any) -> str | None:
    if isinstance(value, bytes | bytearray):
        return value.hex()
    if isinstance(value, str) and value:
        return value
    return None


def summarize(outcome: SessionOutcome) -> dict[str, Any]:
    """The session's figures (JSON-ready)."""
    spec, res, st = outcome.spec, outcome.result, outcome.status
    rec = res.records
    rate, hop = res.config["rate_hz"], res.config["hop_samples"]
    hop_s = hop / rate
    duration = len(rec) * hop_s
    tel = outcome.trace.telemetry
    states: dict[str, dict[str, float]] = {}
    for key in ("therapy_state", "mode", "policy_state"):
        counts = Counter(str(r[key]) for r in tel)
        states[key] = {k: round(v * hop_s, 3) for k, v in sorted(counts.items())}
    imp = DEFAULT_IMPEDANCE_OHM
    ref = _reference_stimulation(outcome)
    energy = float(res.stimulator["energy_j"])
    open_loop = _energy_j(ref, duration, imp)
    out: dict[str, Any] = {
        "name": spec.name,
        "policy": spec.policy,
        "patient": spec.patient,
        "target": spec.target + (" -icount" if spec.target == "qemu" and spec.icount else ""),
        "seed": spec.seed,
        "faults": spec.faults,
        "duration_s": round(duration, 3),
        "control_steps": len(rec),
        "rate_hz": rate,
        "hop_ms": round(hop_s * 1000, 3),
        "wall_s": round(outcome.wall_s, 2),
        "model": {
            "name": st.get("model", {}).get("source", spec.model),
            "state": st.get("model", {}).get("state"),
            "sha256": _sha(st.get("model", {}).get("sha256")),
            "hash8": next(
                (
                    e["model_hash"]
                    for e in reversed(outcome.trace.events)
                    if e["model_hash"] != "0" * 16
                ),
                None,
            ),
        },
        "time_in_state_s": states,
        "energy": {
            "delivered_j": energy,
            "open_loop_j": open_loop,
            "open_loop": {
                "amplitude_ua": ref.amplitude_ua,
                "pulse_width_us": ref.pulse_width_us,
                "rate_dhz": ref.rate_dhz,
            },
            "ratio": energy / open_loop if open_loop > 0 else None,
            "charge_uc": float(res.stimulator["charge_uc"]),
            "stim_on_s": float(res.stimulator["stim_on_s"]),
            "impedance_ohm": imp,
        },
        "amplitude_ua": {
            "mean": float(np.mean(rec["applied_ua"])) if len(rec) else 0.0,
            "min": int(rec["applied_ua"].min()) if len(rec) else 0,
            "max": int(rec["applied_ua"].max()) if len(rec) else 0,
        },
        "events": len(outcome.trace.events),
        "fallback_entries": st.get("therapy", {}).get("fallback_entries"),
        "limit_violations": check_limits(outcome),
        "fallback_lapses": fallback_lapses(outcome),
        "device_answering": outcome.alive,
    }
    if spec.patient in ("beta", "stn-replay"):
        session = float(np.mean(rec["biomarker"]))
        base = _counterfactual_biomarker(outcome, OFF)
        ol = _counterfactual_biomarker(outcome, ref)
        out["beta"] = {
            "mean_relative_power": session,
            "no_stimulation": base,
            "open_loop": ol,
            "reduction": 1 - session / base if base > 0 else None,
            "open_loop_reduction": 1 - ol / base if base > 0 else None,
        }
    seizures = res.truth.get("seizures") or []
    if seizures:
        zs = [Seizure(z["onset_s"], z["offset_s"], tuple(z["segments"])) for z in seizures]
        zs = [z for z in zs if z.onset_s < duration]
        score = score_detections(detections(outcome), zs, duration)
        out["seizures"] = {
            "onsets_s": [z.onset_s for z in zs],
            "detections_s": [round(t, 3) for t in detections(outcome)],
            **score.as_dict(),
        }
    timing = st.get("timing", {})
    step = timing.get("step", {})
    hz = int(timing.get("hz") or 0)
    cycles: dict[str, Any] = {"unit": "cycles", "hz": hz, "overruns": timing.get("overruns")}
    for name in ("features", "inference", "policy", "supervisor", "step"):
        if name in timing:
            cycles[name] = {k: timing[name].get(k) for k in ("min", "mean", "max")}
    if spec.target == "qemu" and spec.icount and hz:
        per = 1e9 / hz  # instructions per SysTick cycle under -icount shift=0
        cycles["instructions_per_step"] = {
            k: round(int(step.get(k, 0)) * per) for k in ("min", "mean", "max")
        }
        cycles["step_us_at_168mhz"] = round(int(step.get("mean", 0)) * per / 168.0, 1)
        cycles["note"] = "QEMU -icount: 1 instruction = 1 ns; ~ Cortex-M4 cycles at 1 IPC"
    elif spec.target == "sil":
        cycles["note"] = "SIL: virtual clock, steps take no time (run on QEMU for figures)"
    else:
        cycles["note"] = "QEMU without -icount: SysTick on host time, not representative"
    out["cycles_per_step"] = cycles
    return out


def _pct(x: float | None) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.0f} %"


def format_summary(s: dict[str, Any]) -> str:
    """Human-readable lines of one session's summary."""
    lines = [
        f"== {s['name']}: {s['policy']} on {s['patient']} patient, {s['duration_s']:g} s "
        f"simulated ({s['control_steps']} steps of {s['hop_ms']:g} ms) on {s['target']}, "
        f"{s['wall_s']:g} s wall",
        f"  model            {s['model']['name']} ({s['model']['state']}), "
        f"hash {s['model']['hash8'] or '-'}",
    ]
    st = s["time_in_state_s"]
    for key, label in (("mode", "supervisor"), ("policy_state", "policy state")):
        parts = ", ".join(f"{k} {v:g} s" for k, v in st.get(key, {}).items())
        lines.append(f"  {label:<16} {parts}")
    e = s["energy"]
    ol = e["open_loop"]
    lines.append(
        f"  energy           {e['delivered_j'] * 1e3:.2f} mJ vs {e['open_loop_j'] * 1e3:.2f} mJ "
        f"open loop at {ol['amplitude_ua'] / 1000:g} mA ({_pct(e['ratio'])}); "
        f"stimulation on {e['stim_on_s']:.1f} s"
    )
    a = s["amplitude_ua"]
    lines.append(
        f"  amplitude        mean {a['mean'] / 1000:.2f} mA, "
        f"range {a['min'] / 1000:g}..{a['max'] / 1000:g} mA"
    )
    if "beta" in s:
        b = s["beta"]
        lines.append(
            f"  beta power       reduced {_pct(b['reduction'])} vs no stimulation "
            f"(open loop: {_pct(b['open_loop_reduction'])})"
        )
    if "seizures" in s:
        z = s["seizures"]
        lat = ", ".join("missed" if x is None else f"{x:.2f} s" for x in z["latencies_s"])
        lines.append(
            f"  seizures         {z['detected']}/{len(z['onsets_s'])} detected, latency "
            f"{lat or '-'}; false alarms {z['false_alarms']} "
            f"({z['false_alarms_per_hour']:.1f}/h)"
        )
    c = s["cycles_per_step"]
    if "instructions_per_step" in c:
        i = c["instructions_per_step"]
        lines.append(
            f"  per control step {i['mean']:,} instructions mean (max {i['max']:,}), "
            f"{c['step_us_at_168mhz']} us at 168 MHz; overruns {c['overruns']}"
        )
    else:
        lines.append(f"  per control step {c.get('note')}")
    lines.append(
        f"  safety           {len(s['limit_violations'])} limit violations, "
        f"{len(s['fallback_lapses'])} fallback lapses, fallback entries "
        f"{s['fallback_entries'] if s['fallback_entries'] is not None else '-'}, "
        f"device answering: {'yes' if s['device_answering'] else 'NO'}"
    )
    return "\n".join(lines)
