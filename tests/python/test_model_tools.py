"""The model tools without the engine: parsing, support check, MACs, inspect, C output,
input generation and the comparison that decides `verify`'s verdict."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from theraloop.model.__main__ import main as model_cli
from theraloop.model.convert import c_float, c_string, default_name, render
from theraloop.model.macs import model_macs, op_macs
from theraloop.model.support import unsupported_reasons
from theraloop.model.tflite_file import ModelFormatError, parse
from theraloop.model.verify import Case, compare, data_cases, edge_cases, random_cases
from theraloop.tflite_reference import Reference, TflmError, io_tensor

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "tests/models"
BENCH = ROOT / "models/bench"
CONV1D = BENCH / "conv1d_classifier.tflite"
MLP = BENCH / "mlp_16_32_16_3.tflite"


def _model(name: str) -> bytes:
    hits = list(MODELS.glob(f"*/{name}.tflite"))
    assert len(hits) == 1, name
    return hits[0].read_bytes()


# --- parsing ----------------------------------------------------------------------------


def test_parse_conv1d_classifier():
    m = parse(CONV1D.read_bytes())
    assert [op.op for op in m.operators] == [
        "RESHAPE",
        "CONV_2D",
        "MAX_POOL_2D",
        "CONV_2D",
        "RESHAPE",
        "MEAN",
        "FULLY_CONNECTED",
        "FULLY_CONNECTED",
        "SOFTMAX",
    ]
    (inp,) = m.input_tensors
    assert inp.shape == (1, 256, 1) and inp.dtype == "INT8"
    assert inp.quantization.kind == "per-tensor"
    conv = m.operators[1]
    assert conv.options["padding"] == "VALID"
    assert (conv.options["stride_h"], conv.options["stride_w"]) == (1, 2)
    assert conv.options["fused_activation_function"] == "RELU"
    w = m.tensors[conv.inputs[1]]
    assert w.shape == (8, 1, 7, 1) and w.quantization.kind == "per-channel"
    assert len(w.quantization.scales) == 8
    assert w.numpy().dtype == np.int8
    out = m.output_tensors[0]
    # int8 softmax output: TFLite fixes scale 1/256 and zero point -128
    assert out.quantization.scale == 1 / 256 and out.quantization.zero_point == -128


def test_macs_match_the_benchmark_figures():
    assert model_macs(parse(CONV1D.read_bytes())) == 25_848
    assert model_macs(parse(MLP.read_bytes())) == 1_072
    m = parse(_model("dwconv2d_m2_s2_valid"))
    (dw,) = m.operators
    # output [1,5,5,6], 3x3 kernel: one MAC per output element and tap
    assert op_macs(m, dw) == 5 * 5 * 6 * 9


@pytest.mark.parametrize(
    "blob, message",
    [
        (b"", "too short"),
        (b"\x10\x00\x00\x00TFL2" + bytes(16), "identifier"),
        (b"\xff\xff\x00\x00TFL3" + bytes(16), "root table offset"),
    ],
)
def test_parse_rejects_non_models(blob, message):
    with pytest.raises(ModelFormatError, match=message):
        parse(blob)


def test_parse_never_fails_with_anything_but_model_format_error():
    data = CONV1D.read_bytes()
    rng = np.random.default_rng(1)
    outcomes = {"ok": 0, "rejected": 0}
    for length in range(0, len(data), 97):  # truncations
        try:
            parse(data[:length])
            outcomes["ok"] += 1
        except ModelFormatError:
            outcomes["rejected"] += 1
    for _ in range(300):  # corrupted bytes in the flatbuffer structure
        buf = bytearray(data)
        for pos in rng.integers(0, 1024, 4):
            buf[pos] = rng.integers(0, 256)
        try:
            parse(bytes(buf))
            outcomes["ok"] += 1
        except ModelFormatError:
            outcomes["rejected"] += 1
    assert outcomes["rejected"] > 0


# --- support ----------------------------------------------------------------------------


def test_int8_models_are_supported():
    for path in sorted((MODELS / "int8").glob("*.tflite")):
        assert unsupported_reasons(parse(path.read_bytes())) == [], path.name


def test_float_model_reason():
    (why,) = unsupported_reasons(parse(_model("float_dense")))
    assert why.startswith("float model: ops 0, 1 (FULLY_CONNECTED) compute in float32")
    assert "full-integer int8" in why


def test_hybrid_model_reason():
    reasons = unsupported_reasons(parse(_model("hybrid_dense")))
    assert reasons[0].startswith("hybrid model (dynamic-range quantization): op 0")
    assert "int8 weights" in reasons[0]


def test_unknown_op_reason():
    data = bytearray(_model("tanh"))
    # TANH (28) -> HARD_SWISH (117): rewrite the builtin code in the operator code table
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    root = fb.Model.GetRootAs(data, 0)
    code = root.OperatorCodes(0)
    assert max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) == 28
    slot = code._tab.Offset(10)  # OperatorCode.builtin_code (int32)
    data[code._tab.Pos + slot : code._tab.Pos + slot + 4] = (117).to_bytes(4, "little")
    slot = code._tab.Offset(4)  # deprecated_builtin_code (int8)
    data[code._tab.Pos + slot] = 117
    m = parse(bytes(data))
    assert m.operators[0].op == "HARD_SWISH"
    assert unsupported_reasons(m) == ["unsupported op HARD_SWISH (ops 0, 2 (HARD_SWISH))"]


# --- inspect ----------------------------------------------------------------------------


def test_inspect_json_describes_the_model():
    result = CliRunner().invoke(model_cli, ["inspect", str(CONV1D), "--json"])
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    assert r["flash_bytes"] == CONV1D.stat().st_size
    assert 0 < r["weights_bytes"] < r["flash_bytes"]
    assert r["macs"] == 25_848
    assert sum(op["macs"] for op in r["operators"]) == 25_848
    assert r["inputs"][0]["shape"] == [1, 256, 1] and r["inputs"][0]["dtype"] == "int8"
    assert r["outputs"][0]["zero_point"] == -128
    assert r["operators"][1]["options"]["fused_activation_function"] == "RELU"
    kinds = {t["quantization"]["kind"] for t in r["tensors"]}
    assert kinds == {"none", "per-tensor", "per-channel"}
    assert len(r["sha256"]) == 64


def test_inspect_human_output():
    result = CliRunner().invoke(model_cli, ["inspect", str(MLP)])
    assert result.exit_code == 0, result.output
    assert "MACs      1,072 per inference" in result.stdout
    assert "FULLY_CONNECTED" in result.stdout and "act=RELU" in result.stdout


@pytest.mark.parametrize("name, word", [("float_dense", "float"), ("hybrid_dense", "hybrid")])
def test_inspect_reports_float_and_hybrid_unsupported(name, word):
    path = next(MODELS.glob(f"*/{name}.tflite"))
    result = CliRunner().invoke(model_cli, ["inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    assert r["supported"] is False
    assert r["reasons"][0].startswith(f"{word} model")
    assert r["arena_bytes"] is None
    human = CliRunner().invoke(model_cli, ["inspect", str(path)])
    assert "supported NO" in human.stdout and f"{word} model" in human.stdout


def test_inspect_broken_file_is_one_error_line(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(CONV1D.read_bytes()[:300])
    result = CliRunner().invoke(model_cli, ["inspect", str(bad)])
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("theraloop: error: ") and "not a valid .tflite model" in line


# --- convert (rendering; the engine-backed command is in test_model_differential) --------


def test_c_literals():
    assert c_string('a"b\\c?\n\xe9') == '"a\\"b\\\\c\\?\\012\\303\\251"'
    for v in (0.0, 1 / 256, 0.030764594674110413, 1e-30, 3.4e38):
        text = c_float(v)
        assert text.endswith("f")
        assert np.float32(float(text[:-1])) == np.float32(v)
    assert default_name(Path("my-model.v2.tflite")) == "my_model_v2"
    assert default_name(Path("2x.tflite")) == "m_2x"


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")
def test_rendered_c_compiles_warning_free(tmp_path):
    data = _model("two_inputs_two_outputs")
    header, source = render(parse(data), data, "two_io", 4096, "two_inputs_two_outputs.tflite")
    (tmp_path / "two_io.h").write_text(header)
    (tmp_path / "two_io.c").write_text(source)
    flags = "-std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes"
    flags += " -Wpointer-arith -Wcast-align -Wundef -Wformat=2 -Wvla -pedantic"
    subprocess.run(
        ["cc", *flags.split(), "-I", str(ROOT / "firmware/core/include"), "-c", "two_io.c"],
        cwd=tmp_path,
        check=True,
    )
    assert "alignas(16) const uint8_t two_io_tflite[TWO_IO_TFLITE_SIZE]" in source
    assert f"#define TWO_IO_TFLITE_SIZE {len(data)}u" in header
    assert "#define TWO_IO_ARENA_BYTES 4096u" in header


# --- verify's inputs and comparison -----------------------------------------------------


def _io(data: bytes):
    m = parse(data)
    ins = [io_tensor(m, i, t) for i, t in enumerate(m.input_tensors)]
    outs = [io_tensor(m, i, t) for i, t in enumerate(m.output_tensors)]
    return m, ins, outs


def test_edge_and_random_cases_int8():
    m, ins, _ = _io(_model("two_inputs_two_outputs"))
    edges = edge_cases(m, ins)
    kinds = [c.kind for c in edges]
    assert kinds == ["edge:min", "edge:max", "edge:zero_point", "edge:alternating"]
    for c in edges:
        assert [a.shape for a in c.inputs] == [i.shape for i in ins]
        assert all(a.dtype == np.int8 for a in c.inputs)
    assert (edges[0].inputs[0] == -128).all() and (edges[1].inputs[1] == 127).all()
    rnd = random_cases(m, ins, 400, np.random.default_rng(0))
    values = np.concatenate([c.inputs[0].ravel() for c in rnd])
    assert values.min() == -128 and values.max() == 127


def test_edge_cases_float_input_include_rounding_ties():
    m, ins, _ = _io(_model("float_io"))
    edges = {c.kind: c for c in edge_cases(m, ins)}
    assert "edge:ties" in edges
    q = m.tensors[m.operators[0].outputs[0]].quantization
    levels = edges["edge:ties"].inputs[0] / np.float32(q.scale)
    assert np.allclose(levels - np.floor(levels), 0.5, atol=1e-3)


def test_data_cases_quantize_float_and_accept_batches(tmp_path):
    _m, ins, _ = _io(MLP.read_bytes())
    q = ins[0]
    real = np.random.default_rng(0).normal(size=(5, 16)).astype(np.float32)
    np.save(tmp_path / "x.npy", real)
    cases = data_cases(tmp_path / "x.npy", ins)
    assert [c.kind for c in cases] == [f"data[{k}]" for k in range(5)]
    expect = np.clip(np.round(real[2] / q.scale) + q.zero_point, -128, 127).astype(np.int8)
    assert (cases[2].inputs[0] == expect.reshape(1, 16)).all()
    np.save(tmp_path / "bad.npy", np.zeros((5, 15), np.float32))
    with pytest.raises(Exception, match="fits neither input 0"):
        data_cases(tmp_path / "bad.npy", ins)


def test_compare_finds_the_first_mismatch_and_max_diff():
    m, _ins, outs = _io(MLP.read_bytes())
    case = Case("random", (np.zeros((1, 16), np.int8),))
    ref = [[np.array([[1, 2, 3]], np.int8)], [np.array([[-128, 0, 127]], np.int8)]]
    same = compare(m, outs, [case, case], ref, ref)
    assert same.bit_exact and same.max_abs_diff == 0 and same.first_mismatch is None
    got = [[np.array([[1, 2, 3]], np.int8)], [np.array([[-128, 5, -128]], np.int8)]]
    diff = compare(m, outs, [case, case], ref, got)
    assert not diff.bit_exact
    assert diff.max_abs_diff == 255 and diff.mismatched_cases == 1
    assert diff.first_mismatch == {
        "case": 1,
        "kind": "random",
        "output": 0,
        "index": [0, 1],
        "reference": 0,
        "engine": 5,
    }
    j = diff.to_json()
    assert j["bit_exact"] is False and j["cases"] == 2 and j["max_abs_diff"] == 255
    assert j["outputs"][0]["mismatched_elements"] == 2


def test_compare_float_outputs_in_quantization_steps():
    m, ins, outs = _io(_model("float_output"))
    lsb = m.tensors[m.operators[-1].inputs[0]].quantization.scale
    case = Case("random", (np.zeros(ins[0].shape, np.int8),))
    ref = [[np.array([[0.25, 0.5, 0.25]], np.float32)]]
    got = [[np.array([[0.25, 0.5 + 2 * lsb, 0.25]], np.float32)]]
    r = compare(m, outs, [case], ref, got)
    assert not r.bit_exact and r.max_abs_diff == 2


def test_compare_shape_mismatch_is_not_bit_exact():
    m, _ins, outs = _io(MLP.read_bytes())
    case = Case("random", (np.zeros((1, 16), np.int8),))
    r = compare(m, outs, [case], [[np.zeros((1, 3), np.int8)]], [[np.zeros((3,), np.int8)]])
    assert not r.bit_exact and "engine int8[3]" in r.outputs[0].shape_mismatch


# --- the reference wrapper ----------------------------------------------------------------


def test_reference_runs_and_checks_inputs():
    ref = Reference(MLP.read_bytes())
    assert [i.shape for i in ref.inputs] == [(1, 16)]
    (out,) = ref.invoke(np.zeros((1, 16), np.int8))
    assert out.shape == (1, 3) and out.dtype == np.int8
    with pytest.raises(TflmError, match="needs int8"):
        ref.invoke(np.zeros((1, 16), np.float32))
    with pytest.raises(TflmError, match="1 inputs, got 2"):
        ref.invoke(np.zeros((1, 16), np.int8), np.zeros((1, 16), np.int8))
    # Same input, same output: TFLM's overwriting of its input tensor does not leak.
    x = np.random.default_rng(0).integers(-128, 128, (1, 16), dtype=np.int8)
    first = ref.run([[x], [x]])
    assert (first[0][0] == first[1][0]).all()


def test_reference_rejects_hybrid():
    with pytest.raises(TflmError, match="cannot load"):
        Reference(_model("hybrid_dense"))


def test_reference_crash_is_an_error_not_a_crash():
    # TFLM's depthwise kernel dereferences an omitted (-1) bias and crashes the process;
    # verify runs TFLM in a child process, so this is an error the user can read.
    import struct

    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    from theraloop.model.verify import run_reference

    buf = bytearray(_model("dwconv2d_m1_same_relu"))
    op = fb.Model.GetRootAs(buf, 0).Subgraphs(0).Operators(0)
    vec = op._tab.Vector(op._tab.Offset(6))  # Operator.inputs
    struct.pack_into("<i", buf, vec + 8, -1)
    case = Case("edge:min", (np.full((1, 10, 10, 5), -128, np.int8),))
    with pytest.raises(TflmError, match="crashed"):
        run_reference(bytes(buf), [case], isolate=True)
