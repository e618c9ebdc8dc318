"""How the synthetic STN signal is calibrated on the real recording, and the figures.

:func:`measure` is the one method used both to derive the :class:`~theraloop.patient.beta.
BetaPatient` defaults from the recording and to check the generator against it (the tests
and ``python -m theraloop.patient`` run it on both):

- **Spectrum**: Welch PSD, 1 s Hann segments, 50 % overlap, mean removed.
  *peak*: frequency of the largest 8-40 Hz PSD value; *beta share*: 13-30 Hz power over
  2-100 Hz power (the figure ``../shared/data/README.md`` quotes, ~38 %); *aperiodic
  exponent*: minus the slope of a least-squares line through log10 PSD vs log10 f over
  2-100 Hz excluding 8-40 Hz (the periodic peak); *power 2-100 Hz* in counts^2.
- **Bursts** (Tinkhauser et al., Brain 2017): band-pass peak +/- 3 Hz (Butterworth,
  2nd order, zero phase), Hilbert envelope, threshold = 75th percentile of the envelope;
  a burst is a run of samples above it. *median duration*, *rate* (bursts/s) and the
  fraction of bursts longer than 0.5 s.

The recording is ``stn_lfp/sub-testsub_medoff_gripforce.npz`` channel ``LFP_RIGHT_0``
(1000 Hz, 19 s, PD patient OFF medication), converted to ADC counts exactly as the
feature-agreement figures do (:func:`theraloop.dsp.agreement.stn_counts`: median removed,
99.99th percentile of |x| -> 8000 counts).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import signal

BURST_HALF_BAND_HZ = 3.0
BURST_PERCENTILE = 75.0


@dataclass(frozen=True)
class SignalStats:
    """What :func:`measure` reports for one signal."""

    peak_hz: float
    beta_share: float
    aperiodic_exponent: float
    power_2_100: float
    """counts^2 (for a signal in ADC counts)."""
    burst_median_s: float
    burst_rate_hz: float
    burst_long_fraction: float
    """Fraction of bursts longer than 0.5 s."""

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


STN_REFERENCE = SignalStats(
    peak_hz=18.0,
    beta_share=0.378,
    aperiodic_exponent=1.524,
    power_2_100=2.44e6,
    burst_median_s=0.151,
    burst_rate_hz=1.63,
    burst_long_fraction=0.0,
)
"""measure(stn_counts(LFP_RIGHT_0)), rounded; recomputed and compared by
tests/python/test_patient_beta.py so a change of method cannot drift silently."""


def spectrum(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD (1 s Hann segments, 50 % overlap) of the mean-removed signal."""
    x = np.asarray(x, dtype=np.float64)
    return signal.welch(x - x.mean(), fs=fs, nperseg=round(fs))


def burst_durations(x: np.ndarray, fs: float, peak_hz: float) -> np.ndarray:
    """Durations (s) of the supra-threshold runs of the peak-band envelope."""
    x = np.asarray(x, dtype=np.float64)
    lo, hi = peak_hz - BURST_HALF_BAND_HZ, peak_hz + BURST_HALF_BAND_HZ
    sos = signal.butter(2, [lo, hi], "bandpass", fs=fs, output="sos")
    env = np.abs(signal.hilbert(signal.sosfiltfilt(sos, x - x.mean())))
    above = env > np.percentile(env, BURST_PERCENTILE)
    edges = np.diff(np.r_[0, above.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return (ends - starts) / fs


def measure(x: np.ndarray, fs: float) -> SignalStats:
    """The calibration figures of one signal (see the module docstring)."""
    f, p = spectrum(x, fs)
    df = float(f[1] - f[0])
    broad = (f >= 2) & (f <= 100)
    search = (f >= 8) & (f <= 40)
    beta = (f >= 13) & (f <= 30)
    peak = float(f[search][np.argmax(p[search])])
    fit = broad & ~search
    slope, _ = np.polyfit(np.log10(f[fit]), np.log10(p[fit]), 1)
    durations = burst_durations(x, fs, peak)
    seconds = len(x) / fs
    return SignalStats(
        peak_hz=peak,
        beta_share=float(p[beta].sum() / p[broad].sum()),
        aperiodic_exponent=float(-slope),
        power_2_100=float(p[broad].sum() * df),
        burst_median_s=float(np.median(durations)) if durations.size else 0.0,
        burst_rate_hz=float(durations.size / seconds),
        burst_long_fraction=float(np.mean(durations > 0.5)) if durations.size else 0.0,
    )


def stn_reference_signal(data_dir: Path | None = None) -> tuple[np.ndarray, float]:
    """The calibration recording in int16 ADC counts, and its rate (1000 Hz)."""
    from theraloop.patient.data import load_stn_counts

    return load_stn_counts(data_dir)
