"""TabularSynthesizer: the public fit / sample / save / load face of the tabular conditional GAN."""

from __future__ import annotations

import functools
import json
import logging
import pickle
import secrets
import shutil
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
import pyarrow as pa
import torch

from synth.devices import resolve_device
from synth.errors import ConditionError, ModelFileError, NotFittedError, ParameterError, SchemaError
from synth.schema import Schema, infer_schema, table_to_frame
from synth.tabular.checkpoint import CheckpointFile, fingerprint
from synth.tabular.codecs import ConstantCodec
from synth.tabular.networks import TabularGenerator, activate
from synth.tabular.sampler import ConditionalSampler
from synth.tabular.training import (
    Checkpointing,
    EpochStats,
    ProgressCallback,
    TrainingPlan,
    TrainingState,
    train_gan,
)
from synth.tabular.transformer import TableTransformer, build_column

__all__ = ["MIN_ROWS", "TabularSynthesizer"]

log = logging.getLogger(__name__)

MIN_ROWS = 10
_FORMAT_VERSION = 1
_SAMPLE_CHUNK_ROWS = 20_000


class TabularSynthesizer:
    """A CTGAN-class conditional GAN for mixed-type tables.

    Args:
        epochs: passes over the training rows.
        batch_size: rows per step (rounded down to a multiple of ``pac``).
        seed: seed of every random draw in ``fit``; None draws one (kept as ``seed_``).
        device: "auto" (CUDA when present), "cpu" or "cuda[:N]".
        max_categories: one-hot width cap per categorical column; rarer levels share one pooled slot.
        noise_dim: size of the generator's noise input.
        generator_dims: widths of the generator's residual blocks.
        discriminator_dims: widths of the critic's hidden layers.
        pac: rows the critic judges together (PacGAN).
        learning_rate: Adam learning rate of both networks.
        discriminator_steps: critic updates per generator update.

    Attributes:
        schema_, transformer_, generator_, history_, seed_, device_: set by ``fit``.
    """

    def __init__(
        self,
        *,
        epochs: int = 300,
        batch_size: int = 500,
        seed: int | None = None,
        device: str = "auto",
        max_categories: int = 100,
        noise_dim: int = 128,
        generator_dims: tuple[int, ...] = (256, 256),
        discriminator_dims: tuple[int, ...] = (256, 256),
        pac: int = 10,
        learning_rate: float = 2e-4,
        discriminator_steps: int = 1,
    ) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.seed = seed
        self.device = device
        self.max_categories = max_categories
        self.noise_dim = noise_dim
        self.generator_dims = generator_dims
        self.discriminator_dims = discriminator_dims
        self.pac = pac
        self.learning_rate = learning_rate
        self.discriminator_steps = discriminator_steps

    # the estimator contract
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _PARAM_NAMES}

    def set_params(self, **params: Any) -> Self:
        unknown = sorted(set(params) - set(_PARAM_NAMES))
        if unknown:
            raise ParameterError(f"unknown parameter(s) {unknown}; known: {list(_PARAM_NAMES)}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = _DEFAULTS
        changed = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults[k])
        return f"TabularSynthesizer({changed})"

    def validate_params(self) -> None:
        """Raise ParameterError for a parameter out of range (or a device that is not here); fit calls it."""
        positive_ints = ("epochs", "batch_size", "max_categories", "noise_dim", "pac", "discriminator_steps")
        for name in positive_ints:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ParameterError(f"{name} must be an int >= 1, got {value!r}")
        if self.max_categories < 2:
            raise ParameterError(f"max_categories must be >= 2, got {self.max_categories}")
        if self.seed is not None and (not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0):
            raise ParameterError(f"seed must be None or an int >= 0, got {self.seed!r}")
        if not (isinstance(self.learning_rate, int | float) and 0 < self.learning_rate < 1):
            raise ParameterError(f"learning_rate must be a number in (0, 1), got {self.learning_rate!r}")
        resolve_device(self.device)
        for name in ("generator_dims", "discriminator_dims"):
            dims = getattr(self, name)
            if not isinstance(dims, list | tuple) or not dims or not all(isinstance(d, int) and d >= 1 for d in dims):
                raise ParameterError(f"{name} must be a non-empty sequence of ints >= 1, got {dims!r}")

    # fit
    def fit(
        self,
        data: pd.DataFrame | pa.Table,
        schema: Schema | None = None,
        *,
        progress: ProgressCallback | None = None,
        checkpoint_dir: str | Path | None = None,
        checkpoint_every: int = 5,
    ) -> Self:
        """Learn the table. ``progress`` is called after every epoch with its losses.

        With ``checkpoint_dir``, the training state is saved there every ``checkpoint_every`` epochs, and a fit
        of the same settings on the same data that finds a checkpoint there goes on from it (ending with the
        model an uninterrupted fit would have made); the checkpoint is removed when training ends.
        """
        self.validate_params()
        if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) or checkpoint_every < 1:
            raise ParameterError(f"checkpoint_every must be an int >= 1, got {checkpoint_every!r}")
        frame = table_to_frame(data) if isinstance(data, pa.Table) else data
        schema = schema if schema is not None else infer_schema(data)
        _check_frame(frame, schema)
        self.device_ = resolve_device(self.device)
        store: CheckpointFile | None = None
        found: tuple[int, TrainingState] | None = None
        if checkpoint_dir is not None:
            store = CheckpointFile(
                Path(checkpoint_dir), fingerprint(self._training_settings(), schema.to_json(), frame)
            )
            found = store.load()
        resume_from = None
        if found is not None:
            self.seed_, resume_from = found  # with seed=None, the resumed fit keeps the seed it drew the first time
            log.info("resuming from epoch %d of %d (checkpoint in %s)", resume_from.epoch, self.epochs, checkpoint_dir)
        else:
            self.seed_ = self.seed if self.seed is not None else secrets.randbits(63)
        self.schema_ = schema
        log.info(
            "fitting on %d rows x %d columns, device %s, seed %d, %d epochs",
            len(frame),
            len(schema),
            self.device_,
            self.seed_,
            self.epochs,
        )
        rng = np.random.default_rng(self.seed_)
        self.transformer_ = TableTransformer(schema, max_categories=self.max_categories).fit(frame, rng)
        encoded = torch.as_tensor(self.transformer_.transform(frame, rng), device=self.device_)
        sampler = self._sampler(frame)
        generator = torch.Generator(device=self.device_).manual_seed(self.seed_)
        checkpointing = None
        if store is not None:
            checkpointing = Checkpointing(checkpoint_every, functools.partial(store.save, self.seed_), resume_from)
        self.generator_, self.history_ = train_gan(
            encoded, self._spans(), self._condition_blocks(), sampler, self._plan(), generator, progress, checkpointing
        )
        self.condition_counts_ = sampler.counts.tolist() if sampler.n_columns else []
        if store is not None:
            store.remove()
        return self

    def _training_settings(self) -> dict[str, Any]:
        """What decides the trained weights, for a checkpoint's fingerprint: every parameter but the device string,
        the kind of device it resolves to (CPU and CUDA random streams differ) and the package versions.

        An explicit seed is in it; with seed=None the seed drawn by the interrupted fit is taken from its checkpoint.
        """
        params = {k: v for k, v in _jsonable_params(self.get_params()).items() if k != "device"}
        return {**params, "device_type": self.device_.type, "versions": package_versions()}

    def _plan(self) -> TrainingPlan:
        return TrainingPlan(
            epochs=self.epochs,
            batch_size=self.batch_size,
            noise_dim=self.noise_dim,
            generator_dims=tuple(self.generator_dims),
            discriminator_dims=tuple(self.discriminator_dims),
            pac=self.pac,
            learning_rate=float(self.learning_rate),
            discriminator_steps=self.discriminator_steps,
        )

    def _spans(self) -> list[tuple[int, int, str]]:
        spans: list[tuple[int, int, str]] = []
        start = 0
        for span in self.transformer_.spans:
            spans.append((start, span.width, span.activation))
            start += span.width
        return spans

    def _condition_blocks(self) -> list[tuple[int, int]]:
        return [(start, codec.width) for _, start, codec in self.transformer_.discrete_columns()]

    def _sampler(self, frame: pd.DataFrame) -> ConditionalSampler:
        discrete = self.transformer_.discrete_columns()
        widths = [codec.width for _, _, codec in discrete]
        if not discrete:
            return ConditionalSampler(np.zeros(0, dtype=np.int64), [], self.device_)
        slots = np.stack([codec.codes(frame[name]) for name, _, codec in discrete], axis=1)
        return ConditionalSampler.from_rows(slots, widths, self.device_)

    # sample
    def sample(self, n: int, *, conditions: Mapping[str, Any] | None = None, seed: int | None = None) -> pd.DataFrame:
        """Exactly ``n`` rows; with ``conditions={column: value}`` every row has that value in that column."""
        self._check_is_fitted()
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ParameterError(f"n must be an int >= 0, got {n!r}")
        seed = seed if seed is not None else secrets.randbits(63)
        generator = torch.Generator(device=self.device_).manual_seed(seed)
        rng = np.random.default_rng(seed)
        fixed = self._resolve_conditions(conditions or {})
        sampler = self._generation_sampler()
        chunks = []
        with torch.no_grad():
            for start in range(0, n, _SAMPLE_CHUNK_ROWS):
                size = min(_SAMPLE_CHUNK_ROWS, n - start)
                chunks.append(self._generate(size, fixed, sampler, generator))
        encoded = np.concatenate(chunks) if chunks else np.zeros((0, self.transformer_.width), dtype=np.float32)
        frame = self.transformer_.inverse_transform(encoded, rng)
        if fixed is not None:
            name, _, value = fixed
            frame[name] = build_column(np.array([value] * n, dtype=object), self.schema_[name])
        return frame

    def _generate(
        self,
        size: int,
        fixed: tuple[str, int | None, Any] | None,
        sampler: ConditionalSampler,
        generator: torch.Generator,
    ) -> np.ndarray:
        if sampler.n_columns == 0:
            cond = torch.zeros(size, 0, device=self.device_)
        elif fixed is not None and fixed[1] is not None:
            cond = sampler.one_hot(torch.full((size,), fixed[1], device=self.device_, dtype=torch.long))
        else:
            cond = sampler.one_hot(sampler.sample_generation(size, generator))
        noise = torch.randn(size, self.noise_dim, generator=generator, device=self.device_)
        raw = self.generator_(torch.cat([noise, cond], dim=1))
        return activate(raw, self._spans(), generator=generator).cpu().numpy()

    def _generation_sampler(self) -> ConditionalSampler:
        """A sampler rebuilt from the stored slot counts (no training rows are kept in the model)."""
        discrete = self.transformer_.discrete_columns()
        widths = [codec.width for _, _, codec in discrete]
        return ConditionalSampler(np.asarray(self.condition_counts_, dtype=np.int64), widths, self.device_)

    def _resolve_conditions(self, conditions: Mapping[str, Any]) -> tuple[str, int | None, Any] | None:
        """(column, global slot, value) of the one conditioned column, or None; a constant column has no slot."""
        if not conditions:
            return None
        if not isinstance(conditions, Mapping):
            raise ConditionError(f"conditions must be a mapping of column to value, got {type(conditions).__name__}")
        discrete = self.transformer_.discrete_columns()
        names = [name for name, _, _ in discrete]
        for column in conditions:
            if column not in self.schema_.names:
                raise ConditionError(f"unknown column {column!r} in conditions; columns are {self.schema_.names}")
            if column not in names and self.schema_[column].kind != "constant":
                kind = self.schema_[column].kind
                raise ConditionError(
                    f"column {column!r} is {kind}; conditions take categorical or boolean columns {names}"
                )
        if len(conditions) > 1:
            raise ConditionError(f"conditions take one column at a time, got {sorted(conditions)}")
        ((column, value),) = conditions.items()
        if column not in names:
            return self._constant_condition(column, _plain(value))
        position = names.index(column)
        codec = discrete[position][2]
        local = codec.index_of(_plain(value))
        if local is None:
            shown = [v for v in codec.levels[:20]]
            raise ConditionError(f"value {value!r} never appears in column {column!r}; seen values include {shown}")
        offset = sum(c.width for _, _, c in discrete[:position])
        return column, offset + local, _plain(value)

    def _constant_condition(self, column: str, value: Any) -> tuple[str, None, Any]:
        codec = self.transformer_.codecs_[self.schema_.names.index(column)]
        assert isinstance(codec, ConstantCodec)
        if value == codec.value or (value is None and codec.null_share > 0):
            return column, None, value
        raise ConditionError(f"value {value!r} never appears in column {column!r}; its only value is {codec.value!r}")

    def _check_is_fitted(self) -> None:
        if not hasattr(self, "generator_"):
            raise NotFittedError("TabularSynthesizer is not fitted yet; call fit() first")

    # save / load
    def save(self, path: str | Path) -> Path:
        """Write the model to a folder: JSON for everything but the generator's weights. Replaces an older save."""
        self._check_is_fitted()
        target = Path(path)
        staging = target.with_name(f".{target.name}.saving-{secrets.token_hex(4)}")
        retired = target.with_name(f".{target.name}.old-{secrets.token_hex(4)}")
        staging.mkdir(parents=True)
        try:
            (staging / "params.json").write_text(json.dumps(_jsonable_params(self.get_params()), indent=2))
            (staging / "schema.json").write_text(self.schema_.to_json())
            (staging / "transformer.json").write_text(json.dumps(self.transformer_.to_dict()))
            state = {
                "format_version": _FORMAT_VERSION,
                "versions": package_versions(),
                "seed_": self.seed_,
                "condition_counts_": self.condition_counts_,
                "data_width": self.transformer_.width,
                "condition_width": len(self.condition_counts_),
                "history_": [_stats_dict(s) for s in self.history_],
            }
            (staging / "model.json").write_text(json.dumps(state, indent=2))
            torch.save(self.generator_.state_dict(), staging / "generator.pt")
            if target.exists():
                target.rename(retired)  # the old save stays whole until the new one is in place
            staging.rename(target)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
            if retired.exists() and not target.exists():
                retired.rename(target)  # the new save failed: put the old one back
        shutil.rmtree(retired, ignore_errors=True)
        return target

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None) -> TabularSynthesizer:
        """Read a folder written by ``save``; weights load with ``weights_only=True`` (no code runs).

        ``device`` defaults to the saved model's own ``device`` parameter, so samples match the saved model's.
        """
        folder = Path(path)
        files = ("params.json", "schema.json", "transformer.json", "model.json", "generator.pt")
        missing = [name for name in files if not (folder / name).is_file()]
        if missing:
            raise ModelFileError(f"{folder} is not a saved TabularSynthesizer: missing {missing}")
        try:
            params = json.loads((folder / "params.json").read_text())
            state = json.loads((folder / "model.json").read_text())
            schema = Schema.from_json((folder / "schema.json").read_text())
            transformer_dict = json.loads((folder / "transformer.json").read_text())
        except (json.JSONDecodeError, SchemaError) as exc:
            raise ModelFileError(f"{folder} holds a malformed model file: {exc}") from exc
        if state.get("format_version") != _FORMAT_VERSION:
            raise ModelFileError(f"{folder} has model format {state.get('format_version')}, expected {_FORMAT_VERSION}")
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
        model = cls(**params) if device is None else cls(**{**params, "device": device})
        model.device_ = resolve_device(model.device)
        model.seed_ = state["seed_"]
        model.schema_ = schema
        model.transformer_ = TableTransformer.from_dict(schema, transformer_dict)
        model.condition_counts_ = state["condition_counts_"]
        model.history_ = [EpochStats(**s) for s in state["history_"]]
        net = TabularGenerator(
            model.noise_dim,
            state["condition_width"],
            tuple(model.generator_dims),
            state["data_width"],
            device=model.device_,
            generator=torch.Generator(device=model.device_),  # weights are overwritten by the saved ones
        )
        try:
            net.load_state_dict(torch.load(folder / "generator.pt", map_location=model.device_, weights_only=True))
        except (RuntimeError, OSError, EOFError, pickle.UnpicklingError) as exc:
            raise ModelFileError(f"{folder / 'generator.pt'} cannot be loaded: {exc}") from exc
        model.generator_ = net.eval()
        return model


_PARAM_NAMES = (
    "epochs",
    "batch_size",
    "seed",
    "device",
    "max_categories",
    "noise_dim",
    "generator_dims",
    "discriminator_dims",
    "pac",
    "learning_rate",
    "discriminator_steps",
)
_DEFAULTS = {name: getattr(TabularSynthesizer(), name) for name in _PARAM_NAMES}


def _check_frame(frame: pd.DataFrame, schema: Schema) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"fit takes a pandas DataFrame or an Arrow table, got {type(frame).__name__}")
    if list(map(str, frame.columns)) != schema.names:
        raise SchemaError(f"the data's columns {list(frame.columns)} do not match the schema's {schema.names}")
    if len(frame) < MIN_ROWS:
        raise SchemaError(f"need at least {MIN_ROWS} rows to train, got {len(frame)}")
    for column in frame.columns:
        if frame[column].isna().all():
            raise SchemaError(f"column '{column}' is entirely null; drop it or fill it before training")


def _plain(value: Any) -> Any:
    """numpy scalars as Python ones, so they compare equal to the JSON-stored levels."""
    return value.item() if isinstance(value, np.generic) else value


def _jsonable_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}


def _stats_dict(stats: EpochStats) -> dict[str, Any]:
    return {name: getattr(stats, name) for name in stats.__slots__}


def package_versions() -> dict[str, str]:
    """Versions of the packages that decide what a model or an output is."""
    names = ("synth-pipeline", "torch", "numpy", "pandas", "pyarrow")
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions
