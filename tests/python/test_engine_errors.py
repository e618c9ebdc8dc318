"""Errors, not crashes: every way a model file can be wrong gives a specific EngineError.

Structural corruption (truncation at every length, flipped bytes, a foreign identifier)
and semantic problems (unsupported operators or types, inconsistent shapes, missing
quantization, bad tensor references, an arena one byte short) each map to their own
status. Semantic variants are made by editing a real model with the flatbuffer object
API, so each test changes exactly one thing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import flatbuffers
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from theraloop import engine

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "models/bench/mlp_16_32_16_3.tflite"
CONV1D = ROOT / "models/bench/conv1d_classifier.tflite"
UNSUPPORTED = ROOT / "tests/models/unsupported"

STRUCTURAL = {
    "TRUNCATED",
    "MALFORMED",
    "BAD_IDENTIFIER",
    "BAD_VERSION",
    "BAD_GRAPH",
    "BAD_BUFFER",
    "BAD_SHAPE",
    "LIMIT",
    "UNSUPPORTED_MODEL",
    "UNSUPPORTED_OP",
    "UNSUPPORTED_TYPE",
    "UNSUPPORTED_PARAM",
    "BAD_QUANTIZATION",
    "TENSOR_TOO_LARGE",
}


def _load_error(data: bytes, arena: int | None = None) -> engine.EngineError:
    with pytest.raises(engine.EngineError) as e:
        engine.Engine(data, arena_size=arena if arena is not None else 1 << 20)
    return e.value


def test_truncated_at_every_length() -> None:
    data = MLP.read_bytes()
    names = set()
    for n in range(len(data)):
        err = _load_error(data[:n])
        assert err.name in STRUCTURAL, (n, str(err))
        names.add(err.name)
        assert str(err)  # readable
    assert "TRUNCATED" in names


def test_flipped_bytes_never_crash() -> None:
    data = CONV1D.read_bytes()
    rng = np.random.default_rng(11)
    x = np.zeros((1, 256, 1), np.int8)
    outcomes = {"loaded": 0, "rejected": 0}
    for pos in range(0, len(data), 3):
        bad = bytearray(data)
        bad[pos] ^= int(rng.integers(1, 256))
        try:
            eng = engine.Engine(bytes(bad), arena_size=1 << 20)
        except engine.EngineError as err:
            assert err.name in STRUCTURAL, (pos, str(err))
            outcomes["rejected"] += 1
            continue
        outcomes["loaded"] += 1
        if eng.inputs and eng.inputs[0].dtype == np.int8 and eng.macs < 10_000_000:
            eng.invoke(*[np.resize(x, t.shape).astype(t.dtype) for t in eng.inputs])
    assert outcomes["loaded"] > 0 and outcomes["rejected"] > 0


def test_wrong_identifier() -> None:
    data = bytearray(MLP.read_bytes())
    data[4:8] = b"TFL2"
    assert _load_error(bytes(data)).name == "BAD_IDENTIFIER"
    assert _load_error(b"\x00" * 64).name == "BAD_IDENTIFIER"
    assert _load_error(b"").name == "TRUNCATED"


@pytest.mark.parametrize("name", ["float_dense", "hybrid_dense"])
def test_float_and_hybrid_models_are_unsupported_type(name: str) -> None:
    err = _load_error((UNSUPPORTED / f"{name}.tflite").read_bytes())
    assert err.name == "UNSUPPORTED_TYPE"
    assert err.op_index is not None and err.op_name
    assert "unsupported tensor type" in str(err)


def test_arena_one_byte_too_small() -> None:
    for path in (MLP, CONV1D):
        data = path.read_bytes()
        need = engine.Engine.arena_required(data)
        engine.Engine(data, arena_size=need)
        err = _load_error(data, arena=need - 1)
        assert err.name == "ARENA_TOO_SMALL"
        assert err.arena_required in (need, None)
        assert f"{need}" in str(err) or err.arena_required is None


# ---- single edits of a valid model (flatbuffer object API) ------------------------------


def _edit(path: Path, change: Callable[[Any], None]) -> bytes:
    m = fb.ModelT.InitFromPackedBuf(path.read_bytes(), 0)
    change(m)
    b = flatbuffers.Builder(4096)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _sg(m: Any) -> Any:
    return m.subgraphs[0]


def _set_version(m: Any) -> None:
    m.version = 2


def _two_subgraphs(m: Any) -> None:
    m.subgraphs.append(m.subgraphs[0])


def _unsupported_op(m: Any) -> None:
    m.operatorCodes[0].builtinCode = fb.BuiltinOperator.TRANSPOSE
    m.operatorCodes[0].deprecatedBuiltinCode = fb.BuiltinOperator.TRANSPOSE


def _custom_op(m: Any) -> None:
    m.operatorCodes[0].builtinCode = fb.BuiltinOperator.CUSTOM
    m.operatorCodes[0].deprecatedBuiltinCode = fb.BuiltinOperator.CUSTOM
    m.operatorCodes[0].customCode = b"MyOp"


def _int16_input(m: Any) -> None:
    _sg(m).tensors[_sg(m).inputs[0]].type = fb.TensorType.INT16


def _float_input(m: Any) -> None:
    _sg(m).tensors[_sg(m).inputs[0]].type = fb.TensorType.FLOAT32


def _bad_shape(m: Any) -> None:
    out = _sg(m).operators[0].outputs[0]
    _sg(m).tensors[out].shape = np.array([1, 31], dtype=np.int32)


def _negative_dim(m: Any) -> None:
    _sg(m).tensors[_sg(m).inputs[0]].shape = np.array([1, -16], dtype=np.int32)


def _huge_tensor(m: Any) -> None:
    _sg(m).tensors[_sg(m).inputs[0]].shape = np.array([1 << 20, 1 << 20], dtype=np.int32)


def _too_many_dims(m: Any) -> None:
    _sg(m).tensors[_sg(m).inputs[0]].shape = np.ones(9, dtype=np.int32)


def _no_quantization(m: Any) -> None:
    _sg(m).tensors[_sg(m).inputs[0]].quantization = None


def _zero_scale(m: Any) -> None:
    q = _sg(m).tensors[_sg(m).inputs[0]].quantization
    q.scale = np.array([0.0], dtype=np.float32)


def _bad_tensor_index(m: Any) -> None:
    op = _sg(m).operators[0]
    op.inputs = np.array([999, *op.inputs[1:]], dtype=np.int32)


def _written_twice(m: Any) -> None:
    _sg(m).operators[1].outputs = np.array(_sg(m).operators[0].outputs, dtype=np.int32)


def _weights_short(m: Any) -> None:
    w = _sg(m).operators[0].inputs[1]
    buf = m.buffers[_sg(m).tensors[w].buffer]
    buf.data = np.array(buf.data[:-1], dtype=np.uint8)


def _bad_padding_option(m: Any) -> None:
    for op in _sg(m).operators:
        if op.builtinOptionsType == fb.BuiltinOptions.Conv2DOptions:
            op.builtinOptions.padding = 7
            return


def _softmax_output_scale(m: Any) -> None:
    out = _sg(m).operators[-1].outputs[0]
    _sg(m).tensors[out].quantization.scale = np.array([0.5], dtype=np.float32)


EDITS: list[tuple[Path, Callable[[Any], None], str, int | None]] = [
    (MLP, _set_version, "BAD_VERSION", None),
    (MLP, _two_subgraphs, "UNSUPPORTED_MODEL", None),
    (MLP, _unsupported_op, "UNSUPPORTED_OP", 0),
    (MLP, _custom_op, "UNSUPPORTED_OP", 0),
    (MLP, _int16_input, "UNSUPPORTED_TYPE", 0),
    (MLP, _float_input, "UNSUPPORTED_TYPE", 0),
    (MLP, _bad_shape, "BAD_SHAPE", 0),
    (MLP, _negative_dim, "BAD_SHAPE", None),
    (MLP, _huge_tensor, "TENSOR_TOO_LARGE", None),
    (MLP, _too_many_dims, "LIMIT", None),
    (MLP, _no_quantization, "BAD_QUANTIZATION", 0),
    (MLP, _zero_scale, "BAD_QUANTIZATION", 0),
    (MLP, _bad_tensor_index, "BAD_GRAPH", 0),
    (MLP, _written_twice, "BAD_GRAPH", 1),
    (MLP, _weights_short, "BAD_BUFFER", None),
    (MLP, _softmax_output_scale, "BAD_QUANTIZATION", 3),
    (CONV1D, _bad_padding_option, "UNSUPPORTED_PARAM", None),
]


@pytest.mark.parametrize(
    ("path", "change", "status", "op"), EDITS, ids=[e[1].__name__.strip("_") for e in EDITS]
)
def test_single_edit_gives_specific_error(
    path: Path, change: Callable[[Any], None], status: str, op: int | None
) -> None:
    err = _load_error(_edit(path, change))
    assert err.name == status, str(err)
    if op is not None:
        assert err.op_index == op, str(err)
        assert err.op_name and err.op_name != "?"


def test_unedited_roundtrip_loads() -> None:
    """The object-API round trip itself keeps the model valid (so the edits are the cause)."""
    for path in (MLP, CONV1D):
        data = _edit(path, lambda m: None)
        eng = engine.Engine(data)
        assert eng.arena_bytes == engine.Engine.arena_required(path.read_bytes())


def test_missing_library_is_a_clear_oserror(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(engine, "_lib", None)
    monkeypatch.setenv("THERALOOP_HOST_BUILD", str(tmp_path))
    with pytest.raises(engine.EngineLibraryMissing, match="make host"):
        engine.Engine(MLP.read_bytes())
    assert issubclass(engine.EngineLibraryMissing, OSError)
