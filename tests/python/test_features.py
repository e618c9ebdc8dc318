"""The device feature code through the SIL library (theraloop.dsp.fixed): struct mirrors,
the generated built-in band table, configuration validation with reasons, feature
description, hop/chunk bookkeeping, raw windows, and agreement with the float reference
on synthetic signals."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from scipy import signal

from theraloop.dsp import design, fixed, reference
from theraloop.dsp.config import FeatureConfig
from theraloop.dsp.design import Band
from theraloop.paths import repo_root


def test_struct_mirrors_match_the_library() -> None:
    lib = fixed.library()  # raises if tl_features_config_t differs from the mirror
    assert lib.tl_features_config_size() == ctypes.sizeof(fixed.FeaturesConfig)
    assert lib.tl_features_state_size() > ctypes.sizeof(fixed.FeaturesConfig)


def test_generated_band_table_is_current() -> None:
    path = repo_root() / "firmware/core/src/dsp/default_bands.c"
    assert path.read_text() == design.emit_c(), (
        "default_bands.c is stale: run "
        "`python -m theraloop.dsp.design --emit-c firmware/core/src/dsp/default_bands.c`"
    )


@pytest.mark.parametrize("fs", [250, 500, 1000])
@pytest.mark.parametrize("channels", [1, 4])
def test_python_default_config_is_the_firmware_default(fs: int, channels: int) -> None:
    ours = fixed.to_c_config(FeatureConfig.default(fs, channels))
    device = fixed.default_c_config(fs, channels)
    assert bytes(ours) == bytes(device)


def test_device_description_matches_feature_specs() -> None:
    cfg = FeatureConfig(fs=500, channels=2, line_length=False, area_frac_bits=7)
    specs = cfg.features()
    desc = fixed.describe(fixed.to_c_config(cfg))
    assert len(desc) == len(specs) == cfg.n_features == 10
    for spec, d in zip(specs, desc, strict=True):
        assert d["kind"] == spec.kind
        assert d["channel"] == spec.channel
        assert d["frac_bits"] == spec.frac_bits
        if spec.band is not None:
            assert cfg.bands[int(d["band"])] == spec.band
            assert d["low_centihz"] == round(spec.band.low_hz * 100)
            assert d["high_centihz"] == round(spec.band.high_hz * 100)
    assert [s.name for s in specs[:5]] == [
        "ch0.theta.power", "ch0.alpha.power", "ch0.beta.power", "ch0.gamma.power", "ch0.area",
    ]  # fmt: skip
    contract = cfg.contract()
    assert contract["features"][4] == {
        "name": "ch0.area", "kind": "area", "channel": 0, "frac_bits": 7,
        "scale": 2**-7, "unit": "counts",
    }  # fmt: skip


def test_device_refuses_bad_configurations_with_reasons() -> None:
    c = fixed.to_c_config(FeatureConfig.default(1000))
    c.bands[1].high_centihz = 60000
    with pytest.raises(fixed.FeatureConfigError, match="band above Nyquist") as e:
        fixed.validate(c)
    assert e.value.code == 6 and e.value.band == 1
    c = fixed.to_c_config(FeatureConfig.default(1000))
    c.bands[3].sos[0].a2 = 1 << 29  # pole on the unit circle
    with pytest.raises(fixed.FeatureConfigError, match="unstable") as e:
        fixed.validate(c)
    assert e.value.band == 3
    c = fixed.to_c_config(FeatureConfig.default(1000))
    c.window_hops = 65
    with pytest.raises(fixed.FeatureConfigError, match="window") as e:
        fixed.validate(c)
    assert e.value.band is None
    # The Python side refuses the same mistakes before they reach the device.
    with pytest.raises(ValueError, match="window"):
        FeatureConfig(fs=1000, hop=100, window_hops=41)
    with pytest.raises(design.DesignError, match="fs/2"):
        FeatureConfig(fs=173.61).filters  # noqa: B018 -- gamma 30-90 Hz above Nyquist


def _noise(n: int, channels: int = 1, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(0, 3000, size=(n, channels)), -32768, 32767).astype(np.int16)


def test_chunked_runs_continue_the_same_state() -> None:
    cfg = FeatureConfig.default(500, channels=3)
    x = _noise(5003, 3)
    whole = fixed.FixedFeatures(cfg).run(x)
    ff = fixed.FixedFeatures(cfg)
    parts = [ff.run(x[a:b]) for a, b in ((0, 1234), (1234, 1240), (1240, 5003))]
    assert np.array_equal(np.concatenate([p.values for p in parts]), whole.values)
    assert whole.values.shape == (5003 // cfg.hop, cfg.n_features)
    assert ff.hops == whole.values.shape[0]
    ff.reset()
    assert np.array_equal(ff.run(x).values, whole.values)
    # The window fills after window_hops hops.
    assert not whole.window_full[: cfg.window_hops - 1].any()
    assert whole.window_full[cfg.window_hops - 1 :].all()


def test_raw_windows_are_the_last_samples() -> None:
    cfg = FeatureConfig(fs=250, channels=2, hop=5, window_hops=4, raw_len=23)
    x = _noise(300, 2)
    run = fixed.FixedFeatures(cfg).run(x, raw=True)
    assert run.raw is not None
    assert np.array_equal(run.raw, reference.raw_windows(x, cfg))
    assert np.array_equal(run.raw[-1, 1], x[-23:, 1])


def test_only_int16_counts_are_accepted() -> None:
    ff = fixed.FixedFeatures(FeatureConfig.default(250))
    with pytest.raises(ValueError, match="int16"):
        ff.run(np.zeros(100))
    with pytest.raises(ValueError, match="int16"):
        ff.run(np.full(100, 40000, dtype=np.int32))
    with pytest.raises(ValueError, match="shape"):
        ff.run(np.zeros((100, 2), dtype=np.int16))
    assert ff.run(np.full(100, -32768, dtype=np.int32)).values.shape == (20, 6)


def test_sum_of_sines_band_powers() -> None:
    """Four tones, one per band: each band power equals the sum over tones of
    A^2/2 |H(f)|^2 of the float design, and the device equals the float reference."""
    fs = 1000
    cfg = FeatureConfig.default(fs)
    # Even frequencies: every beat completes whole cycles in the 500 ms window.
    tones = {6.0: 800.0, 10.0: 600.0, 20.0: 1500.0, 56.0: 400.0}
    t = np.arange(4 * fs) / fs
    x = np.round(sum(a * np.sin(2 * np.pi * f * t) for f, a in tones.items())).astype(np.int16)
    run = fixed.FixedFeatures(cfg).run(x)
    got = run.scaled()[-1]
    for i, flt in enumerate(cfg.filters):
        _, h = signal.sosfreqz(flt.sos, worN=list(tones), fs=fs)
        want = sum(a * a / 2 * abs(g) ** 2 for a, g in zip(tones.values(), h, strict=True))
        assert got[i] == pytest.approx(want, rel=0.01), flt.band.name
    ref = reference.features(x, cfg)
    rel = np.abs(run.scaled() - ref) / np.maximum(ref, run.scales)
    assert rel.max() < 1e-3


def test_custom_bands_and_frac_bits() -> None:
    """A non-default pipeline (6 bands incl. a narrow 8th-order one, 12 fractional bits)
    runs through the device code and agrees with the reference."""
    bands = (
        Band("delta", 1.0, 4.0, frac_bits=12),
        Band("theta", 4.0, 8.0),
        Band("low_beta", 13.0, 20.0, frac_bits=8),
        Band("beta_peak", 17.0, 19.0, order=8, frac_bits=8),
        Band("high_beta", 20.0, 30.0),
        Band("hfo", 80.0, 240.0, order=2),
    )
    cfg = FeatureConfig(fs=500, bands=bands, hop=25, window_hops=40, ll_frac_bits=12)
    x = _noise(10_000)
    run = fixed.FixedFeatures(cfg).run(x)
    ref = reference.features(x, cfg)
    rel = np.abs(run.scaled() - ref) / np.maximum(ref, run.scales)
    # Past warm-up (the first hops of the 2 Hz wide 8th-order band hold < 0.1 count^2,
    # below the 1/64-count rounding of the power path).
    assert rel[run.window_full].max() < 2e-3
