#!/usr/bin/env python3
"""Generate the int8 test models of the inference engine's differential tests.

Each model is a small Keras model converted to a full-integer int8 ``.tflite`` file
(TFLite int8 quantization spec: int8 activations and weights, int32 bias) with a
representative dataset. Together they cover every op and parameter combination the
engine supports (see ``coverage.REQUIRED``); the generator fails, listing what is
missing, when a required feature has no model.

Regenerate (needs TensorFlow; not run in CI, which only checks the manifest hashes):

    .venv/bin/python tests/models/generate.py            # all models + manifest.json
    .venv/bin/python tests/models/generate.py --only conv2d_k3_s1_same_relu
    .venv/bin/python tests/models/generate.py --list     # names and descriptions

Everything is seeded from the model's name, so a model's bytes change only when its
definition, the TensorFlow version or the converter changes.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import struct
import sys
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
warnings.filterwarnings("ignore", category=UserWarning, module=r"tensorflow\.lite\..*")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "host_tools"))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from coverage import REQUIRED, features, uncovered  # noqa: E402

from theraloop.model.tflite_file import parse  # noqa: E402

MANIFEST = HERE / "manifest.json"
REPRESENTATIVE_SAMPLES = 64


@dataclass
class Built:
    """What a model builder returns."""

    model: Any  # keras.Model
    params: dict[str, Any]
    # Converter settings (defaults: full-integer int8 in and out).
    input_type: str = "int8"
    output_type: str = "int8"
    per_tensor_dense: bool = False
    per_tensor_all: bool = False
    # Optional custom representative data: one list of arrays (one per input) per sample.
    data: list[Any] | None = None
    # Rewrite an all-zero CONV_2D bias as an omitted (-1) input; see omit_zero_bias.
    omit_zero_bias: bool = False


@dataclass
class Spec:
    name: str
    description: str
    build: Callable[[], Built]
    kind: str = "int8"  # "int8" (must be supported) or "unsupported" (float / hybrid)
    extra: dict[str, Any] = field(default_factory=dict)


SPECS: list[Spec] = []


def spec(name: str, description: str, kind: str = "int8") -> Callable[[Callable[[], Built]], Any]:
    def register(fn: Callable[[], Built]) -> Callable[[], Built]:
        SPECS.append(Spec(name, description, fn, kind))
        return fn

    return register


# --------------------------------------------------------------------------------------
# Helpers (imported lazily: TensorFlow takes seconds to import)

tf: Any = None
keras: Any = None
L: Any = None


def _import_tf() -> None:
    global tf, keras, L
    import keras as _keras
    import tensorflow as _tf

    tf, keras, L = _tf, _keras, _keras.layers
    tf.get_logger().setLevel("ERROR")


def seed_of(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def inp(shape: tuple[int, ...], name: str = "x", batch: int | None = 1) -> Any:
    return keras.Input(shape, batch_size=batch, name=name)


def op_layer(fn: Callable[..., Any], name: str, output_shape: Any = None) -> Any:
    """A Keras layer running raw TensorFlow ops (for ops no Keras layer emits)."""
    return L.Lambda(fn, name=name, output_shape=output_shape)


def randomize(model: Any, rng: np.random.Generator) -> None:
    """Give every weight a non-trivial value (Keras initializes biases to zero)."""
    for w in model.weights:
        path = w.path
        shape = tuple(w.shape)
        if path.endswith(("kernel", "depthwise_kernel", "pointwise_kernel")):
            fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
            val = rng.normal(0.0, 1.0 / np.sqrt(max(fan_in, 1)), shape)
        elif path.endswith("bias"):
            val = rng.normal(0.0, 0.3, shape)
        elif path.endswith("gamma"):
            val = rng.uniform(0.5, 1.5, shape)
        elif path.endswith(("beta", "moving_mean")):
            val = rng.normal(0.0, 0.3, shape)
        elif path.endswith("moving_variance"):
            val = rng.uniform(0.5, 2.0, shape)
        else:
            continue
        w.assign(val.astype(np.float32))


def representative(model: Any, rng: np.random.Generator) -> list[Any]:
    """Random and structured (sinusoid) inputs shaped like the model's inputs.

    One list of arrays per sample; a dict by input name for several inputs (the
    converter orders a signature's inputs by name, not by position).
    """
    samples: list[Any] = []
    for k in range(REPRESENTATIVE_SAMPLES):
        one = []
        for t in model.inputs:
            # Dynamic dimensions: batch 1, other dims 16 (the file records 1).
            shape = tuple((1 if i == 0 else 16) if d is None else d for i, d in enumerate(t.shape))
            if k % 3 == 0:
                n = int(np.prod(shape))
                phase = rng.uniform(0, 2 * np.pi)
                x = np.sin(np.linspace(0, 6 * np.pi, n) + phase) * rng.uniform(0.5, 2.0)
                x = x.reshape(shape)
            elif k % 3 == 1:
                x = rng.normal(0.0, 1.0, shape)
            else:
                x = rng.uniform(-2.0, 2.0, shape)
            one.append(x.astype(np.float32))
        if len(one) > 1:
            samples.append({t.name: a for t, a in zip(model.inputs, one, strict=True)})
        else:
            samples.append(one)
    return samples


def omit_zero_bias(data: bytes) -> bytes:
    """Mark the all-zero bias of every CONV_2D as omitted (-1).

    The converter always materializes a bias, zeros for ``use_bias=False``; files from
    other tools omit it, which TFLM accepts. The op's input index is patched in place,
    so every other byte (and every buffer's alignment) stays as the converter wrote it.
    """
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    buf = bytearray(data)
    model = fb.Model.GetRootAs(buf, 0)
    sg = model.Subgraphs(0)
    patched = 0
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin != fb.BuiltinOperator.CONV_2D or op.InputsLength() < 3 or op.Inputs(2) < 0:
            continue
        bias = sg.Tensors(op.Inputs(2))
        if model.Buffers(bias.Buffer()).DataAsNumpy().any():
            continue
        vec = op._tab.Vector(op._tab.Offset(6))  # Operator.inputs is field 1 (vtable slot 6)
        struct.pack_into("<i", buf, vec + 2 * 4, -1)
        patched += 1
    if patched == 0:
        raise RuntimeError("omit_zero_bias: no all-zero conv bias found")
    return bytes(buf)


def convert(spec_: Spec, built: Built, rng: np.random.Generator) -> bytes:
    with contextlib.redirect_stdout(io.StringIO()):  # Keras prints the exported signature
        out = _convert(spec_, built, rng)
    return omit_zero_bias(out) if built.omit_zero_bias else out


def _convert(spec_: Spec, built: Built, rng: np.random.Generator) -> bytes:
    conv = tf.lite.TFLiteConverter.from_keras_model(built.model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if spec_.kind == "unsupported":
        if built.params.get("variant") == "hybrid":
            # Dynamic-range quantization: int8 weights, float activations.
            return bytes(conv.convert())
        conv.optimizations = []
        return bytes(conv.convert())
    data = built.data if built.data is not None else representative(built.model, rng)

    def gen() -> Iterator[Any]:
        yield from data

    conv.representative_dataset = gen
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    types = {"int8": tf.int8, "float32": tf.float32}
    conv.inference_input_type = types[built.input_type]
    conv.inference_output_type = types[built.output_type]
    if built.per_tensor_dense:
        conv._experimental_disable_per_channel_quantization_for_dense_layers = True
    if built.per_tensor_all:
        conv._experimental_disable_per_channel = True
    return bytes(conv.convert())


# --------------------------------------------------------------------------------------
# Convolutions


def _conv1d(shape: tuple[int, int], **kw: Any) -> Built:
    x = inp(shape)
    y = L.Conv1D(**kw)(x)
    return Built(keras.Model(x, y), {"layer": "Conv1D", "input": list(shape), **kw})


@spec("conv1d_k3_s1_same_relu", "Conv1D 5 filters k3 stride 1 same, relu")
def _() -> Built:
    return _conv1d((32, 3), filters=5, kernel_size=3, padding="same", activation="relu")


@spec("conv1d_k5_s2_valid_nobias", "Conv1D 4 filters k5 stride 2 valid, no bias")
def _() -> Built:
    return _conv1d((33, 2), filters=4, kernel_size=5, strides=2, padding="valid", use_bias=False)


@spec("conv1d_k3_d2_same_relu6", "Conv1D 6 filters k3 dilation 2 same, relu6")
def _() -> Built:
    return _conv1d(
        (30, 3), filters=6, kernel_size=3, dilation_rate=2, padding="same", activation="relu6"
    )


@spec("conv1d_k4_d3_valid", "Conv1D 3 filters k4 dilation 3 valid")
def _() -> Built:
    return _conv1d((31, 1), filters=3, kernel_size=4, dilation_rate=3, padding="valid")


@spec("conv1d_k4_s2_same_even", "Conv1D 7 filters k4 stride 2 same (asymmetric padding)")
def _() -> Built:
    return _conv1d((32, 5), filters=7, kernel_size=4, strides=2, padding="same")


def _conv2d(shape: tuple[int, int, int], **kw: Any) -> Built:
    x = inp(shape)
    y = L.Conv2D(**kw)(x)
    return Built(keras.Model(x, y), {"layer": "Conv2D", "input": list(shape), **kw})


@spec("conv2d_k3_s1_same_relu", "Conv2D 8 filters 3x3 stride 1 same, relu")
def _() -> Built:
    return _conv2d((9, 9, 3), filters=8, kernel_size=3, padding="same", activation="relu")


@spec("conv2d_k3_s2_valid_relu6", "Conv2D 5 filters 3x3 stride 2 valid, relu6")
def _() -> Built:
    return _conv2d(
        (11, 11, 4), filters=5, kernel_size=3, strides=2, padding="valid", activation="relu6"
    )


@spec("conv2d_k3_s2_same_nobias", "Conv2D 6 filters 3x3 stride 2 same, no bias (omitted input)")
def _() -> Built:
    b = _conv2d((10, 10, 2), filters=6, kernel_size=3, strides=2, padding="same", use_bias=False)
    b.omit_zero_bias = True
    return b


@spec("conv2d_k3_d2_same", "Conv2D 4 filters 3x3 dilation 2 same")
def _() -> Built:
    return _conv2d((12, 12, 3), filters=4, kernel_size=3, dilation_rate=2, padding="same")


@spec("conv2d_k3_d2_valid_relu", "Conv2D 3 filters 3x3 dilation 2 valid, relu")
def _() -> Built:
    return _conv2d(
        (11, 9, 2), filters=3, kernel_size=3, dilation_rate=2, padding="valid", activation="relu"
    )


@spec("conv2d_k1_odd_channels", "Conv2D 1x1, 13 input channels, 7 filters")
def _() -> Built:
    return _conv2d((6, 6, 13), filters=7, kernel_size=1)


@spec("conv2d_k5x2_s2x1_same", "Conv2D 9 filters 5x2 stride (2,1) same")
def _() -> Built:
    return _conv2d((13, 8, 3), filters=9, kernel_size=(5, 2), strides=(2, 1), padding="same")


@spec("conv2d_per_tensor_relu", "Conv2D 6 filters 3x3 same, relu, per-tensor weights")
def _() -> Built:
    b = _conv2d((8, 8, 3), filters=6, kernel_size=3, padding="same", activation="relu")
    b.per_tensor_all = True
    b.params["weights"] = "per-tensor"
    return b


@spec("dwconv2d_m1_same_relu", "DepthwiseConv2D 3x3 multiplier 1 same, relu")
def _() -> Built:
    x = inp((10, 10, 5))
    kw = {"kernel_size": 3, "padding": "same", "activation": "relu"}
    y = L.DepthwiseConv2D(**kw)(x)
    return Built(keras.Model(x, y), {"layer": "DepthwiseConv2D", **kw})


@spec("dwconv2d_m2_s2_valid", "DepthwiseConv2D 3x3 multiplier 2 stride 2 valid")
def _() -> Built:
    x = inp((11, 11, 3))
    kw = {"kernel_size": 3, "strides": 2, "depth_multiplier": 2, "padding": "valid"}
    y = L.DepthwiseConv2D(**kw)(x)
    return Built(keras.Model(x, y), {"layer": "DepthwiseConv2D", **kw})


@spec(
    "dwconv2d_m1_d2_same_nobias_relu6",
    "DepthwiseConv2D 3x3 dilation 2 same, no bias (zeros), relu6",
)
def _() -> Built:
    x = inp((12, 12, 4))
    kw = {
        "kernel_size": 3,
        "dilation_rate": 2,
        "padding": "same",
        "use_bias": False,
        "activation": "relu6",
    }
    y = L.DepthwiseConv2D(**kw)(x)
    # The converter stores a zero bias; an omitted one is not tested: TFLM's depthwise
    # kernel dereferences the bias unconditionally (the tflite-micro interpreter crashes).
    return Built(keras.Model(x, y), {"layer": "DepthwiseConv2D", **kw})


@spec("dwconv2d_m3_k5x3_same", "DepthwiseConv2D 5x3 multiplier 3 stride (1,2) same")
def _() -> Built:
    x = inp((9, 9, 2))
    kw = {"kernel_size": (5, 3), "strides": (1, 2), "depth_multiplier": 3, "padding": "same"}
    y = L.DepthwiseConv2D(**kw)(x)
    return Built(keras.Model(x, y), {"layer": "DepthwiseConv2D", **kw})


@spec("dwconv1d_m2_k5", "DepthwiseConv1D k5 multiplier 2 valid")
def _() -> Built:
    x = inp((32, 4))
    kw = {"kernel_size": 5, "depth_multiplier": 2, "padding": "valid"}
    y = L.DepthwiseConv1D(**kw)(x)
    return Built(keras.Model(x, y), {"layer": "DepthwiseConv1D", **kw})


@spec("sepconv1d_k5_same_relu", "SeparableConv1D 8 filters k5 same, relu")
def _() -> Built:
    x = inp((32, 4))
    kw = {"filters": 8, "kernel_size": 5, "padding": "same", "activation": "relu"}
    y = L.SeparableConv1D(**kw)(x)
    return Built(keras.Model(x, y), {"layer": "SeparableConv1D", **kw})


@spec("sepconv2d_k3_s2_m2_valid", "SeparableConv2D 6 filters 3x3 stride 2 multiplier 2 valid")
def _() -> Built:
    x = inp((10, 10, 3))
    kw = {
        "filters": 6,
        "kernel_size": 3,
        "strides": 2,
        "depth_multiplier": 2,
        "padding": "valid",
    }
    y = L.SeparableConv2D(**kw)(x)
    return Built(keras.Model(x, y), {"layer": "SeparableConv2D", **kw})


# --------------------------------------------------------------------------------------
# Dilated convolutions with a dynamic batch
#
# A Keras model built on keras.Input(shape) has a dynamic batch. The converter then lowers
# every dilated convolution, in any position, to SPACE_TO_BATCH_ND -> [EXPAND_DIMS] ->
# CONV_2D / DEPTHWISE_CONV_2D -> [RESHAPE] -> BATCH_TO_SPACE_ND (+ ADD for the bias) and
# writes the intermediate tensors with batch 1 although they hold one batch per block
# position. The engine computes those shapes (as TensorFlow Lite does at Prepare); TFLM
# trusts the file and leaves part of the output undefined, so the differential tests
# check these models against TFLM on theraloop.model.tflm_equivalent's rewrite.


def _dyn(shape: tuple[int, ...], *layers: Any) -> Built:
    x = inp(shape, batch=None)
    y = x
    for layer in layers:
        y = layer(y)
    names = [type(layer).__name__ for layer in layers]
    return Built(keras.Model(x, y), {"layer": names, "input": list(shape), "batch": None})


@spec("conv1d_dyn_d2_same_first", "dynamic batch: Conv1D 5 filters k3 dilation 2 same, relu")
def _() -> Built:
    return _dyn((32, 3), L.Conv1D(5, 3, dilation_rate=2, padding="same", activation="relu"))


@spec(
    "conv1d_dyn_d2_same_after_strided",
    "dynamic batch: Conv1D k3 stride 2 same, relu -> Conv1D k3 dilation 2 same",
)
def _() -> Built:
    return _dyn(
        (33, 3),
        L.Conv1D(6, 3, strides=2, padding="same", activation="relu"),
        L.Conv1D(5, 3, dilation_rate=2, padding="same"),
    )


@spec(
    "conv1d_dyn_d3_valid_after_pool",
    "dynamic batch: MaxPooling1D 2 -> Conv1D 4 filters k4 dilation 3 valid, relu6",
)
def _() -> Built:
    return _dyn(
        (34, 2),
        L.MaxPooling1D(2),
        L.Conv1D(4, 4, dilation_rate=3, padding="valid", activation="relu6"),
    )


@spec(
    "conv1d_dyn_causal_tcn",
    "dynamic batch: causal TCN (Conv1D k3 dilations 2, 4, relu) -> global average -> "
    "Dense 3 -> softmax",
)
def _() -> Built:
    return _dyn(
        (40, 2),
        L.Conv1D(6, 3, dilation_rate=2, padding="causal", activation="relu"),
        L.Conv1D(6, 3, dilation_rate=4, padding="causal", activation="relu"),
        L.GlobalAveragePooling1D(),
        L.Dense(3),
        L.Softmax(),
    )


@spec(
    "conv2d_dyn_d2_same_after_pool",
    "dynamic batch: MaxPooling2D 2 -> Conv2D 4 filters 3x3 dilation 2 same, relu",
)
def _() -> Built:
    return _dyn(
        (12, 14, 2),
        L.MaxPooling2D(2),
        L.Conv2D(4, 3, dilation_rate=2, padding="same", activation="relu"),
    )


@spec(
    "conv2d_dyn_d2x1_valid_after_strided",
    "dynamic batch: Conv2D 3x3 stride 2 -> Conv2D 4 filters 3x3 dilation (2,1) valid",
)
def _() -> Built:
    return _dyn(
        (13, 11, 2),
        L.Conv2D(3, 3, strides=2),
        L.Conv2D(4, 3, dilation_rate=(2, 1), padding="valid"),
    )


@spec(
    "dwconv2d_dyn_d2_same_m2",
    "dynamic batch: Conv2D 1x1 -> DepthwiseConv2D 3x3 dilation 2 multiplier 2 same",
)
def _() -> Built:
    return _dyn(
        (10, 9, 2),
        L.Conv2D(3, 1),
        L.DepthwiseConv2D(3, dilation_rate=2, depth_multiplier=2, padding="same"),
    )


@spec("sepconv1d_dyn_d2_same", "dynamic batch: SeparableConv1D 6 filters k3 dilation 2 same, relu")
def _() -> Built:
    return _dyn(
        (30, 4), L.SeparableConv1D(6, 3, dilation_rate=2, padding="same", activation="relu")
    )


# --------------------------------------------------------------------------------------
# Dense


@spec("dense_bias_relu", "Dense 20->12 relu -> 5 (per-channel weights)")
def _() -> Built:
    x = inp((20,))
    y = L.Dense(5)(L.Dense(12, activation="relu")(x))
    return Built(keras.Model(x, y), {"layer": "Dense", "units": [12, 5], "weights": "per-channel"})


@spec("dense_nobias_relu6", "Dense 16->9 no bias, relu6")
def _() -> Built:
    x = inp((16,))
    y = L.Dense(9, use_bias=False, activation="relu6")(x)
    return Built(keras.Model(x, y), {"layer": "Dense", "units": 9, "use_bias": False})


@spec("dense_per_tensor", "Dense 24->10 relu -> 3, per-tensor weights")
def _() -> Built:
    x = inp((24,))
    y = L.Dense(3)(L.Dense(10, activation="relu")(x))
    return Built(
        keras.Model(x, y),
        {"layer": "Dense", "units": [10, 3], "weights": "per-tensor"},
        per_tensor_dense=True,
    )


@spec("dense_rank3", "Dense 10->7 applied to each of 6 rows (rank-3 input)")
def _() -> Built:
    x = inp((6, 10))
    y = L.Dense(7, activation="relu")(x)
    return Built(keras.Model(x, y), {"layer": "Dense", "units": 7, "input": [6, 10]})


@spec("dense_wide_odd", "Dense 37->23 -> 1")
def _() -> Built:
    x = inp((37,))
    y = L.Dense(1)(L.Dense(23)(x))
    return Built(keras.Model(x, y), {"layer": "Dense", "units": [23, 1]})


# --------------------------------------------------------------------------------------
# Pooling, flatten, batch norm


@spec("maxpool2d_k2_s2_valid", "MaxPooling2D 2x2 stride 2 valid")
def _() -> Built:
    x = inp((10, 10, 3))
    y = L.MaxPooling2D(2)(x)
    return Built(keras.Model(x, y), {"layer": "MaxPooling2D", "pool_size": 2, "padding": "valid"})


@spec("maxpool2d_k3_s1_same", "MaxPooling2D 3x3 stride 1 same (after a conv)")
def _() -> Built:
    x = inp((8, 8, 3))
    y = L.MaxPooling2D(3, strides=1, padding="same")(L.Conv2D(4, 1)(x))
    return Built(
        keras.Model(x, y),
        {"layer": "MaxPooling2D", "pool_size": 3, "strides": 1, "padding": "same"},
    )


@spec("avgpool2d_k3_s2_same", "AveragePooling2D 3x3 stride 2 same")
def _() -> Built:
    x = inp((9, 10, 3))
    y = L.AveragePooling2D(3, strides=2, padding="same")(x)
    return Built(
        keras.Model(x, y),
        {"layer": "AveragePooling2D", "pool_size": 3, "strides": 2, "padding": "same"},
    )


@spec("avgpool2d_k2x3_valid", "AveragePooling2D 2x3 stride (1,2) valid")
def _() -> Built:
    x = inp((7, 11, 4))
    y = L.AveragePooling2D((2, 3), strides=(1, 2), padding="valid")(x)
    return Built(
        keras.Model(x, y),
        {"layer": "AveragePooling2D", "pool_size": [2, 3], "strides": [1, 2], "padding": "valid"},
    )


@spec("pool1d_max_avg", "MaxPooling1D 3 stride 2 same -> AveragePooling1D 2 valid")
def _() -> Built:
    x = inp((33, 4))
    y = L.AveragePooling1D(2)(L.MaxPooling1D(3, strides=2, padding="same")(x))
    return Built(keras.Model(x, y), {"layer": ["MaxPooling1D", "AveragePooling1D"]})


@spec("global_avgpool2d", "GlobalAveragePooling2D over 7x7x6")
def _() -> Built:
    x = inp((7, 7, 6))
    y = L.GlobalAveragePooling2D()(x)
    return Built(keras.Model(x, y), {"layer": "GlobalAveragePooling2D"})


@spec("global_avgpool1d_keepdims", "GlobalAveragePooling1D keepdims over 20x5")
def _() -> Built:
    x = inp((20, 5))
    y = L.GlobalAveragePooling1D(keepdims=True)(x)
    return Built(keras.Model(x, y), {"layer": "GlobalAveragePooling1D", "keepdims": True})


@spec("flatten_dense", "Conv2D -> Flatten -> Dense")
def _() -> Built:
    x = inp((6, 6, 2))
    y = L.Dense(4)(L.Flatten()(L.Conv2D(3, 3, activation="relu")(x)))
    return Built(keras.Model(x, y), {"layer": ["Conv2D", "Flatten", "Dense"]})


@spec("batchnorm_folded", "Conv2D (no bias) -> BatchNormalization -> ReLU (folded into conv)")
def _() -> Built:
    x = inp((8, 8, 3))
    y = L.ReLU()(L.BatchNormalization()(L.Conv2D(5, 3, use_bias=False)(x)))
    return Built(keras.Model(x, y), {"layer": ["Conv2D", "BatchNormalization", "ReLU"]})


@spec("batchnorm_standalone", "BatchNormalization on the input (MUL + ADD by constants)")
def _() -> Built:
    x = inp((16, 5))
    y = L.BatchNormalization()(x)
    return Built(keras.Model(x, y), {"layer": "BatchNormalization"})


# --------------------------------------------------------------------------------------
# Element-wise and concatenation


@spec("add_relu", "two Conv1D branches -> Add -> ReLU (fused)")
def _() -> Built:
    x = inp((24, 3))
    a = L.Conv1D(6, 3, padding="same")(x)
    b = L.Conv1D(6, 1)(x)
    y = L.ReLU()(L.Add()([a, b]))
    return Built(keras.Model(x, y), {"layer": ["Add", "ReLU"]})


@spec("add_broadcast", "[1,8,6] + [1,1,6] (broadcast) and + constant")
def _() -> Built:
    x = inp((8, 6))
    s = L.Dense(6)(L.GlobalAveragePooling1D(keepdims=True)(x))
    y = op_layer(lambda t: t[0] + t[1], "add_bcast")([x, s])
    y = op_layer(lambda t: t + tf.constant(np.linspace(-1, 1, 6, dtype=np.float32)), "add_c")(y)
    return Built(keras.Model(x, y), {"layer": "Add", "broadcast": True})


@spec("mul_two_branches", "Dense branches -> Multiply")
def _() -> Built:
    x = inp((12,))
    y = L.Multiply()([L.Dense(8)(x), L.Dense(8, activation="tanh")(x)])
    return Built(keras.Model(x, y), {"layer": "Multiply"})


@spec("mul_broadcast_se", "squeeze-excite: [1,10,8] * sigmoid(dense(mean)) [1,1,8]")
def _() -> Built:
    x = inp((10, 8))
    s = L.GlobalAveragePooling1D(keepdims=True)(x)
    s = L.Dense(8, activation="sigmoid")(L.Dense(4, activation="relu")(s))
    y = L.Multiply()([x, s])
    return Built(keras.Model(x, y), {"layer": "Multiply", "broadcast": True})


@spec("concat_channels", "Concatenate axis -1 of three conv branches")
def _() -> Built:
    x = inp((12, 3))
    a = L.Conv1D(4, 3, padding="same")(x)
    b = L.Conv1D(3, 5, padding="same", activation="relu")(x)
    c = L.Conv1D(2, 1)(x)
    y = L.Concatenate(axis=-1)([a, b, c])
    return Built(keras.Model(x, y), {"layer": "Concatenate", "axis": -1})


@spec("concat_axis1", "Concatenate axis 1 (time) of two branches")
def _() -> Built:
    x = inp((10, 4))
    a = L.Conv1D(4, 3, strides=2, padding="same")(x)
    b = L.MaxPooling1D(2)(x)
    y = L.Concatenate(axis=1)([a, b])
    return Built(keras.Model(x, y), {"layer": "Concatenate", "axis": 1})


@spec("concat_requantize", "Concatenate of differently scaled branches (QUANTIZE requantizes)")
def _() -> Built:
    x = inp((16,))
    a = L.Dense(8, activation="tanh")(x)  # fixed scale 1/128
    b = L.Dense(8)(x)
    c = op_layer(lambda t: t * 10.0, "scale10")(b)
    y = L.Concatenate()([a, c, x])
    return Built(keras.Model(x, y), {"layer": "Concatenate", "requantize": True})


# --------------------------------------------------------------------------------------
# Activations


@spec("relu_relu6_standalone", "ReLU and ReLU6 on the input (standalone ops)")
def _() -> Built:
    x = inp((24,))
    a = L.ReLU()(x)
    b = L.ReLU(max_value=6.0)(x)
    y = L.Concatenate()([L.Dense(4)(a), L.Dense(4)(b)])
    return Built(keras.Model(x, y), {"layer": ["ReLU", "ReLU6"]})


@spec("leaky_relu", "LeakyReLU 0.2 on the input, Dense, LeakyReLU 0.01")
def _() -> Built:
    x = inp((20,))
    y = L.LeakyReLU(negative_slope=0.01)(L.Dense(10)(L.LeakyReLU(negative_slope=0.2)(x)))
    return Built(keras.Model(x, y), {"layer": "LeakyReLU", "negative_slope": [0.2, 0.01]})


@spec("tanh", "tanh on the input and after a Dense")
def _() -> Built:
    x = inp((20,))
    y = L.Dense(6, activation="tanh")(L.Activation("tanh")(x))
    return Built(keras.Model(x, y), {"layer": "Activation", "activation": "tanh"})


@spec("sigmoid", "sigmoid on the input and after a Dense")
def _() -> Built:
    x = inp((20,))
    y = L.Dense(6, activation="sigmoid")(L.Activation("sigmoid")(x))
    return Built(keras.Model(x, y), {"layer": "Activation", "activation": "sigmoid"})


@spec("softmax_2d", "Dense 16->10 -> Softmax")
def _() -> Built:
    x = inp((16,))
    y = L.Softmax()(L.Dense(10)(x))
    return Built(keras.Model(x, y), {"layer": "Softmax", "input": [1, 10]})


@spec("softmax_3d", "Softmax over the last axis of [1,6,5]")
def _() -> Built:
    x = inp((6, 5))
    y = L.Softmax(axis=-1)(op_layer(lambda t: t * 3.0, "scale3")(x))
    return Built(keras.Model(x, y), {"layer": "Softmax", "input": [1, 6, 5]})


# --------------------------------------------------------------------------------------
# Shapes, padding, slicing, packing


@spec("reshape", "Reshape [24] -> [4,6], Conv1D, Reshape -> [-1]")
def _() -> Built:
    x = inp((24,))
    y = L.Reshape((-1,))(L.Conv1D(3, 2)(L.Reshape((4, 6))(x)))
    return Built(keras.Model(x, y), {"layer": "Reshape"})


@spec("zero_padding", "ZeroPadding1D (1,2) and ZeroPadding2D ((1,2),(0,1)) before valid convs")
def _() -> Built:
    x = inp((10, 3))
    a = L.Conv1D(4, 3)(L.ZeroPadding1D((1, 2))(x))
    b = L.Reshape((a.shape[1], 4, 1))(a)
    y = L.Conv2D(2, 2)(L.ZeroPadding2D(((1, 2), (0, 1)))(b))
    return Built(keras.Model(x, y), {"layer": ["ZeroPadding1D", "ZeroPadding2D"]})


@spec("cropping", "Cropping1D (1,2), Cropping2D ((1,0),(2,1)) and a stride-2 slice")
def _() -> Built:
    x = inp((12, 6))
    a = L.Cropping1D((1, 2))(x)
    b = L.Reshape((9, 6, 1))(a)
    b = L.Cropping2D(((1, 0), (2, 1)))(b)
    c = op_layer(lambda t: t[:, ::2, 1:, :], "slice_s2")(b)
    return Built(keras.Model(x, c), {"layer": ["Cropping1D", "Cropping2D", "strided slice"]})


@spec("stack", "tf.stack of two branches on a new axis 1 (PACK)")
def _() -> Built:
    x = inp((8, 3))
    a = L.Conv1D(3, 3, padding="same")(x)
    y = op_layer(lambda t: tf.stack([t[0], t[1]], axis=1), "stack")([x, a])
    return Built(keras.Model(x, y), {"layer": "tf.stack", "axis": 1})


@spec(
    "shape_dynamic_batch",
    "dynamic batch: reshape to [tf.shape(x)[0], 32] (SHAPE, STRIDED_SLICE, PACK)",
)
def _() -> Built:
    x = inp((8, 4), batch=None)
    y = op_layer(lambda t: tf.reshape(t, tf.stack([tf.shape(t)[0], 32])), "flat", (32,))(x)
    y = L.Dense(5)(y)
    return Built(keras.Model(x, y), {"layer": "tf.shape", "batch": None})


@spec("mean_axes", "reduce_mean over axis 1 (keepdims), axes [1,2], and the last axis")
def _() -> Built:
    x = inp((6, 5, 4))
    a = op_layer(lambda t: tf.reduce_mean(t, axis=1, keepdims=True), "mean1")(x)
    b = op_layer(lambda t: tf.reduce_mean(t, axis=[1, 2]), "mean12")(x)
    c = op_layer(lambda t: tf.reduce_mean(t, axis=-1), "mean_last")(x)
    y = L.Concatenate()([L.Flatten()(a), b, L.Flatten()(c)])
    return Built(keras.Model(x, y), {"layer": "tf.reduce_mean", "axes": [[1], [1, 2], [-1]]})


@spec("expand_squeeze", "dynamic batch and time: tf.expand_dims, Conv2D 1x1, tf.squeeze")
def _() -> Built:
    # With static shapes the converter turns both ops into RESHAPE; with two dynamic
    # dimensions it must keep them (the file's shape is [1,1,3], its signature [-1,-1,3]).
    x = inp((None, 3), batch=None)
    a = op_layer(lambda t: tf.expand_dims(t, axis=2), "expand")(x)
    a = L.Conv2D(4, 1, activation="relu")(a)
    y = op_layer(lambda t: tf.squeeze(t, axis=2), "squeeze")(a)
    return Built(keras.Model(x, y), {"layer": ["tf.expand_dims", "tf.squeeze"], "dynamic": True})


@spec(
    "space_batch_nd",
    "SpaceToBatchND (block 2, block-aligned, no padding) -> MaxPool 3x3 -> BatchToSpaceND "
    "(cropped)",
)
def _() -> Built:
    # A pool between the two ops: a conv there is fused back into a dilated CONV_2D. No
    # padding: TFLM never initialises SPACE_TO_BATCH_ND's pad value, so padded positions
    # have no reference value (space_to_batch_padded checks them against the math).
    x = inp((10, 10, 3))
    a = op_layer(lambda t: tf.space_to_batch_nd(t, [2, 2], [[0, 0], [0, 0]]), "s2b")(x)
    a = L.MaxPooling2D(3, strides=1, padding="valid")(a)
    y = op_layer(lambda t: tf.compat.v1.batch_to_space_nd(t, [2, 2], [[0, 1], [1, 0]]), "b2s")(a)
    return Built(keras.Model(x, y), {"layer": ["tf.space_to_batch_nd", "tf.batch_to_space_nd"]})


@spec("space_to_batch_padded", "SpaceToBatchND block (2,3), paddings ((1,2),(2,1)) as the output")
def _() -> Built:
    # The padded positions of the output are the zero point (TensorFlow Lite's semantics;
    # TFLM pads with an uninitialised value): tests/python/test_engine_shapes.py.
    x = inp((5, 6, 3))
    y = op_layer(lambda t: tf.space_to_batch_nd(t, [2, 3], [[1, 2], [2, 1]]), "s2b")(x)
    y = op_layer(lambda t: t * 1.0, "identity")(y)
    return Built(
        keras.Model(x, y),
        {"layer": "tf.space_to_batch_nd", "block": [2, 3], "paddings": [[1, 2], [2, 1]]},
    )


# --------------------------------------------------------------------------------------
# Model-level contracts


@spec("two_inputs_two_outputs", "two inputs (signal, features) -> two outputs (class, value)")
def _() -> Built:
    a = inp((16, 2), name="signal")
    b = inp((5,), name="features")
    h = L.GlobalAveragePooling1D()(L.Conv1D(4, 3, activation="relu")(a))
    h = L.Concatenate()([h, L.Dense(4, activation="relu")(b)])
    out1 = L.Softmax(name="cls")(L.Dense(3)(h))
    out2 = L.Dense(1, name="val")(h)
    return Built(keras.Model([a, b], [out1, out2]), {"inputs": 2, "outputs": 2})


@spec("float_io", "float32 input and output (QUANTIZE in, DEQUANTIZE out)")
def _() -> Built:
    x = inp((12,))
    y = L.Dense(4)(L.Dense(8, activation="relu")(x))
    return Built(
        keras.Model(x, y),
        {"input_type": "float32", "output_type": "float32"},
        input_type="float32",
        output_type="float32",
    )


@spec("float_output", "int8 input, float32 output (DEQUANTIZE)")
def _() -> Built:
    x = inp((10, 2))
    y = L.Softmax()(L.Dense(3)(L.Flatten()(L.Conv1D(3, 3)(x))))
    return Built(keras.Model(x, y), {"output_type": "float32"}, output_type="float32")


# --------------------------------------------------------------------------------------
# Models the engine must reject with a clear message


@spec("float_dense", "float32 model (no quantization)", kind="unsupported")
def _() -> Built:
    x = inp((8,))
    y = L.Dense(3)(L.Dense(6, activation="relu")(x))
    return Built(keras.Model(x, y), {"variant": "float"})


@spec(
    "hybrid_dense",
    "dynamic-range (hybrid) model: int8 weights, float activations",
    kind="unsupported",
)
def _() -> Built:
    x = inp((64,))
    y = L.Dense(3)(L.Dense(32, activation="relu")(x))
    return Built(keras.Model(x, y), {"variant": "hybrid"})


# --------------------------------------------------------------------------------------


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def model_path(s: Spec) -> Path:
    sub = "unsupported" if s.kind == "unsupported" else "int8"
    return HERE / sub / f"{s.name}.tflite"


def generate_one(s: Spec) -> dict[str, Any]:
    keras.backend.clear_session()
    seed = seed_of(s.name)
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    built = s.build()
    randomize(built.model, rng)
    data = convert(s, built, rng)
    path = model_path(s)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    m = parse(data)
    return entry(s, path, data, built.params, sorted(features(m)), [op.op for op in m.operators])


def entry(
    s: Spec, path: Path, data: bytes, params: dict[str, Any], feats: list[str], ops: list[str]
) -> dict[str, Any]:
    return {
        "name": s.name,
        "file": str(path.relative_to(HERE)),
        "kind": s.kind,
        "description": s.description,
        "sha256": sha256(data),
        "bytes": len(data),
        "ops": sorted(set(ops)),
        "op_sequence": ops,
        "features": feats if s.kind != "unsupported" else [],
        "params": _jsonable(params),
    }


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--only", nargs="*", help="regenerate only these models (manifest updated)")
    ap.add_argument("--list", action="store_true", help="list the models and exit")
    args = ap.parse_args(argv)
    if args.list:
        for s in SPECS:
            print(f"{s.name:34s} {s.kind:12s} {s.description}")
        return 0
    names = {s.name for s in SPECS}
    only = set(args.only or [])
    unknown = only - names
    if unknown:
        print(f"unknown models: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2

    _import_tf()
    old: dict[str, dict[str, Any]] = {}
    if MANIFEST.exists():
        old = {e["name"]: e for e in json.loads(MANIFEST.read_text())["models"]}
    entries = []
    for s in SPECS:
        if only and s.name not in only and s.name in old:
            entries.append(old[s.name])
            continue
        e = generate_one(s)
        print(f"{s.name:34s} {e['bytes']:6d} B  {' '.join(e['op_sequence'])}")
        entries.append(e)

    covered: set[str] = set()
    for e in entries:
        covered |= set(e["features"])
    missing = uncovered(covered)
    manifest = {
        "generator": "tests/models/generate.py",
        "tensorflow": tf.__version__,
        "required": list(REQUIRED),
        "models": entries,
    }
    MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(e["bytes"] for e in entries)
    print(f"{len(entries)} models, {total} bytes; manifest: {MANIFEST.relative_to(ROOT)}")
    if missing:
        print("UNCOVERED (no test model exercises these):", file=sys.stderr)
        for f in missing:
            print(f"  {f}", file=sys.stderr)
        return 1
    print(f"all {len(REQUIRED)} required ops and combinations covered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
