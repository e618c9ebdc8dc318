"""Closed-loop sessions: the virtual patient against the firmware (QEMU) or its SIL build.

    spec = SessionSpec(policy="adaptive", patient="beta", duration_s=120, seed=1)
    with open_target(spec) as target:
        outcome = run_session(spec, target, progress=True)
    summary = summarize(outcome)             # theraloop.sim.summary
    plot_session(outcome, "adaptive.png")    # theraloop.sim.plots

A session: boot the target; configure it over SMP (`config set`: policy, thresholds,
limits, the model whose preset fixes the AFE rate and hop); `therapy start`; run the
patient in lockstep (:mod:`theraloop.sim.lockstep`), reading the device's telemetry ring
and event log over SMP every `poll_steps` control steps (the rings hold 128 and 64
records, the device does not advance while the host reads: nothing is lost); then read
`status` (stage timing, counters, model hash) and the rest of both rings.

The device's silence timer (`dropout_ms`, its one wall-clock input) is switched off so a
session is a function of its seed; under QEMU `-icount` (default) the stage timing is in
exact executed instructions. Sensor dropouts are still seen (sequence gaps).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from theraloop.errors import UsageError
from theraloop.patient import BetaPatient, FaultSchedule, ReplayPatient, Stimulator
from theraloop.patient.base import Patient
from theraloop.sim.lockstep import LockstepSession, SessionResult, SilLoopEndpoint, SocketEndpoint

POLICIES = ("adaptive", "responsive", "open-loop")
PATIENTS = ("beta", "stn-replay", "bonn-replay")
TARGETS = ("qemu", "sil")

BETA_MODEL = "beta_biomarker"
SEIZURE_MODEL = "seizure_detector"

ADAPTIVE_SETTINGS: dict[str, int | str] = {
    "adaptive_mode": "dual",
    "adaptive_threshold_lower": 12000,
    "adaptive_threshold_upper": 22000,
    "adaptive_amplitude_lower_ua": 500,
    "adaptive_amplitude_upper_ua": 2500,
    "adaptive_startup_ms": 2000,
    "adaptive_onset_ms": 300,
    "adaptive_termination_ms": 1000,
    "adaptive_blanking_ms": 500,
    "adaptive_ramp_up_ms": 1000,
    "adaptive_ramp_down_ms": 2000,
    "suspend_amplitude_ua": 1000,
}
"""Dual-threshold adaptive DBS on the beta biomarker's high-beta probability (Q15 score):
above the upper threshold ramp to 2.5 mA, below the lower one down to 0.5 mA, hold in
between. The ramps use the full slew limit (2 mA/s) upward."""

RESPONSIVE_SETTINGS: dict[str, int | str] = {
    "burst_amplitude_ua": 1500,
    "burst_pulse_width_us": 120,
    "burst_rate_dhz": 2000,
    "burst_duration_ms": 2000,
    "responsive_refractory_ms": 1000,
    "responsive_max_bursts_per_episode": 3,
    "fallback_mode": "off",
}
"""RNS-style bursts on the seizure detector; the threshold and onset come from the
model's contract (theraloop.loop.scenarios.responsive_settings)."""

OPEN_LOOP_SETTINGS: dict[str, int | str] = {"open_loop_amplitude_ua": 2500}

SESSION_SETTINGS: dict[str, int | str] = {"dropout_ms": 0}
"""Every session: no wall-clock silence steps (reproducible; see docs/virtual-patient.md)."""

UNTIMED_SETTINGS: dict[str, int | str] = {"step_budget_us": 10_000_000}
"""Targets whose stage timing is not virtual (QEMU without -icount): a step budget no host
scheduling hiccup reaches (overruns are tested on purpose, with `debug_overrun`)."""


@dataclass
class SessionSpec:
    """What `theraloop sim session` runs."""

    policy: str = "adaptive"
    patient: str = "beta"
    duration_s: float = 60.0
    seed: int = 0
    faults: str = ""
    target: str = "qemu"
    elf: Path | None = None
    recording: Path | None = None
    """Folder holding stn_lfp/ and bonn_eeg/ (default ../shared/data)."""
    settings: dict[str, int | str] = field(default_factory=dict)
    """Extra `config set` fields, applied after the policy's defaults."""
    icount: bool = True
    """QEMU only: deterministic virtual time, stage timing in exact instructions."""
    ack: bool = False
    """The virtual stimulator acknowledges every STIM_SET (needed for link faults)."""
    poll_steps: int = 50
    name: str = ""

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise UsageError(f"policy must be one of {', '.join(POLICIES)}")
        if self.patient not in PATIENTS:
            raise UsageError(f"patient must be one of {', '.join(PATIENTS)}")
        if self.target not in TARGETS:
            raise UsageError(f"target must be one of {', '.join(TARGETS)}")
        if not self.duration_s > 0:
            raise UsageError("duration must be > 0 s")
        if not 1 <= self.poll_steps <= 100:
            raise UsageError("poll_steps must be 1..100 (the telemetry ring holds 128)")
        if not self.name:
            self.name = self.policy

    @property
    def model(self) -> str:
        """The factory model whose preset fits the patient's signal."""
        return SEIZURE_MODEL if self.patient == "bonn-replay" else BETA_MODEL


def device_settings(spec: SessionSpec) -> dict[str, int | str]:
    """The `config set` fields of a session (model first: it loads its preset)."""
    out: dict[str, int | str] = {"model": spec.model, "policy": spec.policy.replace("-", "_")}
    if spec.policy == "adaptive":
        out.update(ADAPTIVE_SETTINGS)
    elif spec.policy == "responsive":
        from theraloop.loop import scenarios

        base = scenarios.responsive_settings() if spec.model == SEIZURE_MODEL else {}
        keys = ("responsive_threshold", "responsive_onset_ms")
        out.update({k: base[k] for k in keys if k in base})
        out.update(RESPONSIVE_SETTINGS)
    else:
        out.update(OPEN_LOOP_SETTINGS)
    out.update(SESSION_SETTINGS)
    if spec.target == "qemu" and not spec.icount:
        out.update(UNTIMED_SETTINGS)
    out.update(spec.settings)
    return out


def make_patient(spec: SessionSpec, rate_hz: int) -> Patient:
    if spec.patient == "beta":
        return BetaPatient(rate_hz, seed=spec.seed)
    if spec.patient == "stn-replay":
        return ReplayPatient.stn(rate_hz, data=spec.recording)
    return ReplayPatient.bonn(
        rate_hz, duration_s=spec.duration_s + 1.0, seed=spec.seed, data=spec.recording
    )


class Target(Protocol):
    """The device side of a session: management plus the two data links."""

    name: str
    endpoint: Any

    def configure(self, values: Mapping[str, int | str]) -> dict[str, Any]: ...
    def config(self) -> dict[str, int | str]: ...
    def command(self, cmd: str) -> None: ...
    def telemetry(self, since: int) -> list[dict[str, Any]]: ...
    def events(self, since: int) -> list[dict[str, Any]]: ...
    def status(self) -> dict[str, Any]: ...
    def alive(self) -> bool: ...


class QemuTarget:
    """The firmware in QEMU: SMP on the CLI USART, AFE and stimulator USARTs on sockets."""

    name = "qemu"

    def __init__(self, runner: Any, device: Any, endpoint: SocketEndpoint) -> None:
        self.runner, self.device, self.endpoint = runner, device, endpoint
        self.lock = threading.Lock()
        """Held around every SMP exchange (a test may command from another thread)."""

    def configure(self, values: Mapping[str, int | str]) -> dict[str, Any]:
        from theraloop.loop import client

        with self.lock:
            return client.config_set(self.device, values)

    def config(self) -> dict[str, int | str]:
        from theraloop.loop import client

        with self.lock:
            return client.config_get(self.device)

    def command(self, cmd: str) -> None:
        from theraloop.loop import client

        with self.lock:
            client.therapy(self.device, cmd)

    def _read(self, what: Callable[..., Any], since: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        with self.lock:
            while True:
                page = what(self.device, since=since)
                out += page.records
                if not page.records or page.next <= since:
                    return out
                since = page.next

    def telemetry(self, since: int) -> list[dict[str, Any]]:
        from theraloop.loop import client

        return self._read(client.stream, since)

    def events(self, since: int) -> list[dict[str, Any]]:
        from theraloop.loop import client

        return self._read(client.log, since)

    def status(self) -> dict[str, Any]:
        from theraloop.loop import client

        with self.lock:
            return client.status(self.device)

    def alive(self) -> bool:
        with self.lock:
            return self.device.echo("alive") == "alive"


class SilTarget:
    """The firmware's control loop in process (SIL library, virtual clock)."""

    name = "sil"

    def __init__(self) -> None:
        from theraloop.loop.sil import SilLoop

        self.loop = SilLoop()
        self.endpoint = SilLoopEndpoint(self.loop)
        self.loop.drain()

    def configure(self, values: Mapping[str, int | str]) -> dict[str, Any]:
        self.endpoint._take(self.loop.configure(dict(values)))
        state, detail = self.loop.model_state()
        return {"model": self.loop.get("model"), "model_state": state, "detail": detail}

    def config(self) -> dict[str, int | str]:
        return self.loop.config()

    def command(self, cmd: str) -> None:
        result = self.loop.command(cmd)
        if result != 0:
            raise UsageError(f"the loop refused {cmd}: {result!r}")
        self.endpoint._take(self.loop.drain())

    def telemetry(self, since: int) -> list[dict[str, Any]]:
        return self.loop.telemetry(since)

    def events(self, since: int) -> list[dict[str, Any]]:
        return self.loop.events(since)

    def status(self) -> dict[str, Any]:
        state, detail = self.loop.model_state()
        timing = {k: {**v, "last": 0} for k, v in self.loop.timing().items()}
        return {
            "timing": {"unit": "ns (virtual clock: 0)", "hz": 0, "overruns": 0, **timing},
            "model": {"source": self.loop.get("model"), "state": state, "detail_value": detail},
            "afe": self.loop.afe_stats(),
            "counters": self.loop.counters(),
        }

    def alive(self) -> bool:
        return True


@contextlib.contextmanager
def open_target(spec: SessionSpec, boot_timeout_s: float = 10.0) -> Iterator[Target]:
    """Boot QEMU (or create the SIL loop) and connect to it."""
    if spec.target == "sil":
        yield SilTarget()
        return
    from theraloop.device import Device
    from theraloop.paths import default_elf
    from theraloop.sim.qemu import QemuRunner

    with QemuRunner(spec.elf or default_elf(), icount=spec.icount) as runner:
        dev = Device(runner.cli_url, timeout=5.0)
        try:
            dev.wait_ready(boot_timeout_s)
            dev.close()
            dev.open()  # reads the device's SMP buffer size (long config requests)
            with SocketEndpoint.from_qemu(runner) as ep:
                yield QemuTarget(runner, dev, ep)
        finally:
            dev.close()
        runner.check_running()


@dataclass
class DeviceTrace:
    """The device's rings as read over SMP during a session."""

    telemetry: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    lost_telemetry: int = 0
    _tel_next: int = 0
    _ev_next: int = 0

    def poll(self, target: Target) -> None:
        tel = target.telemetry(self._tel_next)
        if tel:
            if tel[0]["seq"] > self._tel_next:
                self.lost_telemetry += tel[0]["seq"] - self._tel_next
            self.telemetry += tel
            self._tel_next = tel[-1]["seq"] + 1
        ev = target.events(self._ev_next)
        if ev:
            self.events += ev
            self._ev_next = ev[-1]["seq"] + 1


@dataclass
class SessionOutcome:
    """Everything a session produced: the lockstep result (host side), the device's own
    records (telemetry, events, status) and the configuration it ran with."""

    spec: SessionSpec
    result: SessionResult
    trace: DeviceTrace
    status: dict[str, Any]
    config: dict[str, int | str]
    config_answer: dict[str, Any]
    alive: bool
    wall_s: float
    marks: list[tuple[float, str]] = field(default_factory=list)
    """(patient time, label) of operator actions during the session (pause, resume, ...)."""

    def telemetry_array(self) -> dict[str, np.ndarray]:
        """The device's per-step telemetry as columns."""
        tel = self.trace.telemetry
        keys = (
            "step",
            "time_ms",
            "score",
            "faults",
            "amplitude_ua",
            "target_ua",
            "pulse_width_us",
            "rate_dhz",
        )
        cols = {k: np.array([r[k] for r in tel], dtype=np.int64) for k in keys}
        for k in ("score_valid", "enabled"):
            cols[k] = np.array([bool(r[k]) for r in tel], dtype=bool)
        for k in ("therapy_state", "policy_state", "mode", "reason"):
            cols[k] = np.array([r[k] for r in tel], dtype=object)
        return cols


Hook = Callable[[LockstepSession, Target, int], None]
"""Called after every step with the step number (tests inject faults and commands)."""


def run_session(
    spec: SessionSpec,
    target: Target,
    *,
    progress: bool | Callable[[int, int], None] = False,
    hook: Hook | None = None,
    marks: list[tuple[float, str]] | None = None,
) -> SessionOutcome:
    """Configure the target, start therapy, run the patient in lockstep, read the rings."""
    import time

    settings = device_settings(spec)
    answer = target.configure(settings)
    needs_model = spec.policy != "open-loop"
    if needs_model and answer.get("model_state") != "bound":
        raise UsageError(
            f"the device did not bind model {spec.model!r}: {answer} "
            f"(train it: theraloop model train {spec.model}, then rebuild the firmware)"
        )
    config = target.config()
    rate = int(config["afe_rate_hz"])
    hop = int(config["hop_samples"])
    patient = make_patient(spec, rate)
    stimulator = Stimulator(ack=spec.ack)
    session = LockstepSession(
        target.endpoint,
        patient,
        hop_samples=hop,
        seed=spec.seed,
        faults=FaultSchedule.parse(spec.faults) if spec.faults else FaultSchedule(),
        stimulator=stimulator,
    )
    trace = DeviceTrace()
    target.command("start")
    steps = round(spec.duration_s * rate / hop)
    bar: Any = None
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(
            total=steps,
            desc=f"{spec.name} ({spec.target})",
            unit="step",
            leave=True,
            dynamic_ncols=True,
        )
    t0 = time.monotonic()
    try:
        for i in range(steps):
            session.step()
            if hook is not None:
                hook(session, target, i)
            if (i + 1) % spec.poll_steps == 0:
                trace.poll(target)
            if bar is not None:
                bar.update(1)
            elif callable(progress):
                progress(i + 1, steps)
    finally:
        if bar is not None:
            bar.close()
    wall = time.monotonic() - t0
    trace.poll(target)
    status = target.status()
    return SessionOutcome(
        spec=spec,
        result=session.result(),
        trace=trace,
        status=status,
        config=config,
        config_answer=answer,
        alive=target.alive(),
        wall_s=wall,
        marks=list(marks or []),
    )


__all__ = [
    "PATIENTS",
    "POLICIES",
    "TARGETS",
    "DeviceTrace",
    "QemuTarget",
    "SessionOutcome",
    "SessionSpec",
    "SilTarget",
    "device_settings",
    "make_patient",
    "open_target",
    "run_session",
]
