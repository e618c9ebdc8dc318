"""Differential tests: our engine (host build) against the tflite-micro reference.

Every generated test model (tests/models/manifest.json) and both benchmark models run
edge patterns and 500 uniform random inputs through TFLM's interpreter and through
`theraloop.engine`; every output element must be identical. The model tools that need
the engine (inspect's arena, convert, verify) are checked end to end here as well.

Models with SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND run in TFLM as rewritten by
`theraloop.model.tflm_equivalent` (the shapes TensorFlow Lite computes, the padding as a
PAD op): on the file itself TFLM computes only part of a dynamic-batch dilated
convolution and pads with an uninitialised value, so its output is not defined there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zlib
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from click.testing import CliRunner

from theraloop.model.__main__ import main as model_cli
from theraloop.model.macs import model_macs
from theraloop.model.tflite_file import parse
from theraloop.model.tflm_equivalent import tflm_equivalent
from theraloop.model.verify import compare, edge_cases, random_cases
from theraloop.tflite_reference import Reference

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "tests/models"
MANIFEST = json.loads((MODELS / "manifest.json").read_text())
RANDOM_CASES = 500

SUPPORTED = [MODELS / e["file"] for e in MANIFEST["models"] if e["kind"] == "int8"]
SUPPORTED += sorted((ROOT / "models/bench").glob("*.tflite"))
UNSUPPORTED = [MODELS / e["file"] for e in MANIFEST["models"] if e["kind"] == "unsupported"]


@pytest.fixture(scope="module")
def engine() -> ModuleType:
    try:
        from theraloop import engine as mod
    except (ImportError, OSError) as e:
        pytest.fail(f"the engine's host build is not available ({e}): run `make host`")
    return mod


@pytest.mark.parametrize("path", SUPPORTED, ids=[p.stem for p in SUPPORTED])
def test_bit_exact_with_tflite_micro(path, engine):
    data = path.read_bytes()
    ref = Reference(tflm_equivalent(data))
    eng = engine.Engine(data)
    m = ref.model
    rng = np.random.default_rng(zlib.crc32(path.name.encode()))
    cases = edge_cases(m, ref.inputs) + random_cases(m, ref.inputs, RANDOM_CASES, rng)
    expected = ref.run(c.inputs for c in cases)
    got = [eng.invoke(*c.inputs) for c in cases]
    result = compare(m, ref.outputs, cases, expected, got)
    assert result.bit_exact, json.dumps(result.to_json(), indent=1)
    assert result.cases >= RANDOM_CASES + 4


@pytest.mark.parametrize("path", SUPPORTED, ids=[p.stem for p in SUPPORTED])
def test_engine_contract_matches_the_file(path, engine):
    data = path.read_bytes()
    ref = Reference(data)
    eng = engine.Engine(data)
    for mine, theirs in ((eng.inputs, ref.inputs), (eng.outputs, ref.outputs)):
        assert [(t.shape, np.dtype(t.dtype)) for t in mine] == [(t.shape, t.dtype) for t in theirs]
        assert [t.zero_point for t in mine] == [t.zero_point for t in theirs]
        assert [np.float32(t.scale) for t in mine] == [np.float32(t.scale) for t in theirs]
    # MACs of the shapes TensorFlow Lite computes (the file's placeholder batch of a
    # dilated convolution's SPACE_TO_BATCH_ND chain would halve them)
    assert eng.macs == model_macs(parse(tflm_equivalent(data)))
    assert list(eng.op_names) == [op.op for op in ref.model.operators]


@pytest.mark.parametrize("path", SUPPORTED, ids=[p.stem for p in SUPPORTED])
def test_arena_size_is_exact(path, engine):
    data = path.read_bytes()
    need = engine.Engine.arena_required(data)
    assert engine.Engine(data).arena_bytes == need
    engine.Engine(data, arena_size=need)
    with pytest.raises(engine.EngineError) as err:
        engine.Engine(data, arena_size=need - 1)
    assert err.value.name == "ARENA_TOO_SMALL"


@pytest.mark.parametrize("path", UNSUPPORTED, ids=[p.stem for p in UNSUPPORTED])
def test_engine_rejects_float_and_hybrid(path, engine):
    with pytest.raises(engine.EngineError) as err:
        engine.Engine(path.read_bytes())
    assert err.value.name == "UNSUPPORTED_TYPE"


# --- the CLI end to end -------------------------------------------------------------------


def test_verify_json_bit_exact(tmp_path):
    path = MODELS / "int8/two_inputs_two_outputs.tflite"
    ref = Reference(path.read_bytes())
    rng = np.random.default_rng(5)
    real = {t.name: rng.normal(0, 1, (7, *t.shape[1:])).astype(np.float32) for t in ref.inputs}
    np.savez(tmp_path / "real.npz", **real)
    args = ["verify", str(path), "--cases", "50", "--seed", "3"]
    result = CliRunner().invoke(model_cli, [*args, "--data", str(tmp_path / "real.npz"), "--json"])
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    assert r["bit_exact"] is True and r["max_abs_diff"] == 0
    assert r["cases"] == 4 + 50 + 7
    assert r["case_kinds"] == {"edge": 4, "random": 50, "data": 7}
    assert [o["mismatched_elements"] for o in r["outputs"]] == [0, 0]
    assert r["first_mismatch"] is None


def test_verify_human_output():
    path = MODELS / "int8/float_io.tflite"
    result = CliRunner().invoke(model_cli, ["verify", str(path), "--cases", "20"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{path}: bit-exact on 25 cases (5 edge, 20 random)")


@pytest.mark.parametrize("path", UNSUPPORTED, ids=[p.stem for p in UNSUPPORTED])
def test_verify_unsupported_is_one_error_line(path):
    result = CliRunner().invoke(model_cli, ["verify", str(path), "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    kind = "hybrid" if "hybrid" in path.name else "float"
    assert line.startswith(f"theraloop: error: {path}: unsupported model: {kind} model")


def test_verify_corrupted_file_is_one_error_line(tmp_path):
    data = bytearray((MODELS / "int8/tanh.tflite").read_bytes())
    data[4:8] = b"XXXX"
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(bytes(data))
    result = CliRunner().invoke(model_cli, ["verify", str(bad)])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert "wrong file identifier" in line


def test_inspect_reports_the_engines_exact_arena(engine):
    path = ROOT / "models/bench/conv1d_classifier.tflite"
    result = CliRunner().invoke(model_cli, ["inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    assert r["supported"] is True and r["reasons"] == []
    assert r["arena_bytes"] == engine.Engine.arena_required(path.read_bytes())
    assert r["engine"]["macs"] == r["macs"] == 25_848


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")
def test_convert_writes_compilable_c_with_the_engines_figures(tmp_path, engine):
    path = ROOT / "models/bench/mlp_16_32_16_3.tflite"
    data = path.read_bytes()
    result = CliRunner().invoke(
        model_cli, ["convert", str(path), "-o", str(tmp_path / "out"), "--json"]
    )
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    assert r["name"] == "mlp_16_32_16_3"
    arena = engine.Engine.arena_required(data)
    assert r["arena_bytes"] == arena and r["model_bytes"] == len(data)
    header = (tmp_path / "out/mlp_16_32_16_3.h").read_text()
    assert f"#define MLP_16_32_16_3_ARENA_BYTES {arena}u" in header
    source = (tmp_path / "out/mlp_16_32_16_3.c").read_text()
    assert '.op_list = "FULLY_CONNECTED,FULLY_CONNECTED,FULLY_CONNECTED,SOFTMAX"' in source
    # The array holds exactly the file's bytes.
    body = source.split("mlp_16_32_16_3_tflite[MLP_16_32_16_3_TFLITE_SIZE] = {")[1]
    body = body.split("};")[0]
    assert bytes(int(x, 16) for x in body.replace(",", " ").split()) == data
    subprocess.run(
        [
            "cc",
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-c",
            "-I",
            str(ROOT / "firmware/core/include"),
            "mlp_16_32_16_3.c",
        ],
        cwd=tmp_path / "out",
        check=True,
    )


def test_convert_refuses_unsupported(tmp_path):
    path = MODELS / "unsupported/hybrid_dense.tflite"
    result = CliRunner().invoke(model_cli, ["convert", str(path), "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "hybrid model" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_inspect_survives_corrupted_files(engine):
    # Mutated files are either rejected as invalid or reported (by the parser and the
    # engine's loader); nothing else may escape.
    from theraloop.model.report import build_report
    from theraloop.model.tflite_file import ModelFormatError

    rng = np.random.default_rng(7)
    files = sorted((MODELS / "int8").glob("*.tflite"))
    outcomes = {"reported": 0, "rejected": 0}
    for k in range(600):
        data = bytearray(files[k % len(files)].read_bytes())
        for _ in range(int(rng.integers(1, 6))):
            data[int(rng.integers(0, min(len(data), 1500)))] = int(rng.integers(0, 256))
        try:
            report = build_report(bytes(data), "mutated")
            assert isinstance(report["supported"], bool)
            outcomes["reported"] += 1
        except ModelFormatError:
            outcomes["rejected"] += 1
    assert outcomes["reported"] > 0 and outcomes["rejected"] > 0


def test_verify_reports_a_difference_with_exit_1(monkeypatch):
    # A one-LSB error in one element of one case must be found and reported.
    import theraloop.model.verify as verify_mod

    real_run = verify_mod.run_engine

    def off_by_one(eng, cases):
        out = real_run(eng, cases)
        out[7][0][0, 2] = np.int8(int(out[7][0][0, 2]) ^ 1)
        return out

    monkeypatch.setattr(verify_mod, "run_engine", off_by_one)
    path = ROOT / "models/bench/mlp_16_32_16_3.tflite"
    result = CliRunner().invoke(model_cli, ["verify", str(path), "--cases", "20", "--json"])
    assert result.exit_code == 1, result.output
    r = json.loads(result.stdout)
    assert r["bit_exact"] is False and r["max_abs_diff"] == 1 and r["mismatched_cases"] == 1
    assert r["first_mismatch"]["case"] == 7 and r["first_mismatch"]["index"] == [0, 2]
    assert r["first_mismatch"]["kind"] == "random"
    human = CliRunner().invoke(model_cli, ["verify", str(path), "--cases", "20"])
    assert human.exit_code == 1
    assert "NOT bit-exact: 1 of 24 cases differ" in human.stdout
