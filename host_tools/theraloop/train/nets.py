"""TensorFlow/Keras set-up and the small network builders the recipes use.

TensorFlow is imported lazily (it takes seconds) and configured once per process for
reproducible results: fixed seeds (``keras.utils.set_random_seed``), deterministic ops
(``tf.config.experimental.enable_op_determinism``), oneDNN's reordering optimisations off
and a fixed number of CPU threads (1 by default: results then do not depend on the
machine's core count).

Networks are described by plain dictionaries from the recipe's TOML:

- ``conv1d``: ``conv = [{filters, kernel, stride, pool}, ...]`` (ReLU, ``valid`` padding,
  ``pool`` = max-pool size after the convolution, 0/absent = none), then a global
  average over time, ``dense = [units, ...]`` (ReLU) and a softmax over the classes.
- ``mlp``: ``hidden = [units, ...]`` (ReLU) and a softmax over the classes.

Every network's first layer is linear in its input, which :func:`fold_input_gain` uses
to move the training-time input normalisation into the first kernel: the deployed model
takes the device's own units (ADC counts, feature LSBs) and the device only applies the
model's input scale and zero point.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

_configured = False


def tensorflow(threads: int = 1) -> tuple[Any, Any]:
    """``(tf, keras)``, configured for deterministic CPU training on first use."""
    global _configured
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning, module=r"tensorflow\..*")
    warnings.filterwarnings("ignore", category=UserWarning, module=r"keras\..*")
    import keras
    import tensorflow as tf

    if not _configured:
        tf.get_logger().setLevel("ERROR")
        tf.config.experimental.enable_op_determinism()
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:
            pass  # the runtime was initialised elsewhere in this process
        _configured = True
    return tf, keras


def seed(keras: Any, value: int) -> None:
    """Reset Keras state and all random generators (Python, NumPy, TensorFlow)."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(int(value))


@dataclass(frozen=True)
class ConvLayer:
    filters: int
    kernel: int
    stride: int = 1
    pool: int = 0


@dataclass(frozen=True)
class NetSpec:
    """A network shape from a recipe (see the module docstring)."""

    kind: str
    conv: tuple[ConvLayer, ...] = ()
    dense: tuple[int, ...] = ()
    name: str = "net"

    @classmethod
    def from_dict(cls, d: dict[str, Any], name: str = "net") -> NetSpec:
        kind = str(d.get("kind", ""))
        if kind == "conv1d":
            conv = tuple(
                ConvLayer(
                    int(c["filters"]),
                    int(c["kernel"]),
                    int(c.get("stride", 1)),
                    int(c.get("pool", 0)),
                )
                for c in d.get("conv", [])
            )
            if not conv:
                raise ValueError("a conv1d network needs at least one conv layer")
            return cls("conv1d", conv, tuple(int(u) for u in d.get("dense", [])), name)
        if kind == "mlp":
            return cls("mlp", (), tuple(int(u) for u in d.get("hidden", [])), name)
        raise ValueError(f"unknown network kind {kind!r} (conv1d or mlp)")

    def to_json(self) -> dict[str, Any]:
        if self.kind == "conv1d":
            return {
                "kind": "conv1d",
                "conv": [vars(c) for c in self.conv],
                "dense": list(self.dense),
            }
        return {"kind": "mlp", "hidden": list(self.dense)}

    def describe(self) -> str:
        """One line: ``conv 8x7/2 mp2 -> conv 16x5/2 -> gap -> dense 3``."""
        parts = []
        for c in self.conv:
            text = f"conv {c.filters}x{c.kernel}" + (f"/{c.stride}" if c.stride > 1 else "")
            if c.pool:
                text += f" mp{c.pool}"
            parts.append(text)
        if self.kind == "conv1d":
            parts.append("gap")
        parts.extend(f"dense {u}" for u in self.dense)
        parts.append("dense+softmax")
        return " -> ".join(parts)


def build(
    keras: Any,
    spec: NetSpec,
    input_shape: tuple[int, ...],
    n_classes: int,
    batch: int | None = None,
    model_name: str = "model",
) -> Any:
    """The Keras model for ``spec`` (``batch=1`` for the model that is converted).

    Layers are named explicitly (``conv0``, ``pool0``, ``gap``, ``dense0``, ``logits``),
    so the tensor names in the ``.tflite`` -- and so its size and bytes -- do not depend
    on the sweep entry's name or on how many models were built before in the process.
    """
    layers = keras.layers
    x = keras.Input(input_shape, batch_size=batch, name="input")
    h = x
    if spec.kind == "conv1d":
        for i, c in enumerate(spec.conv):
            h = layers.Conv1D(
                c.filters, c.kernel, strides=c.stride, activation="relu", name=f"conv{i}"
            )(h)
            if c.pool > 1:
                h = layers.MaxPooling1D(c.pool, name=f"pool{i}")(h)
        h = layers.GlobalAveragePooling1D(name="gap")(h)
    for i, units in enumerate(spec.dense):
        h = layers.Dense(units, activation="relu", name=f"dense{i}")(h)
    h = layers.Dense(n_classes, name="logits")(h)
    y = layers.Softmax(name="probabilities")(h)
    return keras.Model(x, y, name=model_name)


def fold_input_gain(train_model: Any, deploy_model: Any, gain: float) -> None:
    """Copy ``train_model``'s weights into ``deploy_model`` with ``gain`` folded into the
    first layer's kernel: deploy(x) == train(gain * x) for every input x."""
    weights = [np.array(w) for w in train_model.get_weights()]
    # The first weight array is the kernel of the first (linear) layer.
    weights[0] = (weights[0] * np.float32(gain)).astype(np.float32)
    deploy_model.set_weights(weights)


def count_params(model: Any) -> int:
    return int(sum(int(np.prod(w.shape)) for w in model.get_weights()))
