"""`theraloop model eval`: the shipped int8 models, run by our engine, on any folder laid
out like the real data; errors are one line with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from theraloop.model.__main__ import main as model_cli
from theraloop.paths import repo_root

MODELS = repo_root() / "models"
SEIZURE_KEYS = ("d_vs_e_balanced_accuracy", "ade_accuracy", "sensitivity", "specificity")


def _bonn_like(folder: Path, per_set: int = 3, samples: int = 1200) -> Path:
    """A tiny synthetic folder with the Bonn layout: A quiet, D spiky, E large rhythmic."""
    rng = np.random.default_rng(11)
    t = np.arange(samples) / 173.61
    folder.mkdir(parents=True, exist_ok=True)
    sets = {
        "A": lambda: rng.normal(0, 40, samples),
        "D": lambda: rng.normal(0, 50, samples) + 400 * (rng.random(samples) < 0.01),
        "E": lambda: 600 * np.sin(2 * np.pi * rng.uniform(3, 6) * t) + rng.normal(0, 80, samples),
    }
    for letter, make in sets.items():
        seg = np.stack([make() for _ in range(per_set)])
        np.save(folder / f"set_{letter}_train.npy", np.clip(seg, -2048, 2047).astype(np.int16))
    return folder


def _stn_like(path: Path, seconds: float = 12.0) -> Path:
    """An .npz like the STN recording: 1/f-ish noise with 18 Hz bursts, 1000 Hz."""
    rng = np.random.default_rng(3)
    n = int(seconds * 1000)
    t = np.arange(n) / 1000
    x = np.cumsum(rng.normal(0, 1, n)) * 0.05 + rng.normal(0, 1, n)
    env = (np.sin(2 * np.pi * 0.7 * t) > 0.3).astype(float)
    x += 3 * env * np.sin(2 * np.pi * 18 * t)
    data = np.stack([x * 1e8, rng.normal(0, 1e8, n)]).astype(np.float32)
    np.savez(path, data=data, channels=np.array(["LFP_RIGHT_0", "MOV_RIGHT"]), fs=1000.0)
    return path


def _eval(*args: str) -> dict:
    result = CliRunner().invoke(model_cli, ["eval", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def _shipped(name: str) -> Path:
    path = MODELS / name / f"{name}.tflite"
    assert path.is_file(), f"{path} is not shipped: run `theraloop model train {name}`"
    assert (path.parent / "contract.json").is_file()
    return path


def test_eval_seizure_detector_on_a_bonn_like_folder(tmp_path):
    _shipped("seizure_detector")
    folder = _bonn_like(tmp_path / "bonn_like")
    r = _eval("seizure_detector", "--data", str(folder))
    for key in SEIZURE_KEYS:
        assert 0.0 <= r[key] <= 1.0, key
    assert r["segments"] == 9 and r["set_segments"] == {"A": 3, "D": 3, "E": 3}
    # whole segments are the unit: the confusion matrix counts segments
    assert int(np.sum(r["confusion"])) == 9
    # The folder is 173.61 Hz by definition: resampled 36/25 to the model's 250 Hz first,
    # 1200 -> 1728 samples; windows end on hop boundaries once a full raw window is in.
    contract = json.loads((MODELS / "seizure_detector" / "contract.json").read_text())
    hop, window = contract["step"]["hop_samples"], contract["input"]["window_samples"]
    assert r["sample_rate_hz"] == contract["feature_config"]["sample_rate_hz"] == 250
    assert r["resample"] == "36/25"
    first_end = -(-window // hop) * hop
    assert r["windows"] == 9 * ((1728 - first_end) // hop + 1)


def test_eval_accepts_the_parent_folder_and_another_model(tmp_path):
    """--data may be the folder above bonn_eeg/ (like ../shared/data), --model another
    .tflite of the recipe with its contract.json beside it."""
    shipped = _shipped("seizure_detector")
    _bonn_like(tmp_path / "data" / "bonn_eeg")
    other = tmp_path / "other"
    other.mkdir()
    (other / "copy.tflite").write_bytes(shipped.read_bytes())
    (other / "contract.json").write_text((shipped.parent / "contract.json").read_text())
    a = _eval("seizure_detector", "--data", str(tmp_path / "data"))
    b = _eval(
        "seizure_detector", "--data", str(tmp_path / "data"), "--model", str(other / "copy.tflite")
    )
    assert {k: a[k] for k in SEIZURE_KEYS} == {k: b[k] for k in SEIZURE_KEYS}


def test_eval_beta_biomarker_on_an_stn_like_recording(tmp_path):
    _shipped("beta_biomarker")
    r = _eval("beta_biomarker", "--data", str(_stn_like(tmp_path / "rec.npz")))
    for key in ("accuracy", "balanced_accuracy", "predicted_artifact_on_clean"):
        assert 0.0 <= r[key] <= 1.0, key
    assert -1.0 <= r["kappa"] <= 1.0
    assert abs(r["peak_hz"] - 18.0) <= 1.0
    # 12 s at 1000 Hz, 20-sample hops, windows of 25 hops: 600 - 24 full-window steps
    assert r["steps"] == 576


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eval", "no_such_recipe"], "no recipe"),
        (["eval", "seizure_detector", "--data", "{empty}"], "set_A"),
        (
            [
                "train",
                "seizure_detector",
                "--tiny",
                "--data",
                "{empty}",
                "--out",
                "{empty}",
                "--no-bench",
                "--quiet",
            ],
            "set_A",
        ),
    ],
)
def test_errors_are_one_line_and_exit_2(tmp_path, args, message):
    empty = tmp_path / "empty"
    (empty / "bonn_eeg").mkdir(parents=True)
    args = [a.replace("{empty}", str(empty)) for a in args]
    result = CliRunner().invoke(model_cli, args)
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("theraloop: error:") and message in lines[0]


def test_eval_refuses_segments_shorter_than_one_window(tmp_path):
    """A window ends on a hop boundary (368-sample windows, 62-sample hops: 372 samples at
    250 Hz), counted after resampling: 258 samples at 173.61 Hz become 372, 257 only 371."""
    _shipped("seizure_detector")
    contract = json.loads((MODELS / "seizure_detector" / "contract.json").read_text())
    hop, window = contract["step"]["hop_samples"], contract["input"]["window_samples"]
    need = -(-window // hop) * hop
    src = (need - 1) * 25 // 36 + 1  # fewest 173.61 Hz samples: ceil(src * 36 / 25) >= need
    ok, short = tmp_path / "ok", tmp_path / "short"
    for folder, n in ((ok, src), (short, src - 1)):
        folder.mkdir()
        for letter in "ADE":
            np.save(folder / f"set_{letter}_x.npy", np.zeros((2, n), np.int16))
    result = CliRunner().invoke(model_cli, ["eval", "seizure_detector", "--data", str(short)])
    assert result.exit_code == 2, result.output
    assert f"need at least {need}" in result.stderr
    assert _eval("seizure_detector", "--data", str(ok))["windows"] == 6
