"""The training machinery without TensorFlow: segment-wise cross-validation, the figures of
the model cards, the persistence rule, the fixed input quantisation, recipes and data."""

from __future__ import annotations

import numpy as np
import pytest

from theraloop.train import cost, metrics
from theraloop.train import recipe as recipes
from theraloop.train.cv import check_disjoint, segment_folds, window_split
from theraloop.train.data import load_bonn
from theraloop.train.errors import DataError, RecipeError
from theraloop.train.quantize import InputQuant, OutputQuant

# --- the splitter -------------------------------------------------------------------------


def _labels(per_class: int = 70, classes: int = 3) -> np.ndarray:
    return np.repeat(np.arange(classes), per_class)


@pytest.mark.parametrize("n_folds", [3, 5, 10])
def test_every_segment_is_tested_exactly_once(n_folds):
    y = _labels()
    folds = segment_folds(y, n_folds, seed=1)
    assert len(folds) == n_folds
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested.tolist()) == list(range(y.size))
    for f in folds:
        assert not set(f.train) & set(f.test)
        assert sorted(np.concatenate([f.train, f.test]).tolist()) == list(range(y.size))


def test_folds_are_stratified_by_set():
    y = _labels()
    for f in segment_folds(y, 10, seed=3):
        counts = np.bincount(y[f.test], minlength=3)
        assert counts.tolist() == [7, 7, 7]
    # Uneven class sizes: every fold's count of a class differs by at most one.
    y = np.concatenate([np.zeros(23), np.ones(31), np.full(17, 2)]).astype(int)
    per_fold = np.array([np.bincount(y[f.test], minlength=3) for f in segment_folds(y, 5, 0)])
    assert (per_fold.max(0) - per_fold.min(0) <= 1).all()
    sizes = [f.test.size for f in segment_folds(y, 5, 0)]
    assert max(sizes) - min(sizes) <= 1


def test_folds_depend_only_on_the_seed():
    y = _labels()
    a = segment_folds(y, 10, seed=7)
    b = segment_folds(y, 10, seed=7)
    c = segment_folds(y, 10, seed=8)
    assert all(np.array_equal(x.test, z.test) for x, z in zip(a, b, strict=True))
    assert not all(np.array_equal(x.test, z.test) for x, z in zip(a, c, strict=True))


def test_windows_of_a_segment_never_on_both_sides():
    rng = np.random.default_rng(0)
    y = _labels(12)
    # Segments with different window counts, windows in shuffled order.
    window_segment = np.concatenate([np.full(rng.integers(1, 30), s) for s in range(y.size)])
    window_segment = window_segment[rng.permutation(window_segment.size)]
    for fold in segment_folds(y, 4, seed=2):
        tr, te = window_split(window_segment, fold)
        check_disjoint(window_segment, tr, te)
        assert tr.size + te.size == window_segment.size
        assert set(window_segment[te]) == set(fold.test)
        assert not set(window_segment[tr]) & set(window_segment[te])


def test_check_disjoint_catches_a_window_level_split():
    window_segment = np.repeat(np.arange(6), 10)
    perm = np.random.default_rng(1).permutation(60)  # a split by window, not by segment
    with pytest.raises(AssertionError, match="both sides"):
        check_disjoint(window_segment, perm[:45], perm[45:])


def test_splitter_refuses_too_few_segments():
    with pytest.raises(ValueError, match="at least 5 segments per class"):
        segment_folds(np.array([0, 0, 0, 1, 1, 1, 1, 1]), 5, seed=0)
    with pytest.raises(ValueError):
        segment_folds(_labels(), 1, seed=0)


# --- figures ------------------------------------------------------------------------------


def test_binary_figures():
    truth = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], bool)
    pred = np.array([1, 1, 1, 0, 0, 0, 0, 0, 1, 1], bool)
    b = metrics.Binary.of(truth, pred)
    assert (b.tp, b.fn, b.tn, b.fp) == (3, 1, 4, 2)
    assert b.sensitivity == pytest.approx(0.75)
    assert b.specificity == pytest.approx(4 / 6)
    assert b.balanced_accuracy == pytest.approx((0.75 + 4 / 6) / 2)
    assert b.accuracy == pytest.approx(0.7)


def test_kappa_and_confusion():
    y = np.array([0, 0, 1, 1, 2, 2])
    assert metrics.cohen_kappa(y, y, 3) == pytest.approx(1.0)
    m = metrics.confusion(y, np.array([0, 1, 1, 1, 2, 0]), 3)
    assert m.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    # Always predicting one class agrees only by chance.
    assert metrics.cohen_kappa(y, np.zeros(6, int), 3) == pytest.approx(0.0)


def test_persistence_is_k_of_the_last_n():
    p = np.array([1, 0, 1, 1, 0, 1, 1, 1, 0, 0], bool)
    assert metrics.persistence(p, 1, 1).tolist() == p.tolist()
    assert metrics.persistence(p, 2, 2).tolist() == [0, 0, 0, 1, 0, 0, 1, 1, 0, 0]
    assert metrics.persistence(p, 3, 3).tolist() == [0, 0, 0, 0, 0, 0, 0, 1, 0, 0]
    assert metrics.persistence(p, 2, 3).tolist() == [0, 0, 1, 1, 1, 1, 1, 1, 1, 0]
    with pytest.raises(ValueError):
        metrics.persistence(p, 3, 2)


def test_false_alarms_are_rising_edges():
    fired = np.array([1, 1, 0, 1, 0, 0, 1, 1, 1], bool)
    assert metrics.rising_edges(fired) == 3
    assert metrics.rising_edges(np.zeros(5, bool)) == 0
    assert metrics.first_true(fired[2:]) == 1
    assert metrics.first_true(np.zeros(3, bool)) is None


# --- quantisation ---------------------------------------------------------------------


def test_input_quantisation_is_a_rounding_shift():
    q = InputQuant(shift=2, zero_point=0)
    x = np.array([0, 1, 2, 3, 6, -2, -6, 509, 510, 600, -511, -515, -2000])
    # round(x / 4) half away from zero, saturated to int8
    assert q.quantize(x).tolist() == [0, 0, 1, 1, 2, -1, -2, 127, 127, 127, -128, -128, -128]
    assert (q.low, q.high) == (-512.0, 508.0)
    assert q.dequantize(q.quantize(x)).tolist()[:5] == [0.0, 0.0, 4.0, 4.0, 8.0]
    f = InputQuant(shift=3, zero_point=-128)  # non-negative features
    assert (f.low, f.high) == (0.0, 255 * 8.0)
    assert f.quantize(np.array([0, 3, 4, 2040, 5000])).tolist() == [-128, -128, -127, 127, 127]


def test_output_threshold_of_a_probability():
    o = OutputQuant(scale=1 / 256, zero_point=-128)
    assert o.quantize_prob(0.5) == 0
    assert o.quantize_prob(0.9) == 103  # ceil(0.9 * 256) - 128
    assert o.dequantize(np.array([-128, 127])).tolist() == [0.0, 255 / 256]


def test_budget_check():
    budget = cost.Budget(flash_bytes=1000, arena_bytes=500, cpu_fraction=0.02, clock_hz=100e6)
    c = {"flash_bytes": 900, "arena_bytes": 600, "cycles_per_inference": 30_000}
    r = cost.budget_check(c, budget, step_s=0.02)
    assert r["flash"]["ok"] and not r["arena"]["ok"]
    assert r["cpu"]["limit_cycles"] == pytest.approx(40_000)
    assert r["cpu"]["value"] == pytest.approx(0.015) and r["cpu"]["ok"]
    r = cost.budget_check({**c, "cycles_per_inference": None}, budget, step_s=0.02)
    assert r["cpu"]["ok"] is None


def test_parse_bench_output():
    data = {
        "method": {"machine": "netduinoplus2"},
        "models": [
            {
                "instructions": {"dsp": 1830.4, "portable": 1864.0},
                "output_matches_reference": {"dsp": True, "portable": True},
            }
        ],
    }
    r = cost.parse_bench(data)
    assert r.cycles == 1830 and r.matches_reference == {"dsp": True, "portable": True}
    assert cost.parse_bench({"models": []}).cycles is None


# --- recipes and data -----------------------------------------------------------------


def test_shipped_recipes_load():
    for name in ("seizure_detector", "beta_biomarker"):
        r = recipes.load(name)
        assert r.kind == name and r.name == name
        tiny = r.merged(tiny=True)
        assert "tiny" not in tiny
        assert tiny["net"]["kind"] == r.config["net"]["kind"]  # merged, not replaced
    with pytest.raises(RecipeError, match="no recipe"):
        recipes.load("no_such_recipe")


def test_bonn_folder_layout_is_checked(tmp_path):
    rng = np.random.default_rng(0)
    for s in "ADE":
        np.save(tmp_path / f"set_{s}_part1.npy", rng.integers(-100, 100, (2, 300), np.int16))
    np.save(tmp_path / "set_E_part2.npy", rng.integers(-100, 100, (1, 300), np.int16))
    d = load_bonn(tmp_path)
    assert d.counts == {"A": 2, "D": 2, "E": 3}
    assert d.ids[-1] == "E:2" and d.segments.dtype == np.int16
    np.save(tmp_path / "set_D_part2.npy", np.zeros((1, 299), np.int16))
    with pytest.raises(DataError, match="samples per segment"):
        load_bonn(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=r"missing|no set_A"):
        load_bonn(empty)
    np.save(empty / "set_A_x.npy", np.zeros((2, 10), np.float32))
    with pytest.raises(DataError, match="int16"):
        load_bonn(empty)
