"""BetaPatient: synthetic subthalamic LFP of a Parkinson's patient, closed-loop capable.

Signal (ADC counts at the AFE input, one channel)::

    x(t) = background(t) + g * e(t) * c(t) * sqrt(1 - s(t))

- **background**: aperiodic 1/f^alpha noise -- white noise through a cascade of
  first-order pole/zero pairs spaced 1/3 decade apart from 1 Hz (flat below), each zero
  alpha/2 of the way to the next pole, so the average PSD slope is -alpha;
- **c(t)**: the beta carrier, white noise through a 4th-order Butterworth band-pass
  `peak_width_hz` wide, normalised to unit variance (random phase and frequency jitter
  inside the band, as in real LFP); its centre is placed so that the spectrum's maximum,
  tilted by the 1/f background, falls on `peak_hz`;
- **e(t)**: the burst envelope: `tonic` plus a Poisson train of Hann-shaped bursts
  (rate `burst_rate_hz`; log-normal duration with median `burst_duration_s` and shape
  `burst_duration_sigma`; log-normal peak amplitude with median 1 and shape
  `burst_amplitude_sigma`), the burst statistics of STN beta (Tinkhauser et al. 2017);
- **g** and the background gain are solved in closed form at construction (Campbell's
  theorem for the envelope's mean square, the filters' exact frequency responses for band
  powers) so that, untreated, the 13-30 Hz share of the 2-100 Hz power is `beta_share`
  and the 2-100 Hz power is `power_2_100`;
- **s(t)**: beta suppression by stimulation, first-order dynamics towards a saturating
  dose-response (Hill) target::

      dose   = amplitude_mA * (1 + chronaxie/pw_ref) / (1 + chronaxie/pw)   # Lapicque
                            * h(rate) / h(rate_ref),   h(r) = r^4 / (r^4 + rate_half^4)
      target = suppression_max * dose^n / (dose^n + dose_half^n)
      ds/dt  = (target - s) / tau,  tau = tau_suppress_s (s rising) or tau_recover_s

  integrated exactly per sample (the target is constant within a hop).

Ground truth per hop: ``biomarker`` = mean over the hop of the relative beta power
e^2 (1 - s) / E[e^2] (1 = untreated average), ``symptom`` = that relative power low-passed
with `symptom_tau_s` (a bradykinesia proxy: rigidity/bradykinesia improve with beta
suppression, Kuhn et al. 2008; 1 = untreated OFF state, 0 = no beta).

**Provenance.** Spectral defaults are :data:`theraloop.patient.calibration.STN_REFERENCE`,
measured on the real STN recording (``python -m theraloop.patient`` prints the
recording next to this generator). The carrier width and the burst parameters were tuned
(grid search over width 4-10 Hz, rate 1.4-2.2/s, duration 0.2-0.3 s, tonic 0.2-0.8;
300 s x 2 seeds) so that the same measurement on generated signal reproduces the
recording: over 6 seeds x 600 s the generator gives peak 18-19 Hz, beta share 0.360-0.390
(recording 0.378), exponent 1.51-1.52 (1.52), 2-100 Hz power within 3 %, median burst
0.148-0.154 s (0.151 s) and 1.36-1.43 bursts/s (1.63/s).

The stimulation response is *not* fitted to data (the recording has none). Its shape
follows the literature -- beta suppression grows with amplitude and saturates (Eusebio
et al. 2011, Kuhn et al. 2008), needs high-frequency stimulation, takes a few hundred ms
to develop and to wear off (Bronte-Stewart et al. 2009) -- with values chosen so that
1.5 mA at 60 us / 130 Hz gives half of the maximum suppression of 70 %.
Everything is a constructor parameter (:class:`BetaParams`).

Random streams (background, carrier, bursts) come from independent child generators of
the seed, so the signal is identical whatever hop sizes it is produced in.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import signal

from theraloop.patient.base import OFF, Hop, Stimulation, check_rate, child_generators
from theraloop.patient.calibration import STN_REFERENCE, spectrum

_POLES_PER_DECADE = 3
_APERIODIC_LOW_HZ = 1.0
_CALIBRATION_SEED = 20261121
_CALIBRATION_S = 256.0
_CARRIER_ORDER = 2


@dataclass(frozen=True)
class BetaParams:
    """Every parameter of the BetaPatient (defaults: see the module docstring)."""

    # spectrum, measured on the STN recording (calibration.STN_REFERENCE)
    peak_hz: float = STN_REFERENCE.peak_hz
    peak_width_hz: float = 6.0
    """Carrier band width; the recording's peak above the aperiodic fit is 15.5-21.5 Hz
    at half height."""
    beta_share: float = STN_REFERENCE.beta_share
    aperiodic_exponent: float = STN_REFERENCE.aperiodic_exponent
    power_2_100: float = STN_REFERENCE.power_2_100
    """counts^2 in 2-100 Hz, untreated."""
    # burst process, tuned so measure() reproduces the recording's burst figures
    burst_rate_hz: float = 1.4
    burst_duration_s: float = 0.3
    burst_duration_sigma: float = 0.5
    burst_amplitude_sigma: float = 0.35
    tonic: float = 0.65
    """Envelope floor between bursts, relative to the median burst peak."""
    # response to stimulation (literature-shaped, not fitted)
    suppression_max: float = 0.7
    dose_half_ma: float = 1.5
    dose_hill: float = 2.0
    tau_suppress_s: float = 0.3
    tau_recover_s: float = 0.5
    pulse_width_ref_us: float = 60.0
    chronaxie_us: float = 75.0
    rate_ref_hz: float = 130.0
    rate_half_hz: float = 60.0
    symptom_tau_s: float = 2.0

    def __post_init__(self) -> None:
        problems = []
        if not 0 < self.peak_width_hz / 2 < self.peak_hz:
            problems.append("peak_hz must exceed half the peak width")
        if not 0 < self.beta_share < 1:
            problems.append("beta_share must be in (0, 1)")
        if not 0 <= self.aperiodic_exponent <= 2:
            problems.append("aperiodic_exponent must be in [0, 2]")
        if self.power_2_100 <= 0 or self.burst_rate_hz <= 0 or self.burst_duration_s <= 0:
            problems.append("power, burst rate and burst duration must be > 0")
        if self.burst_duration_sigma < 0 or self.burst_amplitude_sigma < 0 or self.tonic < 0:
            problems.append("burst shapes and tonic must be >= 0")
        if not 0 <= self.suppression_max < 1:
            problems.append("suppression_max must be in [0, 1)")
        if min(self.dose_half_ma, self.dose_hill, self.tau_suppress_s, self.tau_recover_s) <= 0:
            problems.append("dose_half_ma, dose_hill and the time constants must be > 0")
        if min(self.pulse_width_ref_us, self.rate_ref_hz, self.rate_half_hz) <= 0:
            problems.append("reference pulse width and rates must be > 0")
        if self.chronaxie_us < 0 or self.symptom_tau_s <= 0:
            problems.append("chronaxie must be >= 0 and symptom_tau_s > 0")
        if problems:
            raise ValueError("invalid BetaParams: " + "; ".join(problems))

    def with_(self, **changes: Any) -> BetaParams:
        return replace(self, **changes)

    def dose_ma(self, stim: Stimulation) -> float:
        """Effective amplitude (mA at the reference pulse width and rate)."""
        if not stim.active:
            return 0.0
        c = self.chronaxie_us
        pw = (1 + c / self.pulse_width_ref_us) / (1 + c / stim.pulse_width_us)

        def h(r: float) -> float:
            return r**4 / (r**4 + self.rate_half_hz**4)

        return stim.amplitude_ma * pw * h(stim.rate_hz) / h(self.rate_ref_hz)

    def suppression_target(self, stim: Stimulation) -> float:
        """Steady-state fraction of beta power suppressed under `stim` (0..suppression_max)."""
        d = self.dose_ma(stim)
        if d <= 0:
            return 0.0
        n = self.dose_hill
        return self.suppression_max * d**n / (d**n + self.dose_half_ma**n)


def aperiodic_sos(exponent: float, fs: float) -> np.ndarray:
    """First-order pole/zero pairs (matched z) giving a PSD slope of -exponent."""
    step = 1.0 / _POLES_PER_DECADE
    nyquist = fs / 2
    sections = []
    f = _APERIODIC_LOW_HZ
    while f < nyquist:
        zero = f * 10 ** (step * exponent / 2)
        zp, zz = math.exp(-2 * math.pi * f / fs), math.exp(-2 * math.pi * zero / fs)
        sections.append((zz, zp))
        f *= 10**step
    if len(sections) % 2:
        sections.append((0.0, 0.0))
    rows = []
    for (z1, p1), (z2, p2) in zip(sections[0::2], sections[1::2], strict=True):
        rows.append([1.0, -(z1 + z2), z1 * z2, 1.0, -(p1 + p2), p1 * p2])
    return np.array(rows)


def _band_powers(sos: np.ndarray, fs: float) -> tuple[float, float]:
    """13-30 Hz and 2-100 Hz power of the filter's output for unit-variance white input,
    *as calibration.measure() sees it* (Welch bins, window leakage included): measured on
    a fixed-seed noise run, so the gains do not depend on the patient's seed."""
    rng = np.random.default_rng(_CALIBRATION_SEED)
    y = signal.sosfilt(sos, rng.standard_normal(round(_CALIBRATION_S * fs)))
    f, p = spectrum(y, fs)
    df = float(f[1] - f[0])
    beta = p[(f >= 13) & (f <= 30)].sum() * df
    broad = p[(f >= 2) & (f <= 100)].sum() * df
    return float(beta), float(broad)


def _noise_rms(sos: np.ndarray) -> float:
    """Output RMS of the filter for unit-variance white input (impulse-response energy)."""
    imp = np.zeros(1 << 16)
    imp[0] = 1.0
    return float(np.sqrt(np.sum(signal.sosfilt(sos, imp) ** 2)))


@dataclass(frozen=True)
class _Design:
    bg_sos: np.ndarray
    car_sos: np.ndarray
    bg_gain: float
    beta_gain: float
    env_ms: float
    carrier_hz: tuple[float, float]


def _envelope_mean_square(p: BetaParams) -> float:
    """E[e^2] of tonic + Poisson Hann bursts (Campbell's theorem; Hann integrals d/2 and
    3d/8; log-normal moments)."""
    mean_a = math.exp(p.burst_amplitude_sigma**2 / 2)
    mean_a2 = math.exp(2 * p.burst_amplitude_sigma**2)
    mean_d = p.burst_duration_s * math.exp(p.burst_duration_sigma**2 / 2)
    mu = p.burst_rate_hz * mean_a * mean_d / 2
    var = p.burst_rate_hz * mean_a2 * mean_d * 3 / 8
    return (p.tonic + mu) ** 2 + var


def _carrier(centre: float, width: float, fs: float) -> tuple[np.ndarray, float, float]:
    """Unit-variance carrier band-pass with geometric centre `centre` and width `width`."""
    lo = (math.sqrt(width * width + 4 * centre**2) - width) / 2
    sos = signal.butter(_CARRIER_ORDER, [lo, lo + width], "bandpass", fs=fs, output="sos")
    sos[0, :3] /= _noise_rms(sos)
    return sos, lo, lo + width


@lru_cache(maxsize=32)
def _design(p: BetaParams, fs: float) -> _Design:
    """Filters and gains for the calibration targets (module docstring). The carrier's
    centre is corrected (3 fixed-point iterations on the exact frequency responses) so
    that the maximum of the combined spectrum, tilted by the 1/f background, is at
    `peak_hz` rather than below it."""
    bg_sos = aperiodic_sos(p.aperiodic_exponent, fs)
    b0, t0 = _band_powers(bg_sos, fs)
    total = p.power_2_100
    grid = np.arange(8.0, 40.0, 0.05)
    _, h_bg = signal.sosfreqz(bg_sos, worN=grid, fs=fs)
    centre = p.peak_hz
    for _ in range(3):
        car_sos, lo, hi = _carrier(centre, p.peak_width_hz, fs)
        k1, k2 = _band_powers(car_sos, fs)
        det = k1 * t0 - b0 * k2
        beta_power = (p.beta_share * total * t0 - b0 * total) / det
        bg_gain2 = (k1 * total - k2 * p.beta_share * total) / det
        if beta_power <= 0 or bg_gain2 <= 0:
            raise ValueError("beta_share cannot be reached with this aperiodic exponent")
        _, h_car = signal.sosfreqz(car_sos, worN=grid, fs=fs)
        combined = bg_gain2 * np.abs(h_bg) ** 2 + beta_power * np.abs(h_car) ** 2
        centre += p.peak_hz - float(grid[np.argmax(combined)])
    env_ms = _envelope_mean_square(p)
    return _Design(
        bg_sos=bg_sos,
        car_sos=car_sos,
        bg_gain=math.sqrt(bg_gain2),
        beta_gain=math.sqrt(beta_power / env_ms),
        env_ms=env_ms,
        carrier_hz=(lo, hi),
    )


@dataclass(frozen=True)
class _Burst:
    start_s: float
    duration_s: float
    amplitude: float


class BetaResponse:
    """The stimulation response shared by the synthetic and the replayed STN patients:
    suppression s(t) towards the dose-response target, and the symptom low-pass."""

    def __init__(self, params: BetaParams, rate_hz: int) -> None:
        self.params = params
        self.rate_hz = rate_hz
        self.s = 0.0
        self.symptom = 1.0

    def suppression(self, n: int, stim: Stimulation) -> np.ndarray:
        """s over the next `n` samples (exact first-order step response; the target is
        constant within a hop, tau depends on the direction at the hop's start)."""
        p = self.params
        target = p.suppression_target(stim)
        tau = p.tau_suppress_s if target > self.s else p.tau_recover_s
        decay = math.exp(-1.0 / (tau * self.rate_hz))
        s = target + (self.s - target) * decay ** np.arange(1, n + 1)
        self.s = float(s[-1])
        return s

    def update_symptom(self, rel: np.ndarray) -> float:
        """Low-pass the relative beta power (per sample) with symptom_tau_s."""
        b = math.exp(-1.0 / (self.params.symptom_tau_s * self.rate_hz))
        y, _ = signal.lfilter([1 - b], [1, -b], rel, zi=[b * self.symptom])
        self.symptom = float(y[-1])
        return self.symptom


class BetaPatient:
    """Synthetic STN LFP with stimulation-dependent beta bursts (see module docstring)."""

    channels = 1

    def __init__(
        self, rate_hz: int = 1000, seed: int = 0, params: BetaParams | None = None
    ) -> None:
        self._rate = check_rate(rate_hz)
        self.seed = seed
        self.params = p = params or BetaParams()
        fs = float(rate_hz)
        self._bg_rng, self._car_rng, self._burst_rng = child_generators(seed, 3)
        d = _design(p, fs)
        self._bg_sos, self._car_sos = d.bg_sos, d.car_sos
        self._bg_gain, self._beta_gain, self._env_ms = d.bg_gain, d.beta_gain, d.env_ms
        self.carrier_hz = d.carrier_hz
        self._bg_zi = np.zeros((self._bg_sos.shape[0], 2))
        self._car_zi = np.zeros((self._car_sos.shape[0], 2))
        # state
        self._n = 0
        self._bursts: list[_Burst] = []
        self._next_onset = float(self._burst_rng.exponential(1 / p.burst_rate_hz))
        self._response = BetaResponse(p, rate_hz)

    # --- Patient protocol -----------------------------------------------------------

    @property
    def rate_hz(self) -> int:
        return self._rate

    @property
    def time_s(self) -> float:
        return self._n / self._rate

    @property
    def suppression(self) -> float:
        """Current fraction of beta power suppressed."""
        return self._response.s

    def truth(self) -> dict[str, Any]:
        return {
            "model": "beta",
            "seed": self.seed,
            "rate_hz": self._rate,
            "params": asdict(self.params),
            "beta_power_counts2": self._beta_gain**2 * self._env_ms,
        }

    def step(self, n: int, stim: Stimulation = OFF) -> Hop:
        if n <= 0:
            raise ValueError("a hop has at least one sample")
        fs = float(self._rate)
        t = (self._n + np.arange(n)) / fs
        bg, self._bg_zi = signal.sosfilt(
            self._bg_sos, self._bg_rng.standard_normal(n) * self._bg_gain, zi=self._bg_zi
        )
        car, self._car_zi = signal.sosfilt(
            self._car_sos, self._car_rng.standard_normal(n), zi=self._car_zi
        )
        env = self._envelope(t, (self._n + n) / fs)
        s = self._response.suppression(n, stim)
        beta = self._beta_gain * env * car * np.sqrt(1.0 - s)
        rel = env**2 * (1.0 - s) / self._env_ms
        symptom = self._response.update_symptom(rel)
        self._n += n
        return Hop(samples=(bg + beta)[:, None], biomarker=float(np.mean(rel)), symptom=symptom)

    # --- convenience ------------------------------------------------------------------

    def generate(self, seconds: float, stim: Stimulation = OFF, hop_s: float = 0.1) -> np.ndarray:
        """`seconds` of signal (1-D float64 counts) under constant stimulation."""
        total = round(seconds * self._rate)
        hop = max(1, round(hop_s * self._rate))
        parts = []
        done = 0
        while done < total:
            k = min(hop, total - done)
            parts.append(self.step(k, stim).samples[:, 0])
            done += k
        return np.concatenate(parts) if parts else np.zeros(0)

    # --- internals -------------------------------------------------------------------

    def _envelope(self, t: np.ndarray, t_end: float) -> np.ndarray:
        p = self.params
        rng = self._burst_rng
        while self._next_onset < t_end:
            dur = p.burst_duration_s * math.exp(p.burst_duration_sigma * rng.standard_normal())
            amp = math.exp(p.burst_amplitude_sigma * rng.standard_normal())
            self._bursts.append(_Burst(self._next_onset, dur, amp))
            self._next_onset += float(rng.exponential(1 / p.burst_rate_hz))
        env = np.full(t.shape, p.tonic)
        for burst in self._bursts:
            u = (t - burst.start_s) / burst.duration_s
            inside = (u >= 0) & (u < 1)
            env[inside] += burst.amplitude * 0.5 * (1 - np.cos(2 * np.pi * u[inside]))
        self._bursts = [b for b in self._bursts if b.start_s + b.duration_s > t_end]
        return env
