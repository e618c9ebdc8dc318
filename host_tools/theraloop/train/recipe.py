"""Recipes: ``models/NAME/recipe.toml``, the configuration of one shipped model.

A recipe names its kind (``seizure_detector`` or ``beta_biomarker``, the code in
:mod:`theraloop.train.seizure` / :mod:`theraloop.train.biomarker`), and holds every
choice that shapes the result: windows, input quantisation, network, epochs, folds,
seeds, the size sweep, the device budget and the ``[tiny]`` overrides used by CI.
The trained model, its C arrays, the evaluation JSON and the card are written next to
it (or to ``--out DIR``)::

    models/seizure_detector/
        recipe.toml                 # the recipe (input)
        seizure_detector.tflite     # int8 model
        seizure_detector.c/.h       # `theraloop model convert` output
        contract.json               # what the firmware feeds the model and reads back
        evaluation.json             # every figure of the card
        README.md                   # the model card, rendered from evaluation.json
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from theraloop.paths import repo_root
from theraloop.train.errors import RecipeError

KINDS = ("seizure_detector", "beta_biomarker")
MODELS_DIR = Path("models")


@dataclass(frozen=True)
class Recipe:
    name: str
    kind: str
    path: Path
    """The recipe.toml file."""
    config: dict[str, Any]

    @property
    def directory(self) -> Path:
        return self.path.parent

    @property
    def shipped_model(self) -> Path:
        return self.directory / f"{self.name}.tflite"

    def section(self, key: str) -> dict[str, Any]:
        value = self.config.get(key, {})
        if not isinstance(value, dict):
            raise RecipeError(f"{self.path}: [{key}] must be a table")
        return value

    def merged(self, tiny: bool) -> dict[str, Any]:
        """The configuration with the ``[tiny]`` table applied (one level deep)."""
        out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.config.items()}
        if tiny:
            for key, value in self.section("tiny").items():
                if isinstance(value, dict) and isinstance(out.get(key), dict):
                    out[key].update(value)
                else:
                    out[key] = value
        out.pop("tiny", None)
        return out


def resolve(recipe: str) -> Path:
    """A recipe name (``seizure_detector``), a recipe directory or a ``recipe.toml``."""
    p = Path(recipe)
    if p.suffix == ".toml" and p.is_file():
        return p
    if p.is_dir() and (p / "recipe.toml").is_file():
        return p / "recipe.toml"
    candidate = repo_root() / MODELS_DIR / recipe / "recipe.toml"
    if candidate.is_file():
        return candidate
    known = sorted(
        d.name for d in (repo_root() / MODELS_DIR).iterdir() if (d / "recipe.toml").is_file()
    )
    raise RecipeError(f"no recipe {recipe!r} (known: {', '.join(known) or 'none'})")


def load(recipe: str) -> Recipe:
    path = resolve(recipe)
    try:
        config = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise RecipeError(f"{path}: {e}") from e
    kind = config.get("kind")
    if kind not in KINDS:
        raise RecipeError(f"{path}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    name = str(config.get("name", path.parent.name))
    return Recipe(name=name, kind=str(kind), path=path, config=config)
