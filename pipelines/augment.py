"""The augmentation mode's steps: the real training rows plus exactly the synthetic rows a class balance needs
(``is_synthetic`` marks them), and the measuring of what was added."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from pipelines.errors import DataError
from pipelines.kinds import DataKind
from pipelines.refs import Augmented, ModelRef, ReportRef, SourceRef, SplitRef, TableRef
from pipelines.settings import Augmenting, Measuring
from pipelines.sources import read_table, write_table
from synth import SynthError
from synth.rebalance import SYNTHETIC_FLAG
from synth.schema import table_to_frame

__all__ = ["augment", "measure_augmented"]

#: Fewer synthetic rows than this cannot be measured (the suite's own minimum).
MIN_SYNTHETIC_ROWS = 20


def augment(
    kind: DataKind, model: ModelRef, split: SplitRef, augmenting: Augmenting, source: SourceRef, run_dir: Path
) -> Augmented:
    """Write the augmented set (real rows first, then the synthetic ones) as one part file, and the synthetic rows
    alone for measuring; the plan is exact (``synth.rebalance.plan_rebalance``)."""
    try:
        augmented, plan = kind.augment_rows(model, split, augmenting, source)
    except SynthError as exc:
        raise DataError(f"cannot augment: {exc}") from exc
    added = sum(plan.values())
    if added < MIN_SYNTHETIC_ROWS:
        raise DataError(
            f"the balance {augmenting.balance!r} needs only {added} synthetic row(s) for this data; at least "
            f"{MIN_SYNTHETIC_ROWS} are needed to measure them (ask for a different balance)"
        )
    path, synthetic_path = run_dir / "augmented-00000.parquet", run_dir / "added.parquet"
    whole = write_table(augmented, path, row_group_size=augmenting.batch_rows or 100_000)
    flags = augmented[SYNTHETIC_FLAG].to_numpy(zero_copy_only=False)
    synthetic = write_table(augmented.filter(pa.array(flags)).drop_columns([SYNTHETIC_FLAG]), synthetic_path)
    return Augmented(whole, synthetic, {str(label): count for label, count in plan.items()})


def measure_augmented(
    kind: DataKind, split: SplitRef, augmented: Augmented, sample: TableRef, model: ModelRef, measuring: Measuring,
    augmenting: Augmenting, source: SourceRef, run_dir: Path,
) -> ReportRef:  # fmt: skip
    """The suite on the synthetic rows that were added, against the real rows of the classes they were added to
    (a top-up of one class is compared with that class, not with the whole table)."""
    label = kind.class_column(augmenting.label)
    added = [name for name, count in augmented.plan.items() if count > 0]
    same_classes = SplitRef(
        train=_classes_only(split.train, label, added, run_dir / "train-added-classes.parquet"),
        holdout=_classes_only(split.holdout, label, added, run_dir / "holdout-added-classes.parquet"),
        seed=split.seed,
        unseen=split.unseen,
    )
    return kind.measure_added(split, same_classes, augmented, sample, model, measuring, augmenting, source, run_dir)


def _classes_only(ref: TableRef, label: str, classes: list[str], path: Path) -> TableRef:
    """The rows of ``ref`` whose label is one of ``classes`` (compared as text), written to ``path``."""
    table = read_table(ref)
    keep = pa.array(table_to_frame(table.select([label]))[label].astype(str).isin(classes).to_numpy())
    return write_table(table.filter(keep), path)
