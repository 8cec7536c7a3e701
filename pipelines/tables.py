"""The flow's steps for a table (the ``DataKind`` of ``model.kind: tabular``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipelines.config import GenerateConfig, PrivacyConfig
from pipelines.contracts import ContractView
from pipelines.generation import generate_table_part
from pipelines.intake import load_table_source
from pipelines.measuring import measure_table, table_report, write_report
from pipelines.publish import to_arrow
from pipelines.refs import Augmented, EpochReport, ModelRef, ReportRef, SourceRef, SplitRef, TableRef
from pipelines.settings import Augmenting, Intake, Measuring, Training
from pipelines.sources import read_table
from pipelines.training import train_table_model
from synth import Schema, TabularSynthesizer
from synth.rebalance import SYNTHETIC_FLAG, rebalance
from synth.schema import table_to_frame

__all__ = ["TableKind"]


class TableKind:
    """Tables: schema inference, the tabular GAN, the tabular suite, contracts limited to the model's codecs."""

    def load(self, intake: Intake, run_dir: Path) -> SourceRef:
        return load_table_source(intake)

    def train(self, split: SplitRef, source: SourceRef, training: Training, progress: EpochReport | None) -> ModelRef:
        return train_table_model(split, source, training, progress)

    def generate_part(
        self, model: ModelRef, part: int, rows: int, first_row: int, generate: GenerateConfig,
        privacy: PrivacyConfig | None, split: SplitRef, source: SourceRef, run_dir: Path,
    ) -> TableRef:  # fmt: skip
        return generate_table_part(model, part, rows, first_row, generate, source, run_dir, split, privacy)

    def measure(
        self, split: SplitRef, sample: TableRef, produced: int, model: ModelRef, measuring: Measuring,
        source: SourceRef, run_dir: Path,
    ) -> ReportRef:  # fmt: skip
        return measure_table(split, sample, produced, source, measuring, run_dir, model)

    def class_column(self, label: str | None) -> str:
        assert label is not None  # the config refuses augmentation of a table without a class column
        return label

    def contract_view(self, split: SplitRef, sample: TableRef, source: SourceRef, model: ModelRef) -> ContractView:
        schema = _schema(source)
        codecs = TabularSynthesizer.load(model.path).transformer_.codecs_
        return ContractView(
            table_to_frame(read_table(split.train)), table_to_frame(read_table(sample)), schema,
            dict(zip(schema.names, codecs, strict=True)),
        )  # fmt: skip

    def arrow_schema(self, source: SourceRef) -> pa.Schema:
        return _schema(source).arrow_schema()

    def described(self, source: SourceRef) -> Any:
        return _schema(source).to_dict()["columns"]

    def augment_rows(
        self, model: ModelRef, split: SplitRef, augmenting: Augmenting, source: SourceRef
    ) -> tuple[pa.Table, dict[Any, int]]:
        """The training rows plus the synthetic rows the balance needs, flagged; and the rows added per class."""
        label = self.class_column(augmenting.label)
        synthesizer = TabularSynthesizer.load(model.path)
        train = table_to_frame(read_table(split.train))
        frame = rebalance(synthesizer, train, label, augmenting.balance, seed=augmenting.seed)
        added = frame.loc[frame[SYNTHETIC_FLAG], label].astype(object).value_counts(sort=False)
        plan = dict(zip(added.index.tolist(), added.tolist(), strict=True))  # what was added, read off the rows
        arrow = self.arrow_schema(source).append(pa.field(SYNTHETIC_FLAG, pa.bool_()))
        return to_arrow(frame, arrow), plan

    def measure_added(
        self, split: SplitRef, same_classes: SplitRef, augmented: Augmented, sample: TableRef, model: ModelRef,
        measuring: Measuring, augmenting: Augmenting, source: SourceRef, run_dir: Path,
    ) -> ReportRef:  # fmt: skip
        """The suite on the added rows against the real rows of their classes, plus the downstream lift: the same
        classifier trained on the real rows alone and on the augmented set, scored on the whole holdout."""
        from validators import decide
        from validators.augmentation import augmentation_lift

        label = self.class_column(augmenting.label)
        added = [name for name, count in augmented.plan.items() if count > 0]
        # with one class added, the class column is constant in what is compared: no utility to measure there
        measured = replace(measuring, target=label if len(added) > 1 else None)
        report = table_report(same_classes, sample, augmented.added.rows, _schema(source), measured)
        lift = augmentation_lift(
            table_to_frame(read_table(split.train)), table_to_frame(read_table(augmented.table)),
            table_to_frame(read_table(split.holdout)), target=label, schema=_schema(source),
            seeds=augmenting.lift_seeds, tolerance=augmenting.tolerance, bounds=dict(measuring.bounds),
        )  # fmt: skip
        metrics = (*report.metrics, *lift)
        context = {**report.context, "compared_with_classes": added}
        verdict = decide(list(metrics), enforce=measuring.enforce)
        return write_report(replace(report, metrics=metrics, verdict=verdict, context=context), run_dir)


def _schema(source: SourceRef) -> Schema:
    assert isinstance(source.schema, Schema)
    return source.schema
