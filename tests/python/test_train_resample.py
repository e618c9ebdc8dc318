"""The seizure recipe trains at the device's AFE rate: Bonn segments (173.61 Hz) are
resampled to 250 Hz before windowing, with the virtual patient's resampler, so the model
sees rhythms at the frequencies the device samples them at."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from theraloop.paths import repo_root
from theraloop.patient.replay import ReplayPatient
from theraloop.train import seizure
from theraloop.train.data import BONN_FS, BonnData, load_bonn
from theraloop.train.errors import DataError


def _peak_hz(x: np.ndarray, fs: float) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1.0 / fs)[np.argmax(spec)])


def test_a_rhythm_keeps_its_frequency_at_the_device_rate():
    """A 7 Hz rhythm recorded at 173.61 Hz is still 7 Hz at 250 Hz (not 7 x 1.44 Hz, as
    when the samples are played unchanged), with the same amplitude, in int16."""
    t = np.arange(4097) / BONN_FS
    seg = np.rint(1500 * np.sin(2 * np.pi * 7.0 * t)).astype(np.int16)
    y = seizure.to_device_rate(seg[None], 250)
    assert y.dtype == np.int16 and y.shape == (1, 5900)  # ceil(4097 x 36 / 25)
    assert _peak_hz(y[0], 250.0) == pytest.approx(7.0, abs=0.05)
    assert _peak_hz(seg, 250.0) == pytest.approx(7.0 * 250 / BONN_FS, abs=0.05)
    mid = y[0, 500:-500]
    assert np.max(np.abs(mid)) == pytest.approx(1500, abs=3)


def test_anti_aliasing_removes_what_the_device_rate_cannot_carry():
    """The resampler's FIR keeps a 40 Hz rhythm and removes nothing in band; 173.61 Hz
    data has nothing above 86.8 Hz, so the upsampled signal has no energy above it."""
    t = np.arange(4097) / BONN_FS
    seg = np.rint(1000 * np.sin(2 * np.pi * 40.0 * t) + 300 * np.sin(2 * np.pi * 80.0 * t))
    y = seizure.to_device_rate(seg.astype(np.int16)[None], 250)[0].astype(np.float64)
    spec = np.abs(np.fft.rfft(y * np.hanning(y.size))) ** 2
    f = np.fft.rfftfreq(y.size, 1 / 250)
    assert np.sum(spec[f > 95]) < 1e-4 * np.sum(spec)
    assert _peak_hz(y, 250.0) == pytest.approx(40.0, abs=0.05)


def test_resampling_rounds_and_clips_like_the_afe():
    seg = np.array([[32767, -32767] * 200], np.int16)  # full-scale alternation overshoots
    y = seizure.to_device_rate(seg, 250)
    assert y.dtype == np.int16 and y.max() <= 32767 and y.min() >= -32767
    same = seizure.to_device_rate(seg, BONN_FS)
    assert np.array_equal(same, seg)  # no resampling at the recording's own rate
    with pytest.raises(DataError):
        seizure.to_device_rate(seg, 250.5)


def test_too_short_after_resampling_is_a_data_error():
    data = BonnData(np.zeros((1, 257), np.int16), np.zeros(1, np.int64), ("A:0",), Path("."))
    with pytest.raises(DataError, match="371 samples at 250 Hz, need at least 372"):
        seizure.device_rate_data(data, 250, 372)
    assert seizure.device_rate_data(data, 250, 371).segments.shape == (1, 371)


def test_recipe_samples_are_the_virtual_patients_samples():
    """What the model is trained on is what the Bonn replay plays to the device: the same
    resampled segment (up to the AFE's rounding), away from the replay's crossfades."""
    d = repo_root().parent / "shared" / "data"
    if not (d / "bonn_eeg").is_dir():
        pytest.skip(f"real recordings not available: {d / 'bonn_eeg'} is missing")
    patient = ReplayPatient.bonn(250, duration_s=20.0, seizures=[], seed=3, data=d)
    first = patient.provenance["background_segments"][0]
    d_sets = load_bonn(d)
    segment = d_sets.segments[d_sets.ids.index(f"D:{first}")]
    ours = seizure.to_device_rate(segment[None], 250)[0]
    played = np.rint(patient.step(round(20.0 * 250) - 1).samples[:, 0])
    n = played.size
    assert np.array_equal(ours[:n], played)
    assert patient.provenance["resample"] == seizure.resample_ratio(250) == "36/25"
