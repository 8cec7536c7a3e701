"""Small, hashable references that flow tasks pass to each other instead of whole tables or models."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ModelRef", "ReportRef", "SourceRef", "SplitRef", "TableRef"]


@dataclass(frozen=True, slots=True)
class TableRef:
    path: str
    sha256: str  # of the file bytes, so a cache key changes when the data does
    rows: int


@dataclass(frozen=True, slots=True)
class SourceRef:
    table: TableRef
    schema_json: str


@dataclass(frozen=True, slots=True)
class SplitRef:
    train: TableRef
    holdout: TableRef
    seed: int


@dataclass(frozen=True, slots=True)
class ModelRef:
    path: str
    seed: int
    seconds: float
    key: str  # the hash of everything training depends on; the model's folder is named by it
    reused: bool  # trained by an earlier run on exactly the same inputs
    set_aside: str | None = None  # why a damaged cached model was set aside and this one trained instead


@dataclass(frozen=True, slots=True)
class ReportRef:
    json_path: str
    html_path: str
    verdict: str
    failures: tuple[str, ...]
    warnings: tuple[str, ...] = ()
