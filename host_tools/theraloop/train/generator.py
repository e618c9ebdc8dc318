"""Synthetic subthalamic LFP with beta bursts and artifacts, calibrated on a real recording.

**Burst measurement** (Tinkhauser et al. 2017, the standard adaptive-DBS definition):
band-pass the signal around the individual beta peak (peak +/- 3 Hz, 4th-order
Butterworth, zero phase), take the Hilbert amplitude envelope, smooth it over 100 ms,
and threshold it at its 75th percentile; a *burst* is a run of samples above the
threshold, its duration the run length and its amplitude the largest envelope value in
it. :func:`measure` does this for any signal.

**Generator** (:func:`generate`): Gaussian background noise with the recording's
aperiodic spectrum (its Welch PSD with the beta peak bridged by a power law, see
:class:`Aperiodic`), plus beta bursts: Tukey-shaped (flat-top) envelopes with lognormal
durations and amplitudes, each a sinusoid at a frequency drawn around the peak, one
after the other with exponential gaps (bursts never overlap). Samples are int16 ADC
counts on the scale of :func:`theraloop.dsp.agreement.stn_counts` (99.99th percentile of
|x| = 8000 counts).

**Calibration** (:func:`calibrate`): the peak frequency and the aperiodic parameters are
read off the real PSD; the burst rate, the duration and amplitude distributions and the
beta share of the power are then *matched by simulation*: a fixed-seed simulation is
measured with the same burst method as the real data and the four generative parameters
(rate, median duration, amplitude scale and amplitude spread) are updated until the
measured burst rate, median burst duration, spread of burst amplitudes and the 13-30 Hz
share of the 2-100 Hz power match the recording's. The result is checked on an
independent simulation (see :func:`Calibration.to_json` and the model card).

**Artifacts**, labelled per sample: stimulation pulses (100-185 Hz trains of large
biphasic spikes with recovery tails), amplifier saturation (gain and clipping), movement
(decaying steps and large slow swings) and flatline (lead-off, constant value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import signal

BETA = (13.0, 30.0)
"""The beta band of the beta-share figure and of the device's beta feature (Hz)."""
BROAD = (2.0, 100.0)
ENVELOPE_HALF_WIDTH_HZ = 3.0
ENVELOPE_SMOOTH_S = 0.1
THRESHOLD_PERCENTILE = 75.0
MAX_COUNTS = 32767

ARTIFACT_KINDS = ("none", "stimulation", "saturation", "movement", "flatline")


# ---- measurement ----------------------------------------------------------------------


def psd(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD with 1 s Hann segments (counts^2 / Hz)."""
    return signal.welch(np.asarray(x, np.float64) - np.mean(x), fs=fs, nperseg=int(fs))


def peak_frequency(f: np.ndarray, p: np.ndarray, lo: float = 8.0, hi: float = 40.0) -> float:
    band = (f >= lo) & (f <= hi)
    return float(f[band][np.argmax(p[band])])


def band_share(f: np.ndarray, p: np.ndarray, band: tuple[float, float] = BETA) -> float:
    """Share of the ``band`` power in the 2-100 Hz power."""
    sel = (f >= BROAD[0]) & (f <= BROAD[1])
    b = (f >= band[0]) & (f <= band[1])
    return float(p[b].sum() / p[sel].sum())


def beta_envelope(x: np.ndarray, fs: float, peak_hz: float) -> np.ndarray:
    """Smoothed amplitude envelope in peak +/- 3 Hz (counts)."""
    sos = signal.butter(
        2,
        [peak_hz - ENVELOPE_HALF_WIDTH_HZ, peak_hz + ENVELOPE_HALF_WIDTH_HZ],
        "bandpass",
        fs=fs,
        output="sos",
    )
    y = signal.sosfiltfilt(sos, np.asarray(x, np.float64))
    env = np.abs(signal.hilbert(y))
    n = max(1, round(ENVELOPE_SMOOTH_S * fs))
    return np.convolve(env, np.ones(n) / n, mode="same")


@dataclass(frozen=True)
class Bursts:
    """Bursts found by thresholding an envelope."""

    threshold: float
    durations_s: np.ndarray
    amplitudes: np.ndarray
    """Peak envelope of each burst (counts)."""
    seconds: float

    @property
    def rate_hz(self) -> float:
        return self.durations_s.size / self.seconds

    @property
    def median_duration_s(self) -> float:
        return float(np.median(self.durations_s)) if self.durations_s.size else float("nan")

    @property
    def amplitude_log_sd(self) -> float:
        """Spread of burst amplitudes: sd of ln(amplitude / threshold)."""
        if self.durations_s.size < 2:
            return float("nan")
        return float(np.std(np.log(self.amplitudes / self.threshold)))


def find_bursts(env: np.ndarray, fs: float, threshold: float) -> Bursts:
    above = np.asarray(env) > threshold
    edges = np.diff(np.concatenate([[0], above.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    # Runs touching either end of the recording have unknown length: not counted.
    keep = (starts > 0) & (ends < env.size)
    starts, ends = starts[keep], ends[keep]
    amps = np.array([env[s:e].max() for s, e in zip(starts, ends, strict=True)])
    return Bursts(float(threshold), (ends - starts) / fs, amps, env.size / fs)


@dataclass(frozen=True)
class Measurement:
    """Everything the calibration compares between a real and a generated signal."""

    peak_hz: float
    beta_share: float
    bursts: Bursts

    def to_json(self) -> dict[str, Any]:
        b = self.bursts
        return {
            "peak_hz": self.peak_hz,
            "beta_share": self.beta_share,
            "threshold_counts": b.threshold,
            "bursts": int(b.durations_s.size),
            "seconds": b.seconds,
            "burst_rate_hz": b.rate_hz,
            "median_duration_s": b.median_duration_s,
            "duration_p10_p90_s": (
                [float(np.percentile(b.durations_s, q)) for q in (10, 90)]
                if b.durations_s.size
                else None
            ),
            "median_amplitude_ratio": (
                float(np.median(b.amplitudes / b.threshold)) if b.amplitudes.size else None
            ),
            "amplitude_log_sd": b.amplitude_log_sd,
        }


def measure(
    x: np.ndarray, fs: float, peak_hz: float | None = None, threshold: float | None = None
) -> Measurement:
    """Peak, beta share and bursts of ``x`` (threshold: its own 75th percentile)."""
    f, p = psd(x, fs)
    pk = peak_frequency(f, p) if peak_hz is None else peak_hz
    env = beta_envelope(x, fs, pk)
    thr = float(np.percentile(env, THRESHOLD_PERCENTILE)) if threshold is None else threshold
    return Measurement(pk, band_share(f, p), find_bursts(env, fs, thr))


# ---- calibration ---------------------------------------------------------------------


BRIDGE_HZ = (8.0, 35.0)
"""The beta peak is bridged between these edges to form the background spectrum."""


@dataclass(frozen=True)
class Aperiodic:
    """The background spectrum: the recording's PSD with the beta peak bridged.

    ``freqs``/``power`` are the real Welch PSD, except between ``BRIDGE_HZ`` where a power
    law joins the PSD at the two edges (log-log straight line), so the background keeps
    the recording's own 1/f slope, knee, line-noise notch and anti-alias roll-off, and
    only the beta peak is left to the bursts. ``exponent`` is the 1/f exponent fitted on
    2-8, 35-55 and 65-100 Hz (reported, not used to generate).
    """

    freqs: tuple[float, ...]
    power: tuple[float, ...]
    exponent: float
    bridge_hz: tuple[float, float]

    def at(self, f: np.ndarray) -> np.ndarray:
        return np.interp(f, np.asarray(self.freqs), np.asarray(self.power))

    def to_json(self) -> dict[str, Any]:
        return {"exponent": self.exponent, "bridge_hz": list(self.bridge_hz)}


def fit_aperiodic(f: np.ndarray, p: np.ndarray) -> Aperiodic:
    """The background spectrum of a recording (see :class:`Aperiodic`)."""
    fit = ((f >= 2) & (f < 8)) | ((f > 35) & (f < 55)) | ((f > 65) & (f <= 100))
    slope, _ = np.polyfit(np.log10(f[fit]), np.log10(p[fit]), 1)
    lo, hi = BRIDGE_HZ
    i_lo, i_hi = int(np.argmin(np.abs(f - lo))), int(np.argmin(np.abs(f - hi)))
    bridged = np.array(p, dtype=np.float64)
    k = np.arange(i_lo, i_hi + 1)
    t = (np.log(f[k]) - np.log(f[i_lo])) / (np.log(f[i_hi]) - np.log(f[i_lo]))
    bridged[k] = np.exp((1 - t) * np.log(p[i_lo]) + t * np.log(p[i_hi]))
    return Aperiodic(
        tuple(float(v) for v in f), tuple(float(v) for v in bridged), float(-slope), (lo, hi)
    )


@dataclass(frozen=True)
class BurstModel:
    """Generative burst parameters."""

    rate_hz: float
    duration_median_s: float
    duration_log_sd: float
    amplitude: float
    """Median peak amplitude of a burst's sinusoid (counts)."""
    amplitude_log_sd: float
    peak_hz: float
    frequency_sd_hz: float


@dataclass(frozen=True)
class Calibration:
    fs: float
    aperiodic: Aperiodic
    bursts: BurstModel
    threshold: float
    """The real recording's envelope threshold (counts): the beta-state boundary."""
    real: Measurement
    iterations: list[dict[str, float]]

    def to_json(self) -> dict[str, Any]:
        return {
            "fs_hz": self.fs,
            "aperiodic": self.aperiodic.to_json(),
            "bursts": vars(self.bursts),
            "threshold_counts": self.threshold,
            "real": self.real.to_json(),
            "iterations": self.iterations,
        }


def _durations_log_sd(b: Bursts) -> float:
    d = b.durations_s
    return float(np.std(np.log(d))) if d.size >= 2 else 0.5


def calibrate(
    x: np.ndarray, fs: float, seed: int, iterations: int = 10, sim_seconds: float = 180.0
) -> Calibration:
    """Fit the generator to ``x`` (int16 counts at ``fs``); see the module docstring."""
    real = measure(x, fs)
    f, p = psd(x, fs)
    ap = fit_aperiodic(f, p)
    rb = real.bursts
    if rb.durations_s.size < 3:
        raise ValueError("the recording has fewer than 3 beta bursts: cannot calibrate")
    model = BurstModel(
        rate_hz=rb.rate_hz,
        duration_median_s=rb.median_duration_s,
        duration_log_sd=_durations_log_sd(rb),
        amplitude=float(np.median(rb.amplitudes)),
        amplitude_log_sd=max(rb.amplitude_log_sd, 0.05),
        peak_hz=real.peak_hz,
        frequency_sd_hz=1.0,
    )
    target_odds = real.beta_share / (1 - real.beta_share)
    history = []
    damp = 0.7
    for it in range(iterations):
        rec = generate(
            Calibration(fs, ap, model, 0.0, real, []),
            sim_seconds,
            np.random.default_rng(seed),
            artifacts=False,
        )
        m = measure(rec.x, fs, peak_hz=real.peak_hz)
        b = m.bursts
        history.append(
            {
                "iteration": it,
                "burst_rate_hz": b.rate_hz,
                "median_duration_s": b.median_duration_s,
                "amplitude_log_sd": b.amplitude_log_sd,
                "beta_share": m.beta_share,
            }
        )
        odds = m.beta_share / (1 - m.beta_share)
        model = BurstModel(
            rate_hz=model.rate_hz * (rb.rate_hz / max(b.rate_hz, 1e-3)) ** damp,
            duration_median_s=model.duration_median_s
            * (rb.median_duration_s / b.median_duration_s) ** damp,
            duration_log_sd=model.duration_log_sd,
            amplitude=model.amplitude * (target_odds / odds) ** (0.5 * damp),
            amplitude_log_sd=float(
                np.clip(
                    model.amplitude_log_sd
                    * (rb.amplitude_log_sd / max(b.amplitude_log_sd, 1e-3)) ** damp,
                    0.05,
                    1.5,
                )
            ),
            peak_hz=model.peak_hz,
            frequency_sd_hz=model.frequency_sd_hz,
        )
    return Calibration(fs, ap, model, rb.threshold, real, history)


# ---- generation ----------------------------------------------------------------------


@dataclass
class Recording:
    x: np.ndarray
    """int16 counts."""
    clean: np.ndarray
    """The neural signal before artifacts (float counts)."""
    artifact: np.ndarray
    """Per sample: index into ARTIFACT_KINDS (0 = none)."""
    fs: float


def background(ap: Aperiodic, n: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with the aperiodic PSD (counts)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / fs)
    shape = np.sqrt(ap.at(f) * fs / 2.0)
    shape[0] = 0.0
    return np.fft.irfft(spec * shape, n)


def bursts(
    model: BurstModel,
    n: int,
    fs: float,
    rng: np.random.Generator,
    rate_factor: float = 1.0,
    amplitude_factor: float = 1.0,
) -> np.ndarray:
    """Beta bursts one after the other: exponential gaps (mean 1 / rate) between the end
    of a burst and the start of the next, so bursts never overlap (counts)."""
    out = np.zeros(n)
    seconds = n / fs
    mu_d = np.log(model.duration_median_s)
    rate = model.rate_hz * rate_factor
    t0 = -float(rng.uniform(0.0, 0.5))
    while True:
        t0 += float(rng.exponential(1.0 / rate))
        if t0 >= seconds:
            break
        d = float(np.exp(rng.normal(mu_d, model.duration_log_sd)))
        length = max(int(d * fs), 4)
        a = (
            amplitude_factor
            * model.amplitude
            * float(np.exp(rng.normal(0.0, model.amplitude_log_sd)))
        )
        fr = float(rng.normal(model.peak_hz, model.frequency_sd_hz))
        i0 = int(t0 * fs)
        lo, hi = max(i0, 0), min(i0 + length, n)
        if hi <= lo:
            continue
        k = np.arange(lo - i0, hi - i0)
        env = _tukey(k, length)
        out[lo:hi] += a * env * np.sin(2 * np.pi * fr * k / fs + rng.uniform(0, 2 * np.pi))
        t0 += length / fs
    return out


def _tukey(k: np.ndarray, length: int, taper: float = 0.5) -> np.ndarray:
    """Tukey window (cosine-tapered over ``taper`` of the length) at positions ``k``."""
    x = (k + 0.5) / length
    edge = taper / 2
    w = np.ones_like(x)
    rise = x < edge
    fall = x > 1 - edge
    w[rise] = 0.5 * (1 - np.cos(np.pi * x[rise] / edge))
    w[fall] = 0.5 * (1 - np.cos(np.pi * (1 - x[fall]) / edge))
    return w


def _stimulation(length: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    rate = rng.uniform(100.0, 185.0)
    amp = float(np.exp(rng.uniform(np.log(1500.0), np.log(20000.0))))
    tau = rng.uniform(0.001, 0.006) * fs
    out = np.zeros(length + 64)
    t = rng.uniform(0, fs / rate)
    tail = np.exp(-np.arange(32) / tau)
    while t < length:
        i = int(t)
        out[i] += amp
        out[i + 1] -= amp * rng.uniform(0.4, 1.0)
        out[i + 2 : i + 34] += 0.15 * amp * tail
        t += fs / rate
    return out[:length]


def _insert_artifact(
    x: np.ndarray, lo: int, hi: int, kind: int, fs: float, rng: np.random.Generator
) -> None:
    seg = x[lo:hi]
    n = hi - lo
    if kind == 1:  # stimulation pulses
        seg += _stimulation(n, fs, rng)
    elif kind == 2:  # saturation: the amplifier rails
        gain = rng.uniform(4.0, 12.0)
        rail = rng.uniform(2000.0, 8000.0)
        seg[:] = np.clip(seg * gain + rng.uniform(-0.5, 0.5) * rail, -rail, rail)
    elif kind == 3:  # movement: decaying step and slow large swings
        t = np.arange(n) / fs
        step = rng.choice([-1.0, 1.0]) * rng.uniform(4000.0, 20000.0)
        tau = rng.uniform(0.05, 0.25) * n / fs
        swing = sum(
            rng.uniform(1500.0, 6000.0)
            * np.sin(2 * np.pi * rng.uniform(0.5, 4.0) * t + rng.uniform(0, 2 * np.pi))
            for _ in range(2)
        )
        seg += step * np.exp(-t / tau) + swing * np.hanning(n)
    elif kind == 4:  # flatline (lead off): a constant
        seg[:] = rng.uniform(-2000.0, 2000.0)


def generate(
    cal: Calibration,
    seconds: float,
    rng: np.random.Generator,
    *,
    rate_factor: float = 1.0,
    amplitude_factor: float = 1.0,
    gain: float = 1.0,
    artifacts: bool = True,
    artifact_every_s: float = 12.0,
) -> Recording:
    """One synthetic recording. ``rate_factor``/``amplitude_factor`` vary the beta state
    of the whole recording, ``gain`` the overall amplitude; artifact episodes (0.6-3 s)
    arrive at Poisson times, one per ``artifact_every_s`` on average."""
    fs = cal.fs
    n = round(seconds * fs)
    clean = background(cal.aperiodic, n, fs, rng) + bursts(
        cal.bursts, n, fs, rng, rate_factor, amplitude_factor
    )
    clean *= gain
    x = clean.copy()
    kinds = np.zeros(n, dtype=np.int8)
    if artifacts:
        for _ in range(rng.poisson(seconds / artifact_every_s)):
            length = int(rng.uniform(0.6, 3.0) * fs)
            lo = int(rng.uniform(0, max(n - length, 1)))
            hi = min(lo + length, n)
            kind = int(rng.integers(1, len(ARTIFACT_KINDS)))
            _insert_artifact(x, lo, hi, kind, fs, rng)
            kinds[lo:hi] = kind
    xi = np.clip(np.round(x), -MAX_COUNTS - 1, MAX_COUNTS).astype(np.int16)
    return Recording(xi, clean, kinds, fs)
