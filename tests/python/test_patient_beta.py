"""BetaPatient: calibrated on the real STN recording, deterministic, and its beta power
responds to stimulation with the documented lag and dose-response."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import signal

from theraloop.patient import BetaParams, BetaPatient, DataMissing, Stimulation
from theraloop.patient.calibration import STN_REFERENCE, measure, stn_reference_signal

DBS = Stimulation(enabled=True, amplitude_ua=2000, pulse_width_us=60, rate_dhz=1300)


@pytest.fixture(scope="module")
def recording() -> tuple[np.ndarray, float]:
    try:
        return stn_reference_signal()
    except DataMissing as exc:
        pytest.skip(f"real recordings not available: {exc}")


def test_reference_figures_are_measured_on_the_recording(recording) -> None:
    x, fs = recording
    got = measure(x, fs)
    assert got.peak_hz == STN_REFERENCE.peak_hz
    assert got.beta_share == pytest.approx(STN_REFERENCE.beta_share, abs=5e-4)
    assert got.aperiodic_exponent == pytest.approx(STN_REFERENCE.aperiodic_exponent, abs=5e-4)
    assert got.power_2_100 == pytest.approx(STN_REFERENCE.power_2_100, rel=5e-3)
    assert got.burst_median_s == pytest.approx(STN_REFERENCE.burst_median_s, abs=1e-3)
    assert got.burst_rate_hz == pytest.approx(STN_REFERENCE.burst_rate_hz, abs=0.01)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generator_matches_the_recording(recording, seed: int) -> None:
    x, fs = recording
    real = measure(x, fs)
    synth = measure(BetaPatient(1000, seed=seed).generate(600.0), 1000.0)
    assert abs(synth.peak_hz - real.peak_hz) <= 1.0
    assert synth.beta_share == pytest.approx(real.beta_share, abs=0.03)
    assert synth.aperiodic_exponent == pytest.approx(real.aperiodic_exponent, abs=0.1)
    assert synth.power_2_100 == pytest.approx(real.power_2_100, rel=0.1)
    assert synth.burst_median_s == pytest.approx(real.burst_median_s, rel=0.25)
    assert synth.burst_rate_hz == pytest.approx(real.burst_rate_hz, rel=0.25)


@pytest.mark.parametrize("rate", [250, 500])
def test_calibration_holds_at_the_other_afe_rates(rate: int) -> None:
    synth = measure(BetaPatient(rate, seed=5).generate(300.0), float(rate))
    assert abs(synth.peak_hz - STN_REFERENCE.peak_hz) <= 1.0
    assert synth.beta_share == pytest.approx(STN_REFERENCE.beta_share, abs=0.03)


def test_same_seed_same_signal_whatever_the_hop_size() -> None:
    a = BetaPatient(1000, seed=7).generate(5.0, hop_s=0.02)
    b = BetaPatient(1000, seed=7).generate(5.0, hop_s=0.173)
    c = BetaPatient(1000, seed=7).generate(5.0, hop_s=5.0)
    assert np.array_equal(a, b) and np.array_equal(a, c)
    assert not np.array_equal(a, BetaPatient(1000, seed=8).generate(5.0, hop_s=0.02))


def test_dose_response_saturates_and_needs_high_frequency() -> None:
    p = BetaParams()
    amps = [0, 250, 500, 1000, 1500, 2000, 3000, 5000, 10000, 25000]
    targets = [p.suppression_target(Stimulation(True, a, 60, 1300)) for a in amps]
    assert targets[0] == 0.0
    assert all(b > a for a, b in itertools.pairwise(targets))
    assert targets[-1] < p.suppression_max
    assert targets[-1] > 0.98 * p.suppression_max
    half = p.suppression_target(Stimulation(True, round(p.dose_half_ma * 1000), 60, 1300))
    assert half == pytest.approx(p.suppression_max / 2, rel=1e-6)
    # disabled or zero rate: no effect; 20 Hz barely any; longer pulses act more
    assert p.suppression_target(Stimulation(False, 0, 60, 1300)) == 0.0
    assert p.suppression_target(Stimulation(True, 2000, 60, 200)) < 0.05 * targets[5]
    assert p.suppression_target(Stimulation(True, 2000, 120, 1300)) > targets[5]


def test_suppression_follows_first_order_dynamics() -> None:
    p = BetaParams()
    pat = BetaPatient(1000, seed=1)
    target = p.suppression_target(DBS)
    tau = round(p.tau_suppress_s * 1000)
    pat.step(tau, DBS)
    assert pat.suppression == pytest.approx(target * (1 - math.exp(-1)), rel=1e-3)
    pat.step(10 * tau, DBS)
    assert pat.suppression == pytest.approx(target, rel=1e-3)
    tau_off = round(p.tau_recover_s * 1000)
    pat.step(tau_off, Stimulation())
    assert pat.suppression == pytest.approx(target * math.exp(-1), rel=1e-3)


def _beta_power(x: np.ndarray, fs: float) -> float:
    f, psd = signal.welch(x, fs=fs, nperseg=int(fs))
    return float(psd[(f >= 13) & (f <= 30)].sum())


def test_signal_beta_power_drops_by_the_suppression() -> None:
    """The signal itself (not only the reported biomarker) loses beta power."""
    p = BetaParams()
    target = p.suppression_target(DBS)
    off = BetaPatient(1000, seed=3)
    on = BetaPatient(1000, seed=3)
    on.step(2000, DBS)  # settle
    off.step(2000)
    x_off = off.generate(120.0)
    x_on = on.generate(120.0, DBS)
    bg = BetaPatient(1000, seed=3, params=p.with_(suppression_max=0.99, dose_half_ma=1e-3))
    bg.step(5000, DBS)
    beta_off = _beta_power(x_off, 1000.0)
    # the aperiodic background in 13-30 Hz is not suppressed: compare the beta component
    residual = _beta_power(bg.generate(120.0, DBS), 1000.0)
    got = (_beta_power(x_on, 1000.0) - residual) / (beta_off - residual)
    assert got == pytest.approx(1 - target, abs=0.05)


def test_biomarker_and_symptom_track_beta_power() -> None:
    pat = BetaPatient(1000, seed=4)
    untreated = [pat.step(20).biomarker for _ in range(3000)]
    assert np.mean(untreated) == pytest.approx(1.0, abs=0.1)
    symptom_off = pat.step(20).symptom
    treated = [pat.step(20, DBS) for _ in range(1500)]
    target = BetaParams().suppression_target(DBS)
    assert np.mean([h.biomarker for h in treated[500:]]) == pytest.approx(1 - target, abs=0.12)
    assert treated[-1].symptom < symptom_off
    assert treated[-1].symptom == pytest.approx(1 - target, abs=0.2)


def test_invalid_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="beta_share"):
        BetaParams(beta_share=1.2)
    with pytest.raises(ValueError, match="suppression_max"):
        BetaParams(suppression_max=1.0)
    with pytest.raises(ValueError, match="250, 500 or 1000"):
        BetaPatient(300)
