"""Full-integer int8 post-training quantisation, and the int8 runs it is judged by.

:func:`to_int8` converts a batch-1 Keras model with a representative dataset: int8
weights (per channel), int32 biases, int8 activations, int8 input and output
(``TFLITE_BUILTINS_INT8``). The recipes fix the input quantisation in advance (an
:class:`InputQuant`: a power-of-two scale, so the device's conversion is a rounding
shift): the representative dataset is made to span exactly that range, and the
converted model is checked to have it.

:class:`Int8Runner` runs int8 inputs through our engine and the tflite-micro reference
and raises :class:`~theraloop.train.errors.NotBitExact` if a single output differs.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from theraloop.engine import Engine
from theraloop.model.tflite_file import parse
from theraloop.tflite_reference import Reference
from theraloop.train.errors import NotBitExact, QuantizationError


@dataclass(frozen=True)
class InputQuant:
    """int8 input quantisation with scale 2**shift (device units per LSB)."""

    shift: int
    zero_point: int

    @property
    def scale(self) -> float:
        return float(2.0**self.shift)

    @property
    def low(self) -> float:
        """Smallest representable input, in device units."""
        return (-128 - self.zero_point) * self.scale

    @property
    def high(self) -> float:
        return (127 - self.zero_point) * self.scale

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """Device units -> int8: round half away from zero (as TFLM's QUANTIZE), saturate."""
        v = np.asarray(x, dtype=np.float64) / self.scale
        r = np.sign(v) * np.floor(np.abs(v) + 0.5)
        return np.clip(r + self.zero_point, -128, 127).astype(np.int8)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        """int8 -> device units (the grid value the int8 model sees)."""
        return (np.asarray(q, np.float64) - self.zero_point) * self.scale

    def to_json(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "shift": self.shift,
            "zero_point": self.zero_point,
            "rule": "q = clamp(round(v / 2**shift) + zero_point, -128, 127), "
            "round half away from zero",
        }


def representative(x: np.ndarray, quant: InputQuant, count: int, seed: int) -> np.ndarray:
    """``count`` samples of ``x`` (device units, on the int8 grid) whose overall range is
    exactly the input range of ``quant`` (one element of the first sample is set to each
    end), so the converter's calibration yields exactly ``quant``."""
    rng = np.random.default_rng(seed)
    pick = rng.choice(x.shape[0], size=min(count, x.shape[0]), replace=False)
    rep = np.array(x[np.sort(pick)], dtype=np.float32)
    flat = rep.reshape(rep.shape[0], -1)
    flat[0, 0] = quant.low
    flat[0, -1] = quant.high
    return flat.reshape(rep.shape)


def to_int8(tf: Any, model: Any, rep: np.ndarray) -> bytes:
    """Full-integer int8 ``.tflite`` of a batch-1 Keras model."""

    def gen() -> Iterator[list[np.ndarray]]:
        for i in range(rep.shape[0]):
            yield [rep[i : i + 1].astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = gen
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    with _quiet_fds(), contextlib.redirect_stdout(io.StringIO()):
        return bytes(conv.convert())


@contextlib.contextmanager
def _quiet_fds() -> Iterator[None]:
    """Silence the converter's C++ logging (written straight to file descriptors 1/2)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


@dataclass(frozen=True)
class OutputQuant:
    scale: float
    zero_point: int

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        return (np.asarray(q, np.float64) - self.zero_point) * self.scale

    def quantize_prob(self, p: float) -> int:
        """The int8 output value that stands for probability ``p`` (rounded up)."""
        return int(np.clip(np.ceil(p / self.scale + self.zero_point), -128, 127))


def check_io(
    model_bytes: bytes, quant: InputQuant, input_shape: tuple[int, ...], n_classes: int
) -> OutputQuant:
    """The converted model must have exactly the intended input contract; returns the
    output quantisation."""
    m = parse(model_bytes)
    if len(m.input_tensors) != 1 or len(m.output_tensors) != 1:
        raise QuantizationError("expected one input and one output")
    t_in, t_out = m.input_tensors[0], m.output_tensors[0]
    problems = []
    if t_in.dtype != "INT8" or t_out.dtype != "INT8":
        problems.append(f"I/O types {t_in.dtype}/{t_out.dtype}, want INT8/INT8")
    if tuple(t_in.shape) != (1, *input_shape):
        problems.append(f"input shape {list(t_in.shape)}, want {[1, *input_shape]}")
    if tuple(t_out.shape) != (1, n_classes):
        problems.append(f"output shape {list(t_out.shape)}, want {[1, n_classes]}")
    q = t_in.quantization
    if q.scale != quant.scale or q.zero_point != quant.zero_point:
        problems.append(
            f"input quantisation scale {q.scale} zero point {q.zero_point}, want "
            f"{quant.scale} / {quant.zero_point}"
        )
    if problems:
        raise QuantizationError("converted model: " + "; ".join(problems))
    return OutputQuant(float(t_out.quantization.scale), int(t_out.quantization.zero_point))


class Int8Runner:
    """One model in our engine and in tflite-micro; every run is compared bit for bit."""

    def __init__(self, model_bytes: bytes, check_reference: bool = True) -> None:
        self.engine = Engine(model_bytes)
        self.reference = Reference(model_bytes) if check_reference else None
        self.input_shape = self.engine.inputs[0].shape
        self.compared = 0

    def run(self, q: np.ndarray) -> np.ndarray:
        """(N, *input) int8 -> (N, classes) int8 engine outputs (checked against TFLM)."""
        q = np.ascontiguousarray(q, dtype=np.int8)
        out = np.empty((q.shape[0], int(np.prod(self.engine.outputs[0].shape))), np.int8)
        for i in range(q.shape[0]):
            x = q[i].reshape(self.input_shape)
            (e,) = self.engine.invoke(x)
            out[i] = e.reshape(-1)
            if self.reference is not None:
                (r,) = self.reference.invoke(x)
                if not np.array_equal(e.reshape(-1), r.reshape(-1)):
                    raise NotBitExact(
                        f"engine and tflite-micro differ on case {i}: engine "
                        f"{e.reshape(-1).tolist()}, reference {r.reshape(-1).tolist()}"
                    )
                self.compared += 1
        return out
