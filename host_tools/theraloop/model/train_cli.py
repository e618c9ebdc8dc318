"""``theraloop model train`` and ``theraloop model eval``: the reference-model recipes.

    theraloop model train seizure_detector            # models/seizure_detector/*
    theraloop model train beta_biomarker --out /tmp/bb --tiny
    theraloop model eval seizure_detector --data ../shared/data/bonn_eeg --json

Progress bars go to stderr, results to stdout. Exit codes: 0 ok, 1 the engine and the
tflite-micro reference disagreed (never expected), 2 bad recipe, data or command line.
TensorFlow is imported only when training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from theraloop.clikit import CliState, jsonable, pass_state

_DIR = click.Path(file_okay=False, path_type=Path)
_DATA = click.Path(exists=True, path_type=Path)


def _emit(state: CliState, as_json: bool, data: dict[str, Any], human: str) -> None:
    import json

    if as_json or state.json:
        click.echo(json.dumps(jsonable(data), separators=(", ", ": ")))
    else:
        click.echo(human)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) <= 1 else f"{v:,.1f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


@click.command("train")
@click.argument("recipe")
@click.option("--out", "out_dir", type=_DIR, help="Output folder (default: the recipe's folder).")
@click.option(
    "--data",
    "data_dir",
    type=_DATA,
    help="Data folder (default: ../shared/data beside the source tree).",
)
@click.option("--tiny", is_flag=True, help="A small subset and a tiny network (CI).")
@click.option(
    "--bench/--no-bench",
    default=True,
    show_default=True,
    help="Measure cycles per inference with `theraloop bench` when it is available.",
)
@click.option("--card-only", is_flag=True, help="Only re-render README.md from evaluation.json.")
@click.option(
    "--measure-only",
    is_flag=True,
    help="No training: measure the trained model on the emulated device again (benchmark "
    "and device check), update evaluation.json and the card.",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@pass_state
def train(
    state: CliState,
    recipe: str,
    out_dir: Path | None,
    data_dir: Path | None,
    tiny: bool,
    bench: bool,
    card_only: bool,
    measure_only: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Train RECIPE end to end: data, training, int8, C arrays, evaluation, model card.

    RECIPE is a name under models/ (seizure_detector, beta_biomarker), a recipe folder or
    a recipe.toml. Writes NAME.tflite, NAME.c/.h, contract.json, evaluation.json and
    README.md to the recipe's folder (or --out).
    """
    from theraloop.train import pipeline
    from theraloop.train.progress import Progress

    if card_only:
        path = pipeline.render_card(recipe, out_dir)
        _emit(state, as_json, {"card": str(path)}, f"wrote {path}")
        return
    if measure_only:
        done = pipeline.remeasure(recipe, out_dir, data_dir, Progress(enabled=not quiet))
    else:
        done = pipeline.train(
            recipe, out_dir, data_dir, tiny, Progress(enabled=not quiet), bench=bench
        )
    data = {
        **done.summary,
        "out_dir": str(done.out_dir),
        "model": str(done.model),
        "c_source": str(done.c_source),
        "card": str(done.card),
        "evaluation": str(done.evaluation),
    }
    lines = [f"{k:<26} {_fmt(v)}" for k, v in data.items()]
    _emit(state, as_json, data, "\n".join(lines))


@click.command("eval")
@click.argument("recipe")
@click.option(
    "--data",
    "data_dir",
    type=_DATA,
    help="seizure_detector: a folder laid out like bonn_eeg (set_A_*.npy, set_D_*.npy, "
    "set_E_*.npy); beta_biomarker: an STN .npz or a folder with one. Default: "
    "../shared/data.",
)
@click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Another .tflite of this recipe (its contract.json must be beside it).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@pass_state
def eval_(
    state: CliState,
    recipe: str,
    data_dir: Path | None,
    model_path: Path | None,
    as_json: bool,
) -> None:
    """Evaluate the recipe's shipped int8 model, run by our engine, on a data folder.

    seizure_detector: whole segments as the unit; keys d_vs_e_balanced_accuracy,
    ade_accuracy, sensitivity, specificity (fractions 0-1). beta_biomarker: agreement of
    the model's state with the recording's own envelope-threshold beta state.
    """
    from theraloop.train import pipeline

    result = pipeline.evaluate(recipe, data_dir, model_path)
    keys = [
        k
        for k in (
            "d_vs_e_balanced_accuracy",
            "sensitivity",
            "specificity",
            "ade_accuracy",
            "accuracy",
            "balanced_accuracy",
            "kappa",
            "score_envelope_spearman",
            "predicted_artifact_on_clean",
            "segments",
            "steps",
        )
        if k in result
    ]
    lines = [f"{result['recipe']}: {result['model']}"]
    lines += [f"  {k:<28} {_fmt(result[k])}" for k in keys]
    _emit(state, as_json, result, "\n".join(lines))
