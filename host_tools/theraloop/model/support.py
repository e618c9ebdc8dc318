"""Whether the engine can run a model, and why not, decided from the file alone.

This mirrors the engine's loader so that ``model inspect`` can explain a rejection in
terms of the model (which op, which tensor, float or hybrid) even where the engine
library is not built. The engine stays the authority: ``inspect`` and ``verify`` also
load the model into it and report its verdict.
"""

from __future__ import annotations

from theraloop.model.tflite_file import Model, Operator, Tensor

#: Builtin ops the engine implements (the inference-engine issue's list).
SUPPORTED_OPS: frozenset[str] = frozenset(
    {
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
    }
)

#: Ops whose weights (input 1) make them the "compute" ops of a model.
WEIGHTED_OPS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"})
#: Ops that only move or reshape data and may carry int32 shape/index tensors.
_SHAPE_OPS = frozenset(
    {"RESHAPE", "EXPAND_DIMS", "SQUEEZE", "SHAPE", "STRIDED_SLICE", "PACK", "CONCATENATION"}
)


def _is_float(t: Tensor) -> bool:
    return t.dtype in ("FLOAT32", "FLOAT16", "FLOAT64", "BFLOAT16")


def _float_kind(model: Model, op: Operator) -> str | None:
    """Whether the op computes in float: "hybrid" (int8 weights), "float", or None."""
    if op.op == "QUANTIZE":
        return None  # float32 -> int8 at the model input is supported
    if op.op == "DEQUANTIZE":
        src = model.tensors[op.inputs[0]] if op.inputs and op.inputs[0] >= 0 else None
        # int8 -> float32 at the model output is supported; dequantizing constant
        # weights is how float models store int8 (or float16) weights.
        return "float" if src is not None and src.is_constant else None
    data_in = [model.tensors[i] for i in op.inputs if i >= 0 and not model.tensors[i].is_constant]
    if not any(_is_float(t) for t in data_in):
        return None
    weighted = op.op in WEIGHTED_OPS and len(op.inputs) > 1 and op.inputs[1] >= 0
    if weighted and model.tensors[op.inputs[1]].dtype in ("INT8", "UINT8", "INT4"):
        return "hybrid"
    return "float"


_FIX = "convert with full-integer int8 quantization (a representative dataset)"


def _ops_text(model: Model, indices: list[int]) -> str:
    names = sorted({model.operators[i].op for i in indices})
    return (
        f"op{'s' if len(indices) > 1 else ''} {', '.join(map(str, indices))} ({', '.join(names)})"
    )


def _type_reason(model: Model, op: Operator) -> str | None:
    allowed = {"INT8"}
    if op.op in _SHAPE_OPS:
        allowed |= {"INT32"}
    if op.op == "SHAPE":
        allowed = {"INT8", "INT32"}
    for pos, i in enumerate(op.inputs):
        if i < 0:
            continue
        t = model.tensors[i]
        if _is_float(t):
            continue  # reported by _float_op_reason
        if t.is_constant:
            continue  # weights, bias and shape operands are checked by the engine
        if t.dtype not in allowed:
            return f"op {op.index} {op.op}: input {pos} (tensor {i}) has unsupported type {t.dtype}"
    for pos, i in enumerate(op.outputs):
        t = model.tensors[i]
        if _is_float(t) and op.op == "DEQUANTIZE":
            continue
        if _is_float(t):
            continue
        if t.dtype not in allowed:
            return (
                f"op {op.index} {op.op}: output {pos} (tensor {i}) has unsupported type {t.dtype}"
            )
    return None


def unsupported_reasons(model: Model) -> list[str]:
    """Everything that keeps the engine from running ``model`` (empty: supported)."""
    reasons: list[str] = []
    if model.subgraph_count != 1:
        reasons.append(f"{model.subgraph_count} subgraphs: the engine runs exactly one")
    if model.external_buffers:
        reasons.append("constant data stored outside the flatbuffer (buffer offsets)")
    for t in model.tensors:
        if t.sparse:
            reasons.append(f"tensor {t.index} ({t.name}) is sparse")
        if t.is_variable:
            reasons.append(f"tensor {t.index} ({t.name}) is a variable (stateful models)")
    unknown: dict[str, list[int]] = {}
    hybrid: list[int] = []
    floating: list[int] = []
    for op in model.operators:
        if op.op not in SUPPORTED_OPS:
            unknown.setdefault(op.op, []).append(op.index)
            continue
        kind = _float_kind(model, op)
        if kind == "hybrid":
            hybrid.append(op.index)
        elif kind == "float":
            floating.append(op.index)
        else:
            why = _type_reason(model, op)
            if why is not None:
                reasons.append(why)
    # Hybrid first (it names the quantization mode to change), the fix said once.
    fix = f"; {_FIX}"
    if hybrid:
        reasons.insert(
            0,
            f"hybrid model (dynamic-range quantization): {_ops_text(model, hybrid)} "
            f"{'take' if len(hybrid) > 1 else 'takes'} float32 activations with int8 "
            f"weights{fix}",
        )
        fix = ""
    if floating:
        reasons.insert(
            1 if hybrid else 0,
            f"float model: {_ops_text(model, floating)} "
            f"{'compute' if len(floating) > 1 else 'computes'} in float32{fix}",
        )
    for name, where in unknown.items():
        kind_text = "custom op" if name.startswith("CUSTOM:") else "unsupported op"
        reasons.append(f"{kind_text} {name.removeprefix('CUSTOM:')} ({_ops_text(model, where)})")
    return reasons
