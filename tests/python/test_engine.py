"""The engine's Python binding and bit-exactness against TFLite Micro, beyond random inputs.

`test_model_differential.py` runs every generated model on random and edge inputs. This
file adds what random inputs rarely reach: every int8 value in every input position
(constant and ramp inputs: all 256 entries of the LOGISTIC/TANH tables, clamp and
saturation paths), float inputs on quantization ties and far outside the range, many
more cases for the two benchmark models, and the binding's own contract.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from theraloop import engine
from theraloop.model.tflite_file import parse
from theraloop.model.tflm_equivalent import tflm_equivalent
from theraloop.tflite_reference import Reference

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = json.loads((ROOT / "tests/models/manifest.json").read_text())
INT8_MODELS = [ROOT / "tests/models" / e["file"] for e in MANIFEST["models"] if e["kind"] == "int8"]
BENCH = sorted((ROOT / "models/bench").glob("*.tflite"))


def _assert_same(ours: list[np.ndarray], theirs: list[np.ndarray], what: str) -> None:
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        b = np.asarray(b).reshape(a.shape)
        if not np.array_equal(a, b.astype(a.dtype)):
            bad = np.argwhere(a != b)[:5].tolist()
            pytest.fail(
                f"{what}: output {k} differs at {bad}: ours {a.ravel()[:8]}, "
                f"reference {b.ravel()[:8]}"
            )


def _sweep_inputs(info: engine.TensorInfo, rng: np.random.Generator) -> list[np.ndarray]:
    """All 256 int8 values as constant tensors, and ramps placing every value everywhere."""
    n = int(np.prod(info.shape))
    cases = [np.full(info.shape, v, dtype=np.int8) for v in range(-128, 128)]
    base = np.arange(n, dtype=np.int64)
    for shift in range(0, 256, 17):
        cases.append((((base + shift) % 256) - 128).astype(np.int8).reshape(info.shape))
    cases.append(
        rng.permutation(np.resize(np.arange(-128, 128), n)).astype(np.int8).reshape(info.shape)
    )
    return cases


@pytest.mark.parametrize("path", INT8_MODELS, ids=[p.stem for p in INT8_MODELS])
def test_every_int8_value_is_bit_exact(path: Path) -> None:
    data = path.read_bytes()
    eng = engine.Engine(data)
    ref = Reference(tflm_equivalent(data))  # see test_model_differential.py
    rng = np.random.default_rng(zlib.crc32(path.name.encode()))
    if any(t.dtype != np.int8 for t in eng.inputs):
        pytest.skip("float inputs: covered by test_float_inputs_on_ties")
    # sweep each input in turn, the others random
    for i, info in enumerate(eng.inputs):
        for case in _sweep_inputs(info, rng):
            ins = [
                case if k == i else rng.integers(-128, 128, t.shape, dtype=np.int8)
                for k, t in enumerate(eng.inputs)
            ]
            _assert_same(eng.invoke(*ins), ref.invoke(*ins), f"{path.stem} input {i}")


@pytest.mark.parametrize("path", BENCH, ids=[p.stem for p in BENCH])
def test_benchmark_models_many_inputs(path: Path) -> None:
    data = path.read_bytes()
    eng = engine.Engine(data)
    ref = Reference(data)
    rng = np.random.default_rng(7)
    info = eng.inputs[0]
    for k in range(1000):
        if k % 3 == 0:  # realistic signals: low-amplitude noise around the zero point
            x = np.clip(rng.normal(info.zero_point, 20, info.shape), -128, 127).astype(np.int8)
        else:
            x = rng.integers(-128, 128, info.shape, dtype=np.int8)
        _assert_same(eng.invoke(x), ref.invoke(x), f"{path.stem} case {k}")


FLOAT_MODELS = [p for p in INT8_MODELS if p.stem.startswith("float_")]


def _quantize_scale(data: bytes, tensor: int) -> float:
    """Scale of the QUANTIZE op that reads model input ``tensor``."""
    m = parse(data)
    for op in m.operators:
        if op.op == "QUANTIZE" and op.inputs[0] == tensor:
            return float(m.tensors[op.outputs[0]].quantization.scale)
    raise AssertionError("no QUANTIZE on this input")


@pytest.mark.parametrize("path", FLOAT_MODELS, ids=[p.stem for p in FLOAT_MODELS])
def test_float_inputs_on_ties(path: Path) -> None:
    """QUANTIZE float->int8 on exact half steps (round half away from zero), beyond the
    int8 range, signed zeros and tiny values."""
    data = path.read_bytes()
    eng = engine.Engine(data)
    ref = Reference(data)
    model = parse(data)
    rng = np.random.default_rng(3)
    for i, info in enumerate(eng.inputs):
        if info.dtype != np.float32:
            continue
        n = int(np.prod(info.shape))
        s = np.float32(_quantize_scale(data, model.inputs[i]))
        ties = ((rng.integers(-300, 300, n) + 0.5).astype(np.float32) * s).astype(np.float32)
        assert np.sum(ties / s == np.round(ties / s * 2) / 2) > 0
        specials = np.array([0.0, -0.0, 1e-30, -1e-30, 1e6, -1e6], np.float32) * s
        cases = [
            ties,
            -ties,
            (rng.integers(-300, 300, n) * s).astype(np.float32),
            rng.normal(0, 100 * s, n).astype(np.float32),
            np.resize(specials, n),
        ]
        for case in cases:
            ins = []
            for k, t in enumerate(eng.inputs):
                if k == i:
                    ins.append(case.reshape(t.shape))
                elif t.dtype == np.float32:
                    ins.append(rng.normal(0, 1, t.shape).astype(np.float32))
                else:
                    ins.append(rng.integers(-128, 128, t.shape, dtype=np.int8))
            _assert_same(eng.invoke(*ins), ref.invoke(*ins), f"{path.stem} input {i}")


@pytest.mark.parametrize("path", FLOAT_MODELS[:1], ids=[p.stem for p in FLOAT_MODELS[:1]])
def test_float_inputs_beyond_int32_saturate(path: Path) -> None:
    """Inputs whose quantized value exceeds int32 saturate (+huge -> 127, -huge -> -128),
    as TFLM does on ARM. The x86 build of TFLM (the PyPI reference) turns them into -128
    through an out-of-range float->int conversion, so this is checked on its own."""
    data = path.read_bytes()
    eng = engine.Engine(data)
    model = parse(data)
    info = eng.inputs[0]
    s = _quantize_scale(data, model.inputs[0])
    big = np.full(info.shape, np.float32(1e12 * s), np.float32)
    small = np.full(info.shape, np.float32(1000 * s), np.float32)  # already clamped to 127
    assert np.array_equal(eng.invoke(big)[0], eng.invoke(small)[0])
    assert np.array_equal(eng.invoke(-big)[0], eng.invoke(-small)[0])


def test_binding_contract() -> None:
    data = BENCH[0].read_bytes() if BENCH else INT8_MODELS[0].read_bytes()
    eng = engine.Engine(data)
    assert eng.arena_bytes == engine.Engine.arena_required(data) > 0
    assert eng.macs > 0
    assert all(isinstance(n, str) and n for n in eng.op_names)
    info = eng.inputs[0]
    assert isinstance(info, engine.TensorInfo)
    assert info.dtype == np.int8 and info.scale > 0 and -128 <= info.zero_point <= 127
    x = np.zeros(info.shape, np.int8)
    first = eng.invoke(x)
    kept = first[0].copy()
    first[0][...] = 42  # results are copies: changing them changes nothing inside
    assert np.array_equal(eng.invoke(x)[0], kept)
    # a squeezed/expanded view of the same data is accepted
    eng.invoke(x.reshape(-1))
    with pytest.raises(engine.EngineError) as e:
        eng.invoke(x.astype(np.int16))
    assert e.value.name == "CONTRACT_MISMATCH"
    with pytest.raises(engine.EngineError) as e:
        eng.invoke(np.zeros((info.shape[0], info.shape[-1] + 1), np.int8))
    assert e.value.name == "CONTRACT_MISMATCH"
    with pytest.raises(engine.EngineError) as e:
        eng.invoke(x, x)
    assert e.value.name == "CONTRACT_MISMATCH" and "input" in str(e.value)


def test_bigger_arena_same_results() -> None:
    data = BENCH[-1].read_bytes() if BENCH else INT8_MODELS[0].read_bytes()
    exact = engine.Engine(data)
    roomy = engine.Engine(data, arena_size=exact.arena_bytes + 4096)
    assert roomy.arena_bytes == exact.arena_bytes  # reports the need, not the size given
    rng = np.random.default_rng(1)
    for _ in range(20):
        x = rng.integers(-128, 128, exact.inputs[0].shape, dtype=np.int8)
        _assert_same(exact.invoke(x), roomy.invoke(x), "arena size")


def test_host_build_is_portable_path() -> None:
    assert engine.uses_dsp() is False
    assert engine.status_name(16) == "ARENA_TOO_SMALL"
    assert engine.builtin_name(3) == "CONV_2D" and engine.builtin_name(9999) == "BUILTIN_9999"
