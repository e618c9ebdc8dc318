"""`theraloop model train --tiny` end to end for both recipes: train -> int8 -> C arrays
-> our engine bit-exact with tflite-micro -> the input/output contract the firmware
pipeline expects (raw window / feature vector, output classes) -> model card.

Tiny runs (a few segments or generated recordings, a tiny network, 2-3 epochs): they
test the pipeline, not the model. The full trainings are documented commands
(docs/training.md), not CI steps.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from theraloop import engine as engine_mod
from theraloop.dsp.config import FeatureConfig
from theraloop.dsp.fixed import FixedFeatures
from theraloop.engine import Engine
from theraloop.loop.factory import preset_from_contract
from theraloop.model.__main__ import main as model_cli
from theraloop.model.tflite_file import parse
from theraloop.paths import repo_root
from theraloop.tflite_reference import Reference
from theraloop.train import biomarker, seizure
from theraloop.train.data import load_bonn, load_stn
from theraloop.train.quantize import InputQuant


@pytest.fixture(scope="module")
def data_dir() -> Path:
    d = repo_root().parent / "shared" / "data"
    if not d.is_dir():
        pytest.skip(f"real recordings not available: {d} is missing (see its README in CI)")
    return d


def _train(out: Path, recipe: str, data: Path) -> dict:
    result = CliRunner().invoke(
        model_cli,
        [
            "train",
            recipe,
            "--tiny",
            "--out",
            str(out),
            "--data",
            str(data),
            "--no-bench",
            "--quiet",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def seizure_run(tmp_path_factory, data_dir) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("seizure")
    return out, _train(out, "seizure_detector", data_dir)


@pytest.fixture(scope="module")
def biomarker_run(tmp_path_factory, data_dir) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("biomarker")
    return out, _train(out, "beta_biomarker", data_dir)


def _outputs(out: Path, name: str) -> dict[str, Path]:
    files = {
        "tflite": out / f"{name}.tflite",
        "c": out / f"{name}.c",
        "h": out / f"{name}.h",
        "contract": out / "contract.json",
        "evaluation": out / "evaluation.json",
        "card": out / "README.md",
    }
    for path in files.values():
        assert path.is_file(), path
    return files


def _c_array(c_text: str, name: str) -> bytes:
    body = c_text.split(f"const uint8_t {name}_tflite[")[1].split("};")[0]
    return bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", body.split("{", 1)[1]))


def _check_c_arrays(files: dict[str, Path], name: str) -> None:
    blob = files["tflite"].read_bytes()
    c_text, h_text = files["c"].read_text(), files["h"].read_text()
    assert _c_array(c_text, name) == blob
    upper = name.upper()
    assert f"#define {upper}_TFLITE_SIZE {len(blob)}u" in h_text
    assert f"#define {upper}_ARENA_BYTES {Engine.arena_required(blob)}u" in h_text
    digest = hashlib.sha256(blob).hexdigest()
    assert digest in c_text
    ev = json.loads(files["evaluation"].read_text())
    assert ev["shipped"]["sha256"] == digest
    assert ev["device"]["arena_bytes"] == Engine.arena_required(blob)
    assert ev["device"]["flash_bytes"] == len(blob)


def _bit_exact(blob: bytes, cases: np.ndarray) -> None:
    eng, ref = Engine(blob), Reference(blob)
    shape = eng.inputs[0].shape
    rng = np.random.default_rng(5)
    random = rng.integers(-128, 128, (20, int(np.prod(shape))), dtype=np.int8)
    for x in np.concatenate([cases.reshape(len(cases), -1), random]):
        (a,) = eng.invoke(x.reshape(shape))
        (b,) = ref.invoke(x.reshape(shape))
        assert np.array_equal(a, b)


def _nn_expect(eng: Engine, output: bool, dims: tuple[int, ...]) -> int:
    """The firmware's own contract check (tl_nn_expect) on the loaded model."""
    lib = engine_mod._library()
    lib.tl_nn_expect.argtypes = [
        ctypes.POINTER(engine_mod._Model),
        ctypes.c_bool,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_int32),
        ctypes.c_size_t,
    ]
    lib.tl_nn_expect.restype = ctypes.c_int
    arr = (ctypes.c_int32 * len(dims))(*dims)
    return lib.tl_nn_expect(ctypes.byref(eng._m), output, 0, 0, arr, len(dims))  # 0 = INT8


# --- seizure detector -------------------------------------------------------------------


def test_seizure_pipeline_outputs(seizure_run):
    out, summary = seizure_run
    files = _outputs(out, "seizure_detector")
    _check_c_arrays(files, "seizure_detector")
    assert summary["engine_bit_exact"] is True
    for key in ("d_vs_e_balanced_accuracy", "ade_accuracy", "sensitivity", "specificity"):
        assert 0.0 <= summary[key] <= 1.0
    ev = json.loads(files["evaluation"].read_text())
    assert ev["tiny"] is True and ev["cv"]["unit"] == "segment"
    # trained at the device's AFE rate, on Bonn segments resampled 173.61 -> 250 Hz
    assert ev["data"]["fs_hz"] == 250 and ev["data"]["source_fs_hz"] == 173.61
    assert ev["data"]["resample"]["ratio"] == "36/25"
    assert abs(ev["data"]["resample"]["time_base_error"]) < 1e-5
    n_src = ev["data"]["source_samples_per_segment"]
    assert ev["data"]["samples_per_segment"] == -(-n_src * 36 // 25)
    assert "resampled from 173.61 Hz" in files["card"].read_text()
    # every window of the tiny set was predicted by a model that never saw its segment
    assert ev["cv"]["windows_compared_with_tflite_micro"] == ev["data"]["windows"]
    card = files["card"].read_text()
    assert "Tiny CI run" in card and "do not edit" in card
    assert f"{ev['device']['arena_bytes']:,} B" in card
    assert "Acharya" in card


def test_seizure_model_is_int8_with_the_fixed_input_scale(seizure_run):
    out, _ = seizure_run
    m = parse((out / "seizure_detector.tflite").read_bytes())
    (inp,), (outp,) = m.input_tensors, m.output_tensors
    contract = json.loads((out / "contract.json").read_text())
    q = contract["input"]["quantization"]
    assert inp.dtype == outp.dtype == "INT8"
    assert inp.quantization.scale == 2.0 ** q["shift"] == q["scale"]
    assert inp.quantization.zero_point == q["zero_point"] == 0
    assert {op.op for op in m.operators} <= {
        "RESHAPE",
        "CONV_2D",
        "MAX_POOL_2D",
        "MEAN",
        "FULLY_CONNECTED",
        "SOFTMAX",
    }


def test_seizure_contract_matches_the_device_raw_window(seizure_run, data_dir):
    out, _ = seizure_run
    blob = (out / "seizure_detector.tflite").read_bytes()
    contract = json.loads((out / "contract.json").read_text())
    fc = contract["feature_config"]
    cfg = seizure._from_contract(contract)[0]
    assert cfg.raw_len == fc["raw_len"] == contract["input"]["window_samples"]
    eng = Engine(blob)
    assert eng.inputs[0].shape == (1, cfg.raw_len, 1)
    assert eng.outputs[0].shape == (1, len(contract["output"]["classes"])) == (1, 3)
    assert contract["output"]["classes"][contract["output"]["score_class"]] == "E_ictal"
    # What the firmware checks before it runs the model: raw window in, 3 classes out.
    assert _nn_expect(eng, False, (1, cfg.raw_len, 1)) == 0
    assert _nn_expect(eng, True, (1, 3)) == 0
    assert _nn_expect(eng, False, (1, cfg.raw_len + 1, 1)) == engine_mod.ERR_CONTRACT_MISMATCH
    # The model runs at an AFE rate, so its factory preset takes the device's samples as
    # they come (no "time scaled" note), at the contract's hop.
    preset = preset_from_contract(contract, "seizure_detector")
    assert preset.afe_rate_hz == fc["sample_rate_hz"] == contract["input"]["sample_rate_hz"]
    assert preset.afe_rate_hz == 250
    assert not [n for n in preset.notes if "time scaled" in n], preset.notes
    assert preset.hop_samples == contract["step"]["hop_samples"] == cfg.hop
    assert preset.raw_len == cfg.raw_len and preset.pipeline == 1
    # The raw windows the device's feature stage hands over have exactly that length
    # (a Bonn segment at the device rate, as the recipe and the virtual patient play it).
    seg = seizure.to_device_rate(load_bonn(data_dir).segments[140:141], cfg.fs)[0]
    run = FixedFeatures(cfg).run(seg, raw=True)
    assert run.raw is not None and run.raw.shape[1:] == (1, cfg.raw_len)
    win = seizure.raw_windows(seg[None], cfg)
    end = int(win.end_sample[0])  # the first full window ends on a hop boundary
    assert end % cfg.hop == 0 and end - cfg.hop < cfg.raw_len <= end
    assert np.array_equal(win.x[0], seg[end - cfg.raw_len : end])
    assert contract["responsive_policy"]["responsive_onset_ms"] >= 0


def test_seizure_engine_bit_exact_on_real_windows(seizure_run, data_dir):
    out, _ = seizure_run
    blob = (out / "seizure_detector.tflite").read_bytes()
    contract = json.loads((out / "contract.json").read_text())
    _bit_exact(blob, seizure.device_samples(contract, data_dir, count=40))


# --- beta biomarker ---------------------------------------------------------------------


def test_biomarker_pipeline_outputs(biomarker_run):
    out, summary = biomarker_run
    files = _outputs(out, "beta_biomarker")
    _check_c_arrays(files, "beta_biomarker")
    assert (out / "calibration.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary["engine_bit_exact"] is True
    ev = json.loads(files["evaluation"].read_text())
    real = ev["calibration"]["real"]
    assert 16.0 <= real["peak_hz"] <= 20.0  # the STN recording's beta peak (~18 Hz)
    assert abs(ev["calibration"]["generated"]["peak_hz"] - real["peak_hz"]) <= 2.0
    assert "Tiny CI run" in files["card"].read_text()


def test_biomarker_contract_matches_the_device_features(biomarker_run, data_dir):
    out, _ = biomarker_run
    blob = (out / "beta_biomarker.tflite").read_bytes()
    contract = json.loads((out / "contract.json").read_text())
    cfg = biomarker.config_from_contract(contract)
    assert isinstance(cfg, FeatureConfig)
    assert [f.to_dict() for f in cfg.features()] == contract["feature_config"]["features"]
    assert contract["input"]["features"] == [f.name for f in cfg.features()]
    eng = Engine(blob)
    assert eng.inputs[0].shape == (1, cfg.n_features)
    assert eng.outputs[0].shape == (1, 3)
    assert contract["output"]["classes"] == ["low_beta", "high_beta", "artifact"]
    assert _nn_expect(eng, False, (1, cfg.n_features)) == 0
    assert _nn_expect(eng, True, (1, 3)) == 0
    assert _nn_expect(eng, False, (1, cfg.n_features + 1)) == engine_mod.ERR_CONTRACT_MISMATCH
    q = contract["input"]["quantization"]
    assert eng.inputs[0].scale == 2.0 ** q["shift"] and eng.inputs[0].zero_point == -128
    # The device's feature code, on the real recording, through the contract's quantisation.
    x, _ = load_stn(data_dir)
    from theraloop.dsp.agreement import stn_counts

    values = FixedFeatures(cfg).run(stn_counts(x)[:5000]).values
    assert values.shape[1] == cfg.n_features
    quant = InputQuant(q["shift"], q["zero_point"])
    probs = [eng.invoke(quant.quantize(v).reshape(1, -1))[0] for v in values[-5:]]
    assert all(p.dtype == np.int8 and p.shape == (1, 3) for p in probs)


def test_biomarker_engine_bit_exact_on_real_features(biomarker_run, data_dir):
    out, _ = biomarker_run
    blob = (out / "beta_biomarker.tflite").read_bytes()
    contract = json.loads((out / "contract.json").read_text())
    _bit_exact(blob, biomarker.device_samples(contract, data_dir, count=40))


def test_training_is_reproducible(biomarker_run, tmp_path, data_dir):
    """Same recipe, same seeds, same process: the same model, byte for byte."""
    out, _ = biomarker_run
    again = _train(tmp_path, "beta_biomarker", data_dir)
    assert again["engine_bit_exact"] is True
    a = (out / "beta_biomarker.tflite").read_bytes()
    b = (tmp_path / "beta_biomarker.tflite").read_bytes()
    assert a == b
    ev_a = json.loads((out / "evaluation.json").read_text())
    ev_b = json.loads((tmp_path / "evaluation.json").read_text())
    assert ev_a["results"] == ev_b["results"]
