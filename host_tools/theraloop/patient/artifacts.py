"""Stimulation artifacts: what each stimulation pulse adds to the sensed signal.

Each pulse at time t_k with amplitude A (mA) adds, at the AFE input::

    A * counts_per_ma * (exp(-dt/tau_fast) - (tau_fast/tau_slow) * exp(-dt/tau_slow)),  dt >= 0

a fast deflection followed by a slow opposite recovery with zero net area (the pulse is
charge-balanced and the AFE is AC-coupled). It is evaluated at the sample instants, so
pulses at the stimulation rate alias into the sensed band exactly as a real AFE sampling
at 250-1000 Hz would see 130 Hz stimulation (e.g. at 250 Hz: 120 Hz). Pulse times are
absolute (the train keeps its phase across hops); a train starts at the first sample
instant after stimulation switches on. Amplitude is proportional to the stimulation
amplitude, as the issue requires; the default 400 counts/mA puts a 3 mA pulse at 1200
counts against ~2000 counts RMS of LFP (sensing with the stimulating contact's neighbours).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from theraloop.patient.base import Stimulation


@dataclass(frozen=True)
class ArtifactParams:
    counts_per_ma: float = 400.0
    tau_fast_s: float = 0.5e-3
    tau_slow_s: float = 5e-3

    def __post_init__(self) -> None:
        if self.counts_per_ma < 0 or not 0 < self.tau_fast_s < self.tau_slow_s:
            raise ValueError("artifact: counts_per_ma >= 0 and 0 < tau_fast_s < tau_slow_s")


class StimArtifact:
    """Renders the artifact of the pulses delivered while `stim` is applied."""

    def __init__(self, params: ArtifactParams | None = None) -> None:
        self.params = params or ArtifactParams()
        self._next: Fraction | None = None
        self._pulses: list[tuple[float, float]] = []
        self.pulses = 0
        """Pulses delivered so far."""

    def render(self, start: int, n: int, rate_hz: int, stim: Stimulation) -> np.ndarray:
        """The artifact at the sample instants (start + i) / rate_hz, i = 0..n-1. Pulse
        times are exact fractions (no drift, no pulse counted twice at a hop boundary)."""
        p = self.params
        t0 = Fraction(start, rate_hz)
        t_end = Fraction(start + n, rate_hz)
        if stim.active:
            period = Fraction(10, stim.rate_dhz)
            if self._next is None:
                self._next = t0
            amp = stim.amplitude_ma
            while self._next < t_end:
                self._pulses.append((float(self._next), amp))
                self._next += period
                self.pulses += 1
        else:
            self._next = None
        horizon = float(t0) - 12 * p.tau_slow_s
        self._pulses = [(tp, a) for tp, a in self._pulses if tp > horizon]
        out = np.zeros(n)
        if not self._pulses or p.counts_per_ma == 0:
            return out
        t = (start + np.arange(n)) / rate_hz
        tp = np.array([x[0] for x in self._pulses])
        amps = np.array([x[1] for x in self._pulses])
        dt = t[None, :] - tp[:, None]
        on = dt >= 0
        dt = np.where(on, dt, 0.0)
        shape = np.exp(-dt / p.tau_fast_s) - (p.tau_fast_s / p.tau_slow_s) * np.exp(
            -dt / p.tau_slow_s
        )
        return (amps[:, None] * np.where(on, shape, 0.0)).sum(axis=0) * p.counts_per_ma

    @staticmethod
    def peak_counts(params: ArtifactParams, amplitude_ma: float) -> float:
        """Largest deflection of one isolated pulse."""
        return amplitude_ma * params.counts_per_ma * (1 - params.tau_fast_s / params.tau_slow_s)
