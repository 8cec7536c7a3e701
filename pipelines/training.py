"""Training: a model's identity from everything it depends on, trained on the training rows with checkpoints, or
the sealed model an earlier run trained on exactly the same inputs reused."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipelines.config import ModelConfig, PrivacyConfig
from pipelines.errors import ConfigError, DataError
from pipelines.model_cache import check_cached, seal
from pipelines.publish import missing_folders, remove_if_empty
from pipelines.refs import EpochReport, ImageMeta, ModelRef, SourceRef, SplitRef
from pipelines.settings import Training, estimator_params
from pipelines.sources import read_table
from synth import Schema, SynthError, TabularSynthesizer
from synth.schema import table_to_frame

__all__ = [
    "check_model",
    "code_version",
    "model_key",
    "model_ref",
    "reused_model",
    "train_table_model",
]


def check_model(model: ModelConfig, privacy: PrivacyConfig | None = None) -> None:
    """Refuse model settings the synthesizer would refuse, before any data is read or written."""
    try:
        TabularSynthesizer(**estimator_params(model, privacy)).validate_params()
    except SynthError as exc:
        raise ConfigError(f"model: {exc}") from exc


def code_version() -> str:
    """sha256 of the model code (every module of ``synth``) and the torch version: a change to either retrains."""
    import torch

    import synth

    digest = hashlib.sha256(torch.__version__.encode())
    package = Path(synth.__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def model_key(split: SplitRef, schema: Schema | ImageMeta, params: dict[str, Any]) -> str:
    """The trained model's identity: the training rows' bytes, the schema, the training settings, the code."""
    parts = {
        "train": split.train.sha256,
        "schema": schema.to_json() if isinstance(schema, Schema) else json.dumps(schema.to_dict()),
        "model": params,
        "code": code_version(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def train_table_model(
    split: SplitRef, source: SourceRef, training: Training, progress: EpochReport | None = None
) -> ModelRef:
    """Train, or reuse the model already trained on exactly these inputs (``work_dir/models/<key>``).

    Training checkpoints into the same folder every ``model.checkpoint_every`` epochs, so a run killed
    mid-training picks up from its last checkpoint when it is started again.
    """
    assert isinstance(source.schema, Schema)
    schema = source.schema.with_kinds(dict.fromkeys(split.unseen, "constant"))  # nothing of them to learn
    params = training.estimator_params()
    key = model_key(split, schema, params)
    folder = training.models_dir / key
    reusable, set_aside = check_cached(folder)
    if reusable:
        return reused_model(folder, key)
    synthesizer = TabularSynthesizer(**params)
    checkpoints = folder / "checkpoint"
    created = missing_folders(checkpoints)
    checkpoints.mkdir(parents=True, exist_ok=True)
    try:
        synthesizer.fit(
            table_to_frame(read_table(split.train)),
            schema,
            progress=progress,
            checkpoint_dir=checkpoints,
            checkpoint_every=training.model.checkpoint_every,
        )
    except SynthError as exc:
        remove_if_empty(created)
        raise DataError(f"cannot train on {split.train.path}: {exc}") from exc
    out = synthesizer.save(folder / "model")
    seal(folder)
    shutil.rmtree(checkpoints, ignore_errors=True)
    return model_ref(out, key, synthesizer.seed_, synthesizer.history_, synthesizer.privacy_spent_, set_aside)


def model_ref(
    path: Path, key: str, seed: int, history: Sequence[Any], privacy_spent: dict[str, Any] | None = None,
    set_aside: str | None = None,
) -> ModelRef:  # fmt: skip
    """The reference to a model just trained, with its epoch stats (slotted records) as plain dicts."""
    epochs = tuple({name: getattr(stats, name) for name in stats.__slots__} for stats in history)
    seconds = float(sum(epoch["seconds"] for epoch in epochs))
    return ModelRef(str(path), seed, seconds, key, False, set_aside, epochs, privacy_spent)


def reused_model(folder: Path, key: str) -> ModelRef:
    """The reference to a verified cached model, from its saved record."""
    saved = json.loads((folder / "model" / "model.json").read_text(encoding="utf-8"))
    history = tuple(saved["history_"])
    seconds = float(sum(epoch["seconds"] for epoch in history))
    return ModelRef(
        str(folder / "model"), saved["seed_"], seconds, key, True, history=history,
        privacy_spent=saved.get("privacy_spent_"),
    )  # fmt: skip
