"""A fitted TabularSynthesizer as a folder: JSON for everything but the generator's weights, which load weights-only."""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from synth.devices import resolve_device
from synth.errors import ModelFileError, SchemaError
from synth.model_folder import replacing_folder
from synth.schema import Schema
from synth.tabular.layout import OutputLayout
from synth.tabular.networks import TabularGenerator
from synth.tabular.params_json import jsonable_params, untag_tuples
from synth.tabular.training import EpochStats
from synth.tabular.transformer import TableTransformer
from synth.versions import package_versions

if TYPE_CHECKING:
    from synth.tabular.synthesizer import TabularSynthesizer

__all__ = ["FORMAT_VERSION", "read_model", "write_model"]

log = logging.getLogger(__name__)

FORMAT_VERSION = 3
_FILES = ("params.json", "schema.json", "transformer.json", "model.json", "generator.pt")


def write_model(model: TabularSynthesizer, folder: Path) -> Path:
    """Write a fitted model to ``folder``; an older save there stays whole until the new one is in place."""
    with replacing_folder(folder) as staging:
        (staging / "params.json").write_text(json.dumps(jsonable_params(model.get_params()), indent=2))
        (staging / "schema.json").write_text(model.schema_.to_json())
        (staging / "transformer.json").write_text(json.dumps(model.transformer_.to_dict()))
        state = {
            "format_version": FORMAT_VERSION,
            "versions": package_versions(),
            "seed_": model.seed_,
            "condition_counts_": model.condition_counts_,
            "data_width": model.transformer_.width,
            "condition_width": len(model.condition_counts_),
            "history_": [_stats_dict(s) for s in model.history_],
            "best_epoch_": model.best_epoch_,
            "training_rows_": model.training_rows_,
            "precision_": model.precision_,
            "privacy_spent_": model.privacy_spent_,
        }
        (staging / "model.json").write_text(json.dumps(state, indent=2))
        torch.save(model.generator_.state_dict(), staging / "generator.pt")
    return folder


def read_model(cls: type[TabularSynthesizer], folder: Path, device: str | None) -> TabularSynthesizer:
    """The model saved in ``folder``, on ``device`` (default: its own ``device`` parameter); ModelFileError if not."""
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
    if state.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{folder} has model format {state.get('format_version')}, expected {FORMAT_VERSION}")
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
    model = cls(**params) if device is None else cls(**{**params, "device": device})
    model.device_ = resolve_device(model.device)
    model.seed_ = state["seed_"]
    model.schema_ = schema
    model.transformer_ = TableTransformer.from_dict(schema, transformer_dict)
    model.condition_counts_ = state["condition_counts_"]
    model.history_ = [EpochStats(**s) for s in state["history_"]]
    model.best_epoch_ = state["best_epoch_"]
    model.training_rows_ = state["training_rows_"]
    model.precision_ = state["precision_"]
    model.privacy_spent_ = state["privacy_spent_"]
    layout = OutputLayout.of(model.transformer_, model.device_)
    net = TabularGenerator(
        model.noise_dim,
        state["condition_width"],
        tuple(model.generator_dims),
        state["data_width"],
        device=model.device_,
        generator=torch.Generator(device=model.device_),  # weights are overwritten by the saved ones
        exact=layout.scalars,
        sequential=model.sequential_heads,
    )
    try:
        net.load_state_dict(torch.load(folder / "generator.pt", map_location=model.device_, weights_only=True))
    except (RuntimeError, OSError, EOFError, pickle.UnpicklingError) as exc:
        raise ModelFileError(f"{folder / 'generator.pt'} cannot be loaded: {exc}") from exc
    model.generator_ = net.eval()
    return model


def _stats_dict(stats: EpochStats) -> dict[str, Any]:
    return {name: getattr(stats, name) for name in stats.__slots__}
