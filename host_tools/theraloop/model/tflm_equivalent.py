"""A model tflite-micro runs with TensorFlow Lite's semantics, for files it would misread.

TFLM takes every tensor shape from the file. TensorFlow's converter writes a placeholder
1 for a dynamic dimension (the batch of a Keras model built on ``keras.Input(shape)``),
which is harmless until an operator changes the batch: with a dynamic batch a dilated
convolution is lowered to ``SPACE_TO_BATCH_ND -> [EXPAND_DIMS] -> CONV_2D -> [RESHAPE] ->
BATCH_TO_SPACE_ND``, whose intermediate tensors hold ``block`` batches but are written with
batch 1. TFLM (0.dev20261023) then computes the first of those batches only and leaves the
rest of the output as whatever its arena held. It also never initialises
SPACE_TO_BATCH_ND's pad value (``SpaceToBatchParams::output_offset``). TensorFlow Lite
computes both shapes at Prepare and pads with the output zero point; so does our engine.

:func:`tflm_equivalent` rewrites such a file into one TFLM runs correctly, with the same
inputs, outputs and arithmetic:

1. every non-constant tensor gets the shape TensorFlow Lite computes for it
   (``tf.lite.Interpreter`` with its reference kernels, after ``allocate_tensors``);
2. every SPACE_TO_BATCH_ND with non-zero paddings becomes PAD (which pads with the output
   zero point in TFLM) followed by an unpadded SPACE_TO_BATCH_ND.

Files without SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND come back unchanged, without importing
TensorFlow (seconds).
"""

from __future__ import annotations

import copy
import os
import warnings
from typing import Any

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from theraloop.model.tflite_file import parse

_BATCH_OPS = {"SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND"}


def needs_rewrite(data: bytes) -> bool:
    """Whether TFLM could misread the file (it has a space/batch operator)."""
    return any(op.op in _BATCH_OPS for op in parse(data).operators)


def tflite_shapes(data: bytes) -> list[tuple[int, ...]]:
    """Every tensor's shape as TensorFlow Lite computes it at Prepare."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # quiet: only shapes are needed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import tensorflow as tf

        interp = tf.lite.Interpreter(
            model_content=data,
            experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF,
        )
        interp.allocate_tensors()
        details = interp.get_tensor_details()
    shapes: dict[int, tuple[int, ...]] = {
        int(d["index"]): tuple(int(x) for x in d["shape"]) for d in details
    }
    return [shapes[i] for i in range(len(parse(data).tensors))]


def _const_tensor(m: Any, sg: Any, name: str, values: np.ndarray) -> int:
    """Append a constant int32 tensor (with its own buffer) and return its index."""
    buf = fb.BufferT()
    buf.data = np.frombuffer(values.astype("<i4").tobytes(), dtype=np.uint8).copy()
    m.buffers.append(buf)
    t = fb.TensorT()
    t.shape = np.array(values.shape, dtype=np.int32)
    t.type = fb.TensorType.INT32
    t.buffer = len(m.buffers) - 1
    t.name = name.encode()
    sg.tensors.append(t)
    return len(sg.tensors) - 1


def _opcode_index(m: Any, builtin: int) -> int:
    for i, oc in enumerate(m.operatorCodes):
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) == builtin:
            return i
    oc = fb.OperatorCodeT()
    oc.builtinCode = builtin
    oc.deprecatedBuiltinCode = min(builtin, 127)
    oc.version = 1
    m.operatorCodes.append(oc)
    return len(m.operatorCodes) - 1


def _split_padding(m: Any, sg: Any) -> None:
    """SPACE_TO_BATCH_ND(x, block, pads) -> SPACE_TO_BATCH_ND(PAD(x, pads), block, 0)."""
    s2b = fb.BuiltinOperator.SPACE_TO_BATCH_ND
    k = 0
    while k < len(sg.operators):
        op = sg.operators[k]
        code = m.operatorCodes[op.opcodeIndex]
        if max(code.builtinCode, code.deprecatedBuiltinCode) != s2b:
            k += 1
            continue
        x, _, pads_i = (int(i) for i in op.inputs)
        pads_t = sg.tensors[pads_i]
        raw = m.buffers[pads_t.buffer].data
        pads = np.frombuffer(np.asarray(raw, np.uint8).tobytes(), "<i4").reshape(-1, 2)
        if not pads.any():
            k += 1
            continue
        src = sg.tensors[x]
        out = sg.tensors[int(op.outputs[0])]
        if list(src.quantization.zeroPoint) != list(out.quantization.zeroPoint):
            raise ValueError("SPACE_TO_BATCH_ND with different input/output zero points")
        rank = len(src.shape)
        full = np.zeros((rank, 2), np.int32)
        full[1 : 1 + len(pads)] = pads
        padded = copy.deepcopy(src)
        padded.shape = np.array(src.shape, np.int32) + full.sum(axis=1).astype(np.int32)
        padded.name = src.name + b"/tflm_equivalent_pad"
        padded.buffer = 0
        padded.shapeSignature = None
        sg.tensors.append(padded)
        padded_i = len(sg.tensors) - 1
        pad_op = fb.OperatorT()
        pad_op.opcodeIndex = _opcode_index(m, fb.BuiltinOperator.PAD)
        pad_op.inputs = np.array([x, _const_tensor(m, sg, "tflm_equivalent_pads", full)], np.int32)
        pad_op.outputs = np.array([padded_i], np.int32)
        pad_op.builtinOptionsType = fb.BuiltinOptions.PadOptions
        pad_op.builtinOptions = fb.PadOptionsT()
        zero = _const_tensor(m, sg, "tflm_equivalent_no_pads", np.zeros_like(pads))
        op.inputs = np.array([padded_i, int(op.inputs[1]), zero], np.int32)
        sg.operators.insert(k, pad_op)
        k += 2


def tflm_equivalent(data: bytes) -> bytes:
    """A model TFLM runs with TensorFlow Lite's results for ``data`` (see the module doc)."""
    if not needs_rewrite(data):
        return data
    shapes = tflite_shapes(data)
    m = fb.ModelT.InitFromPackedBuf(bytearray(data), 0)
    sg = m.subgraphs[0]
    for i, t in enumerate(sg.tensors):
        is_const = t.buffer > 0 and m.buffers[t.buffer].data is not None
        current = tuple(int(d) for d in (t.shape if t.shape is not None else ()))
        if not is_const and current != shapes[i]:
            t.shape = np.array(shapes[i], np.int32)
    _split_padding(m, sg)
    b = flatbuffers.Builder(len(data) + 4096)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())
