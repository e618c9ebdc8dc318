"""``theraloop model inspect``: everything about a model a firmware engineer needs.

Ops with their options and MACs, tensors with shape/type/quantization, the exact arena
(from the engine), flash (file and weights), the input/output contract, and whether the
engine runs the model -- with the reasons when it does not.
"""

from __future__ import annotations

import hashlib
from typing import Any

from theraloop.model.engine_link import EngineVerdict, load_verdict
from theraloop.model.macs import model_macs, op_macs
from theraloop.model.support import unsupported_reasons
from theraloop.model.tflite_file import Model, Tensor, parse

# Options not worth a column in the human table (defaults the converter always writes).
_QUIET_OPTIONS = {
    ("quantized_bias_type", "FLOAT32"),
    ("asymmetric_quantize_inputs", False),
    ("weights_format", "DEFAULT"),
    ("keep_num_dims", False),
    ("fused_activation_function", "NONE"),
    ("dilation_w_factor", 1),
    ("dilation_h_factor", 1),
    ("offset", False),
    ("quant_spec", None),
}


def io_json(t: Tensor) -> dict[str, Any]:
    return {
        "tensor": t.index,
        "name": t.name,
        "shape": list(t.shape),
        "dtype": t.dtype.lower(),
        "scale": t.quantization.scale,
        "zero_point": t.quantization.zero_point,
        "bytes": t.nbytes,
    }


def tensor_json(t: Tensor) -> dict[str, Any]:
    out: dict[str, Any] = {
        "index": t.index,
        "name": t.name,
        "shape": list(t.shape),
        "dtype": t.dtype.lower(),
        "constant": t.is_constant,
        "bytes": t.nbytes,
        "quantization": t.quantization.to_json(),
    }
    if t.shape_signature and t.shape_signature != t.shape:
        out["shape_signature"] = list(t.shape_signature)
    return out


def build_report(data: bytes, path: str, model: Model | None = None) -> dict[str, Any]:
    """The inspect report as a JSON-ready dict (raises ModelFormatError on a broken file)."""
    m = model if model is not None else parse(data)
    reasons = unsupported_reasons(m)
    verdict: EngineVerdict = load_verdict(data)
    if verdict.available and not verdict.loaded and verdict.error:
        reasons.append(f"engine: {verdict.error}")
    supported = not reasons and (verdict.loaded or not verdict.available)
    ops = []
    for op in m.operators:
        ops.append(
            {
                "index": op.index,
                "op": op.op,
                "version": op.version,
                "inputs": list(op.inputs),
                "outputs": list(op.outputs),
                "options": op.options,
                "macs": op_macs(m, op),
            }
        )
    report: dict[str, Any] = {
        "file": path,
        "sha256": hashlib.sha256(data).hexdigest(),
        "flash_bytes": len(data),
        "weights_bytes": m.weights_bytes,
        "schema_version": m.schema_version,
        "description": m.description,
        "supported": supported,
        "reasons": reasons,
        "arena_bytes": verdict.arena_bytes if verdict.loaded else None,
        "macs": model_macs(m),
        "inputs": [io_json(t) for t in m.input_tensors],
        "outputs": [io_json(t) for t in m.output_tensors],
        "operators": ops,
        "tensors": [tensor_json(t) for t in m.tensors],
        "engine": verdict.to_json(),
    }
    return report


# ---------------------------------------------------------------------------------------
# Human output


def _shape(shape: list[int]) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def _quant(q: dict[str, Any]) -> str:
    if q["kind"] == "none":
        return "-"
    if q["kind"] == "per-tensor":
        return f"s={q['scales'][0]:.6g} zp={q['zero_points'][0]}"
    return f"per-channel({len(q['scales'])}) axis {q['axis']}"


def _io_line(k: int, io: dict[str, Any]) -> str:
    q = f"  scale {io['scale']:.9g} zero_point {io['zero_point']}" if io["scale"] else ""
    return f"  #{k} {io['name']}  {io['dtype']}{_shape(io['shape'])}{q}"


def _options_text(opts: dict[str, Any]) -> str:
    """Options in a compact form: ``stride=2x1 act=RELU pool=1x2 padding=VALID``."""
    o = dict(opts)
    parts = []
    if "padding" in o:
        parts.append(f"padding={o.pop('padding')}")
    pairs = (
        ("stride", "stride_h", "stride_w"),
        ("dilation", "dilation_h_factor", "dilation_w_factor"),
        ("pool", "filter_height", "filter_width"),
    )
    for label, h, w in pairs:
        if h in o and w in o:
            vh, vw = o.pop(h), o.pop(w)
            if label != "dilation" or (vh, vw) != (1, 1):
                parts.append(f"{label}={vh}x{vw}")
    act = o.pop("fused_activation_function", "NONE")
    if act != "NONE":
        parts.append(f"act={act}")
    for k, v in o.items():
        if (k, v) in _QUIET_OPTIONS or v is None:
            continue
        parts.append(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}")
    return " ".join(parts)


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]
    out = []
    for row in [header, *rows]:
        cells = [
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(row)
        ]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def render_report(r: dict[str, Any]) -> str:
    lines = [f"model     {r['file']}", f"sha256    {r['sha256']}"]
    if r["supported"]:
        lines.append("supported yes")
    else:
        lines.append("supported NO")
        lines += [f"  - {why}" for why in r["reasons"]]
    eng = r["engine"]
    if r["arena_bytes"] is not None:
        lines.append(f"arena     {r['arena_bytes']:,} bytes (exact, from the engine's planner)")
    elif not eng["available"]:
        lines.append(f"arena     unknown: {eng['error']}")
    else:
        lines.append("arena     unknown (the engine does not load this model)")
    lines.append(
        f"flash     {r['flash_bytes']:,} bytes (.tflite file), of which "
        f"{r['weights_bytes']:,} bytes constant data"
    )
    lines.append(f"MACs      {r['macs']:,} per inference")
    lines.append("inputs")
    lines += [_io_line(k, io) for k, io in enumerate(r["inputs"])]
    lines.append("outputs")
    lines += [_io_line(k, io) for k, io in enumerate(r["outputs"])]

    tensors = r["tensors"]
    lines.append(f"operators ({len(r['operators'])})")
    rows = []
    for op in r["operators"]:
        ins = [i for i in op["inputs"] if i >= 0 and not tensors[i]["constant"]]
        shapes_in = " ".join(_shape(tensors[i]["shape"]) for i in ins)
        shapes_out = " ".join(_shape(tensors[i]["shape"]) for i in op["outputs"])
        rows.append(
            [
                str(op["index"]),
                op["op"],
                f"{op['macs']:,}",
                f"{shapes_in} -> {shapes_out}",
                _options_text(op["options"]),
            ]
        )
    lines += _table(["#", "op", "MACs", "shapes", "options"], rows, right={0, 2})
    lines.append(f"tensors ({len(tensors)})")
    rows = [
        [
            str(t["index"]),
            t["dtype"],
            _shape(t["shape"]),
            f"{t['bytes']:,}",
            "const" if t["constant"] else "",
            _quant(t["quantization"]),
            t["name"] if len(t["name"]) <= 60 else t["name"][:57] + "...",
        ]
        for t in tensors
    ]
    lines += _table(
        ["#", "type", "shape", "bytes", "kind", "quantization", "name"], rows, right={0, 3}
    )
    return "\n".join(lines)
