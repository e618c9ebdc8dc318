"""The bit-exact reference: TensorFlow Lite Micro's own interpreter.

Wraps ``tflite_micro.runtime.Interpreter`` (TFLM's C++ runtime and reference kernels
behind Python). This is the oracle every result of our engine is checked against; it
is deliberately not ``tf.lite.Interpreter``, whose int8 LOGISTIC/SOFTMAX differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from theraloop.model.tflite_file import NUMPY_DTYPES, Model, Tensor, parse

_ALIGN = 16


class TflmError(RuntimeError):
    """The TFLM interpreter rejected the model or failed to run it."""


@dataclass(frozen=True)
class ReferenceTensor:
    """An input or output of the model as the reference sees it."""

    index: int  # position in the model's input/output list
    tensor: int  # tensor index in the subgraph
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    scale: float
    zero_point: int


def io_tensor(model: Model, position: int, t: Tensor) -> ReferenceTensor:
    dtype = NUMPY_DTYPES.get(t.dtype)
    if dtype is None:
        raise TflmError(f"tensor {t.index} ({t.name}): unsupported I/O type {t.dtype}")
    return ReferenceTensor(
        index=position,
        tensor=t.index,
        name=t.name,
        shape=t.shape,
        dtype=dtype,
        scale=t.quantization.scale,
        zero_point=t.quantization.zero_point,
    )


def default_arena_size(model: Model) -> int:
    """A TFLM arena comfortably larger than the model needs (the wrapper allocates it)."""
    activations = sum(
        (t.nbytes + _ALIGN - 1) // _ALIGN * _ALIGN for t in model.tensors if not t.is_constant
    )
    return 2 * activations + 64 * 1024 + 4 * model.size


class Reference:
    """One TFLM interpreter for one model; :meth:`invoke` runs one inference."""

    def __init__(self, model_bytes: bytes, arena_size: int | None = None) -> None:
        from tflite_micro.python.tflite_micro import runtime

        self.model_bytes = bytes(model_bytes)
        self.model = parse(self.model_bytes)
        self.inputs = [io_tensor(self.model, i, t) for i, t in enumerate(self.model.input_tensors)]
        self.outputs = [
            io_tensor(self.model, i, t) for i, t in enumerate(self.model.output_tensors)
        ]
        size = arena_size if arena_size is not None else default_arena_size(self.model)
        # Files with SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND are run as their TFLM-equivalent
        # rewrite (model/tflm_equivalent.py): TFLM misreads their dynamic-batch shapes and
        # leaves part of the output undefined. Other files run as they are.
        from theraloop.model.tflm_equivalent import tflm_equivalent

        try:
            self._interp = runtime.Interpreter.from_bytes(
                tflm_equivalent(self.model_bytes), arena_size=size
            )
        except (RuntimeError, ValueError) as e:
            raise TflmError(f"tflite-micro cannot load the model: {e}") from e

    def invoke(self, *inputs: np.ndarray) -> list[np.ndarray]:
        """Run one inference; ``inputs`` in the model's input order, shaped as the model's."""
        if len(inputs) != len(self.inputs):
            raise TflmError(f"model has {len(self.inputs)} inputs, got {len(inputs)}")
        for info, arr in zip(self.inputs, inputs, strict=True):
            a = np.asarray(arr)
            if a.dtype != info.dtype or tuple(a.shape) != info.shape:
                raise TflmError(
                    f"input {info.index} ({info.name}) needs {info.dtype.name}{list(info.shape)}, "
                    f"got {a.dtype.name}{list(a.shape)}"
                )
            # TFLM overwrites input tensors during Invoke; the wrapper copies ours in.
            self._interp.set_input(np.ascontiguousarray(a), info.index)
        try:
            self._interp.invoke()
        except RuntimeError as e:
            raise TflmError(f"tflite-micro invoke failed: {e}") from e
        return [np.array(self._interp.get_output(o.index), copy=True) for o in self.outputs]

    def run(self, cases: Iterable[Sequence[np.ndarray]]) -> list[list[np.ndarray]]:
        """Run a batch: one list of outputs per case (each case a list of inputs)."""
        return [self.invoke(*case) for case in cases]


def run_reference(model_bytes: bytes, cases: Iterable[Sequence[np.ndarray]]) -> list[Any]:
    """Convenience: load the model in TFLM and run every case."""
    return Reference(model_bytes).run(cases)
