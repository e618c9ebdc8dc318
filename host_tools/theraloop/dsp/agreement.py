"""Device features vs the float reference on real recordings: the figures of docs/sensing.md.

Data (read-only, see ``../shared/data/README.md``):

- ``stn_lfp/sub-testsub_medoff_gripforce.npz``: STN LFP at 1000 Hz. The stored scale is not
  physiological, so a channel is converted to ADC counts by :func:`stn_counts`: subtract
  the median, scale so that the 99.99th percentile of |x| lands on ``peak_counts`` (8000
  counts = -12 dBFS by default, the headroom an AFE keeps for artefacts), round, clip to
  int16.
- ``bonn_eeg/set_{A,D,E}_train.npy``: raw 12-bit counts at 173.61 Hz, used as they are.

For every hop and feature the relative error is ``|device - reference| / max(reference,
lsb)`` with ``lsb`` = one output step (2**-frac_bits), so that features near zero are
judged on the device's resolution. ``python -m theraloop.dsp.agreement [DATA_DIR]``
prints median / 99th percentile / maximum per feature and data set.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import signal

from theraloop.dsp import reference
from theraloop.dsp.config import FeatureConfig
from theraloop.dsp.design import Band
from theraloop.dsp.fixed import FixedFeatures
from theraloop.paths import repo_root

STN_FILE = Path("stn_lfp/sub-testsub_medoff_gripforce.npz")
BONN_FS = 173.61
BONN_FRAC_BITS = 8
"""12-bit data: 1/256 count^2 resolution, and no band power of a +/-2048 signal can reach
the int32 limit (2^31 / 2^8 counts^2 = 2896 counts RMS)."""
BONN_BANDS = (
    Band("theta", 4.0, 8.0, frac_bits=BONN_FRAC_BITS),
    Band("alpha", 8.0, 12.0, frac_bits=BONN_FRAC_BITS),
    Band("beta", 13.0, 30.0, frac_bits=BONN_FRAC_BITS),
    Band("gamma", 30.0, 70.0, frac_bits=BONN_FRAC_BITS),  # Nyquist is 86.8 Hz
)
BONN_CONFIG = FeatureConfig(
    fs=BONN_FS,
    bands=BONN_BANDS,
    hop=17,
    window_hops=10,
    ll_frac_bits=BONN_FRAC_BITS,
    area_frac_bits=BONN_FRAC_BITS,
)
"""Bonn EEG: hop 17 samples (98 ms), window 10 hops (0.98 s), 8 fractional bits."""


@dataclass(frozen=True)
class ErrorStats:
    median: float
    p99: float
    max: float
    n: int


def default_data_dir() -> Path:
    """``../shared/data`` beside the source tree."""
    return repo_root().parent / "shared" / "data"


def stn_recording(data_dir: Path, channel: str = "LFP_RIGHT_0") -> tuple[np.ndarray, float]:
    """One channel of the STN recording as float64, and its sample rate."""
    with np.load(data_dir / STN_FILE) as d:
        names = [str(c) for c in d["channels"]]
        return d["data"][names.index(channel)].astype(np.float64), float(d["fs"])


def stn_counts(x: np.ndarray, peak_counts: float = 8000.0) -> np.ndarray:
    """A recording in int16 ADC counts: median removed, 99.99th pct of |x| -> peak_counts."""
    centred = x - np.median(x)
    scale = peak_counts / np.percentile(np.abs(centred), 99.99)
    return np.clip(np.round(centred * scale), -32768, 32767).astype(np.int16)


def bonn_segments(data_dir: Path, which: str, count: int) -> list[np.ndarray]:
    """The first `count` segments of Bonn set A, D or E (int16 counts)."""
    arr = np.load(data_dir / "bonn_eeg" / f"set_{which}_train.npy")
    return [arr[i].astype(np.int16) for i in range(min(count, arr.shape[0]))]


def relative_errors(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """(hops, n_features) relative errors of the device features vs the float reference."""
    run = FixedFeatures(config).run(samples)
    ref = reference.features(samples, config)
    lsb = run.scales
    return np.abs(run.scaled() - ref) / np.maximum(ref, lsb)


def summarise(errors: np.ndarray, config: FeatureConfig) -> dict[str, ErrorStats]:
    out = {}
    for i, spec in enumerate(config.features()):
        e = errors[:, i]
        out[spec.name] = ErrorStats(
            float(np.median(e)), float(np.percentile(e, 99)), float(np.max(e)), e.size
        )
    return out


def stn_errors(data_dir: Path, peak_counts: float = 8000.0) -> dict[str, ErrorStats]:
    x, fs = stn_recording(data_dir)
    cfg = FeatureConfig.default(int(fs))
    return summarise(relative_errors(stn_counts(x, peak_counts), cfg), cfg)


def bonn_errors(data_dir: Path, which: str, count: int = 10) -> dict[str, ErrorStats]:
    errs = [relative_errors(seg, BONN_CONFIG) for seg in bonn_segments(data_dir, which, count)]
    return summarise(np.concatenate(errs), BONN_CONFIG)


def beta_peak(x: np.ndarray, fs: float) -> tuple[float, float]:
    """Welch PSD (1 s segments): frequency of the largest 8-40 Hz peak (above the 1/f
    background), and the share of the 13-30 Hz power in the 2-100 Hz power."""
    f, p = signal.welch(x - np.mean(x), fs=fs, nperseg=int(fs))
    sel = (f >= 2) & (f <= 100)
    search = (f >= 8) & (f <= 40)
    beta = (f >= 13) & (f <= 30)
    return float(f[search][np.argmax(p[search])]), float(p[beta].sum() / p[sel].sum())


def format_table(rows: dict[str, dict[str, ErrorStats]]) -> str:
    lines = [f"{'data':<22}{'feature':<20}{'median':>10}{'p99':>10}{'max':>10}{'hops':>7}"]
    for data, stats in rows.items():
        for name, s in stats.items():
            lines.append(
                f"{data:<22}{name:<20}{s.median:>10.1e}{s.p99:>10.1e}{s.max:>10.1e}{s.n:>7}"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m theraloop.dsp.agreement", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("data_dir", nargs="?", type=Path, help="default: ../shared/data")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or default_data_dir()
    rows = {
        "stn LFP_R0 pk 8000": stn_errors(data_dir, 8000.0),
        "stn LFP_R0 pk 256": stn_errors(data_dir, 256.0),
    }
    for which in "ADE":
        rows[f"bonn {which} (10 seg)"] = bonn_errors(data_dir, which)
    print(format_table(rows))
    x, fs = stn_recording(data_dir)
    peak, share = beta_peak(x, fs)
    print(f"\nSTN LFP_RIGHT_0: Welch peak {peak:.1f} Hz, 13-30 Hz share of 2-100 Hz {share:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
