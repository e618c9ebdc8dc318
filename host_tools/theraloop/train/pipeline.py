"""``theraloop model train`` / ``model eval``: run a recipe end to end, write its outputs.

Train: the recipe's own code (data, cross-validation or held-out evaluation, int8
quantisation, bit-exactness checks) returns the evaluation, the ``.tflite`` and the
contract; this module then writes the model, its C arrays (the ``model convert`` code
path), the device cost (flash, arena, MACs, emulator cycles when the benchmark exists)
against the recipe's budget, ``contract.json``, ``evaluation.json`` and the model card
``README.md`` rendered from the evaluation.

Eval: the shipped ``.tflite`` (or ``--model FILE``) with its ``contract.json``, run by
our engine on a data folder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from theraloop.engine import EngineLibraryMissing
from theraloop.model.convert import convert_file
from theraloop.model.errors import EngineUnavailable
from theraloop.train import card, cost
from theraloop.train import recipe as recipes
from theraloop.train.data import default_data_dir
from theraloop.train.errors import QuantizationError, RecipeError
from theraloop.train.progress import Progress

CONTRACT = "contract.json"
EVALUATION = "evaluation.json"
CARD = "README.md"


def _versions() -> dict[str, str]:
    out = {}
    for dist in ("theraloop", "tensorflow-cpu", "tflite-micro", "numpy", "scipy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _clean(obj: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python, tuples -> lists."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, str | bytes):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(_clean(data), indent=1, sort_keys=False) + "\n")


@dataclass(frozen=True)
class TrainOutput:
    out_dir: Path
    model: Path
    c_source: Path
    header: Path
    contract: Path
    evaluation: Path
    card: Path
    summary: dict[str, Any]


def _kind_module(kind: str) -> Any:
    if kind == "seizure_detector":
        from theraloop.train import seizure

        return seizure
    if kind == "beta_biomarker":
        from theraloop.train import biomarker

        return biomarker
    raise RecipeError(f"unknown recipe kind {kind}")


def measure_device(
    kind: str,
    blob: bytes,
    model_path: Path,
    contract: dict[str, Any],
    data: Path,
    budget: dict[str, Any],
    bench: bool,
    prog: Progress,
) -> dict[str, Any]:
    """Flash, arena, MACs; with ``bench``: emulator cycles and the emulated-device check;
    all against the budget."""
    device = cost.model_cost(blob)
    if bench:
        prog.note(f"measuring {model_path.name} on the emulated device (theraloop bench)")
        device.update(cost.bench(model_path).to_json())
        samples = _kind_module(kind).device_samples(contract, data)
        device["emulated_device"] = _device_check(blob, samples, prog).to_json()
    else:
        device.update(cost.BenchResult(None, {}, {}, "benchmark skipped (--no-bench)").to_json())
        device["emulated_device"] = {
            "cases": 0,
            "identical": None,
            "mismatched_cases": 0,
            "note": "skipped (--no-bench)",
        }
    device["budget"] = cost.budget_check(
        device, cost.Budget.from_dict(budget), step_seconds(contract)
    )
    return device


def remeasure(
    recipe_name: str,
    out_dir: Path | None = None,
    data_dir: Path | None = None,
    progress: Progress | None = None,
) -> TrainOutput:
    """Measure an already trained model again on the device (benchmark, emulated-device
    check), update evaluation.json and re-render the card. No training."""
    r = recipes.load(recipe_name)
    out = (out_dir or r.directory).resolve()
    eval_path, contract_path = out / EVALUATION, out / CONTRACT
    model_path = out / f"{r.name}.tflite"
    for p in (eval_path, contract_path, model_path):
        if not p.is_file():
            raise RecipeError(f"{p} not found: train the recipe first")
    evaluation = json.loads(eval_path.read_text())
    contract = json.loads(contract_path.read_text())
    data = (data_dir or default_data_dir()).resolve()
    blob = model_path.read_bytes()
    evaluation["device"] = measure_device(
        r.kind,
        blob,
        model_path,
        contract,
        data,
        evaluation.get("budget", {}),
        True,
        progress or Progress(),
    )
    write_json(eval_path, evaluation)
    card_path = out / CARD
    card_path.write_text(card.render(json.loads(eval_path.read_text())))
    o = evaluation["outputs"]
    return TrainOutput(
        out,
        model_path,
        out / o["c_source"],
        out / o["header"],
        contract_path,
        eval_path,
        card_path,
        card.summary(json.loads(eval_path.read_text())),
    )


def _device_check(blob: bytes, samples: Any, prog: Progress) -> Any:
    from theraloop.paths import default_elf
    from theraloop.train.device_check import DeviceCheck, compare_on_emulator

    elf = default_elf()
    if not elf.is_file():
        return DeviceCheck(0, None, 0, f"no firmware image at {elf} (make firmware)")
    prog.note(f"running {len(samples)} real inputs on the emulated device ({elf.name})")
    return compare_on_emulator(blob, samples, elf)


def step_seconds(contract: dict[str, Any]) -> float:
    return float(contract["step"]["hop_s"]) / int(contract["step"]["inferences_per_step"])


@contextmanager
def _usage_errors() -> Iterator[None]:
    """A missing engine library is a usage problem (build it), not an internal error."""
    try:
        yield
    except EngineLibraryMissing as e:
        raise EngineUnavailable(str(e)) from e


def train(
    recipe_name: str,
    out_dir: Path | None = None,
    data_dir: Path | None = None,
    tiny: bool = False,
    progress: Progress | None = None,
    bench: bool = True,
) -> TrainOutput:
    r = recipes.load(recipe_name)
    out = (out_dir or r.directory).resolve()
    data = (data_dir or default_data_dir()).resolve()
    prog = progress or Progress()
    config = r.merged(tiny)
    out.mkdir(parents=True, exist_ok=True)
    kind = _kind_module(r.kind)
    with _usage_errors():
        evaluation, blob, contract = kind.train(config, data, out, r.name, tiny, prog)

    model_path = out / f"{r.name}.tflite"
    model_path.write_bytes(blob)
    converted = convert_file(model_path, out, r.name)

    evaluation["device"] = measure_device(
        r.kind, blob, model_path, contract, data, evaluation.get("budget", {}), bench, prog
    )
    evaluation["versions"] = _versions()
    evaluation["outputs"] = {
        "model": model_path.name,
        "c_source": converted.c_path.name,
        "header": converted.h_path.name,
        "contract": CONTRACT,
        "card": CARD,
    }
    evaluation["contract"] = contract

    contract_path = out / CONTRACT
    eval_path = out / EVALUATION
    card_path = out / CARD
    write_json(contract_path, contract)
    write_json(eval_path, evaluation)
    card_path.write_text(card.render(json.loads(eval_path.read_text())))
    return TrainOutput(
        out,
        model_path,
        converted.c_path,
        converted.h_path,
        contract_path,
        eval_path,
        card_path,
        card.summary(json.loads(eval_path.read_text())),
    )


def render_card(recipe_name: str, out_dir: Path | None = None) -> Path:
    """Re-render README.md from an existing evaluation.json (no training)."""
    r = recipes.load(recipe_name)
    out = (out_dir or r.directory).resolve()
    eval_path = out / EVALUATION
    if not eval_path.is_file():
        raise RecipeError(f"{eval_path} not found: train the recipe first")
    card_path = out / CARD
    card_path.write_text(card.render(json.loads(eval_path.read_text())))
    return card_path


def evaluate(
    recipe_name: str, data_dir: Path | None = None, model: Path | None = None
) -> dict[str, Any]:
    """The shipped int8 model (or ``model``) of a recipe, run by our engine on the data."""
    r = recipes.load(recipe_name)
    model_path = model or r.shipped_model
    contract_path = model_path.parent / CONTRACT
    if not model_path.is_file():
        raise RecipeError(f"{model_path} not found: train the recipe first")
    if not contract_path.is_file():
        raise RecipeError(f"{contract_path} not found (written by `model train` beside the model)")
    contract = json.loads(contract_path.read_text())
    if contract.get("model") != r.kind:
        raise RecipeError(f"{contract_path} is a {contract.get('model')} contract, not {r.kind}")
    data = (data_dir or default_data_dir()).resolve()
    blob = model_path.read_bytes()
    try:
        with _usage_errors():
            result = _kind_module(r.kind).evaluate(blob, contract, data)
    except QuantizationError as e:
        raise RecipeError(f"{model_path} does not fit its contract.json: {e}") from e
    result = {"recipe": r.name, "model": str(model_path), **result}
    return _clean(result)
