"""ReplayPatient: real recordings played to the device at its configured sample rate.

Two sources (``../shared/data``, see its README):

- **STN LFP** (:meth:`ReplayPatient.stn`): one channel of the Parkinson's recording
  (1000 Hz, 19 s), converted to ADC counts (median removed, 99.99th percentile of |x| ->
  8000 counts, as in docs/sensing.md), resampled to 250/500/1000 Hz with
  ``scipy.signal.resample_poly`` and made seamlessly periodic (its last `crossfade_s`
  crossfaded into its start) so sessions of any length loop it. With ``respond=True``
  (default) it closes the loop like :class:`~theraloop.patient.beta.BetaPatient`: the
  recording is split into its 13-30 Hz part (4th-order Butterworth, zero phase,
  computed circularly on the loop) and the rest, and the beta part is scaled by
  sqrt(1 - s(t)) with the same suppression dynamics and dose-response
  (:class:`~theraloop.patient.beta.BetaResponse`).
- **Bonn EEG** (:meth:`ReplayPatient.bonn`): a background of interictal segments (set D,
  epileptogenic zone, seizure-free) with ictal segments (set E) spliced in at known
  times. Segments are resampled from 173.61 Hz to the device rate (the AFE link carries
  250, 500 or 1000 Hz only) by the rational factor 36/25, 72/25 or 144/25 -- an
  effective 173.6111 Hz, a time-base error of 6.4e-6 (0.15 ms per 23.6 s segment).
  Consecutive segments of a track are joined with raised-cosine crossfades of
  `crossfade_s`; a seizure is mixed in with weight w(t) that rises 0 -> 1 over
  `crossfade_s` from its **onset**, stays 1, and falls 1 -> 0 over `crossfade_s` ending
  at its **offset**. ``seizures`` gives (onset_s, offset_s) exactly, on the output
  sample grid; :func:`score_detections` turns detection times into latency and false
  alarms against them. The EEG does not respond to stimulation.

Raw 12-bit Bonn counts are kept as they are (``gain=1``): the seizure detector is trained
on them; the STN replay uses the same count scale as the feature-agreement figures.
Segment order is drawn from `seed`, so a replay is fully determined by its arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal

from theraloop.patient.base import OFF, Hop, Stimulation, check_rate
from theraloop.patient.beta import BetaParams, BetaResponse
from theraloop.patient.data import (
    BONN_FS,
    STN_CHANNEL,
    STN_PEAK_COUNTS,
    load_bonn_set,
    load_stn_counts,
)

BETA_BAND_HZ = (13.0, 30.0)


@dataclass(frozen=True)
class Seizure:
    """Ground truth of one spliced seizure (seconds of patient time)."""

    onset_s: float
    """First sample carrying ictal signal (the crossfade starts)."""
    offset_s: float
    """First sample after the last one carrying ictal signal."""
    segments: tuple[int, ...]
    """Indices of the set-E segments used, in order."""


@dataclass(frozen=True)
class DetectionScore:
    """Detections scored against the ground truth."""

    latencies_s: tuple[float | None, ...]
    """Per seizure: first detection in [onset, offset + tolerance) minus onset, or None."""
    false_alarms: int
    """Detections outside every [onset, offset + tolerance) window."""
    interictal_s: float
    """Time outside those windows (for a false-alarm rate)."""

    @property
    def detected(self) -> int:
        return sum(x is not None for x in self.latencies_s)

    @property
    def false_alarms_per_hour(self) -> float:
        return 3600.0 * self.false_alarms / self.interictal_s if self.interictal_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["latencies_s"] = list(self.latencies_s)
        d["detected"] = self.detected
        d["false_alarms_per_hour"] = self.false_alarms_per_hour
        return d


def score_detections(
    detections_s: Sequence[float],
    seizures: Sequence[Seizure],
    duration_s: float,
    *,
    tolerance_s: float = 5.0,
) -> DetectionScore:
    """Latency of the first detection of each seizure and the false alarms.

    A detection at t belongs to a seizure when onset <= t < offset + tolerance_s (a
    detector may fire on the tail, or a little after the EEG calmed); any other detection
    is a false alarm. Detections are onset times of the device's detection episodes
    (e.g. the step a responsive burst started)."""
    windows = [(z.onset_s, z.offset_s + tolerance_s) for z in seizures]
    latencies: list[float | None] = []
    for lo, hi in windows:
        hits = [t for t in detections_s if lo <= t < hi]
        latencies.append(min(hits) - lo if hits else None)
    false = sum(1 for t in detections_s if not any(lo <= t < hi for lo, hi in windows))
    covered = sum(min(hi, duration_s) - max(lo, 0.0) for lo, hi in windows if lo < duration_s)
    return DetectionScore(tuple(latencies), false, max(0.0, duration_s - covered))


def _ratio(rate_hz: int, fs_in: float) -> tuple[int, int]:
    """resample_poly factors for fs_in -> rate_hz (exact for integers, else 1e-5)."""
    frac = Fraction(rate_hz / fs_in).limit_denominator(100)
    return frac.numerator, frac.denominator


def resample(x: np.ndarray, fs_in: float, rate_hz: int) -> np.ndarray:
    """float64 `x` resampled from fs_in to rate_hz with resample_poly (Kaiser FIR)."""
    up, down = _ratio(rate_hz, fs_in)
    y = np.asarray(x, dtype=np.float64)
    return y if up == down else signal.resample_poly(y, up, down)


def _ramp(n: int) -> np.ndarray:
    """Raised cosine rising from ~0 to ~1 over n samples (symmetric: r + r[::-1] = 1)."""
    return 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)


def chain(segments: Sequence[np.ndarray], fade: int, length: int) -> np.ndarray:
    """Segments played one after the other (cycling) with `fade`-sample crossfades, cut
    to `length` samples."""
    if not segments:
        raise ValueError("no segments to chain")
    if any(len(s) <= 2 * fade for s in segments):
        raise ValueError("segments must be longer than two crossfades")
    out = np.zeros(length + max(len(s) for s in segments))
    ramp = _ramp(fade)
    pos = 0
    k = 0
    while pos < length:
        seg = segments[k % len(segments)].copy()
        if k > 0 and fade:
            seg[:fade] *= ramp
            out[pos : pos + fade] *= ramp[::-1]
        out[pos : pos + len(seg)] += seg
        pos += len(seg) - fade
        k += 1
    return out[:length]


def loopable(x: np.ndarray, fade: int) -> np.ndarray:
    """A periodic version of `x`: its last `fade` samples crossfaded into its start."""
    if fade <= 0:
        return np.asarray(x, dtype=np.float64)
    if len(x) <= 2 * fade:
        raise ValueError("recording shorter than two crossfades")
    ramp = _ramp(fade)
    y = np.asarray(x[: len(x) - fade], dtype=np.float64).copy()
    y[:fade] = y[:fade] * ramp + x[len(x) - fade :] * ramp[::-1]
    return y


class ReplayPatient:
    """A recording played hop by hop (see the module docstring); build it with
    :meth:`stn` or :meth:`bonn`."""

    channels = 1

    def __init__(
        self,
        signal_counts: np.ndarray,
        rate_hz: int,
        *,
        name: str,
        loop: bool,
        beta: np.ndarray | None = None,
        response: BetaParams | None = None,
        ictal_weight: np.ndarray | None = None,
        seizures: Sequence[Seizure] = (),
        provenance: dict[str, Any] | None = None,
    ) -> None:
        self._rate = check_rate(rate_hz)
        self._x = np.asarray(signal_counts, dtype=np.float64)
        if self._x.ndim != 1 or self._x.size == 0:
            raise ValueError("a replay is a non-empty 1-D signal")
        self.name = name
        self.loop = loop
        self._beta = beta
        self._beta_ms = float(np.mean(beta**2)) if beta is not None else 0.0
        self._response = BetaResponse(response, rate_hz) if response is not None else None
        self._ictal = ictal_weight
        self.seizures = tuple(seizures)
        self.provenance = dict(provenance or {})
        self._n = 0

    # --- constructors ------------------------------------------------------------------

    @classmethod
    def stn(
        cls,
        rate_hz: int = 1000,
        *,
        data: Path | None = None,
        channel: str = STN_CHANNEL,
        peak_counts: float = STN_PEAK_COUNTS,
        respond: bool = True,
        params: BetaParams | None = None,
        crossfade_s: float = 0.5,
    ) -> ReplayPatient:
        """The STN recording, looped, optionally responding to stimulation."""
        check_rate(rate_hz)
        counts, fs = load_stn_counts(data, channel, peak_counts)
        x = loopable(resample(counts, fs, rate_hz), round(crossfade_s * rate_hz))
        beta = None
        if respond:
            sos = signal.butter(2, BETA_BAND_HZ, "bandpass", fs=rate_hz, output="sos")
            tiled = signal.sosfiltfilt(sos, np.tile(x, 3))  # circular: the loop's middle copy
            beta = tiled[len(x) : 2 * len(x)]
        return cls(
            x,
            rate_hz,
            name="stn",
            loop=True,
            beta=beta,
            response=(params or BetaParams()) if respond else None,
            provenance={
                "recording": "stn_lfp/sub-testsub_medoff_gripforce.npz",
                "channel": channel,
                "peak_counts": peak_counts,
                "source_rate_hz": fs,
                "loop_s": len(x) / rate_hz,
                "responds_to_stimulation": respond,
            },
        )

    @classmethod
    def bonn(
        cls,
        rate_hz: int = 250,
        *,
        duration_s: float = 600.0,
        seizures: Sequence[tuple[float, float]] | None = None,
        seed: int = 0,
        data: Path | None = None,
        crossfade_s: float = 1.0,
        gain: float = 1.0,
    ) -> ReplayPatient:
        """Interictal background (set D) with ictal segments (set E) spliced in.

        `seizures` are (onset_s, duration_s) pairs; by default one every 60-120 s
        (uniform, from `seed`) starting at 30 s, each lasting 10-30 s, as long as it ends
        before `duration_s`. A seizure longer than a segment chains several."""
        check_rate(rate_hz)
        rng = np.random.default_rng(seed)
        fade = round(crossfade_s * rate_hz)
        n_total = round(duration_s * rate_hz)
        background = [resample(s, BONN_FS, rate_hz) * gain for s in load_bonn_set("D", data)]
        ictal = [resample(s, BONN_FS, rate_hz) * gain for s in load_bonn_set("E", data)]
        if seizures is None:
            seizures = cls.default_schedule(duration_s, rng)
        order_d = rng.permutation(len(background))
        x = chain([background[i] for i in order_d], fade, n_total)
        weight = np.zeros(n_total)
        truth: list[Seizure] = []
        next_e = 0
        order_e = rng.permutation(len(ictal))
        for onset_s, dur_s in sorted(seizures):
            start = round(onset_s * rate_hz)
            stop = min(n_total, start + round(dur_s * rate_hz))
            if start < 0 or stop - start <= 2 * fade:
                raise ValueError(f"seizure at {onset_s} s: must last more than two crossfades")
            if truth and start < round(truth[-1].offset_s * rate_hz):
                raise ValueError(f"seizure at {onset_s} s overlaps the previous one")
            need = stop - start
            used: list[int] = []
            total = 0
            while total < need + fade:
                used.append(int(order_e[next_e % len(order_e)]))
                total += len(ictal[used[-1]]) - fade
                next_e += 1
            track = chain([ictal[i] for i in used], fade, need)
            w = np.ones(need)
            w[:fade] = _ramp(fade)
            w[need - fade :] = _ramp(fade)[::-1]
            x[start:stop] = x[start:stop] * (1 - w) + track * w
            weight[start:stop] = w
            truth.append(Seizure(start / rate_hz, stop / rate_hz, tuple(used)))
        return cls(
            x,
            rate_hz,
            name="bonn",
            loop=False,
            ictal_weight=weight,
            seizures=truth,
            provenance={
                "recording": "bonn_eeg/set_D_train.npy (background), set_E_train.npy (ictal)",
                "source_rate_hz": BONN_FS,
                "resample": "{}/{}".format(*_ratio(rate_hz, BONN_FS)),
                "background_segments": [int(i) for i in order_d],
                "crossfade_s": crossfade_s,
                "gain": gain,
                "seed": seed,
            },
        )

    @staticmethod
    def default_schedule(duration_s: float, rng: np.random.Generator) -> list[tuple[float, float]]:
        """(onset, duration) pairs: first at 30 s, then every 60-120 s, 10-30 s long."""
        out = []
        t = 30.0
        while True:
            dur = float(rng.uniform(10.0, 30.0))
            if t + dur > duration_s:
                return out
            out.append((round(t, 3), round(dur, 3)))
            t += dur + float(rng.uniform(60.0, 120.0))

    # --- Patient protocol ----------------------------------------------------------------

    @property
    def rate_hz(self) -> int:
        return self._rate

    @property
    def time_s(self) -> float:
        return self._n / self._rate

    @property
    def duration_s(self) -> float | None:
        """Length of a non-looping replay (None: it loops forever)."""
        return None if self.loop else len(self._x) / self._rate

    def truth(self) -> dict[str, Any]:
        return {
            "model": f"replay-{self.name}",
            "rate_hz": self._rate,
            "seizures": [asdict(z) for z in self.seizures],
            "provenance": self.provenance,
        }

    def step(self, n: int, stim: Stimulation = OFF) -> Hop:
        if n <= 0:
            raise ValueError("a hop has at least one sample")
        idx = self._n + np.arange(n)
        if self.loop:
            idx %= len(self._x)
        elif idx[-1] >= len(self._x):
            raise ValueError(
                f"the {self.name} replay lasts {len(self._x) / self._rate:g} s; "
                "build it with a longer duration_s"
            )
        x = self._x[idx]
        biomarker, symptom, ictal = 0.0, 0.0, False
        if self._beta is not None and self._response is not None:
            b = self._beta[idx]
            s = self._response.suppression(n, stim)
            x = x - b + b * np.sqrt(1.0 - s)
            rel = b**2 * (1.0 - s) / self._beta_ms
            biomarker = float(np.mean(rel))
            symptom = self._response.update_symptom(rel)
        if self._ictal is not None:
            w = self._ictal[idx]
            biomarker = float(np.mean(w))
            ictal = bool(np.any(w > 0))
        self._n += n
        return Hop(samples=x[:, None], biomarker=biomarker, symptom=symptom, ictal=ictal)
