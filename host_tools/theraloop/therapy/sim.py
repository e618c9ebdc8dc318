"""Software in the loop: the firmware's therapy object (policy -> safety supervisor ->
event log + telemetry) driven from Python on virtual time.

    th = Therapy(TherapyConfig({"policy": "responsive"}))
    th.command(Command.START, now_ms=0)
    out = th.step(now_ms=10, score=25000)            # one control step
    res = th.run(batch_inputs(now_ms, score, faults)) # many steps in one C call (numpy)
    th.events(); th.telemetry()

This is the same C code the device runs (built into libtheraloop_sil.so); nothing here
re-implements therapy logic.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from theraloop.therapy import _native
from theraloop.therapy.codes import (
    Command,
    CommandResult,
    ConfigError,
    EventType,
    Mode,
    PolicyState,
    Reason,
    TherapyState,
)
from theraloop.therapy.config import Check, ConfigRejected, TherapyConfig, _check_from

BATCH_IN = np.dtype(
    [
        ("now_ms", "<u4"),
        ("score", "<i4"),
        ("faults", "<u4"),
        ("score_valid", "u1"),
        ("command", "u1"),
        ("reserved", "u1", (2,)),
    ]
)
BATCH_OUT = np.dtype(
    [
        ("amplitude_ua", "<u2"),
        ("pulse_width_us", "<u2"),
        ("rate_dhz", "<u2"),
        ("target_ua", "<u2"),
        ("enabled", "u1"),
        ("therapy_state", "u1"),
        ("mode", "u1"),
        ("reason", "u1"),
        ("policy_state", "u1"),
        ("policy_event", "u1"),
        ("command_result", "u1"),
        ("reserved", "u1"),
        ("clamps", "<u4"),
    ]
)


def batch_inputs(
    now_ms: Sequence[int] | np.ndarray,
    score: Sequence[int] | np.ndarray | int = 0,
    faults: Sequence[int] | np.ndarray | int = 0,
    *,
    score_valid: Sequence[int] | np.ndarray | int = 1,
    command: Sequence[int] | np.ndarray | int = 0,
) -> np.ndarray:
    """Inputs for Therapy.run(): one row per control step (scalars broadcast)."""
    t = np.asarray(now_ms, dtype=np.int64)
    arr = np.zeros(t.shape[0], dtype=BATCH_IN)
    arr["now_ms"] = t & 0xFFFFFFFF
    arr["score"] = score
    arr["faults"] = faults
    arr["score_valid"] = score_valid
    arr["command"] = command
    return arr


@dataclass(frozen=True)
class Output:
    """The supervisor's output for one step: what the stimulator must deliver."""

    enabled: bool
    amplitude_ua: int
    pulse_width_us: int
    rate_dhz: int
    target_ua: int
    therapy_state: TherapyState
    mode: Mode
    reason: Reason
    detail: int
    clamps: int
    changed: bool


@dataclass(frozen=True)
class Event:
    seq: int
    time_ms: int
    type: EventType
    reason: Reason
    therapy_state: TherapyState
    policy_state: PolicyState
    detail: int
    aux: int
    before_ua: int
    after_ua: int
    after_enabled: bool
    model_hash: bytes


def _output(o: _native.SupervisorOutput) -> Output:
    return Output(
        enabled=bool(o.stim.enabled),
        amplitude_ua=o.stim.amplitude_ua,
        pulse_width_us=o.stim.pulse_width_us,
        rate_dhz=o.stim.rate_dhz,
        target_ua=o.target_ua,
        therapy_state=TherapyState(o.therapy_state),
        mode=Mode(o.mode),
        reason=Reason(o.reason),
        detail=o.detail,
        clamps=o.clamps,
        changed=bool(o.changed),
    )


class Therapy:
    """One tl_therapy_t with its own event log and telemetry ring."""

    def __init__(
        self,
        config: TherapyConfig | None = None,
        *,
        now_ms: int = 0,
        event_capacity: int = 256,
        telemetry_capacity: int = 1024,
    ) -> None:
        lib = _native.lib()
        self._obj = _native.new_object(_native.SIZEOF_THERAPY)
        self._log = _native.new_object(_native.SIZEOF_EVENT_LOG)
        self._tele = _native.new_object(_native.SIZEOF_TELEMETRY)
        self._events = (_native.Event * event_capacity)()
        self._records = (_native.TelemetryRecord * telemetry_capacity)()
        if not lib.tl_event_log_init(self._log, self._events, event_capacity):
            raise ValueError("event log capacity")
        if not lib.tl_telemetry_init(self._tele, self._records, telemetry_capacity):
            raise ValueError("telemetry capacity")
        lib.tl_therapy_init(self._obj, self._log, self._tele)
        self._event_seq = 0
        self._telemetry_seq = 0
        if config is not None:
            self.configure(config, now_ms=now_ms)

    def configure(self, config: TherapyConfig, *, now_ms: int = 0) -> Check:
        """Apply a configuration; raises ConfigRejected (and nothing changes) if invalid."""
        c = _native.Check()
        _native.lib().tl_therapy_configure(
            self._obj, config.buffer, now_ms & 0xFFFFFFFF, ctypes.byref(c)
        )
        check = _check_from(c)
        if check.error != ConfigError.OK:
            raise ConfigRejected(check)
        return check

    def command(self, cmd: Command, *, now_ms: int) -> tuple[CommandResult, Output]:
        out = _native.SupervisorOutput()
        res = _native.lib().tl_therapy_command(
            self._obj, int(cmd), now_ms & 0xFFFFFFFF, ctypes.byref(out)
        )
        return CommandResult(res), _output(out)

    def set_model_hash(self, digest: bytes) -> None:
        if len(digest) < _native.MODEL_HASH_LEN:
            raise ValueError("model hash: 8 bytes")
        _native.lib().tl_therapy_set_model_hash(self._obj, digest[: _native.MODEL_HASH_LEN])

    def step(
        self,
        *,
        now_ms: int,
        score: int = 0,
        score_valid: bool = True,
        faults: int = 0,
        features: Sequence[int] = (),
        model_class: int = 0,
    ) -> Output:
        if len(features) > _native.TELEMETRY_FEATURES:
            features = features[: _native.TELEMETRY_FEATURES]
        inp = _native.TherapyInput()
        inp.now_ms = now_ms & 0xFFFFFFFF
        inp.score = score
        inp.score_valid = 1 if score_valid else 0
        inp.model_class = model_class
        inp.n_features = len(features)
        for i, v in enumerate(features):
            inp.features[i] = v
        inp.faults = int(faults)
        out = _native.SupervisorOutput()
        _native.lib().tl_therapy_step(self._obj, ctypes.byref(inp), ctypes.byref(out))
        return _output(out)

    def run(self, inputs: np.ndarray) -> np.ndarray:
        """Run len(inputs) steps (BATCH_IN rows, see batch_inputs) in one call; BATCH_OUT rows."""
        inp = np.ascontiguousarray(inputs, dtype=BATCH_IN)
        out = np.zeros(inp.shape[0], dtype=BATCH_OUT)
        _native.lib().tl_therapy_run(
            self._obj,
            inp.ctypes.data_as(ctypes.c_void_p),
            out.ctypes.data_as(ctypes.c_void_p),
            inp.shape[0],
        )
        return out

    def events(self, since: int | None = None) -> tuple[list[Event], int]:
        """Events since sequence `since` (default: where the last call stopped); also how
        many were lost to the ring's overwriting."""
        start = self._event_seq if since is None else since
        buf = (_native.Event * 64)()
        out: list[Event] = []
        lost = 0
        while True:
            r = _native.lib().tl_event_log_read(self._log, start & 0xFFFFFFFF, buf, 64)
            lost += r.lost
            for e in buf[: r.count]:
                out.append(
                    Event(
                        seq=e.seq,
                        time_ms=e.time_ms,
                        type=EventType(e.type),
                        reason=Reason(e.reason),
                        therapy_state=TherapyState(e.therapy_state),
                        policy_state=PolicyState(e.policy_state),
                        detail=e.detail,
                        aux=e.aux,
                        before_ua=e.before.amplitude_ua,
                        after_ua=e.after.amplitude_ua,
                        after_enabled=bool(e.after.enabled),
                        model_hash=bytes(e.model_hash),
                    )
                )
            start = r.next_seq
            if r.count < 64:
                break
        self._event_seq = start
        return out, lost

    def telemetry(self, since: int | None = None) -> tuple[list[dict[str, int]], int]:
        """Telemetry records since `since` (default: where the last call stopped) as dicts,
        and how many were lost."""
        start = self._telemetry_seq if since is None else since
        buf = (_native.TelemetryRecord * 128)()
        out: list[dict[str, int]] = []
        lost = 0
        while True:
            r = _native.lib().tl_telemetry_read(self._tele, start & 0xFFFFFFFF, buf, 128)
            lost += r.lost
            for rec in buf[: r.count]:
                d = {name: getattr(rec, name) for name, _ in rec._fields_ if name != "features"}
                for i in range(_native.TELEMETRY_FEATURES):
                    d[f"feature{i}"] = rec.features[i]
                out.append(d)
            start = r.next_seq
            if r.count < 128:
                break
        self._telemetry_seq = start
        return out, lost
