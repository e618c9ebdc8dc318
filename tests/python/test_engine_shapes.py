"""Shapes the engine computes at load, and SPACE_TO_BATCH_ND's padding.

A Keras model built on ``keras.Input(shape)`` has a dynamic batch. The converter lowers
each of its dilated convolutions to SPACE_TO_BATCH_ND -> [EXPAND_DIMS] -> CONV_2D ->
[RESHAPE] -> BATCH_TO_SPACE_ND and writes batch 1 for the intermediate tensors, which
hold one batch per block position. The engine computes those shapes as TensorFlow Lite
does at Prepare, plans its arena for them, and pads with the zero point. tflite-micro
trusts the file (it computes the first batch only and leaves the rest of the output as
stale arena bytes) and pads with an uninitialised value, so the reference here is TFLM
on `tflm_equivalent`'s rewrite of the file, cross-checked with TensorFlow Lite's own
reference kernels.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import flatbuffers
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from theraloop.engine import Engine, EngineError
from theraloop.model.tflite_file import parse
from theraloop.model.tflm_equivalent import needs_rewrite, tflite_shapes, tflm_equivalent
from theraloop.tflite_reference import Reference

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
MODELS = ROOT / "tests/models"
MANIFEST = json.loads((MODELS / "manifest.json").read_text())
# Found by `theraloop model verify --port` on a model the differential tests never saw:
# MaxPooling1D(2) -> Conv1D(4, 3, dilation_rate=2), dynamic batch (see data/README.md).
AFTER_POOL = DATA / "dilated_conv1d_after_pool.tflite"
SPACE_BATCH = [
    MODELS / e["file"]
    for e in MANIFEST["models"]
    if e["kind"] == "int8" and "SPACE_TO_BATCH_ND:placeholder_batch" in e["features"]
]
PADDED = MODELS / "int8/space_to_batch_padded.tflite"


class TfLiteRef:
    """TensorFlow Lite's interpreter with its reference kernels (shapes at Prepare)."""

    def __init__(self, data: bytes) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import tensorflow as tf

            self._it: Any = tf.lite.Interpreter(
                model_content=data,
                experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF,
            )
        self._it.allocate_tensors()

    def invoke(self, *xs: np.ndarray) -> list[np.ndarray]:
        for d, x in zip(self._it.get_input_details(), xs, strict=True):
            self._it.set_tensor(d["index"], x)
        self._it.invoke()
        return [self._it.get_tensor(d["index"]) for d in self._it.get_output_details()]


def _inputs(eng: Engine, rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.integers(-128, 128, t.shape, dtype=np.int8) for t in eng.inputs]


def test_dilated_conv1d_after_another_layer() -> None:
    data = AFTER_POOL.read_bytes()
    eng = Engine(data)
    tflm = Reference(tflm_equivalent(data))
    tfl = TfLiteRef(data)
    rng = np.random.default_rng(0)
    for _ in range(200):
        x = _inputs(eng, rng)
        got = eng.invoke(*x)
        assert all(np.array_equal(g, w) for g, w in zip(got, tflm.invoke(*x), strict=True))
        assert all(np.array_equal(g, w) for g, w in zip(got, tfl.invoke(*x), strict=True))


def test_the_file_carries_a_placeholder_batch() -> None:
    """The premise: the file says batch 1 where TensorFlow Lite computes 2; the engine's
    work (MACs) is that of the whole dilated convolution, not of its first batch."""
    data = AFTER_POOL.read_bytes()
    m = parse(data)
    s2b = next(op for op in m.operators if op.op == "SPACE_TO_BATCH_ND")
    out = s2b.outputs[0]
    assert m.tensors[out].shape == (1, 8, 3)
    assert tflite_shapes(data)[out] == (2, 8, 3)
    # 12 outputs x 4 filters x 3 taps x 3 channels
    assert Engine(data).macs == 12 * 4 * 3 * 3


@pytest.mark.parametrize("path", [AFTER_POOL, *SPACE_BATCH], ids=lambda p: p.stem)
def test_arena_is_exact_with_computed_shapes(path: Path) -> None:
    data = path.read_bytes()
    need = Engine.arena_required(data)
    eng = Engine(data, arena_size=need)
    big = Engine(data, arena_size=need + 4096)
    x = _inputs(eng, np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(eng.invoke(*x), big.invoke(*x), strict=True))
    with pytest.raises(EngineError) as err:
        Engine(data, arena_size=need - 1)
    assert err.value.name == "ARENA_TOO_SMALL"


def test_generated_models_cover_every_position() -> None:
    # first layer, after a strided conv, after a pool; 1-D and 2-D; same, valid, causal;
    # depthwise and separable
    names = {p.stem for p in SPACE_BATCH}
    assert {
        "conv1d_dyn_d2_same_first",
        "conv1d_dyn_d2_same_after_strided",
        "conv1d_dyn_d3_valid_after_pool",
        "conv1d_dyn_causal_tcn",
        "conv2d_dyn_d2_same_after_pool",
        "conv2d_dyn_d2x1_valid_after_strided",
        "dwconv2d_dyn_d2_same_m2",
        "sepconv1d_dyn_d2_same",
    } <= names


@pytest.mark.parametrize("path", SPACE_BATCH, ids=lambda p: p.stem)
def test_references_agree(path: Path) -> None:
    """The rewritten file in TFLM and TensorFlow Lite on the file itself give the same
    bytes (and the engine, tested in test_model_differential.py, matches both)."""
    data = path.read_bytes()
    assert needs_rewrite(data)
    tflm = Reference(tflm_equivalent(data))
    tfl = TfLiteRef(data)
    eng = Engine(data)
    rng = np.random.default_rng(2)
    for _ in range(30):
        x = _inputs(eng, rng)
        want = tfl.invoke(*x)
        assert all(np.array_equal(a, b) for a, b in zip(tflm.invoke(*x), want, strict=True))
        assert all(np.array_equal(a, b) for a, b in zip(eng.invoke(*x), want, strict=True))


def _space_to_batch(x: np.ndarray, block: list[int], pads: list[list[int]], zp: int) -> np.ndarray:
    """The math: pad with the zero point, then move block positions into the batch."""
    (bh, bw), ((pt, pb), (pl, pr)) = block, pads
    p = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=zp)
    n, h, w, c = p.shape
    p = p.reshape(n, h // bh, bh, w // bw, bw, c).transpose(2, 4, 0, 1, 3, 5)
    return p.reshape(n * bh * bw, h // bh, w // bw, c)


def test_space_to_batch_pads_with_the_zero_point() -> None:
    data = PADDED.read_bytes()
    m = parse(data)
    (op,) = m.operators
    block = m.tensors[op.inputs[1]].numpy().tolist()
    pads = m.tensors[op.inputs[2]].numpy().tolist()
    assert block == [2, 3] and pads == [[1, 2], [2, 1]]
    eng = Engine(data)
    zp = eng.outputs[0].zero_point
    assert eng.inputs[0].zero_point == zp
    # where the output comes from padding: the same positions in the math's layout
    index = np.arange(1, 1 + int(np.prod(eng.inputs[0].shape))).reshape(eng.inputs[0].shape)
    padded = _space_to_batch(index, block, pads, 0) == 0
    assert padded.any() and not padded.all()
    tflm_file = Reference(data)  # defined where no padding is involved
    tflm = Reference(tflm_equivalent(data))
    rng = np.random.default_rng(3)
    for _ in range(100):
        (x,) = _inputs(eng, rng)
        (got,) = eng.invoke(x)
        want = _space_to_batch(x, block, pads, zp)
        assert np.array_equal(got, want)
        assert np.all(got[padded] == zp)
        assert np.array_equal(got, tflm.invoke(x)[0])
        assert np.array_equal(got[~padded], tflm_file.invoke(x)[0][~padded])


# ---- what the engine refuses, instead of guessing ------------------------------------


def _edit(data: bytes, change: Any) -> bytes:
    m = fb.ModelT.InitFromPackedBuf(bytearray(data), 0)
    change(m.subgraphs[0], m)
    b = flatbuffers.Builder(4096)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_model_output_keeps_the_files_shape() -> None:
    """A model output's shape is part of its contract: a computed one that differs from
    the file is an error, not a silently different output."""

    def placeholder_batch(sg: Any, _m: Any) -> None:
        out = sg.tensors[sg.outputs[0]]
        out.shape = np.array([1, *out.shape[1:]], np.int32)

    with pytest.raises(EngineError) as err:
        Engine(_edit(PADDED.read_bytes(), placeholder_batch))
    assert err.value.name == "BAD_SHAPE" and err.value.op_index == 0


def test_reshape_that_cannot_hold_the_computed_batch_is_bad_shape() -> None:
    def bad_reshape(sg: Any, m: Any) -> None:
        # the RESHAPE after the CONV_2D, whose input holds the computed batch of 2
        for op in reversed(sg.operators):
            code = m.operatorCodes[op.opcodeIndex]
            if max(code.builtinCode, code.deprecatedBuiltinCode) == fb.BuiltinOperator.RESHAPE:
                shape = sg.tensors[op.inputs[1]]
                values = np.frombuffer(bytes(m.buffers[shape.buffer].data), "<i4").copy()
                if values[0] == -1:
                    values[1] -= 1  # 48 elements do not fill [-1, 5, 4]
                    m.buffers[shape.buffer].data = np.frombuffer(values.tobytes(), np.uint8)
                    return
        raise AssertionError("no RESHAPE with a -1 batch")

    data = AFTER_POOL.read_bytes()
    with pytest.raises(EngineError) as err:
        Engine(_edit(data, bad_reshape))
    assert err.value.name == "BAD_SHAPE"
    assert err.value.op_name == "RESHAPE"
