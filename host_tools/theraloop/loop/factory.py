"""Build step: factory models as C, with the pipeline each was trained on.

    python -m theraloop.loop.factory --out build/x/generated models/a/a.tflite ...

For every model: `theraloop model convert` writes NAME.c / NAME.h (the file as a const
array and its tl_model_info_t), and the model's ``contract.json`` (beside the .tflite,
written by `theraloop model train`) becomes its *preset*: the loop configuration of its
pipeline (AFE rate, channels, hop, window, bands and their fractional bits, line length,
area, raw window, features or raw input, score and artifact classes). Then
``theraloop/factory_models.h`` (count, arena size) and ``factory_models.c`` (the table)
are written. Run by cmake/factory_models.cmake; fails with a clear message on anything
the device could not run as the contract says.

Contract keys used: ``kind`` (feature_classifier | raw_window_classifier), ``input.shape``,
``output.score_class``, ``output.artifact_class`` (optional), ``step.hop_samples``,
``step.inferences_per_step`` (optional, 1), ``feature_config`` (FeatureConfig.contract():
sample_rate_hz, channels, hop, window_hops, raw_len, features with kind, channel,
band_hz and frac_bits).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from theraloop.dsp.config import MAX_RAW, MAX_WINDOW_SAMPLES
from theraloop.dsp.design import DEFAULT_BANDS
from theraloop.model.convert import check_name, convert_file, default_name
from theraloop.model.errors import EngineUnavailable, ModelRejected

AFE_RATES = (250, 500, 1000)
MAX_BANDS = 4  # TL_LOOP_BANDS_MAX: the built-in bands theta, alpha, beta, gamma


class FactoryError(Exception):
    """A factory model the firmware cannot carry as its contract says."""


@dataclass
class Preset:
    """The pipeline fields of a tl_loop_config_t (the rest are the operator's)."""

    afe_rate_hz: int
    afe_channels: int
    hop_samples: int
    window_hops: int
    bands: int
    band_frac_bits: list[int]
    line_length: int
    ll_frac_bits: int
    area: int
    area_frac_bits: int
    raw_len: int
    pipeline: int  # 0 features, 1 raw
    raw_channel: int
    infer_every: int
    score_class: int
    artifact_class: int
    notes: list[str]


def _prod(shape: list[int]) -> int:
    return int(math.prod(int(d) for d in shape))


def preset_from_contract(contract: dict[str, Any], name: str) -> Preset:
    """The loop configuration a model's contract describes (see the module docstring)."""
    try:
        kind = str(contract["kind"])
        fc = contract["feature_config"]
        fs = float(fc["sample_rate_hz"])
        channels = int(fc["channels"])
        window_hops = int(fc["window_hops"])
        features = list(fc["features"])
        in_elems = _prod(contract["input"]["shape"])
        out = contract["output"]
        score_class = int(out["score_class"])
        artifact = out.get("artifact_class")
        artifact_class = -1 if artifact is None else int(artifact)
        step = contract.get("step", {})
        hop = int(step.get("hop_samples", fc["hop"]))
        per_step = int(step.get("inferences_per_step", 1))
        raw_len = int(fc.get("raw_len", 0))
    except (KeyError, TypeError, ValueError) as e:
        raise FactoryError(f"{name}: contract.json lacks or mangles {e}") from e
    if kind not in ("feature_classifier", "raw_window_classifier"):
        raise FactoryError(f"{name}: contract kind {kind!r} is not one the loop runs")
    if per_step != 1:
        raise FactoryError(f"{name}: {per_step} inferences per step; the loop runs at most 1")
    pipeline = 1 if kind == "raw_window_classifier" else 0
    notes: list[str] = []
    rate = round(fs)
    if not any(abs(fs - r) < 1e-9 for r in AFE_RATES):
        if pipeline == 0:
            raise FactoryError(
                f"{name}: features at {fs:g} Hz; the AFE delivers 250, 500 or 1000 Hz"
            )
        rate = 250
        notes.append(
            f"trained on raw samples at {fs:g} Hz: the device gives it its 250 Hz AFE "
            "samples unchanged (the same samples per window, time scaled)"
        )
    if not 1 <= channels <= 4:
        raise FactoryError(f"{name}: {channels} channels; the AFE carries 1..4")
    ch0 = [f for f in features if int(f.get("channel", 0)) == 0]
    bands = [f for f in ch0 if f.get("kind") == "band_power"]
    matched = 0
    for f, builtin in zip(bands, DEFAULT_BANDS, strict=False):
        lo, hi = (float(x) for x in f["band_hz"])
        if abs(lo - builtin.low_hz) > 1e-6 or abs(hi - builtin.high_hz) > 1e-6:
            break
        matched += 1
    if matched < len(bands):
        if pipeline == 0:
            raise FactoryError(
                f"{name}: band {bands[matched].get('name')} {bands[matched].get('band_hz')} Hz "
                "is not the built-in band at that position (theta 4-8, alpha 8-12, beta "
                "13-30, gamma 30-90 Hz); factory presets use the built-in bands"
            )
        notes.append(
            f"telemetry features: the first {matched} built-in band(s); the contract's "
            f"other bands are not built in (the model takes the raw window)"
        )
    if matched > MAX_BANDS:
        raise FactoryError(f"{name}: more than {MAX_BANDS} bands")
    frac = [int(b.get("frac_bits", 4)) for b in bands[:matched]] + [4] * (MAX_BANDS - matched)
    ll = [f for f in ch0 if f.get("kind") == "line_length"]
    area = [f for f in ch0 if f.get("kind") == "area"]
    per_channel = matched + len(ll[:1]) + len(area[:1])
    if pipeline == 0:
        if len(ch0) != per_channel or per_channel * channels != in_elems:
            raise FactoryError(
                f"{name}: the model takes {in_elems} inputs, the preset's features give "
                f"{per_channel * channels}"
            )
    else:
        if raw_len != in_elems:
            notes.append(f"raw window: {in_elems} samples (the model's input)")
        raw_len = in_elems
        if not 1 <= raw_len <= MAX_RAW:
            raise FactoryError(f"{name}: raw window of {raw_len} samples (1..{MAX_RAW})")
    if not 1 <= hop <= 1024 or not 1 <= window_hops <= 64 or hop * window_hops > MAX_WINDOW_SAMPLES:
        raise FactoryError(f"{name}: hop {hop} x window {window_hops} hops is not realisable")
    n_classes = _prod(contract["output"]["shape"])
    if not 0 <= score_class < n_classes or artifact_class >= n_classes:
        raise FactoryError(f"{name}: score/artifact class outside the {n_classes} outputs")
    return Preset(
        afe_rate_hz=rate,
        afe_channels=channels,
        hop_samples=hop,
        window_hops=window_hops,
        bands=matched,
        band_frac_bits=frac,
        line_length=1 if ll else 0,
        ll_frac_bits=int(ll[0].get("frac_bits", 4)) if ll else 4,
        area=1 if area else 0,
        area_frac_bits=int(area[0].get("frac_bits", 4)) if area else 4,
        raw_len=raw_len,
        pipeline=pipeline,
        raw_channel=0,
        infer_every=1,
        score_class=score_class,
        artifact_class=artifact_class,
        notes=notes,
    )


def preset_settings(p: Preset) -> dict[str, int | str]:
    """The preset as `theraloop config set` fields (to run the model from RAM, or in SIL
    without the factory build)."""
    out: dict[str, int | str] = {
        "afe_rate_hz": p.afe_rate_hz,
        "afe_channels": p.afe_channels,
        "hop_samples": p.hop_samples,
        "window_hops": p.window_hops,
        "bands": p.bands,
        "line_length": p.line_length,
        "ll_frac_bits": p.ll_frac_bits,
        "area": p.area,
        "area_frac_bits": p.area_frac_bits,
        "raw_len": p.raw_len,
        "pipeline": "raw" if p.pipeline else "features",
        "raw_channel": p.raw_channel,
        "infer_every": p.infer_every,
        "score_class": p.score_class,
        "artifact_class": p.artifact_class,
    }
    for i, bits in enumerate(p.band_frac_bits):
        out[f"band{i}_frac_bits"] = bits
    return out


def _preset_c(p: Preset) -> str:
    frac = ", ".join(f"{b}u" for b in p.band_frac_bits)
    lines = [
        f".afe_rate_hz = {p.afe_rate_hz}u",
        f".afe_channels = {p.afe_channels}u",
        f".hop_samples = {p.hop_samples}u",
        f".window_hops = {p.window_hops}u",
        f".bands = {p.bands}u",
        f".band_frac_bits = {{{frac}}}",
        f".line_length = {p.line_length}u",
        f".ll_frac_bits = {p.ll_frac_bits}u",
        f".area = {p.area}u",
        f".area_frac_bits = {p.area_frac_bits}u",
        f".raw_len = {p.raw_len}u",
        f".pipeline = {p.pipeline}u",
        f".raw_channel = {p.raw_channel}u",
        f".infer_every = {p.infer_every}u",
        f".score_class = {p.score_class}u",
        f".artifact_class = {p.artifact_class}",
    ]
    return "".join(f"            {line},\n" for line in lines)


def generate(models: list[Path], out_dir: Path) -> list[dict[str, Any]]:
    """Convert the models and write the table; returns a summary per model."""
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    summary = []
    arena = 16
    for path in models:
        name = check_name(default_name(path))
        contract_path = path.parent / "contract.json"
        if not contract_path.is_file():
            raise FactoryError(
                f"{path}: no contract.json beside it: the loop needs the pipeline the model "
                "was trained on (written by `theraloop model train`)"
            )
        contract = json.loads(contract_path.read_text())
        preset = preset_from_contract(contract, name)
        done = convert_file(path, out_dir, name)
        arena = max(arena, (done.arena_bytes + 15) // 16 * 16)
        notes = "".join(f"        /* {n} */\n" for n in preset.notes)
        entries.append(
            f"    {{\n        .info = &{name}_info,\n{notes}        .preset = {{\n"
            f"            .model = 0u, /* set by the loop */\n{_preset_c(preset)}"
            "        },\n    },\n"
        )
        summary.append(
            {"name": name, "bytes": done.size, "arena": done.arena_bytes, "notes": preset.notes}
        )
    header = (
        "/* Generated by `python -m theraloop.loop.factory` (cmake/factory_models.cmake). */\n"
        "#ifndef THERALOOP_FACTORY_MODELS_H\n#define THERALOOP_FACTORY_MODELS_H\n\n"
        '#include "theraloop/loop/model_source.h"\n\n'
        f"#define TL_FACTORY_MODEL_COUNT {len(models)}\n"
        f"#define TL_FACTORY_ARENA_BYTES {arena}u\n\n"
        "extern const tl_factory_model_t tl_factory_models[TL_FACTORY_MODEL_COUNT];\n\n"
        "#endif\n"
    )
    includes = "".join(f'#include "{check_name(default_name(p))}.h"\n' for p in models)
    source = (
        "/* Generated by `python -m theraloop.loop.factory` (cmake/factory_models.cmake):\n"
        " * the factory models and the pipeline presets from their contract.json. */\n"
        '#include "theraloop/factory_models.h"\n\n'
        f"{includes}\n"
        "const tl_factory_model_t tl_factory_models[TL_FACTORY_MODEL_COUNT] = {\n"
        + "".join(entries)
        + "};\n"
    )
    (out_dir / "theraloop").mkdir(exist_ok=True)
    _write_if_changed(out_dir / "theraloop" / "factory_models.h", header)
    _write_if_changed(out_dir / "factory_models.c", source)
    return summary


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m theraloop.loop.factory", description=__doc__)
    ap.add_argument("--out", required=True, type=Path, help="generated-sources directory")
    ap.add_argument("models", nargs="+", type=Path, help=".tflite files")
    args = ap.parse_args(argv)
    try:
        summary = generate(args.models, args.out)
    except (FactoryError, ModelRejected, EngineUnavailable, OSError, ValueError) as e:
        print(f"theraloop.loop.factory: error: {e}", file=sys.stderr)
        return 1
    for s in summary:
        notes = "".join(f"; {n}" for n in s["notes"])
        print(f"factory model {s['name']}: {s['bytes']} bytes, arena {s['arena']} bytes{notes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
