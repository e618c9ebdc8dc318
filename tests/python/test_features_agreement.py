"""Device features (the firmware's integer code through the SIL library) vs the float
numpy/scipy reference on real recordings, with the tolerances stated in docs/sensing.md.
Recompute the figures with `python -m theraloop.dsp.agreement`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from theraloop.dsp import agreement
from theraloop.dsp.config import FeatureConfig
from theraloop.dsp.fixed import FixedFeatures
from theraloop.paths import repo_root

# docs/sensing.md, "Agreement with the float reference".
TOLERANCE = {"median": 2e-4, "p99": 2e-3, "max": 1e-2}
LOW_AMPLITUDE_TOLERANCE = {"median": 2e-3, "p99": 5e-3, "max": 5e-2}


@pytest.fixture(scope="module")
def data_dir() -> Path:
    d = repo_root().parent / "shared" / "data"
    if not d.is_dir():
        pytest.skip(f"real recordings not available: {d} is missing (see its README in CI)")
    return d


def _check(stats: dict[str, agreement.ErrorStats], tol: dict[str, float]) -> None:
    bad = {
        name: s
        for name, s in stats.items()
        if s.median > tol["median"] or s.p99 > tol["p99"] or s.max > tol["max"]
    }
    assert not bad, f"outside {tol}: {bad}"


def test_stn_lfp_agreement(data_dir: Path) -> None:
    stats = agreement.stn_errors(data_dir, peak_counts=8000.0)
    assert set(stats) == {f.name for f in FeatureConfig.default(1000).features()}
    assert all(s.n == 950 for s in stats.values())
    _check(stats, TOLERANCE)


def test_stn_lfp_low_amplitude_agreement(data_dir: Path) -> None:
    """At 1/32 of the scale (peak 256 counts) with 4 fractional bits, the output step
    (1/16 count^2) dominates; still within the low-amplitude tolerance."""
    _check(agreement.stn_errors(data_dir, peak_counts=256.0), LOW_AMPLITUDE_TOLERANCE)


@pytest.mark.parametrize("which", ["A", "D", "E"])
def test_bonn_eeg_agreement(data_dir: Path, which: str) -> None:
    stats = agreement.bonn_errors(data_dir, which, count=10)
    assert all(s.n == 10 * (4097 // 17) for s in stats.values())
    _check(stats, TOLERANCE)


def test_stn_beta_peak_is_where_the_data_readme_says(data_dir: Path) -> None:
    """~18 Hz peak, ~38 % of the 2-100 Hz power (float Welch PSD); and on the device's
    features, beta is the dominant band with the share a Welch estimate gives."""
    x, fs = agreement.stn_recording(data_dir)
    peak_hz, share = agreement.beta_peak(x, fs)
    assert 16.0 <= peak_hz <= 20.0
    assert 0.33 <= share <= 0.43
    cfg = FeatureConfig.default(int(fs))
    run = FixedFeatures(cfg).run(agreement.stn_counts(x))
    powers = run.scaled()[run.window_full][:, : len(cfg.bands)].mean(axis=0)
    names = [b.name for b in cfg.bands]
    assert names[int(np.argmax(powers))] == "beta"
    device_share = powers[names.index("beta")] / powers.sum()
    assert 0.45 <= device_share <= 0.62  # Welch, same band edges: 0.55
