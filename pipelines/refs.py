"""Small, typed records that flow tasks pass to each other instead of whole tables, models or JSON strings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

from synth import Schema

if TYPE_CHECKING:
    from synth import EpochStats, ImageEpochStats

__all__ = ["Augmented", "EpochReport", "ImageMeta", "ModelRef", "ReportRef", "SourceRef", "SplitRef", "TableRef"]


class EpochReport(Protocol):
    """What a training step calls after every epoch (the flow logs it and moves its progress bar)."""

    def __call__(self, stats: EpochStats | ImageEpochStats, /) -> None: ...


@dataclass(frozen=True, slots=True)
class TableRef:
    path: str
    sha256: str  # of the file bytes, so a cache key changes when the data does
    rows: int


@dataclass(frozen=True, slots=True)
class ImageMeta:
    """What an image table holds (PNG bytes, label, width, height): the image counterpart of a table's Schema."""

    image_shape: tuple[int, ...]
    classes: tuple[int | str, ...]
    label_type: str  # "int64" or "string"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "image", "image_shape": list(self.image_shape), "classes": list(self.classes),
                "label_type": self.label_type}  # fmt: skip

    def arrow_schema(self) -> pa.Schema:
        label = pa.int64() if self.label_type == "int64" else pa.string()
        return pa.schema(
            [("image", pa.binary()), ("label", label), ("width", pa.int32()), ("height", pa.int32())]
        )  # fmt: skip

    def describe(self) -> str:
        shape = "x".join(map(str, self.image_shape[:2]))
        colour = "RGB" if len(self.image_shape) == 3 and self.image_shape[2] == 3 else "grayscale"
        shown = ", ".join(map(str, self.classes[:20])) + (", ..." if len(self.classes) > 20 else "")
        return f"images {shape} {colour}, {len(self.classes)} classes ({self.label_type} labels): {shown}"


@dataclass(frozen=True, slots=True)
class SourceRef:
    """The checked real data: its table (an image set's canonical table) and what it holds."""

    table: TableRef
    schema: Schema | ImageMeta


@dataclass(frozen=True, slots=True)
class SplitRef:
    train: TableRef
    holdout: TableRef
    seed: int
    unseen: tuple[str, ...] = ()  # columns with values in the source but none in the training rows: made null


@dataclass(frozen=True, slots=True)
class ModelRef:
    path: str
    seed: int
    seconds: float
    key: str  # the hash of everything training depends on; the model's folder is named by it
    reused: bool  # trained by an earlier run on exactly the same inputs
    set_aside: str | None = None  # why a damaged cached model was set aside and this one trained instead
    history: tuple[dict[str, Any], ...] = ()  # the saved epoch stats, for the training-curve artifact
    privacy_spent: dict[str, Any] | None = None  # the accountant's figures of a private model


@dataclass(frozen=True, slots=True)
class ReportRef:
    json_path: str
    html_path: str
    verdict: str
    failures: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    #: per check: {"value", "reference", "status"}, as the manifest and the CLI show them
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Augmented:
    """The augmented part file (real rows, then synthetic), the synthetic rows alone, and rows added per class."""

    table: TableRef
    added: TableRef
    plan: dict[str, int]
