"""Multiply-accumulates per inference, counted from the model's shapes.

The count is the one the engine reports (``tl_nn_model_t::macs``) and the one the
benchmark's MAC bound uses: the products of weights with activations in CONV_2D,
DEPTHWISE_CONV_2D and FULLY_CONNECTED. Element-wise ops, pooling and MEAN do no
weight multiplications and count 0.
"""

from __future__ import annotations

from theraloop.model.tflite_file import Model, Operator


def op_macs(model: Model, op: Operator) -> int:
    if op.op not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
        return 0
    if len(op.inputs) < 2 or op.inputs[1] < 0 or not op.outputs:
        return 0
    weights = model.tensors[op.inputs[1]].shape
    out = model.tensors[op.outputs[0]]
    if op.op == "CONV_2D":
        # filter [out_ch, kh, kw, in_ch]; one MAC per kernel tap and input channel.
        if len(weights) != 4:
            return 0
        return out.elements * weights[1] * weights[2] * weights[3]
    if op.op == "DEPTHWISE_CONV_2D":
        # filter [1, kh, kw, out_ch]; one MAC per kernel tap.
        if len(weights) != 4:
            return 0
        return out.elements * weights[1] * weights[2]
    # FULLY_CONNECTED: weights [units, depth]; every output element is a dot product.
    if len(weights) != 2:
        return 0
    return out.elements * weights[1]


def model_macs(model: Model) -> int:
    return sum(op_macs(model, op) for op in model.operators)
