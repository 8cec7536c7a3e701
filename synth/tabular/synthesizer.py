"""TabularSynthesizer: the public fit / sample / save / load face of the tabular conditional GAN."""

from __future__ import annotations

import functools
import logging
import math
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import pyarrow as pa
import torch

from synth.devices import fast_bfloat16, resolve_device
from synth.errors import ModelFileError, NotFittedError, ParameterError, SchemaError
from synth.estimator import Estimator
from synth.params import TRAINING, Flag, Integer, Options, Param, Real, Validated, Widths
from synth.schema import (
    Schema,
    check_learnable,
    format_text_dates,
    infer_schema,
    parse_text_dates,
    table_to_frame,
)
from synth.tabular.calibration import CALIBRATION_ROUNDS, PILOT_ROWS, calibrated_shares, slot_shares
from synth.tabular.checkpoint import CheckpointFile, fingerprint
from synth.tabular.codecs import CategoricalCodec, FakeCodec, IdCodec, NumericCodec
from synth.tabular.conditions import ConditionPlan, resolve_conditions, sample_matching
from synth.tabular.fakes import DEFAULT_LOCALE, check_locale, redraw
from synth.tabular.layout import OutputLayout
from synth.tabular.model_files import SavedModel, read_model, write_model
from synth.tabular.networks import TabularGenerator
from synth.tabular.params_json import jsonable_params
from synth.tabular.private_metadata import check_public_metadata, check_public_metadata_shape
from synth.tabular.sampler import ConditionalSampler
from synth.tabular.sampling import FoldedGenerator
from synth.tabular.selection import FidelityProbe, ProbeScore
from synth.tabular.training import (
    Checkpointing,
    EpochStats,
    ProgressCallback,
    Selection,
    TrainingPlan,
    TrainingState,
    train_gan,
)
from synth.tabular.transformer import TableTransformer, build_column
from synth.threads import CpuShare
from synth.versions import package_versions

__all__ = ["MIN_ROWS", "TabularSynthesizer"]

log = logging.getLogger(__name__)

MIN_ROWS = 10
PUBLIC_METADATA = 'a mapping like {"age": {"min": 17, "max": 90}, "sex": {"categories": ["Female", "Male"]}}'
_MIN_VALIDATION_ROWS = 100
_MAX_VALIDATION_ROWS = 5_000
_SAMPLE_CHUNK_ROWS = 5_000
#: Batches targeted sampling may draw for a combination of conditions or a range before it reports a shortfall.
DEFAULT_MAX_TRIES = 20
#: Rows a training step takes when ``batch_size`` is None; a private fit takes more (see ``batch_size``).
DEFAULT_BATCH_SIZE, PRIVATE_BATCH_SIZE = 500, 1000
#: Adam's learning rate of a table of at most ``NARROW_COLUMNS`` generated columns, and of every private fit, when
#: ``learning_rate`` is None; a wider table takes more, in proportion to its columns, up to ``MAX_RATE_FACTOR`` times.
BASE_LEARNING_RATE, NARROW_COLUMNS, MAX_RATE_FACTOR = 3e-4, 16, 2.0
#: Generator steps between two scorings when ``select_every`` is None: a probe costs about as much as a fixed number of
#: steps whatever the table's rows, so scoring every 5 epochs spent a third of a small table's fit on scoring.
PROBE_STEPS = 200


class TabularSynthesizer(Estimator):
    """A CTGAN-class conditional GAN for mixed-type tables.

    Args:
        epochs: passes over the training rows.
        batch_size: rows per step (rounded down to a multiple of ``pac``); None takes 500, or 1,000 for a private
            fit, whose DP noise is shared over the batch. At equal wall time 500 rows beat 1,000 on five of six real
            tables measured, small and large (docs/decisions.md); kept as ``batch_size_``.
        seed: seed of every random draw in ``fit``; None draws one (kept as ``seed_``).
        device: "auto" (CUDA when present), "cpu" or "cuda[:N]".
        max_categories: one-hot width cap per categorical column; rarer levels share one pooled slot.
        noise_dim: size of the generator's noise input.
        generator_dims: widths of the generator's residual blocks.
        discriminator_dims: widths of the critic's hidden layers.
        pac: rows the critic judges together (PacGAN).
        learning_rate: Adam learning rate of both networks; None takes 3e-4 for a table of at most 16 generated
            columns and for a private fit, and for a wider table 3e-4 times its columns / 16, at most 6e-4 (from 32
            columns). A step's work grows with the columns, so a wide table takes fewer steps in a budget, and at
            3e-4 it was still far from where longer fits get (docs/decisions.md); kept as ``learning_rate_``.
        discriminator_steps: critic updates per generator update.
        sequential_heads: draw the output heads one column at a time, each reading a learned summary of the values
            already drawn, so columns that depend on each other come out consistent; False draws every head at once
            from the hidden layer, as CTGAN does.
        epsilon: None trains as usual; a number > 0 makes the fit (epsilon, delta)-differentially private
            for that epsilon in total: preprocessing from public or noisy metadata, then DP-SGD on the critic
            (see synth/tabular/private.py and private_metadata.py; ``pac`` is 1 there and checkpoints still work).
        delta: the delta of that guarantee.
        max_grad_norm: per-sample gradient clipping norm of DP-SGD.
        metadata_share: share of epsilon (and of delta, when category lists are disclosed) spent on the
            preprocessing metadata that ``public_metadata`` does not give; the rest goes to DP-SGD.
        public_metadata: ``{column: {"min": x, "max": y}}`` for numeric or datetime columns (datetimes as ISO
            strings) and ``{column: {"categories": [...]}}`` for categorical or boolean ones, used verbatim and at no
            privacy cost by private fits (real values outside the bounds are clipped to them).
        rare_category_min: k, the rows a value must be held by to come out as itself, in both modes. Categories
            seen fewer times are pooled and decode to "other" in text columns, else to null when the column is
            nullable, else to the most frequent kept level; numbers and datetimes are clipped to the k-th smallest
            and largest values; identifier fakes are redrawn when they equal a real value held by fewer rows. 1 turns
            the protection off (for public data).
        fake_locale: the Faker locale of the fake names, emails and addresses made for identifier columns.
        precision: "auto" runs the generator's and the critic's hidden layers in bfloat16 where matrix products are
            native in it (CUDA GPUs with bf16 units, CPUs with AVX-512 BF16 or AMX: about 1.8x faster there), else
            in float32; "float32" or "bfloat16" force one. Weights, scalar output heads and losses stay float32. The
            choice is made once, at fit, kept as ``precision_`` and used for sampling too. Private fits run in
            float32 (Opacus's per-sample gradients).
        time_budget_s: None trains ``epochs`` epochs; a number of seconds stops training sooner, inside an epoch
            if need be, when the fit (preprocessing included) would run past it. ``epochs`` stays the cap. The
            epochs run depend on the machine's speed: ``epochs=len(history_)`` repeats a budgeted fit elsewhere up
            to its last epoch, which the budget may have cut short. The calibration of generation after training
            (``generation_shares_`` and each number's ``generated_warp``: seven draws of at most 40,000 rows) is
            counted: its time is measured before training on an untrained generator of the same shape and kept
            out of training's share.
        validation_share: share of the rows (at most 5,000) held out of GAN training to choose the checkpoint:
            every ``select_every`` epochs and after the last, the generator's rows are scored against them (fast
            proxies of column shapes, pair trends and detection) and the best-scoring weights are kept. 0 keeps
            the last epoch's weights and trains on every row; so do tables too small to spare 100 rows.
        select_every: epochs between two scorings of the generator; None takes the fewest epochs that hold
            ``PROBE_STEPS`` (200) generator steps, so scoring costs about the same share of any table's fit (5 epochs
            on Adult, 1 from 100,000 training rows at the default batch); kept as ``select_every_``.
        patience: stop training once this many scorings in a row have found no better generator than the best so
            far; None trains ``epochs`` epochs or to the budget. With a generous ``time_budget_s`` as the cap, each
            table trains about as long as its probe keeps improving. A table too small to score trains on.

    Attributes:
        schema_, transformer_, generator_, history_, seed_, device_: set by ``fit``.
        best_epoch_: the epoch whose generator weights were kept (the last one without checkpoint selection).
        training_rows_: the rows the GAN trained on; the rest chose the checkpoint (the transformer sees every row,
            so every category of the data can be generated).
        precision_: "float32" or "bfloat16", as decided for this machine at fit.
        batch_size_: the rows a training step took.
        learning_rate_: the learning rate both networks trained at.
        select_every_: the epochs between two scorings of the generator.
        privacy_spent_: None, or for a private fit {"epsilon_target", "epsilon_spent" (metadata + DP-SGD, basic
            composition), "epsilon_sgd", "epsilon_metadata", "delta", "delta_sgd", "delta_metadata",
            "noise_multiplier", "steps", "planned_steps", "sample_rate", "stopped_early"}.
    """

    def __init__(
        self,
        *,
        epochs: int = 300,
        batch_size: int | None = None,
        seed: int | None = None,
        device: str = "auto",
        max_categories: int = 100,
        noise_dim: int = 64,
        generator_dims: tuple[int, ...] = (256,),
        discriminator_dims: tuple[int, ...] = (256, 256),
        pac: int = 1,
        learning_rate: float | None = None,
        discriminator_steps: int = 1,
        sequential_heads: bool = True,
        epsilon: float | None = None,
        delta: float = 1e-5,
        max_grad_norm: float = 1.0,
        metadata_share: float = 0.1,
        public_metadata: Mapping[str, Mapping[str, Any]] | None = None,
        rare_category_min: int = 5,
        fake_locale: str = DEFAULT_LOCALE,
        precision: str = "auto",
        time_budget_s: float | None = None,
        validation_share: float = 0.1,
        select_every: int | None = None,
        patience: int | None = None,
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
        self.sequential_heads = sequential_heads
        self.epsilon = epsilon
        self.delta = delta
        self.max_grad_norm = max_grad_norm
        self.metadata_share = metadata_share
        self.public_metadata = public_metadata
        self.rare_category_min = rare_category_min
        self.fake_locale = fake_locale
        self.precision = precision
        self.time_budget_s = time_budget_s
        self.validation_share = validation_share
        self.select_every = select_every
        self.patience = patience

    _parameter_constraints: ClassVar[dict[str, Param]] = {
        **TRAINING,
        "max_categories": Param(Integer(2)),
        "generator_dims": Param(Widths()),
        "discriminator_dims": Param(Widths()),
        "pac": Param(Integer(1)),
        "discriminator_steps": Param(Integer(1)),
        "sequential_heads": Param(Flag()),
        "epsilon": Param(Real(0), nullable=True),
        "delta": Param(Real(0, 1)),
        "max_grad_norm": Param(Real(0)),
        "metadata_share": Param(Real(0, 1)),
        "public_metadata": Param(
            Validated(Mapping, check_public_metadata_shape, "a mapping of columns"), nullable=True
        ),
        "rare_category_min": Param(Integer(1)),
        "fake_locale": Param(Validated(str, check_locale, "a locale name like 'en_US'")),
        "precision": Param(Options(("auto", "float32", "bfloat16"))),
        "time_budget_s": Param(Real(0), nullable=True),
        "validation_share": Param(Real(0, 1, low_open=False)),
        "select_every": Param(Integer(1), nullable=True),
        "patience": Param(Integer(1), nullable=True),
    }

    def _check_together(self) -> None:
        if self.epsilon is not None and self.time_budget_s is not None:
            raise ParameterError(
                "time_budget_s cannot be combined with epsilon: a private fit's steps are planned for its "
                "budget; set epochs instead"
            )
        if self.patience is not None and (self.epsilon is not None or self.validation_share == 0):
            raise ParameterError(
                "patience needs the checkpoint scoring, which a private fit and validation_share=0 do without; "
                "set epochs or time_budget_s instead"
            )

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
        Torch's CPU threads are this run's share of the cores while it trains (``synth.threads``).
        """
        with CpuShare() as share:

            def each_epoch(stats: EpochStats) -> None:
                share.refresh()
                if progress is not None:
                    progress(stats)

            return self._fit(data, schema, each_epoch, checkpoint_dir, checkpoint_every)

    def _fit(
        self,
        data: pd.DataFrame | pa.Table,
        schema: Schema | None,
        progress: ProgressCallback,
        checkpoint_dir: str | Path | None,
        checkpoint_every: int,
    ) -> Self:
        started = time.monotonic()
        self.validate_params()
        if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) or checkpoint_every < 1:
            raise ParameterError(f"checkpoint_every must be an int >= 1, got {checkpoint_every!r}")
        frame = table_to_frame(data) if isinstance(data, pa.Table) else data
        schema = schema if schema is not None else infer_schema(data)
        _check_frame(frame, schema)
        frame = parse_text_dates(frame, schema)
        self.device_ = resolve_device(self.device)
        self.precision_ = self._resolved_precision()
        self.batch_size_ = self._resolved_batch_size()
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
        check_public_metadata(self.public_metadata, schema)
        if self.epsilon is not None:
            self.learning_rate_ = self._resolved_learning_rate()
            return self._fit_private(frame, schema, rng, progress, store, checkpoint_every, resume_from)
        self.privacy_spent_: dict[str, Any] | None = None
        self.transformer_ = TableTransformer(
            schema,
            max_categories=self.max_categories,
            rare_category_min=self.rare_category_min,
            fake_locale=self.fake_locale,
        ).fit(frame, rng)
        self.learning_rate_ = self._resolved_learning_rate()
        train_rows, validation = self._validation_split(frame, rng)
        encoded = torch.as_tensor(self.transformer_.transform(train_rows, rng), device=self.device_)
        sampler = self._sampler(train_rows)
        self.condition_counts_ = sampler.counts.tolist() if sampler.n_columns else []
        generator = torch.Generator(device=self.device_).manual_seed(self.seed_)
        checkpointing = None
        if store is not None:
            checkpointing = Checkpointing(checkpoint_every, functools.partial(store.save, self.seed_), resume_from)
        self.select_every_ = self._resolved_select_every(len(train_rows))
        selection = None
        if validation is not None and FidelityProbe.probes(schema):
            probe = self._probe(FidelityProbe(validation, schema, self.seed_))
            selection = Selection(self.select_every_, probe, self.patience)
        layout = OutputLayout.of(self.transformer_, self.device_)
        self.training_rows_ = len(train_rows)
        deadline = None
        if self.time_budget_s is not None:  # the calibration after training is held inside the budget
            deadline = started + self.time_budget_s - self._calibration_seconds()
        result = train_gan(
            encoded, layout, sampler, self._plan(), generator, progress, checkpointing, selection, deadline
        )
        self.generator_, self.history_, self.best_epoch_ = result.generator, result.history, result.best_epoch
        self._calibrate()
        if store is not None:
            store.remove()
        self.avoid_values_of(frame)
        return self

    def _validation_split(
        self, frame: pd.DataFrame, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """(rows the GAN trains on, rows that choose its checkpoint, or None when selection is off or rows too few)."""
        n_validation = min(_MAX_VALIDATION_ROWS, round(len(frame) * self.validation_share))
        if n_validation < _MIN_VALIDATION_ROWS or len(frame) - n_validation < _MIN_VALIDATION_ROWS:
            if self.validation_share > 0:
                log.info("too few rows to hold %d out for checkpoint selection; keeping the last epoch", n_validation)
            return frame, None
        held_out = np.zeros(len(frame), dtype=bool)
        held_out[rng.choice(len(frame), size=n_validation, replace=False)] = True
        return frame[~held_out].reset_index(drop=True), frame[held_out].reset_index(drop=True)

    def _probe(self, probe: FidelityProbe) -> Callable[[TabularGenerator], ProbeScore]:
        """Scores a generator on as many rows as the validation split, drawn with the same seed every time."""

        def score(net: TabularGenerator) -> ProbeScore:
            generator = torch.Generator(device=self.device_).manual_seed(self.seed_)
            rng = np.random.default_rng(self.seed_)
            rows = self._draw(self._folded(net), probe.rows, None, self._generation_sampler(None), generator, rng)
            return probe.score(rows)

        return score

    def _fit_private(
        self,
        frame: pd.DataFrame,
        schema: Schema,
        rng: np.random.Generator,
        progress: ProgressCallback | None,
        store: CheckpointFile | None,
        checkpoint_every: int,
        resume_from: TrainingState | None,
    ) -> Self:
        """Fit under (epsilon, delta)-DP; the accountant's figures end in ``privacy_spent_``."""
        from synth.tabular.private import PrivacySettings, fit_private  # Opacus loads only for private fits

        assert self.epsilon is not None
        settings = PrivacySettings(
            float(self.epsilon),
            float(self.delta),
            float(self.max_grad_norm),
            float(self.metadata_share),
            self.public_metadata,
            self.rare_category_min,
        )
        generator = torch.Generator(device=self.device_).manual_seed(self.seed_)
        checkpointing = None
        if store is not None:
            checkpointing = Checkpointing(checkpoint_every, functools.partial(store.save, self.seed_), resume_from)
        result = fit_private(
            frame,
            schema,
            settings,
            self._plan(),
            max_categories=self.max_categories,
            locale=self.fake_locale,
            rng=rng,
            generator=generator,
            progress=progress,
            checkpointing=checkpointing,
        )
        self.transformer_, self.generator_, self.history_ = result.transformer, result.generator, result.history
        self.condition_counts_ = result.condition_counts
        self.privacy_spent_ = result.privacy_spent
        self.best_epoch_, self.training_rows_ = len(self.history_), len(frame)
        self.select_every_ = self._resolved_select_every(self.training_rows_)  # unused: a private fit is not scored
        self._calibrate()  # reads the generator and the noisy counts only
        if store is not None:
            store.remove()
        self.avoid_values_of(frame)
        return self

    def _resolved_precision(self) -> str:
        """The precision this fit runs in, "auto" decided here, once, and kept with the model so sampling matches."""
        if self.epsilon is not None:
            return "float32"  # the private loop (Opacus's per-sample gradients) runs in float32
        if self.precision != "auto":
            return str(self.precision)
        return "bfloat16" if fast_bfloat16(self.device_) else "float32"

    def _resolved_batch_size(self) -> int:
        if self.batch_size is not None:
            return int(self.batch_size)
        return PRIVATE_BATCH_SIZE if self.epsilon is not None else DEFAULT_BATCH_SIZE

    def _resolved_learning_rate(self) -> float:
        """The rate both networks train at; a non-private fit's is read from its fitted transformer's columns."""
        if self.learning_rate is not None:
            return float(self.learning_rate)
        if self.epsilon is not None:
            return BASE_LEARNING_RATE
        columns = sum(codec.width > 0 for codec in self.transformer_.encoders)
        return BASE_LEARNING_RATE * min(max(columns / NARROW_COLUMNS, 1.0), MAX_RATE_FACTOR)

    def _resolved_select_every(self, training_rows: int) -> int:
        if self.select_every is not None:
            return int(self.select_every)
        steps_per_epoch = max(1, training_rows // self.batch_size_)
        return math.ceil(PROBE_STEPS / steps_per_epoch)

    def _training_settings(self) -> dict[str, Any]:
        """What decides the trained weights, for a checkpoint's fingerprint: every parameter but the device string,
        the kind of device it resolves to (CPU and CUDA random streams differ) and the package versions.

        An explicit seed is in it; with seed=None the seed drawn by the interrupted fit is taken from its checkpoint.
        """
        params = {k: v for k, v in jsonable_params(self.get_params()).items() if k != "device"}
        return {
            **params,
            "device_type": self.device_.type,
            "precision_": self.precision_,
            "versions": package_versions(),
        }

    def _plan(self) -> TrainingPlan:
        return TrainingPlan(
            epochs=self.epochs,
            batch_size=self.batch_size_,
            noise_dim=self.noise_dim,
            generator_dims=tuple(self.generator_dims),
            discriminator_dims=tuple(self.discriminator_dims),
            pac=self.pac,
            learning_rate=self.learning_rate_,
            discriminator_steps=self.discriminator_steps,
            bfloat16=self.precision_ == "bfloat16",
            sequential_heads=self.sequential_heads,
        )

    def _sampler(self, frame: pd.DataFrame) -> ConditionalSampler:
        discrete = self.transformer_.discrete_columns()
        widths = [codec.width for _, _, codec in discrete]
        if not discrete:
            return ConditionalSampler(np.zeros(0, dtype=np.int64), [], self.device_)
        slots = np.stack([codec.codes(frame[name]) for name, _, codec in discrete], axis=1)
        return ConditionalSampler.from_rows(slots, widths, self.device_)

    # sample
    # --- sample and conditions (augmentation mode: see synth/tabular/conditions.py) ---
    def sample(
        self,
        n: int,
        *,
        conditions: Mapping[str, Any] | None = None,
        seed: int | None = None,
        max_tries: int = DEFAULT_MAX_TRIES,
    ) -> pd.DataFrame:
        """Exactly ``n`` rows, each satisfying every condition; the same seed gives the same rows.

        ``conditions`` maps up to three categorical (or boolean) columns to one value each, e.g.
        ``{"sex": "Female", "race": "White"}``, and/or one continuous, integer or datetime column to an inclusive
        ``(low, high)`` range, e.g. ``{"age": (30, 40)}`` (a 2-tuple or list is a range).

        Exactness: one categorical column alone is exact by construction: the generator is conditioned on the
        value through its conditional vector and the column is written with it. Combinations and ranges condition
        the generator on the rarest requested value, then draw batches (sized by the measured acceptance rate) and
        keep only rows that satisfy every condition, for at most ``max_tries`` batches. When they succeed every
        returned row satisfies every condition (checked, never forced); when fewer than ``n`` rows were found,
        ConditionShortfall (a ConditionError) says how many after how many tries and carries the partial rows.
        An unknown column or value, more than three categorical columns, more than one range, a range on a
        categorical column, an inverted or empty range, or one outside the real data's range is a ConditionError.
        """
        self._check_is_fitted()
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ParameterError(f"n must be an int >= 0, got {n!r}")
        if not isinstance(max_tries, int) or isinstance(max_tries, bool) or max_tries < 1:
            raise ParameterError(f"max_tries must be an int >= 1, got {max_tries!r}")
        seed = seed if seed is not None else secrets.randbits(63)
        generator = torch.Generator(device=self.device_).manual_seed(seed)
        rng = np.random.default_rng(seed)
        plan = self._resolve_conditions(conditions or {})
        sampler, folded = self._generation_sampler(self.generation_shares_), self._folded(self.generator_)
        if plan.single:
            rows = self._identifiers(self._draw(folded, n, plan.fixed, sampler, generator, rng), rng)
            return format_text_dates(rows, self.schema_)

        def draw(size: int) -> pd.DataFrame:
            return self._draw(folded, size, plan.fixed, sampler, generator, rng)

        rows, stats = sample_matching(draw, plan, n, max_tries)
        rows = format_text_dates(self._identifiers(rows, rng), self.schema_)
        if stats.found < n:
            raise stats.shortfall(rows, plan)
        return rows

    def _folded(self, net: TabularGenerator) -> FoldedGenerator:
        """``net`` as sampling runs it: the fitted generator, or one checkpoint selection is scoring."""
        dtype = torch.bfloat16 if self.precision_ == "bfloat16" else torch.float32
        return FoldedGenerator(net, OutputLayout.of(self.transformer_, self.device_), self.noise_dim, dtype)

    def _draw(
        self,
        folded: FoldedGenerator,
        n: int,
        fixed: tuple[str, int | None, Any] | None,
        sampler: ConditionalSampler,
        generator: torch.Generator,
        rng: np.random.Generator,
    ) -> pd.DataFrame:
        """``n`` decoded rows from ``folded``, conditioned on ``fixed`` (column, slot, value), whose column is
        written with it before the columns that follow others are written or placed (``TableTransformer``)."""
        values = self._span_values(folded, n, fixed, sampler, generator)
        given = None if fixed is None else (fixed[0], fixed[2])
        return self.transformer_.derive(self.transformer_.inverse_transform(values, rng, given), rng)

    def avoid_values_of(self, *real: pd.DataFrame) -> None:
        """Make identifiers that differ from these real tables' from now on: fakes never equal a value that fewer
        than ``rare_category_min`` rows of one of the tables hold, and integer keys start past the largest real one.

        ``fit`` calls it with the training rows. A model read from a file has no real values: call it again before
        sampling (the pipeline passes the training rows and the whole source), or its fakes may equal a rare real
        value by chance. The values are kept in memory only, never saved with the model.
        """
        self._check_is_fitted()
        self._avoided: dict[str, frozenset[str]] = {}
        self._id_starts: dict[str, int] = {}
        for spec, codec in zip(self.schema_, self.transformer_.codecs_, strict=True):
            columns = [frame[spec.name].dropna() for frame in real if spec.name in frame.columns]
            if isinstance(codec, IdCodec) and any(len(c) for c in columns):
                self._id_starts[spec.name] = max(int(pd.to_numeric(c).max()) for c in columns if len(c))
            elif isinstance(codec, FakeCodec):
                rare: set[str] = set()
                for column in columns:
                    counts = column.astype(str).value_counts()
                    rare.update(counts.index[counts < self.rare_category_min])
                self._avoided[spec.name] = frozenset(rare)

    def number_keys(self, frame: pd.DataFrame, first: int = 0) -> pd.DataFrame:
        """``frame`` with its integer key columns numbered anew, past the largest real key ``avoid_values_of`` saw,
        from its ``first``-th fresh key on: rows drawn in several calls (the pipeline's parts and batches) then
        number on from each other. A null key stays null. Changes ``frame`` in place and returns it."""
        starts = getattr(self, "_id_starts", {})
        for spec, codec in zip(self.schema_, self.transformer_.codecs_, strict=True):
            if isinstance(codec, IdCodec):
                keys = np.arange(1, len(frame) + 1, dtype=np.int64) + starts.get(spec.name, 0) + first
                if len(keys) and keys[-1] > codec.max_id:
                    raise SchemaError(
                        f"id column '{spec.name}' cannot hold {first + len(frame)} new keys past its largest real one "
                        f"({starts.get(spec.name, 0)}) in its integer type; give the column a wider type"
                    )
                null = frame[spec.name].isna().to_numpy()
                frame[spec.name] = build_column(np.where(null, np.nan, keys) if null.any() else keys, spec)
        return frame

    def _identifiers(self, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        """Identifiers made for the whole of ``frame`` (batches each number their keys from 1), away from the real
        values ``avoid_values_of`` was given."""
        avoided = getattr(self, "_avoided", {})
        for spec, codec in zip(self.schema_, self.transformer_.codecs_, strict=True):
            if isinstance(codec, FakeCodec) and (avoided.get(spec.name) or spec.kind == "id"):
                values = frame[spec.name].to_numpy(dtype=object)
                values = redraw(values, codec.maker, avoided.get(spec.name, frozenset()), rng, unique=spec.kind == "id")
                frame[spec.name] = build_column(values, spec)
        return self.number_keys(frame)

    def _span_values(
        self,
        folded: FoldedGenerator,
        n: int,
        fixed: tuple[str, int | None, Any] | None,
        sampler: ConditionalSampler,
        generator: torch.Generator,
    ) -> np.ndarray:
        """Span values of ``n`` generated rows, drawn a chunk at a time."""
        with torch.no_grad():
            chunks = [
                self._generate(folded, min(_SAMPLE_CHUNK_ROWS, n - start), fixed, sampler, generator)
                for start in range(0, n, _SAMPLE_CHUNK_ROWS)
            ]
        return np.concatenate(chunks) if chunks else np.zeros((0, len(self.transformer_.spans)), dtype=np.float32)

    def _generate(
        self,
        folded: FoldedGenerator,
        size: int,
        fixed: tuple[str, int | None, Any] | None,
        sampler: ConditionalSampler,
        generator: torch.Generator,
    ) -> np.ndarray:
        """Span values of ``size`` generated rows."""
        if sampler.n_columns == 0:
            slot = None
        elif fixed is not None and fixed[1] is not None:
            slot = torch.full((size,), fixed[1], device=self.device_, dtype=torch.long)
        else:
            slot = sampler.sample_generation(size, generator)
        noise = torch.randn(size, self.noise_dim, generator=generator, device=self.device_)
        return folded.draw(noise, slot, generator).cpu().numpy()

    def _generation_sampler(self, shares: list[float] | None) -> ConditionalSampler:
        """A sampler rebuilt from the stored slot counts (no training rows are kept in the model), drawing conditions
        by ``shares`` (None: the real rows' shares)."""
        discrete = self.transformer_.discrete_columns()
        widths = [codec.width for _, _, codec in discrete]
        counts = np.asarray(self.condition_counts_, dtype=np.int64)
        return ConditionalSampler(counts, widths, self.device_, None if shares is None else np.asarray(shares))

    def _calibrate(self) -> None:
        """Generation calibrated to the real rows after training, from the generator alone: the condition shares
        (``generation_shares_``), then each warped number's map of its generated scores (``NumericCodec.calibrate``),
        fitted on seeded pilot rows drawn under those shares."""
        started = time.monotonic()
        folded = self._folded(self.generator_)
        self.generation_shares_ = self._calibrated_generation_shares(folded)
        numbers = self._warped_numbers()
        if numbers:
            values = self._pilot(folded, self._generation_sampler(self.generation_shares_))
            for start, codec in numbers:
                codec.calibrate(values[:, start : start + len(codec.spans)])
        seconds = time.monotonic() - started
        log.info("generation calibrated in %.1f s (pilot draws of %d rows)", seconds, self._pilot_rows())

    def _warped_numbers(self) -> list[tuple[int, NumericCodec]]:
        """(first span value, codec) of each number whose generated scores ``_calibrate`` maps."""
        return [
            (start, codec)
            for start, codec in zip(self._span_starts(), self.transformer_.encoders, strict=True)
            if isinstance(codec, NumericCodec) and codec.warp is not None
        ]

    def _shaped_generator(self, generator: torch.Generator) -> TabularGenerator:
        """A generator of this model's shape (its fitted transformer and condition slots), weights drawn from
        ``generator``."""
        return TabularGenerator(
            self.noise_dim,
            len(self.condition_counts_),
            tuple(self.generator_dims),
            self.transformer_.width,
            device=self.device_,
            generator=generator,
            exact=OutputLayout.of(self.transformer_, self.device_).scalars,
            sequential=self.sequential_heads,
        )

    def _calibration_seconds(self) -> float:
        """About what ``_calibrate`` will take, measured before training so that a time budget holds it: a draw costs
        the same whatever the weights, so an untrained generator of the same shape draws one chunk of rows (after a
        few rows that warm the kernels up), and the time is scaled to the pilots' rows."""
        untrained = torch.Generator(device=self.device_).manual_seed(0)  # not the training stream
        folded, sampler = self._folded(self._shaped_generator(untrained).eval()), self._generation_sampler(None)
        self._span_values(folded, 100, None, sampler, untrained)
        started = time.monotonic()
        rows = min(self._pilot_rows(), _SAMPLE_CHUNK_ROWS)
        self._span_values(folded, rows, None, sampler, untrained)
        draws = CALIBRATION_ROUNDS * (sampler.n_columns > 0) + bool(self._warped_numbers())
        seconds = (time.monotonic() - started) * draws * self._pilot_rows() / rows
        log.info("%.1f s of the time budget kept for the calibration after training", seconds)
        return seconds

    def _calibrated_generation_shares(self, folded: FoldedGenerator) -> list[float]:
        """Condition shares under which the fitted generator (``folded``) writes each discrete column's levels in the
        real rows' shares (``synth/tabular/calibration.py``), measured on seeded pilot rows."""
        real = self._generation_sampler(None)
        if real.n_columns == 0:
            return []
        spans = [
            start
            for start, codec in zip(self._span_starts(), self.transformer_.encoders, strict=True)
            if isinstance(codec, CategoricalCodec)
        ]

        def observe(shares: np.ndarray) -> np.ndarray:
            values = self._pilot(folded, self._generation_sampler(shares.tolist()))
            return slot_shares(values[:, spans].astype(np.int64), real.widths)

        return calibrated_shares(real.count_shares, real.widths, observe).tolist()

    def _pilot_rows(self) -> int:
        return min(PILOT_ROWS, 2 * self.training_rows_)

    def _pilot(self, folded: FoldedGenerator, sampler: ConditionalSampler) -> np.ndarray:
        """Span values of the seeded pilot rows the calibration measures the fitted generator (``folded``) on."""
        generator = torch.Generator(device=self.device_).manual_seed(self.seed_)
        return self._span_values(folded, self._pilot_rows(), None, sampler, generator)

    def _span_starts(self) -> list[int]:
        """Each column's first place among a row's span values."""
        return np.cumsum([0] + [len(codec.spans) for codec in self.transformer_.encoders])[:-1].tolist()

    def _resolve_conditions(self, conditions: Mapping[str, Any]) -> ConditionPlan:
        """The conditions checked against the fitted model (ConditionError otherwise), with their anchor."""
        return resolve_conditions(conditions, self.schema_, self.transformer_, list(self.condition_counts_))

    # --- end of sample and conditions ---

    def _check_is_fitted(self) -> None:
        if not hasattr(self, "generator_"):
            raise NotFittedError("TabularSynthesizer is not fitted yet; call fit() first")

    # save / load (synth/tabular/model_files.py)
    def save(self, path: str | Path) -> Path:
        """Write the model to a folder: JSON for everything but the generator's weights. Replaces an older save."""
        self._check_is_fitted()
        saved = SavedModel(
            params=self.get_params(),
            schema=self.schema_,
            transformer=self.transformer_,
            seed=self.seed_,
            condition_counts=tuple(self.condition_counts_),
            generation_shares=tuple(self.generation_shares_),
            history=tuple(self.history_),
            best_epoch=self.best_epoch_,
            training_rows=self.training_rows_,
            precision=self.precision_,
            privacy_spent=self.privacy_spent_,
            generator_state=self.generator_.state_dict(),
        )
        return write_model(saved, Path(path))

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None) -> TabularSynthesizer:
        """Read a folder written by ``save``; weights load with ``weights_only=True`` (no code runs).

        ``device`` defaults to the saved model's own ``device`` parameter, so samples match the saved model's.
        """
        folder = Path(path)
        saved = read_model(folder, device)
        model = cls(**saved.params)
        model.device_ = resolve_device(model.device)
        model.seed_, model.schema_, model.transformer_ = saved.seed, saved.schema, saved.transformer
        model.condition_counts_ = list(saved.condition_counts)
        model.generation_shares_ = list(saved.generation_shares)
        model.history_, model.best_epoch_ = list(saved.history), saved.best_epoch
        model.training_rows_, model.precision_ = saved.training_rows, saved.precision
        model.batch_size_ = model._resolved_batch_size()
        model.learning_rate_ = model._resolved_learning_rate()
        model.select_every_ = model._resolved_select_every(model.training_rows_)
        model.privacy_spent_ = saved.privacy_spent
        net = model._shaped_generator(torch.Generator(device=model.device_))  # its weights are the saved ones next
        try:
            net.load_state_dict(saved.generator_state)
        except RuntimeError as exc:
            raise ModelFileError(f"{folder / 'generator.pt'} cannot be loaded: {exc}") from exc
        model.generator_ = net.eval()
        return model


def _check_frame(frame: pd.DataFrame, schema: Schema) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"fit takes a pandas DataFrame or an Arrow table, got {type(frame).__name__}")
    if list(map(str, frame.columns)) != schema.names:
        raise SchemaError(f"the data's columns {list(frame.columns)} do not match the schema's {schema.names}")
    if len(frame) < MIN_ROWS:
        raise SchemaError(f"need at least {MIN_ROWS} rows to train, got {len(frame)}")
    check_learnable(schema)
    for spec in schema:
        if spec.kind != "constant" and frame[spec.name].isna().all():
            raise SchemaError(
                f"column '{spec.name}' is entirely null in the training rows but its schema kind is {spec.kind}; "
                "drop it, fill it, or leave its kind to inference (an all-null column passes through as null)"
            )
