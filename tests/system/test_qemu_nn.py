"""The inference engine inside the emulated Cortex-M4, bit-exact with tflite-micro.

A representative subset of the generated test models (every operator at least once, the
MAC kernels in several shapes) and both benchmark models run through the nn SMP group on
the firmware with the Cortex-M4 DSP kernels and on the one with the portable C kernels:
edge patterns and 20 random inputs each, every output element equal to what the
tflite-micro interpreter computes. Then the ways a model can be wrong, on the device:
each gives the engine's specific error, and the device keeps answering and keeps
running the model it ran before. One QEMU per firmware variant.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flatbuffers
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from theraloop import engine as host_engine
from theraloop.device import Device
from theraloop.errors import DeviceError
from theraloop.mgmt import NN_GROUP_ID, NnErr, NnInvokeWrite
from theraloop.model.device_engine import DeviceEngine, DeviceEngineError
from theraloop.model.tflite_file import parse
from theraloop.model.verify import Case, edge_cases, random_cases
from theraloop.sim.qemu import QemuRunner
from theraloop.tflite_reference import Reference, io_tensor

pytestmark = pytest.mark.qemu

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "tests/models"
BENCH = ROOT / "models/bench"
PORTABLE_ELF = "theraloop_portable.elf"
RANDOM_CASES = 20

# At least one model per operator (checked below) and the parameter combinations the
# MAC kernels branch on: stride, dilation, SAME/VALID, 1x1, odd channel counts, depth
# multipliers, per-tensor and per-channel weights, rank-3 dense.
SUBSET = [
    "conv1d_k3_d2_same_relu6",
    "conv2d_k3_s2_valid_relu6",
    "conv2d_k1_odd_channels",
    "conv2d_k5x2_s2x1_same",
    "conv2d_per_tensor_relu",
    "dwconv2d_m2_s2_valid",
    "dwconv2d_m1_d2_same_nobias_relu6",
    "sepconv1d_k5_same_relu",
    "dense_per_tensor",
    "dense_wide_odd",
    "dense_rank3",
    "maxpool2d_k3_s1_same",
    "pool1d_max_avg",
    "avgpool2d_k3_s2_same",
    "global_avgpool2d",
    "mean_axes",
    "softmax_2d",
    "sigmoid",
    "tanh",
    "leaky_relu",
    "relu_relu6_standalone",
    "add_broadcast",
    "mul_broadcast_se",
    "batchnorm_standalone",
    "concat_channels",
    "concat_requantize",
    "zero_padding",
    "cropping",
    "stack",
    "shape_dynamic_batch",
    "expand_squeeze",
    "space_batch_nd",
    "float_io",
    "float_output",
    "two_inputs_two_outputs",
]
BENCH_MODELS = ["conv1d_classifier", "mlp_16_32_16_3"]
# The kernels TL_NN_PORTABLE changes: dot products (CONV_2D, DEPTHWISE_CONV_2D,
# FULLY_CONNECTED) and MAX_POOL_2D. The portable firmware runs the models made of them
# (everything else is compiled identically in both firmware images).
KERNEL_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D"}
_KERNEL_MODEL_OPS = KERNEL_OPS | {"RESHAPE", "AVERAGE_POOL_2D"}


def _manifest() -> dict[str, Any]:
    return json.loads((MODELS / "manifest.json").read_text())


def _model_path(name: str) -> Path:
    if name in BENCH_MODELS:
        return BENCH / f"{name}.tflite"
    for entry in _manifest()["models"]:
        if entry["name"] == name:
            return MODELS / entry["file"]
    raise KeyError(name)


def _ops(name: str) -> set[str]:
    return {op.op for op in parse(_model_path(name).read_bytes()).operators}


def _variant_models(variant: str) -> list[str]:
    names = SUBSET + BENCH_MODELS
    if variant == "portable":
        names = [n for n in names if n in BENCH_MODELS or _ops(n) <= _KERNEL_MODEL_OPS]
    return names


def test_subset_covers_every_operator():
    required = {f for f in _manifest()["required"] if ":" not in f}
    covered = set().union(*(_ops(n) for n in SUBSET))
    assert required <= covered, sorted(required - covered)
    portable = set().union(*(_ops(n) for n in _variant_models("portable")))
    assert portable >= KERNEL_OPS


# --- the device --------------------------------------------------------------------------


@dataclass
class NnDevice:
    variant: str
    runner: QemuRunner
    device: Device
    engine: DeviceEngine


def _elf(firmware_elf: Path, variant: str) -> Path:
    if variant == "dsp":
        return firmware_elf
    elf = Path(os.environ.get("THERALOOP_PORTABLE_ELF", firmware_elf.with_name(PORTABLE_ELF)))
    if not elf.is_file():
        pytest.fail(f"{elf} not found: the firmware build makes it (make firmware)", False)
    return elf


def _boot(elf: Path, variant: str) -> Iterator[NnDevice]:
    runner = QemuRunner(elf)
    runner.start()
    try:
        dev = Device(runner.cli_url, timeout=10.0)
        try:
            dev.wait_ready(10.0)
            dev.disconnect()
            dev.open()  # reads the SMP buffer size: uploads fill it
            yield NnDevice(variant, runner, dev, DeviceEngine(dev))
        finally:
            dev.close()
        runner.check_running()
    finally:
        runner.stop()


@pytest.fixture(scope="module")
def nn(firmware_elf: Path) -> Iterator[NnDevice]:
    """The firmware with the Cortex-M4 DSP kernels (the default build)."""
    yield from _boot(firmware_elf, "dsp")


@pytest.fixture(scope="module")
def nn_portable(firmware_elf: Path) -> Iterator[NnDevice]:
    """The same firmware built with the engine's portable C kernels."""
    yield from _boot(_elf(firmware_elf, "portable"), "portable")


def _unpadded_space_batch(m: Any) -> None:
    """space_batch_nd without SPACE_TO_BATCH_ND's padding. TFLM never initialises the pad
    value (docs/engine.md, "Where TFLM's own behaviour is undefined"): padded positions
    hold whatever its arena memory held, which differs from run to run even in a fresh
    process, so only the unpadded model has a reference. Shapes follow: [1,10,10,3] ->
    s2b [4,5,5,3] -> max-pool 3x3 valid [4,3,3,3] -> b2s with crops [[0,1],[1,0]]
    [1,5,5,3]."""
    sg = m.subgraphs[0]
    s2b, pool, b2s = sg.operators
    m.buffers[sg.tensors[s2b.inputs[2]].buffer].data = np.zeros(16, dtype=np.uint8)
    for t, shape in ((s2b.outputs[0], [4, 5, 5, 3]), (pool.outputs[0], [4, 3, 3, 3])):
        sg.tensors[t].shape = np.array(shape, dtype=np.int32)
    sg.tensors[b2s.outputs[0]].shape = np.array([1, 5, 5, 3], dtype=np.int32)


def _model_data(name: str) -> bytes:
    if name == "space_batch_nd":
        return _edit(_model_path(name), _unpadded_space_batch)
    return _model_path(name).read_bytes()


def _cases(name: str, seed: int) -> tuple[bytes, list[Case], list[list[np.ndarray]]]:
    data = _model_data(name)
    model = parse(data)
    ins = [io_tensor(model, i, t) for i, t in enumerate(model.input_tensors)]
    rng = np.random.default_rng(seed)
    cases = edge_cases(model, ins) + random_cases(model, ins, RANDOM_CASES, rng)
    reference = Reference(data).run(c.inputs for c in cases)
    return data, cases, reference


def _assert_same(got: list[np.ndarray], want: list[np.ndarray], what: str) -> None:
    assert len(got) == len(want), what
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g.dtype == w.dtype and g.shape == w.shape, (what, k, g.dtype, g.shape, w.shape)
        if g.dtype.kind == "f":  # bit patterns: -0.0 and NaN payloads count
            assert np.array_equal(g.view(np.uint32), w.view(np.uint32)), (what, k, g, w)
        else:
            assert np.array_equal(g, w), (what, k, g, w)


# --- bit-exact on the device ---------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["nn", "nn_portable"])
def test_kernel_path_of_each_firmware(request: pytest.FixtureRequest, fixture: str):
    dev: NnDevice = request.getfixturevalue(fixture)
    state = dev.engine.state()
    assert state.dsp is (dev.variant == "dsp")
    assert state.slot_bytes >= 16 * 1024 and state.arena_bytes >= 8 * 1024


def _check_bit_exact(dev: NnDevice, name: str) -> None:
    data, cases, reference = _cases(name, seed=sum(map(ord, name)))
    loaded = dev.engine.load_model(data)
    assert loaded.arena_bytes == host_engine.Engine.arena_required(data)  # same on host
    for c, (case, want) in enumerate(zip(cases, reference, strict=True)):
        got = dev.engine.invoke(*case.inputs)
        _assert_same(got, want, f"{name} case {c} ({case.kind}) on {dev.variant}")


@pytest.mark.parametrize("name", _variant_models("dsp"))
def test_bit_exact_with_tflite_micro(nn: NnDevice, name: str):
    _check_bit_exact(nn, name)


@pytest.mark.parametrize("name", _variant_models("portable"))
def test_bit_exact_with_tflite_micro_portable_kernels(nn_portable: NnDevice, name: str):
    _check_bit_exact(nn_portable, name)


# --- the ways a model can be wrong ----------------------------------------------------------

MLP = BENCH / "mlp_16_32_16_3.tflite"
CONV1D = BENCH / "conv1d_classifier.tflite"


def _edit(path: Path, change: Any) -> bytes:
    m = fb.ModelT.InitFromPackedBuf(path.read_bytes(), 0)
    change(m)
    b = flatbuffers.Builder(4096)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _unsupported_op(m: Any) -> None:
    m.operatorCodes[0].builtinCode = fb.BuiltinOperator.TRANSPOSE
    m.operatorCodes[0].deprecatedBuiltinCode = fb.BuiltinOperator.TRANSPOSE


def _large_activations(m: Any) -> None:
    """softmax_3d ([1,6,5] * scalar -> softmax) with [1,60,200] activations: a small
    file whose arena (about 24 KB) exceeds the device's."""
    sg = m.subgraphs[0]
    for t in sg.tensors:
        if len(t.shape) == 3:
            t.shape = np.array([1, 60, 200], dtype=np.int32)


@pytest.fixture
def running(nn: NnDevice) -> Iterator[tuple[list[np.ndarray], list[np.ndarray]]]:
    """The conv1d model loaded and checked on one input; yields (input, reference).
    The error paths do not depend on the kernels: they are checked on the DSP firmware."""
    data = CONV1D.read_bytes()
    x = [np.random.default_rng(42).integers(-128, 128, (1, 256, 1)).astype(np.int8)]
    want = Reference(data).invoke(*x)
    nn.engine.load_model(data)
    _assert_same(nn.engine.invoke(*x), want, "before")
    yield x, want
    # whatever the test did, the device answers and still runs the model
    assert nn.device.info().board == "stm32f4"
    _assert_same(nn.engine.invoke(*x), want, "after")
    state = nn.engine.state()
    assert state.model is not None and state.model.sha256 == nn.engine.model.sha256


def _refused(nn: NnDevice, data: bytes, **kw: Any) -> DeviceEngineError:
    with pytest.raises(DeviceEngineError) as e:
        nn.engine.load_model(data, **kw)
    assert str(e.value)  # readable
    return e.value


def test_truncated_model(nn: NnDevice, running):
    data = MLP.read_bytes()
    err = _refused(nn, data[: len(data) * 3 // 5])
    assert err.status in ("TRUNCATED", "MALFORMED")
    assert nn.engine.state().last_error.name == err.status


def test_wrong_identifier(nn: NnDevice, running):
    data = bytearray(MLP.read_bytes())
    data[4:8] = b"TFL2"
    assert _refused(nn, bytes(data)).status == "BAD_IDENTIFIER"


def test_float_model(nn: NnDevice, running):
    err = _refused(nn, (MODELS / "unsupported/float_dense.tflite").read_bytes())
    assert err.status == "UNSUPPORTED_TYPE"
    assert err.op_index == 0 and err.op_name == "FULLY_CONNECTED"


def test_unsupported_op(nn: NnDevice, running):
    err = _refused(nn, _edit(MLP, _unsupported_op))
    assert err.status == "UNSUPPORTED_OP"
    assert err.op_index == 0 and err.op_name == "TRANSPOSE"


def test_model_bigger_than_the_slot(nn: NnDevice, running):
    slot = nn.engine.state().slot_bytes
    data = MLP.read_bytes() + bytes(slot + 1 - len(MLP.read_bytes()))
    with pytest.raises(DeviceError) as e:
        nn.engine.upload(data)
    assert e.value.group == NN_GROUP_ID and e.value.rc == NnErr.TOO_LARGE
    nn.engine.upload(data[:slot])  # exactly a slot is accepted


def test_arena_too_small(nn: NnDevice, running):
    big = _edit(MODELS / "int8/softmax_3d.tflite", _large_activations)
    need = host_engine.Engine.arena_required(big)
    assert need > nn.engine.state().arena_bytes
    err = _refused(nn, big)
    assert err.status == "ARENA_TOO_SMALL"
    assert err.arena_required == need  # the device computes what the host computes


def test_arena_size_is_exact_on_the_device(nn: NnDevice, running):
    """A model loads with exactly the arena the engine reports, not one byte less."""
    data = (MODELS / "int8/two_inputs_two_outputs.tflite").read_bytes()
    need = host_engine.Engine.arena_required(data)
    err = _refused(nn, data, arena=need - 1)
    assert err.status == "ARENA_TOO_SMALL" and err.arena_required == need
    assert nn.engine.load(arena=need).arena_limit == need  # the upload is still there
    _, cases, reference = _cases("two_inputs_two_outputs", seed=1)
    for case, want in zip(cases, reference, strict=True):
        _assert_same(nn.engine.invoke(*case.inputs), want, case.kind)
    nn.engine.load_model(CONV1D.read_bytes())  # back to what `running` checks


def test_invoke_with_wrong_inputs(nn: NnDevice, running):
    for inputs in ([b"1"], [bytes(256), bytes(256)], []):
        with pytest.raises(DeviceError) as e:
            nn.device.request(NnInvokeWrite(inputs=inputs))
        assert e.value.group == NN_GROUP_ID and e.value.rc == NnErr.IO_MISMATCH
