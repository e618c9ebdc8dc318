"""The LFP generator and its calibration on the real STN recording, and the labels of the
biomarker recipe (artifact / high beta / low beta per control step)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from theraloop.dsp.agreement import stn_counts
from theraloop.dsp.config import FeatureConfig
from theraloop.paths import repo_root
from theraloop.train import biomarker, generator
from theraloop.train.data import load_stn

FS = 1000.0


@pytest.fixture(scope="module")
def real() -> np.ndarray:
    d = repo_root().parent / "shared" / "data"
    if not d.is_dir():
        pytest.skip(f"real recordings not available: {d} is missing (see its README in CI)")
    x, fs = load_stn(d)
    assert fs == FS
    return stn_counts(x)


@pytest.fixture(scope="module")
def calibration(real) -> generator.Calibration:
    return generator.calibrate(real, FS, seed=1, iterations=6, sim_seconds=90.0)


def test_burst_measurement_on_a_known_signal():
    """18 Hz bursts of known length (a quarter of the time, so the 75th-percentile
    threshold falls between noise and bursts) are found with their length."""
    rng = np.random.default_rng(0)
    n = 10_000
    x = rng.normal(0, 1.0, n)
    t = np.arange(n) / FS
    spans = ((1000, 400), (3000, 800), (5500, 600), (8000, 800))
    for start, length in spans:
        x[start : start + length] += 10 * np.sin(2 * np.pi * 18 * t[:length])
    m = generator.measure(x, FS)
    assert m.peak_hz == pytest.approx(18.0, abs=1.0)
    assert m.bursts.durations_s == pytest.approx([0.4, 0.8, 0.6, 0.8], abs=0.06)
    assert (m.bursts.amplitudes > m.bursts.threshold).all()
    assert m.bursts.rate_hz == pytest.approx(0.4)


def test_calibration_reproduces_the_real_statistics(real, calibration):
    r = calibration.real
    assert r.peak_hz == pytest.approx(18.0, abs=1.0)  # data README: ~18 Hz
    assert r.beta_share == pytest.approx(0.378, abs=0.02)  # data README: ~38 %
    rec = generator.generate(calibration, 120.0, np.random.default_rng(9), artifacts=False)
    g = generator.measure(rec.x, FS, peak_hz=r.peak_hz)
    assert g.peak_hz == pytest.approx(r.peak_hz, abs=1.0)
    assert g.beta_share == pytest.approx(r.beta_share, rel=0.2)
    assert g.bursts.rate_hz == pytest.approx(r.bursts.rate_hz, rel=0.3)
    assert g.bursts.median_duration_s == pytest.approx(r.bursts.median_duration_s, rel=0.3)
    # Outside the beta range the background follows the real PSD.
    f, p_real = generator.psd(real, FS)
    _, p_gen = generator.psd(rec.x, FS)
    band = (f >= 40) & (f <= 200) & (np.abs(f - 60) > 4) & (np.abs(f - 120) > 4)
    ratio = np.median(p_gen[band] / p_real[band])
    assert 0.7 < ratio < 1.4


def test_generated_recordings_are_int16_with_labelled_artifacts(calibration):
    rec = generator.generate(
        calibration, 60.0, np.random.default_rng(4), artifacts=True, artifact_every_s=5.0
    )
    assert rec.x.dtype == np.int16 and rec.x.size == 60_000
    kinds = set(np.unique(rec.artifact).tolist())
    assert 0 in kinds and len(kinds) >= 3
    flat = np.flatnonzero(rec.artifact == 4)
    if flat.size:  # flatline episodes are constant (a value change only between episodes)
        consecutive = np.diff(flat) == 1
        changes = np.count_nonzero(np.diff(rec.x[flat].astype(int))[consecutive])
        assert changes <= 3
    # Outside artifacts the signal is the clean neural signal.
    clean = rec.artifact == 0
    assert np.max(np.abs(rec.x[clean] - np.round(rec.clean[clean]))) <= 1


def test_step_labels():
    cfg = FeatureConfig.default(1000)  # hop 20, window 25 hops = 500 samples
    n = 6000
    hops = n // cfg.hop
    env = np.full(n, 1.0)
    env[1000:2000] = 5.0  # a long burst
    art = np.zeros(n, np.int8)
    art[4000:4600] = 2  # a 600 ms artifact
    labels, env_mean = biomarker.label_steps(env, art, threshold=3.0, cfg=cfg, hops=hops)
    end = (np.arange(hops) + 1) * cfg.hop  # window of hop h: [end - 500, end)
    assert (labels[end < 500] == biomarker.AMBIGUOUS).all()  # warm-up
    assert labels[end == 1500] == biomarker.HIGH and env_mean[end == 1500] == 5.0
    assert labels[end == 1000] == biomarker.LOW
    assert labels[end == 4500] == biomarker.ARTIFACT  # window fully inside the artifact
    assert labels[end == 4200] == biomarker.AMBIGUOUS  # 200 of 500 samples: ambiguous
    assert labels[end == 4860] == biomarker.AMBIGUOUS  # within the 300 ms recovery
    assert labels[end == 5500] == biomarker.LOW  # 900 ms after the artifact


def test_frac_bits_equalise_feature_magnitudes():
    cfg = FeatureConfig.default(1000)
    # 95th percentiles: powers ~1e6 / 3e5 / 1e6 / 1e4, line length 100, area 1600
    scales = np.array([1e6, 3e5, 1e6, 1e4, 100.0, 1600.0])
    values = np.random.default_rng(0).uniform(0.2, 1.0, (1000, 6)) * scales
    chosen = biomarker.choose_frac_bits(values, cfg)
    bits = np.array([f.frac_bits for f in chosen.features()])
    assert bits[0] == 0 and bits[2] == 0  # the largest keep their unit
    assert bits[4] == 12  # line length would need more than the device allows
    scaled = np.percentile(values, 95, axis=0) * 2.0**bits
    assert (scaled[:4] <= scaled.max()).all() and (scaled[[1, 3, 5]] >= scaled.max() / 2).all()
    shift = biomarker.input_shift(values * 2.0**bits)
    assert np.percentile(values * 2.0**bits, 99, axis=0).max() <= 255 * 2.0**shift


def test_stn_file_lookup(tmp_path):
    from theraloop.train.data import stn_file
    from theraloop.train.errors import DataError

    with pytest.raises(DataError):
        stn_file(tmp_path)
    (tmp_path / "stn_lfp").mkdir()
    p = tmp_path / "stn_lfp" / "a.npz"
    np.savez(p, data=np.zeros((1, 10)), channels=np.array(["X"]), fs=1000.0)
    assert stn_file(tmp_path) == p
    with pytest.raises(DataError, match="no channel"):
        load_stn(tmp_path)
    assert Path(stn_file(p)) == p
