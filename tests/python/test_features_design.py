"""Band-pass design and Q2.29 quantisation (theraloop.dsp.design): every built-in band at
every AFE rate is stable, has headroom for a full-scale input and matches the float design;
narrow and low bands work; unrealisable requests are refused."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from theraloop.dsp import design
from theraloop.dsp.design import Band, DesignError


@pytest.mark.parametrize("fs", design.DEFAULT_RATES)
@pytest.mark.parametrize("band", design.DEFAULT_BANDS, ids=lambda b: b.name)
def test_default_bands_are_realisable(fs: int, band: Band) -> None:
    flt = design.design_band(band, fs)
    r = flt.report
    assert flt.coefs.shape == (2, 5) and flt.coefs.dtype == np.int64
    assert design.is_stable(flt.coefs)
    assert r.max_pole_radius < 0.995
    assert r.passband_error_db < 1e-4
    assert r.headroom > 4.0  # a full-scale input uses < 1/4 of the signal range
    assert r.noise_rms_counts < 1e-3


@pytest.mark.parametrize("fs", design.DEFAULT_RATES)
def test_gain_is_distributed_between_sections(fs: int) -> None:
    """Every section but the last has a cumulative peak gain of exactly 1; the cascade's
    overall response is scipy's Butterworth design."""
    band = design.DEFAULT_BANDS[0]
    flt = design.design_band(band, fs)
    w = np.linspace(0, fs / 2, 20000)
    _, h1 = signal.sosfreqz(flt.sos[:1], worN=w, fs=fs)
    assert np.max(np.abs(h1)) == pytest.approx(1.0, abs=1e-4)
    butter = signal.butter(2, [band.low_hz, band.high_hz], "bandpass", fs=fs, output="sos")
    _, h_all = signal.sosfreqz(flt.sos, worN=w, fs=fs)
    _, h_ref = signal.sosfreqz(butter, worN=w, fs=fs)
    assert np.max(np.abs(h_all - h_ref)) < 1e-9


def test_narrow_and_low_bands_at_1000_hz() -> None:
    for band in (Band("delta", 0.5, 4.0), Band("beta_peak", 17.0, 19.0, order=8)):
        flt = design.design_band(band, 1000)
        assert flt.coefs.shape[0] == band.order // 2
        assert flt.report.max_pole_radius < 1.0
        assert flt.report.passband_error_db < design.PASSBAND_TOLERANCE_DB
        assert flt.report.headroom >= 1.0


def test_unrealisable_requests_are_refused() -> None:
    with pytest.raises(DesignError, match="fs/2"):
        design.design_band(Band("gamma", 30, 90), 173.61)
    with pytest.raises(DesignError, match="edges"):
        design.design_band(Band("x", 10, 5), 1000)
    with pytest.raises(DesignError, match="order"):
        design.design_band(Band("x", 10, 20, order=3), 1000)
    with pytest.raises(DesignError, match="order"):
        design.design_band(Band("x", 10, 20, order=10), 1000)
    with pytest.raises(DesignError, match="frac_bits"):
        design.design_band(Band("x", 10, 20, frac_bits=13), 1000)
    # So narrow at this rate that quantised poles leave the pass band off by > 0.01 dB.
    with pytest.raises(DesignError, match="deviates"):
        design.design_band(Band("x", 0.05, 0.06, order=8), 1000)
    with pytest.raises(DesignError, match=r"Q2\.29"):
        design.quantise(np.array([[4.0, 0.0, 0.0, 1.0, 0.0, 0.0]]))


def test_stability_test_is_the_devices() -> None:
    one = 1 << design.COEF_FRAC
    assert design.is_stable(np.array([[1, 0, 0, -(one + one // 2 - 1), one // 2]]))
    assert not design.is_stable(np.array([[1, 0, 0, -(one + one // 2), one // 2]]))
    assert not design.is_stable(np.array([[1, 0, 0, 0, one]]))


def test_emit_c_lists_every_rate_and_band() -> None:
    text = design.emit_c()
    for fs in design.DEFAULT_RATES:
        assert f"tl_feat_default_bands_{fs}[TL_FEAT_DEFAULT_BANDS]" in text
    assert text.count(".n_sections = 2u") == len(design.DEFAULT_RATES) * 4
