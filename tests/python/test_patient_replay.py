"""ReplayPatient: the real recordings at the device's rates, seizures spliced at the stated
onsets, seamless STN loop that responds to stimulation, detection scoring."""

from __future__ import annotations

import numpy as np
import pytest

from theraloop.patient import (
    OFF,
    DataMissing,
    ReplayPatient,
    Seizure,
    Stimulation,
    score_detections,
)
from theraloop.patient.calibration import measure
from theraloop.patient.data import BONN_FS, load_bonn_set, load_stn_counts
from theraloop.patient.replay import _ramp, chain, resample

DBS = Stimulation(enabled=True, amplitude_ua=3000, pulse_width_us=60, rate_dhz=1300)


@pytest.fixture(scope="module", autouse=True)
def _data() -> None:
    try:
        load_bonn_set("E")
        load_stn_counts()
    except DataMissing as exc:
        pytest.skip(f"real recordings not available: {exc}")


def _play(p: ReplayPatient, seconds: float, hop: int, stim: Stimulation = OFF):
    hops = [p.step(hop, stim) for _ in range(round(seconds * p.rate_hz / hop))]
    return np.concatenate([h.samples[:, 0] for h in hops]), hops


def test_bonn_seizures_are_spliced_at_the_stated_onsets() -> None:
    rate = 250
    p = ReplayPatient.bonn(rate, duration_s=200, seed=3, seizures=[(40.0, 30.0), (120.5, 12.0)])
    x, hops = _play(p, 200, 50)
    assert [(z.onset_s, z.offset_s) for z in p.seizures] == [(40.0, 70.0), (120.5, 132.5)]
    fade = rate  # crossfade_s = 1
    e = [resample(s, BONN_FS, rate) for s in load_bonn_set("E")]
    d = [resample(s, BONN_FS, rate) for s in load_bonn_set("D")]
    background = chain([d[i] for i in p.provenance["background_segments"]], fade, len(x))
    for z in p.seizures:
        a, b = round(z.onset_s * rate), round(z.offset_s * rate)
        ictal = chain([e[i] for i in z.segments], fade, b - a)
        # full ictal signal between the crossfades, untouched background outside
        assert np.array_equal(x[a + fade : b - fade], ictal[fade:-fade])
        assert np.array_equal(x[a - 5 * rate : a], background[a - 5 * rate : a])
        assert np.array_equal(x[b : b + 5 * rate], background[b : b + 5 * rate])
        # in the crossfades: raised-cosine mixes of the two
        ramp = _ramp(fade)
        mix_in = background[a : a + fade] * (1 - ramp) + ictal[:fade] * ramp
        mix_out = background[b - fade : b] * ramp + ictal[-fade:] * (1 - ramp)
        assert np.allclose(x[a : a + fade], mix_in)
        assert np.allclose(x[b - fade : b], mix_out)
        assert not np.allclose(mix_in, background[a : a + fade])
    # the 30 s seizure needed two 23.6 s segments
    assert len(p.seizures[0].segments) == 2
    # ground truth per hop
    t_end = np.array([(i + 1) * 50 / rate for i in range(len(hops))])
    ictal_hops = np.array([h.ictal for h in hops])
    inside = np.zeros_like(ictal_hops)
    for z in p.seizures:
        inside |= (t_end > z.onset_s) & (t_end - 50 / rate < z.offset_s)
    assert np.array_equal(ictal_hops, inside)


def test_spliced_seizures_look_ictal() -> None:
    p = ReplayPatient.bonn(250, duration_s=600, seed=1)
    x, _ = _play(p, 600, 125)
    assert len(p.seizures) >= 3
    ll = np.abs(np.diff(x))
    for z in p.seizures:
        a, b = round(z.onset_s * 250), round(z.offset_s * 250)
        before = ll[max(0, a - 2500) : a].mean()
        assert ll[a:b].mean() > 2 * before


def test_default_schedule_is_seeded_and_fits() -> None:
    a = ReplayPatient.bonn(250, duration_s=900, seed=9)
    b = ReplayPatient.bonn(250, duration_s=900, seed=9)
    c = ReplayPatient.bonn(250, duration_s=900, seed=10)
    assert a.seizures == b.seizures and a.seizures != c.seizures
    for z, nxt in zip(a.seizures, a.seizures[1:], strict=False):
        assert nxt.onset_s - z.offset_s >= 60.0
    assert a.seizures[0].onset_s == 30.0 and a.seizures[-1].offset_s <= 900.0
    assert np.array_equal(_play(a, 30, 50)[0], _play(b, 30, 50)[0])


@pytest.mark.parametrize(("rate", "ratio"), [(250, "36/25"), (500, "72/25"), (1000, "144/25")])
def test_bonn_is_resampled_to_the_afe_rates(rate: int, ratio: str) -> None:
    p = ReplayPatient.bonn(rate, duration_s=60, seed=0, seizures=[])
    assert p.provenance["resample"] == ratio
    assert p.duration_s == 60.0
    x, _ = _play(p, 60, rate // 50)
    assert len(x) == 60 * rate
    # the amplitude distribution is preserved by resampling (12-bit counts)
    assert 20 < np.std(x) < 2048


def test_overlapping_or_too_short_seizures_are_refused() -> None:
    with pytest.raises(ValueError, match="overlaps"):
        ReplayPatient.bonn(250, duration_s=100, seizures=[(10, 20), (25, 10)])
    with pytest.raises(ValueError, match="crossfades"):
        ReplayPatient.bonn(250, duration_s=100, seizures=[(10, 1.5)])


def test_replay_past_its_end_is_an_error() -> None:
    p = ReplayPatient.bonn(250, duration_s=1, seizures=[])
    p.step(250)
    with pytest.raises(ValueError, match="lasts 1 s"):
        p.step(1)


@pytest.mark.parametrize("rate", [250, 500, 1000])
def test_stn_replay_keeps_the_beta_peak_at_every_rate(rate: int) -> None:
    p = ReplayPatient.stn(rate, respond=False)
    x, _ = _play(p, p.provenance["loop_s"], 1)
    stats = measure(x, float(rate))
    assert abs(stats.peak_hz - 18.0) <= 1.0
    assert stats.beta_share == pytest.approx(0.378, abs=0.03)


def test_stn_replay_is_the_recording_and_loops_seamlessly() -> None:
    counts, _ = load_stn_counts()
    p = ReplayPatient.stn(1000, respond=False, crossfade_s=0.5)
    period = round(p.provenance["loop_s"] * 1000)
    assert period == len(counts) - 500
    x, _ = _play(p, 2 * period / 1000, 20 if period % 20 == 0 else 1)
    assert np.array_equal(x[500:period], counts[500:period])
    assert np.array_equal(x[:period], x[period : 2 * period])
    step = np.abs(np.diff(x))
    assert step[period - 1] <= np.percentile(step, 99.9)  # no jump at the loop point


def test_stn_replay_beta_responds_to_stimulation() -> None:
    off = ReplayPatient.stn(1000)
    on = ReplayPatient.stn(1000)
    x_off, h_off = _play(off, 18, 20)
    x_on, h_on = _play(on, 18, 20, DBS)
    assert np.mean([h.biomarker for h in h_off]) == pytest.approx(1.0, rel=0.05)
    reduced = np.mean([h.biomarker for h in h_on[100:]])
    target = on._response.params.suppression_target(DBS)
    assert reduced == pytest.approx(1 - target, rel=0.1)
    assert measure(x_on, 1000.0).beta_share < measure(x_off, 1000.0).beta_share - 0.1
    assert h_on[-1].symptom < h_off[-1].symptom


def test_detections_are_scored_against_the_ground_truth() -> None:
    seizures = [Seizure(100.0, 130.0, (0,)), Seizure(400.0, 420.0, (1,))]
    score = score_detections([3.0, 101.5, 104.0, 133.0, 300.0], seizures, 3600.0)
    assert score.latencies_s == (1.5, None)
    assert score.detected == 1
    assert score.false_alarms == 2  # 3.0 and 300.0; 133.0 is within the 5 s tolerance
    assert score.interictal_s == pytest.approx(3600.0 - 35.0 - 25.0)
    assert score.false_alarms_per_hour == pytest.approx(2 * 3600.0 / score.interictal_s)
    assert score.as_dict()["detected"] == 1
