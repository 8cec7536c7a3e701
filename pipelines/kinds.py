"""The one place the flow tells tables from image sets: a ``DataKind`` per ``model.kind``, with the steps that
differ between them. Everything else (splitting, sampling the parts, the gate, contracts, publishing) is shared."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Protocol

import pyarrow as pa

from pipelines.config import GenerateConfig, PrivacyConfig
from pipelines.contracts import ContractView
from pipelines.images import ImageKind
from pipelines.refs import Augmented, EpochReport, ModelRef, ReportRef, SourceRef, SplitRef, TableRef
from pipelines.settings import Augmenting, Intake, Measuring, Training
from pipelines.tables import TableKind

__all__ = ["DataKind", "KindName", "kind_of"]

#: A config's ``model.kind``: what tasks pass, and ``kind_of`` turns into the steps.
KindName = Literal["tabular", "image"]


class DataKind(Protocol):
    """The steps of a run that depend on what the data is."""

    def load(self, intake: Intake, run_dir: Path) -> SourceRef:
        """Read and check the real data before anything is trained or published."""

    def train(self, split: SplitRef, source: SourceRef, training: Training, progress: EpochReport | None) -> ModelRef:
        """Train on the training rows, or reuse the model trained before on exactly these inputs."""

    def generate_part(
        self, model: ModelRef, part: int, rows: int, first_row: int, generate: GenerateConfig,
        privacy: PrivacyConfig | None, split: SplitRef, source: SourceRef, run_dir: Path,
    ) -> TableRef:  # fmt: skip
        """Write one part file of ``rows`` generated rows; ``first_row`` is its first row's place in the set."""

    def measure(
        self, split: SplitRef, sample: TableRef, produced: int, model: ModelRef, measuring: Measuring,
        source: SourceRef, run_dir: Path,
    ) -> ReportRef:  # fmt: skip
        """Score the measured sample against the training rows and the holdout, and write the report."""

    def class_column(self, label: str | None) -> str:
        """The column augmentation balances (``label``: the config's class column, if it names one)."""

    def contract_view(self, split: SplitRef, sample: TableRef, source: SourceRef, model: ModelRef) -> ContractView:
        """What the synthetic contract checks."""

    def arrow_schema(self, source: SourceRef) -> pa.Schema:
        """The published files' Arrow schema."""

    def described(self, source: SourceRef) -> Any:
        """The schema as the manifest records it (JSON-ready)."""

    def augment_rows(
        self, model: ModelRef, split: SplitRef, augmenting: Augmenting, source: SourceRef
    ) -> tuple[pa.Table, dict[Any, int]]:
        """The training rows plus the synthetic rows the configured balance needs, and the rows added per class."""

    def measure_added(
        self, split: SplitRef, same_classes: SplitRef, augmented: Augmented, sample: TableRef, model: ModelRef,
        measuring: Measuring, augmenting: Augmenting, source: SourceRef, run_dir: Path,
    ) -> ReportRef:  # fmt: skip
        """Score the added rows against the real rows of the classes they were added to."""


def kind_of(kind: KindName) -> DataKind:
    """The steps for a config's ``model.kind``."""
    return ImageKind() if kind == "image" else TableKind()
