"""The augmentation mode's steps: the real training rows plus exactly the synthetic rows a class balance needs
(``is_synthetic`` marks them), for tables and image sets, and the measuring of what was added."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.config import PipelineConfig
from pipelines.errors import DataError
from pipelines.publish import to_arrow
from pipelines.refs import ModelRef, ReportRef, SplitRef, TableRef
from pipelines.sources import file_sha256
from pipelines.steps import gate_bounds, measure_report, read_table, write_report
from synth import ImageSynthesizer, Schema, SynthError, TabularSynthesizer
from synth.rebalance import SYNTHETIC_FLAG, plan_rebalance, rebalance
from synth.schema import table_to_frame

__all__ = ["Augmented", "augment", "measure_augmented"]

#: Fewer synthetic rows than this cannot be measured (the suite's own minimum).
MIN_SYNTHETIC_ROWS = 20


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True, slots=True)
class Augmented:
    """The augmented part file (real rows, then synthetic), the synthetic rows alone, and rows added per class."""

    table: TableRef
    added: TableRef
    plan: dict[str, int]


def augment(model: ModelRef, split: SplitRef, config: PipelineConfig, schema_json: str, run_dir: Path) -> Augmented:
    """Write the augmented set (real rows first, then the synthetic ones) as one part file, and the synthetic rows
    alone for measuring; the plan is exact (``synth.rebalance.plan_rebalance``)."""
    settings = config.augmentation_settings()
    try:
        if config.model.kind == "image":
            augmented, plan = _augment_images(model, split, settings.balance, config.generate.seed, schema_json)
        else:
            augmented, plan = _augment_table(model, split, config, schema_json)
    except SynthError as exc:
        raise DataError(f"cannot augment: {exc}") from exc
    added = sum(plan.values())
    if added < MIN_SYNTHETIC_ROWS:
        raise DataError(
            f"the balance {settings.balance!r} needs only {added} synthetic row(s) for this data; at least "
            f"{MIN_SYNTHETIC_ROWS} are needed to measure them (ask for a different balance)"
        )
    path, synthetic_path = run_dir / "augmented-00000.parquet", run_dir / "added.parquet"
    pq.write_table(augmented, path, row_group_size=config.generate.batch_rows or 100_000)
    flags = augmented[SYNTHETIC_FLAG].to_numpy(zero_copy_only=False)
    pq.write_table(augmented.filter(pa.array(flags)).drop_columns([SYNTHETIC_FLAG]), synthetic_path)
    return Augmented(
        TableRef(str(path), file_sha256(path), augmented.num_rows),
        TableRef(str(synthetic_path), file_sha256(synthetic_path), added),
        {str(label): count for label, count in plan.items()},
    )


def _augment_table(
    model: ModelRef, split: SplitRef, config: PipelineConfig, schema_json: str
) -> tuple[pa.Table, dict[Any, int]]:
    label = config.label_column()
    assert label is not None  # the config refuses augmentation of a table without a class column
    synthesizer = TabularSynthesizer.load(model.path)
    train = table_to_frame(read_table(split.train))
    frame = rebalance(synthesizer, train, label, config.augmentation_settings().balance, seed=config.generate.seed)
    added = frame.loc[frame[SYNTHETIC_FLAG], label].astype(object).value_counts(sort=False)
    plan = {_plain(value): int(count) for value, count in added.items()}  # what was added, read off the rows
    arrow = Schema.from_json(schema_json).arrow_schema().append(pa.field(SYNTHETIC_FLAG, pa.bool_()))
    return to_arrow(frame, arrow), plan


def _augment_images(
    model: ModelRef, split: SplitRef, balance: Any, seed: int, meta_json: str
) -> tuple[pa.Table, dict[Any, int]]:
    from pipelines.images import ImageMeta, image_table, read_images

    meta = ImageMeta.from_json(meta_json)
    train = read_images(split.train, meta)
    classes, counts = np.unique(train.labels, return_counts=True)
    plan = plan_rebalance({_plain(c): int(n) for c, n in zip(classes, counts, strict=True)}, balance)
    synthesizer = ImageSynthesizer.load(model.path)
    images, labels = synthesizer.sample(per_class={c: k for c, k in plan.items() if k > 0}, seed=seed)
    real = read_table(split.train).append_column(SYNTHETIC_FLAG, pa.array(np.zeros(len(train), dtype=bool)))
    added = image_table(images, labels, meta)
    added = added.append_column(SYNTHETIC_FLAG, pa.array(np.ones(len(images), dtype=bool)))
    return pa.concat_tables([real, added]), plan


def measure_augmented(
    split: SplitRef, augmented: Augmented, sample: TableRef, model: ModelRef, config: PipelineConfig, schema_json: str,
    run_dir: Path,
) -> ReportRef:  # fmt: skip
    """The suite on the synthetic rows that were added, against the real rows of the classes they were added to
    (a top-up of one class is compared with that class, not with the whole table), plus, for tables, the
    downstream lift: the same classifier trained on the real rows alone and on the augmented set, scored on the
    whole holdout over several seeds."""
    from pipelines.images import measure_images
    from validators import decide
    from validators.augmentation import augmentation_lift

    produced = augmented.added.rows
    label = "label" if config.model.kind == "image" else config.label_column()
    assert label is not None
    added = [name for name, count in augmented.plan.items() if count > 0]
    same_classes = SplitRef(
        train=_classes_only(split.train, label, added, run_dir / "train-added-classes.parquet"),
        holdout=_classes_only(split.holdout, label, added, run_dir / "holdout-added-classes.parquet"),
        seed=split.seed,
    )
    if config.model.kind == "image":
        return measure_images(same_classes, sample, produced, model, config, schema_json, run_dir)
    # with one class added, the class column is constant in what is compared: no utility to measure there
    measured = config.model_copy(update={"target": label if len(added) > 1 else None})
    report = measure_report(same_classes, sample, produced, schema_json, measured)
    settings = config.augmentation_settings()
    lift = augmentation_lift(
        table_to_frame(read_table(split.train)), table_to_frame(read_table(augmented.table)),
        table_to_frame(read_table(split.holdout)), target=label, schema=Schema.from_json(schema_json),
        seeds=settings.seeds, tolerance=settings.tolerance, bounds=gate_bounds(config),
    )  # fmt: skip
    metrics = (*report.metrics, *lift)
    context = {**report.context, "compared_with_classes": added}
    verdict = decide(list(metrics), enforce=config.gate.enforce)
    return write_report(replace(report, metrics=metrics, verdict=verdict, context=context), run_dir)


def _classes_only(ref: TableRef, label: str, classes: list[str], path: Path) -> TableRef:
    """The rows of ``ref`` whose label is one of ``classes`` (compared as text), written to ``path``."""
    table = read_table(ref)
    keep = pa.array(table_to_frame(table.select([label]))[label].astype(str).isin(classes).to_numpy())
    pq.write_table(table.filter(keep), path)
    return TableRef(str(path), file_sha256(path), int(keep.true_count))
