"""A fitted TabularSynthesizer's saved form: a frozen record, written to and read from a folder of JSON files and
the generator's weights (loaded weights-only, so reading a model runs no code)."""

from __future__ import annotations

import json
import logging
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from synth.devices import resolve_device
from synth.errors import ModelFileError, SchemaError
from synth.model_folder import format_problem, replacing_folder
from synth.schema import Schema
from synth.tabular.params_json import jsonable_params, untag_tuples
from synth.tabular.training import EpochStats
from synth.tabular.transformer import TableTransformer
from synth.versions import package_versions

__all__ = ["FORMAT_VERSION", "SavedModel", "read_model", "write_model"]

log = logging.getLogger(__name__)

#: The format this code writes and reads. It moves whenever what a save holds or means changes.
FORMAT_VERSION = 18
_FILES = ("params.json", "schema.json", "transformer.json", "model.json", "generator.pt")


@dataclass(frozen=True, slots=True)
class SavedModel:
    """Everything a save holds: the estimator's parameters and what ``fit`` learned."""

    params: dict[str, Any]
    schema: Schema
    transformer: TableTransformer
    seed: int
    condition_counts: tuple[int, ...]
    generation_shares: tuple[float, ...]
    history: tuple[EpochStats, ...]
    best_epoch: int
    training_rows: int
    precision: str
    privacy_spent: dict[str, Any] | None
    generator_state: dict[str, torch.Tensor]


def write_model(saved: SavedModel, folder: Path) -> Path:
    """Write ``saved`` to ``folder``; an older save there stays whole until the new one is in place."""
    with replacing_folder(folder) as staging:
        (staging / "params.json").write_text(json.dumps(jsonable_params(saved.params), indent=2))
        (staging / "schema.json").write_text(saved.schema.to_json())
        (staging / "transformer.json").write_text(json.dumps(saved.transformer.to_dict()))
        state = {
            "format_version": FORMAT_VERSION,
            "versions": package_versions(),
            "seed_": saved.seed,
            "condition_counts_": list(saved.condition_counts),
            "generation_shares_": list(saved.generation_shares),
            "history_": [{name: getattr(s, name) for name in s.__slots__} for s in saved.history],
            "best_epoch_": saved.best_epoch,
            "training_rows_": saved.training_rows,
            "precision_": saved.precision,
            "privacy_spent_": saved.privacy_spent,
        }
        (staging / "model.json").write_text(json.dumps(state, indent=2))
        torch.save(saved.generator_state, staging / "generator.pt")
    return folder


def read_model(folder: Path, device: str | None = None) -> SavedModel:
    """The record saved in ``folder``, on ``device`` (default: its own ``device`` parameter), its weights there;
    ModelFileError if it is not one this code can read."""
    missing = [name for name in _FILES if not (folder / name).is_file()]
    if missing:
        raise ModelFileError(f"{folder} is not a saved TabularSynthesizer: missing {missing}")
    try:
        params = json.loads((folder / "params.json").read_text())
        state = json.loads((folder / "model.json").read_text())
        schema = Schema.from_json((folder / "schema.json").read_text())
        transformer_dict = json.loads((folder / "transformer.json").read_text())
    except (json.JSONDecodeError, SchemaError) as exc:
        raise ModelFileError(f"{folder} holds a malformed model file: {exc}") from exc
    problem = format_problem(folder, state.get("format_version"), FORMAT_VERSION)
    if problem is not None:
        raise ModelFileError(problem)
    saved_with = state["versions"].get("synth-pipeline")
    if saved_with != package_versions()["synth-pipeline"]:
        log.warning(
            "model in %s was saved by synth %s, loading with %s",
            folder,
            saved_with,
            package_versions()["synth-pipeline"],
        )
    for key in ("generator_dims", "discriminator_dims"):
        params[key] = tuple(params[key])
    params["public_metadata"] = untag_tuples(params.get("public_metadata"))
    if device is not None:
        params["device"] = device
    try:
        weights = torch.load(folder / "generator.pt", map_location=resolve_device(params["device"]), weights_only=True)
    except (RuntimeError, OSError, EOFError, pickle.UnpicklingError) as exc:
        raise ModelFileError(f"{folder / 'generator.pt'} cannot be loaded: {exc}") from exc
    return SavedModel(
        params=params,
        schema=schema,
        transformer=TableTransformer.from_dict(schema, transformer_dict),
        seed=state["seed_"],
        condition_counts=tuple(state["condition_counts_"]),
        generation_shares=tuple(state["generation_shares_"]),
        history=tuple(EpochStats(**s) for s in state["history_"]),
        best_epoch=state["best_epoch_"],
        training_rows=state["training_rows_"],
        precision=state["precision_"],
        privacy_spent=state["privacy_spent_"],
        generator_state=weights,
    )
