"""What a test model exercises, read from the .tflite file itself.

``features(model)`` names every op and every parameter combination of interest
("CONV_2D", "CONV_2D:stride>1", "QUANTIZE:FLOAT32->INT8", ...). ``REQUIRED`` lists
what the engine must support (the op list of the inference-engine issue plus the
parameter combinations the kernels branch on); the generator and the CI test fail
when a required feature has no test model.
"""

from __future__ import annotations

import numpy as np

from theraloop.model.tflite_file import Model, Operator

REQUIRED_OPS: tuple[str, ...] = (
    "FULLY_CONNECTED",
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "MAX_POOL_2D",
    "AVERAGE_POOL_2D",
    "MEAN",
    "SOFTMAX",
    "LOGISTIC",
    "TANH",
    "RELU",
    "RELU6",
    "LEAKY_RELU",
    "ADD",
    "MUL",
    "CONCATENATION",
    "RESHAPE",
    "EXPAND_DIMS",
    "SQUEEZE",
    "SHAPE",
    "STRIDED_SLICE",
    "PACK",
    "PAD",
    "SPACE_TO_BATCH_ND",
    "BATCH_TO_SPACE_ND",
    "QUANTIZE",
    "DEQUANTIZE",
)

REQUIRED_COMBINATIONS: tuple[str, ...] = (
    "CONV_2D:padding=SAME",
    "CONV_2D:padding=VALID",
    "CONV_2D:stride>1",
    "CONV_2D:dilation>1",
    "CONV_2D:act=NONE",
    "CONV_2D:act=RELU",
    "CONV_2D:act=RELU6",
    "CONV_2D:no_bias",
    "CONV_2D:weights=per-channel",
    "CONV_2D:weights=per-tensor",
    "CONV_2D:kernel=1x1",
    "DEPTHWISE_CONV_2D:padding=SAME",
    "DEPTHWISE_CONV_2D:padding=VALID",
    "DEPTHWISE_CONV_2D:stride>1",
    "DEPTHWISE_CONV_2D:dilation>1",
    "DEPTHWISE_CONV_2D:multiplier=1",
    "DEPTHWISE_CONV_2D:multiplier>1",
    "DEPTHWISE_CONV_2D:act=RELU",
    "DEPTHWISE_CONV_2D:act=RELU6",
    "FULLY_CONNECTED:weights=per-channel",
    "FULLY_CONNECTED:weights=per-tensor",
    "FULLY_CONNECTED:no_bias",
    "FULLY_CONNECTED:act=NONE",
    "FULLY_CONNECTED:act=RELU",
    "FULLY_CONNECTED:act=RELU6",
    "FULLY_CONNECTED:batch>1",
    "MAX_POOL_2D:padding=SAME",
    "MAX_POOL_2D:padding=VALID",
    "MAX_POOL_2D:stride>1",
    "AVERAGE_POOL_2D:padding=SAME",
    "AVERAGE_POOL_2D:padding=VALID",
    "AVERAGE_POOL_2D:stride>1",
    "MEAN:axes=1",
    "MEAN:axes=2",
    "MEAN:keep_dims",
    "ADD:broadcast",
    "ADD:act=RELU",
    "MUL:broadcast",
    "CONCATENATION:axis=last",
    "CONCATENATION:axis=inner",
    "QUANTIZE:INT8->INT8",
    "QUANTIZE:FLOAT32->INT8",
    "DEQUANTIZE:INT8->FLOAT32",
    "STRIDED_SLICE:INT8",
    "STRIDED_SLICE:INT32",
    "STRIDED_SLICE:stride>1",
    "PACK:INT8",
    "PACK:INT32",
    "SOFTMAX:rank>2",
    "SPACE_TO_BATCH_ND:rank=3",
    "SPACE_TO_BATCH_ND:rank=4",
    "SPACE_TO_BATCH_ND:padded",
    "SPACE_TO_BATCH_ND:unpadded",
    "SPACE_TO_BATCH_ND:placeholder_batch",
    "BATCH_TO_SPACE_ND:cropped",
    "CONV_2D:dilated_by_space_to_batch",
    "DEPTHWISE_CONV_2D:dilated_by_space_to_batch",
    "model:inputs>1",
    "model:outputs>1",
)

REQUIRED: tuple[str, ...] = REQUIRED_OPS + REQUIRED_COMBINATIONS


def _dtype(model: Model, index: int) -> str:
    return model.tensors[index].dtype if index >= 0 else "NONE"


def _op_features(model: Model, op: Operator) -> set[str]:
    name = op.op
    out = {name}
    opts = op.options
    if "padding" in opts:
        out.add(f"{name}:padding={opts['padding']}")
    if max(opts.get("stride_w", 1), opts.get("stride_h", 1)) > 1:
        out.add(f"{name}:stride>1")
    if max(opts.get("dilation_w_factor", 1), opts.get("dilation_h_factor", 1)) > 1:
        out.add(f"{name}:dilation>1")
    if "fused_activation_function" in opts:
        out.add(f"{name}:act={opts['fused_activation_function']}")
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
        weights = model.tensors[op.inputs[1]]
        out.add(f"{name}:weights={weights.quantization.kind}")
        if len(op.inputs) < 3 or op.inputs[2] < 0:
            out.add(f"{name}:no_bias")
        if name == "CONV_2D" and weights.shape[1:3] == (1, 1):
            out.add(f"{name}:kernel=1x1")
        if name == "DEPTHWISE_CONV_2D":
            in_ch = model.tensors[op.inputs[0]].shape[-1]
            mult = weights.shape[-1] // max(in_ch, 1)
            out.add(f"{name}:multiplier=1" if mult == 1 else f"{name}:multiplier>1")
        if name == "FULLY_CONNECTED":
            out_elems = model.tensors[op.outputs[0]].elements
            if out_elems // max(weights.shape[0], 1) > 1:
                out.add(f"{name}:batch>1")
    if name in ("ADD", "MUL"):
        a, b = (model.tensors[i].shape for i in op.inputs[:2])
        if a != b:
            out.add(f"{name}:broadcast")
    if name == "MEAN":
        axes = model.tensors[op.inputs[1]]
        out.add(f"MEAN:axes={axes.elements}")
        if opts.get("keep_dims"):
            out.add("MEAN:keep_dims")
    if name == "CONCATENATION":
        rank = len(model.tensors[op.outputs[0]].shape)
        axis = opts.get("axis", 0)
        axis = axis + rank if axis < 0 else axis
        out.add(f"CONCATENATION:axis={'last' if axis == rank - 1 else 'inner'}")
    if name in ("QUANTIZE", "DEQUANTIZE"):
        out.add(f"{name}:{_dtype(model, op.inputs[0])}->{_dtype(model, op.outputs[0])}")
    if name in ("STRIDED_SLICE", "PACK"):
        out.add(f"{name}:{_dtype(model, op.inputs[0])}")
    if name == "STRIDED_SLICE":
        strides = model.tensors[op.inputs[3]]
        if strides.is_constant and any(abs(int(s)) > 1 for s in strides.numpy().ravel()):
            out.add("STRIDED_SLICE:stride>1")
    if name == "SOFTMAX" and len(model.tensors[op.inputs[0]].shape) > 2:
        out.add("SOFTMAX:rank>2")
    if name in ("SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND"):
        out |= _space_batch_features(model, op)
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D") and _after_space_to_batch(model, op.inputs[0]):
        out.add(f"{name}:dilated_by_space_to_batch")
    return out


def _space_batch_features(model: Model, op: Operator) -> set[str]:
    name = op.op
    x = model.tensors[op.inputs[0]]
    y = model.tensors[op.outputs[0]]
    block = model.tensors[op.inputs[1]].numpy().ravel()
    amounts = model.tensors[op.inputs[2]].numpy().ravel()
    out = {f"{name}:rank={len(x.shape)}"}
    if name == "SPACE_TO_BATCH_ND":
        out.add(f"{name}:{'padded' if amounts.any() else 'unpadded'}")
        # The converter writes batch 1 where the batch is dynamic; the engine computes it.
        if y.shape[0] != x.shape[0] * int(np.prod(block)):
            out.add(f"{name}:placeholder_batch")
    elif amounts.any():
        out.add(f"{name}:cropped")
    return out


def _after_space_to_batch(model: Model, tensor: int) -> bool:
    """Whether ``tensor`` comes from a SPACE_TO_BATCH_ND (through reshapes): the converter's
    lowering of a dilated convolution."""
    producer = model.producer(tensor)
    while producer is not None and producer.op in ("RESHAPE", "EXPAND_DIMS", "SQUEEZE"):
        producer = model.producer(producer.inputs[0])
    return producer is not None and producer.op == "SPACE_TO_BATCH_ND"


def features(model: Model) -> set[str]:
    """Every op and parameter combination the model exercises."""
    out: set[str] = set()
    for op in model.operators:
        out |= _op_features(model, op)
    if len(model.inputs) > 1:
        out.add("model:inputs>1")
    if len(model.outputs) > 1:
        out.add("model:outputs>1")
    return out


def uncovered(all_features: set[str]) -> list[str]:
    """Required features that no model exercises, in the order of ``REQUIRED``."""
    return [f for f in REQUIRED if f not in all_features]


def markdown_table(entries: list[dict[str, object]]) -> str:
    """Coverage table for docs/models.md: each required feature and the models covering it."""
    by_feature: dict[str, list[str]] = {f: [] for f in REQUIRED}
    for e in entries:
        feats = e.get("features") or []
        assert isinstance(feats, list)
        for f in feats:
            if f in by_feature:
                by_feature[f].append(str(e["name"]))
    lines = ["| op / parameter | test models |", "|---|---|"]
    for f in REQUIRED:
        names = by_feature[f]
        shown = ", ".join(f"`{n}`" for n in names[:6])
        if len(names) > 6:
            shown += f" and {len(names) - 6} more"
        lines.append(f"| `{f}` | {shown or '**none**'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    import json
    from pathlib import Path

    manifest = json.loads((Path(__file__).resolve().parent / "manifest.json").read_text())
    print(markdown_table(manifest["models"]))
