"""What every virtual patient is: a source of electrode signal that responds to the
stimulation applied to it, one hop at a time, deterministically from a seed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from theraloop.links.stim import StimCommand


@dataclass(frozen=True)
class Stimulation:
    """The stimulation the stimulator delivers (what the patient's tissue sees)."""

    enabled: bool = False
    amplitude_ua: int = 0
    pulse_width_us: int = 0
    rate_dhz: int = 0
    """Pulse rate in 0.1 Hz, as on the stimulator link."""

    @classmethod
    def from_command(cls, cmd: StimCommand) -> Stimulation:
        return cls(
            cmd.enabled, cmd.amplitude_ua if cmd.enabled else 0, cmd.pulse_width_us, cmd.rate_dhz
        )

    @property
    def active(self) -> bool:
        """Pulses are delivered (enabled, non-zero amplitude, pulse width and rate)."""
        return (
            self.enabled
            and self.amplitude_ua > 0
            and self.pulse_width_us > 0
            and (self.rate_dhz > 0)
        )

    @property
    def rate_hz(self) -> float:
        return self.rate_dhz / 10.0

    @property
    def amplitude_ma(self) -> float:
        return self.amplitude_ua / 1000.0 if self.active else 0.0


OFF = Stimulation()
"""No stimulation."""


@dataclass(frozen=True)
class Hop:
    """One hop of a patient: the electrode signal and the ground truth behind it."""

    samples: np.ndarray
    """(n, channels) float64, in ADC counts at the AFE input (before quantisation)."""
    biomarker: float
    """The model's true biomarker over the hop (BetaPatient: beta power relative to the
    untreated mean; Bonn replay: ictal weight; STN replay: relative beta power)."""
    symptom: float
    """Symptom proxy at the end of the hop (1 = untreated; 0 where not modelled)."""
    ictal: bool = False
    """A seizure is under way (ground truth for detection scoring)."""


class Patient(Protocol):
    """A virtual patient; `step` must be deterministic given the constructor's seed."""

    @property
    def rate_hz(self) -> int: ...

    @property
    def channels(self) -> int: ...

    @property
    def time_s(self) -> float:
        """Patient time at the start of the next hop (samples produced / rate)."""
        ...

    def step(self, n: int, stim: Stimulation) -> Hop:
        """The next `n` samples, with `stim` applied throughout."""
        ...

    def truth(self) -> dict[str, Any]:
        """JSON-able ground truth and parameters (seizure onsets, calibration, seed)."""
        ...


def check_rate(rate_hz: int) -> int:
    """The AFE link carries 250, 500 or 1000 Hz (docs/sensing.md)."""
    if rate_hz not in (250, 500, 1000):
        raise ValueError(f"rate {rate_hz} Hz: the AFE link carries 250, 500 or 1000 Hz")
    return rate_hz


def child_generators(seed: int | np.random.SeedSequence, n: int) -> list[np.random.Generator]:
    """`n` independent generators from one seed: one per random stream, so a stream's
    draws never depend on how much another stream consumed (or on the hop size)."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return [np.random.Generator(np.random.PCG64(s)) for s in ss.spawn(n)]
