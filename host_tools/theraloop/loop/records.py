"""Telemetry records and events as the device sends them (`theraloop stream` / `log`):
52-byte little-endian records (layout in docs/therapy.md), decoded into dictionaries with
readable names. Shared by the CLI and the software-in-the-loop driver.
"""

from __future__ import annotations

import struct
from typing import Any, Final

from theraloop.therapy.codes import (
    EventType,
    Fault,
    Mode,
    PolicyState,
    Reason,
    TherapyState,
)

RECORD_SIZE: Final = 52

LEAD_OFF: Final = 1 << 4
"""The loop's sensor-class fault bit for the AFE's lead-off flag (TL_LOOP_FAULT_LEAD_OFF)."""

_FAULT_NAMES: Final = {int(f): (f.name or "").lower() for f in Fault} | {LEAD_OFF: "lead_off"}

_TELEMETRY: Final = struct.Struct("<III4iiIHHHHBBBBBBBB")
_EVENT: Final = struct.Struct("<IIBBBBII12s12s8s")
_STIM: Final = struct.Struct("<HHHHBBxx")

TELEMETRY_FIELDS: Final = (
    "seq",
    "time_ms",
    "step",
    "f0",
    "f1",
    "f2",
    "f3",
    "score",
    "score_valid",
    "model_class",
    "faults",
    "amplitude_ua",
    "target_ua",
    "pulse_width_us",
    "rate_dhz",
    "enabled",
    "therapy_state",
    "policy_state",
    "mode",
    "reason",
)
"""Column order of `theraloop stream --csv` (names of states, faults as text)."""


def _name(enum: Any, value: int) -> str:
    try:
        return str(enum(value).name).lower()
    except ValueError:
        return str(value)


def fault_names(bits: int) -> list[str]:
    """Names of the fault bits set in `bits` (unknown bits as hex)."""
    out = []
    rest = bits
    for bit, name in _FAULT_NAMES.items():
        if bits & bit:
            out.append(name)
            rest &= ~bit
    if rest:
        out.append(f"0x{rest:08x}")
    return out


def decode_telemetry(raw: bytes) -> list[dict[str, Any]]:
    """Records of a `stream` answer's `records` byte string."""
    if len(raw) % RECORD_SIZE:
        raise ValueError(f"telemetry: {len(raw)} bytes is not a multiple of {RECORD_SIZE}")
    out = []
    for off in range(0, len(raw), RECORD_SIZE):
        v = _TELEMETRY.unpack_from(raw, off)
        seq, t, step, f0, f1, f2, f3, score, faults, amp, target, pw, rate = v[:13]
        klass, pstate, tstate, mode, valid, enabled, n_features, reason = v[13:]
        out.append(
            {
                "seq": seq,
                "time_ms": t,
                "step": step,
                "features": [f0, f1, f2, f3][: min(n_features, 4)],
                "score": score,
                "score_valid": bool(valid),
                "model_class": klass,
                "faults": faults,
                "fault_names": fault_names(faults),
                "amplitude_ua": amp,
                "target_ua": target,
                "pulse_width_us": pw,
                "rate_dhz": rate,
                "enabled": bool(enabled),
                "therapy_state": _name(TherapyState, tstate),
                "policy_state": _name(PolicyState, pstate),
                "mode": _name(Mode, mode),
                "reason": _name(Reason, reason),
            }
        )
    return out


def decode_events(raw: bytes) -> list[dict[str, Any]]:
    """Events of a `log` answer's `records` byte string."""
    if len(raw) % RECORD_SIZE:
        raise ValueError(f"events: {len(raw)} bytes is not a multiple of {RECORD_SIZE}")
    out = []
    for off in range(0, len(raw), RECORD_SIZE):
        seq, t, typ, reason, tstate, pstate, detail, aux, before, after, hash8 = _EVENT.unpack_from(
            raw, off
        )
        out.append(
            {
                "seq": seq,
                "time_ms": t,
                "type": _name(EventType, typ),
                "reason": _name(Reason, reason),
                "therapy_state": _name(TherapyState, tstate),
                "policy_state": _name(PolicyState, pstate),
                "detail": detail,
                "aux": aux,
                "before": _stim(before),
                "after": _stim(after),
                "model_hash": hash8.hex(),
            }
        )
    return out


def _stim(raw: bytes) -> dict[str, int | bool]:
    amp, pw, rate, ipg, enabled, waveform = _STIM.unpack(raw)
    return {
        "enabled": bool(enabled),
        "amplitude_ua": amp,
        "pulse_width_us": pw,
        "rate_dhz": rate,
        "interphase_gap_us": ipg,
        "waveform": waveform,
    }
