"""Fault injection against the firmware in QEMU, one test per scenario: the virtual
patient runs adaptive DBS in lockstep with the device (theraloop.sim.session) while a
fault is injected on the sensor signal, the AFE link, the stimulator link, the CLI port
or the control step itself.

Each test asserts, from what the device itself sent and reported:
- no therapy-limit violation at any step: every STIM_SET frame checked against the
  configured amplitude, pulse width, rate, charge, charge density and slew limits
  (`theraloop.sim.summary.check_limits`);
- the documented fallback entered in time (docs/control-loop.md, docs/therapy.md): in the
  very control step the fault is presented, and that step no later than the fault can be
  visible to the loop (telemetry, read over SMP during the session; nothing lost);
- the event logged with its reason (the device's event log over SMP);
- the device still answering the CLI afterwards (`theraloop status` / `theraloop log`).

QEMU runs with -icount (virtual time): stage timing and the session are deterministic.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from theraloop.cli import main
from theraloop.sim.session import SessionOutcome, SessionSpec, open_target, run_session
from theraloop.sim.summary import check_limits, device_time_s, fallback_lapses, frames
from theraloop.therapy.codes import Fault

pytestmark = pytest.mark.qemu

HOP_S = 0.02  # beta_biomarker preset: 1000 Hz, hop 20 samples
FAULT_AT = 4.0  # s: after the 2 s startup, the policy is driving the amplitude
DURATION = 8.0
LEAD_OFF = 1 << 4


def _spec(elf: Path, faults: str = "", **kw: Any) -> SessionSpec:
    settings = {"sensor_fault_hold_ms": 1000, "model_fault_hold_ms": 1000}
    settings.update(kw.pop("settings", {}))
    return SessionSpec(
        policy="adaptive",
        patient="beta",
        duration_s=kw.pop("duration_s", DURATION),
        seed=3,
        faults=faults,
        target="qemu",
        elf=elf,
        settings=settings,
        poll_steps=25,
        **kw,
    )


def _cli(url: str, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["--port", url, "--timeout", "5", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _run(elf: Path, spec: SessionSpec, hook: Any = None) -> tuple[SessionOutcome, dict, dict]:
    """The session, then `theraloop status` and `theraloop log` through the real CLI."""
    with open_target(spec) as target:
        outcome = run_session(spec, target, hook=hook)
        target.device.close()  # the CLI port takes one client at a time
        status = _cli(target.runner.cli_url, "status")
        log = _cli(target.runner.cli_url, "log")
    return outcome, status, log


def _first_with(outcome: SessionOutcome, bits: int) -> dict[str, Any]:
    for r in outcome.trace.telemetry:
        if int(r["faults"]) & bits:
            return r
    pytest.fail(f"the device never presented fault bits 0x{bits:x}")


def _assert_safe(outcome: SessionOutcome) -> None:
    assert outcome.trace.lost_telemetry == 0
    assert check_limits(outcome) == []
    assert fallback_lapses(outcome) == []
    assert outcome.alive


def _assert_fallback(
    outcome: SessionOutcome, bits: int, earliest_s: float, latest_s: float, mode: str
) -> dict[str, Any]:
    """The first step presenting `bits` is in `mode` and lies in [earliest, latest] of
    patient time; the log has the fault event and the therapy change with its reason."""
    first = _first_with(outcome, bits)
    t = device_time_s(outcome, int(first["step"]))
    assert earliest_s - 1e-9 <= t <= latest_s + 1e-9, (t, first)
    assert first["mode"] == mode, first
    assert first["therapy_state"] == "running"
    ev = outcome.trace.events
    fault_ev = [e for e in ev if e["type"] == "fault" and e["detail"] & bits]
    assert fault_ev, ev
    assert fault_ev[0]["time_ms"] == first["time_ms"]
    want_reason = "link" if mode == "link_safe" else "fault"
    # the fallback was entered in that step (or earlier, by another fault of the class)
    change = [e for e in ev if e["type"] == "therapy" and e["time_ms"] <= first["time_ms"]]
    assert change and change[-1]["reason"] == want_reason, change[-1:]
    assert change[-1]["model_hash"] != "0" * 16
    return first


def _assert_answering(status: dict, log: dict) -> None:
    assert status["therapy"]["state"] == "running"
    assert status["model"]["state"] == "bound"
    assert log["events"], log


def test_sensor_dropout(firmware_elf: Path) -> None:
    spec = _spec(firmware_elf, f"dropout@{FAULT_AT}+0.5")
    outcome, status, log = _run(firmware_elf, spec)
    _assert_safe(outcome)
    # the gap is visible with the first block after it (the clock does not count lost samples)
    end = FAULT_AT + 0.5
    first = _assert_fallback(outcome, Fault.DROPOUT, end, end + 2 * HOP_S, "fallback")
    assert first["target_ua"] == outcome.config["suspend_amplitude_ua"]
    assert status["afe"]["gaps"] >= 1 and status["afe"]["missing"] == 25
    assert any(e["type"] == "fault" and e["detail"] & Fault.DROPOUT for e in log["events"])
    _assert_answering(status, log)


def test_saturation(firmware_elf: Path) -> None:
    spec = _spec(firmware_elf, f"saturation@{FAULT_AT}+0.5")
    outcome, status, log = _run(firmware_elf, spec)
    _assert_safe(outcome)
    _assert_fallback(outcome, Fault.SATURATION, FAULT_AT, FAULT_AT + 2 * HOP_S, "fallback")
    assert status["afe"]["saturated"] >= 25
    _assert_answering(status, log)


def test_flatline(firmware_elf: Path) -> None:
    spec = _spec(firmware_elf, f"flatline@{FAULT_AT}+1")
    outcome, status, log = _run(firmware_elf, spec)
    _assert_safe(outcome)
    flat_s = int(outcome.config["flatline_ms"]) / 1000
    # unchanged for flatline_ms of samples: seen in the step that completes that span
    first = _assert_fallback(
        outcome, Fault.FLATLINE, FAULT_AT + flat_s - HOP_S, FAULT_AT + flat_s + HOP_S, "fallback"
    )
    print(
        "faults before the flatline detector:",
        [
            (r["time_ms"], r["fault_names"])
            for r in outcome.trace.telemetry
            if r["faults"] and r["time_ms"] < first["time_ms"]
        ][:5],
    )
    _assert_answering(status, log)


def test_garbage_and_oversized_frames_on_the_cli_port(firmware_elf: Path) -> None:
    """Management-plane garbage must not disturb the loop: no fault, no fallback, every
    step's frame, and the SMP server counts and survives it."""
    import base64
    import struct

    from smp import packet as smppacket

    junk = bytes(range(256)) * 8
    oversize = smppacket.START_DELIMITER + base64.b64encode(
        struct.pack("!H", 60000) + b"\x00" * 600
    )
    flood = [junk, oversize + b"\n", smppacket.START_DELIMITER + b"@@not*base64@@\n", junk]
    before: dict[str, Any] = {}

    def hook(session: Any, target: Any, i: int) -> None:
        if i == 150:
            before.update(target.device.info().smp_stats)
        if 150 <= i < 150 + len(flood) * 10 and i % 10 == 0:
            with target.lock:
                target.device.write_raw(flood[(i - 150) // 10])

    spec = _spec(firmware_elf)
    with open_target(spec) as target:
        outcome = run_session(spec, target, hook=hook)
        after = target.device.info().smp_stats
        target.device.close()
        status = _cli(target.runner.cli_url, "status")
        log = _cli(target.runner.cli_url, "log")
    _assert_safe(outcome)
    tel = outcome.trace.telemetry
    assert len(tel) == len(outcome.result.records)  # every control step ran
    assert all(r["faults"] == 0 and r["mode"] == "policy" for r in tel)
    assert (outcome.result.records["frames"] >= outcome.result.records["expected"]).all()
    assert after["oversize"] >= before["oversize"] + 1
    assert after["bad_base64"] >= before["bad_base64"] + 1
    _assert_answering(status, log)


def test_corrupt_blocks_on_the_afe_link(firmware_elf: Path) -> None:
    spec = _spec(firmware_elf, f"corrupt@{FAULT_AT}+0.3")
    outcome, status, log = _run(firmware_elf, spec)
    _assert_safe(outcome)
    # the corrupt blocks are dropped (bad CRC); the next good one reports the gap
    end = FAULT_AT + 0.3
    _assert_fallback(outcome, Fault.DROPOUT, end, end + 2 * HOP_S, "fallback")
    assert status["afe"]["bad_crc"] == 15
    _assert_answering(status, log)


@pytest.mark.parametrize(
    ("fault", "bit"),
    [("error_status@{t}+0.5=4", Fault.LINK_DEVICE), ("no_ack@{t}+0.5", Fault.LINK_TIMEOUT)],
    ids=["hardware_fault_status", "no_acknowledgment"],
)
def test_stimulator_link_errors(firmware_elf: Path, fault: str, bit: int) -> None:
    timeout_ms = 100
    spec = _spec(
        firmware_elf,
        fault.format(t=FAULT_AT),
        ack=True,
        settings={"stim_ack_timeout_ms": timeout_ms},
        # the hardware-safe latch (stim_latch_ms, 10 s) counts uptime: under -icount
        # sleep=off idle guest time races ahead while the host prepares the next hop, so a
        # link fault of 1.5 s of sample clock could span 10 s of uptime. Without -icount
        # uptime follows real time (QEMU runs this session at several times real time).
        icount=False,
    )
    outcome, status, log = _run(firmware_elf, spec)
    _assert_safe(outcome)
    # STATUS frames travel on USART3 RX: read by the device within a step or two of being
    # sent; a missing acknowledgment is due after stim_ack_timeout_ms
    latest = FAULT_AT + (timeout_ms / 1000 if bit == Fault.LINK_TIMEOUT else 0) + 3 * HOP_S
    first = _assert_fallback(outcome, bit, FAULT_AT, latest, "link_safe")
    assert first["amplitude_ua"] == 0 and not first["enabled"]
    # recovery: stimulation back after the link has been clean for link_fault_hold_ms
    tel = outcome.trace.telemetry
    assert tel[-1]["mode"] == "policy" and tel[-1]["enabled"]
    assert not status["stim"]["latched_safe"]
    _assert_answering(status, log)


def test_control_step_overrun(firmware_elf: Path) -> None:
    """`debug_overrun=1` makes every step count as an overrun: MODEL_DEADLINE from the
    next step on -> fallback; cleared -> the policy resumes after model_fault_hold_ms."""
    changes: dict[str, int] = {}

    def hook(session: Any, target: Any, i: int) -> None:
        if i == round(FAULT_AT / HOP_S):
            target.configure({"debug_overrun": 1})
            changes["on"] = session.counter.steps
        elif i == round((FAULT_AT + 0.5) / HOP_S):
            target.configure({"debug_overrun": 0})

    spec = _spec(firmware_elf)
    outcome, status, log = _run(firmware_elf, spec, hook)
    _assert_safe(outcome)
    first = _first_with(outcome, Fault.MODEL_DEADLINE)
    # device steps are numbered from 0: step n is the (n+1)-th; the step after the change
    # overran, the one after that carries the fault
    assert int(first["step"]) + 1 in (changes["on"] + 1, changes["on"] + 2), first
    t = device_time_s(outcome, int(first["step"]))
    _assert_fallback(outcome, Fault.MODEL_DEADLINE, t, t, "fallback")
    assert status["timing"]["overruns"] >= 20
    tel = outcome.trace.telemetry
    assert tel[-1]["mode"] == "policy"
    _assert_answering(status, log)


def test_emergency_pause_under_load(firmware_elf: Path) -> None:
    """`therapy pause` from another thread while the patient streams samples at full
    speed: stimulation off inside the command (every frame after it is off), no step
    stimulates while paused, the command is logged, and resume ramps up from 0."""
    pause_at, resume_at = round(FAULT_AT / HOP_S), round((FAULT_AT + 1.5) / HOP_S)
    thread: list[threading.Thread] = []
    answered: dict[str, int] = {}

    def pause(target: Any, session: Any) -> None:
        target.command("pause")
        answered["step"] = session.steps_done

    def hook(session: Any, target: Any, i: int) -> None:
        if i == pause_at:
            t = threading.Thread(target=pause, args=(target, session))
            t.start()
            thread.append(t)
        elif i == resume_at:
            thread[0].join(10)
            assert "step" in answered, "pause was not answered"
            target.command("resume")

    spec = _spec(firmware_elf)
    outcome, status, log = _run(firmware_elf, spec, hook)
    _assert_safe(outcome)
    ev = outcome.trace.events
    cmds = [e for e in ev if e["type"] == "command"]
    pause_ev = next(e for e in cmds if e["therapy_state"] == "paused")
    resume_ev = next(e for e in cmds if e["time_ms"] > pause_ev["time_ms"])
    assert pause_ev["reason"] == "command" and pause_ev["aux"] == 0
    assert pause_ev["before"]["enabled"], "the pause should interrupt stimulation"
    tel = outcome.trace.telemetry
    # within one control step: every step after the command is paused and off
    paused = [r for r in tel if pause_ev["time_ms"] < r["time_ms"] <= resume_ev["time_ms"]]
    assert paused and all(r["therapy_state"] == "paused" and not r["enabled"] for r in paused)
    # the frame the pause sent at once, and every frame after it until resume, is off
    fs = frames(outcome)
    off = [f for f in fs if pause_ev["time_ms"] <= f.time_ms < resume_ev["time_ms"]]
    first_off = next(i for i, f in enumerate(off) if not f.command.enabled)
    assert all(not f.command.enabled for f in off[first_off:])
    assert all(f.command.enabled for f in off[:first_off])  # only frames sent before it
    # resume ramps from 0 within the slew limit (check_limits) and stimulation comes back
    after = [r for r in tel if r["time_ms"] > resume_ev["time_ms"]]
    assert after[0]["amplitude_ua"] <= int(outcome.config["slew_max_ua_per_s"]) * HOP_S + 1
    assert after[-1]["enabled"]
    _assert_answering(status, log)
