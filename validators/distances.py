"""Rows as points for distance metrics, and nearest-neighbour distances in chunks (never an n x n matrix)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import torch

from synth.schema import Schema, parse_text_dates
from validators.fidelity import modelled_columns, numeric_values

__all__ = ["RowEncoder", "chunked_pairs", "nearest_distances", "nearest_k"]

_QUERY_CHUNK = 2048
_REFERENCE_CHUNK = 8192
# float64 keeps the matrix-product shortcut's error under 1e-6, and anything below that is snapped to 0, so identical
# rows are exactly 0 apart on every device (exact differences would be five times slower).
_ZERO = 1e-6


def _cdist(queries: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    d = torch.cdist(queries, reference)
    return torch.where(d < _ZERO, torch.zeros_like(d), d)


#: A category column's most frequent levels each get a one-hot slot; the rest share a block of this many
#: dimensions, each level a random unit vector in it. Distinct levels stay about sqrt(2) apart, equal ones 0 apart,
#: and a column of names or codes costs 2 x this many numbers a row instead of one per level.
ONE_HOT_LEVELS = 64


class RowEncoder:
    """Mixed-type rows as numbers: numbers min-max scaled on the train range with a null flag, categories one-hot
    with null as a level of its own (unseen levels encode as all zeros). Identifiers and constants are left out.

    Beyond ``ONE_HOT_LEVELS`` levels, the rarer ones are random unit vectors in a shared block (seeded): two
    different rare levels are sqrt(2 - 2 cos) apart, cos about N(0, 1 / ONE_HOT_LEVELS), instead of exactly sqrt(2).
    """

    def __init__(self, schema: Schema) -> None:
        self.schema = schema

    def fit(self, train: pd.DataFrame) -> RowEncoder:
        self.numeric_: dict[str, tuple[float, float, bool]] = {}
        self.levels_: dict[str, pd.Index] = {}
        self.tail_vectors_: dict[str, np.ndarray] = {}  # the rarer levels' unit vectors, drawn once per column
        train = parse_text_dates(train, self.schema)
        for column in modelled_columns(self.schema):
            series = train[column.name]
            if column.kind in ("categorical", "boolean"):
                levels = pd.Index(series.astype(object).value_counts(dropna=False).index)
                self.levels_[column.name] = levels
                if len(levels) > ONE_HOT_LEVELS:
                    self.tail_vectors_[column.name] = _unit_vectors(len(levels) - ONE_HOT_LEVELS)
            else:
                values = numeric_values(series)
                lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
                self.numeric_[column.name] = (lo, hi - lo if hi > lo else 1.0, column.nullable)
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        frame = parse_text_dates(frame, self.schema)
        blocks = []
        for name, (lo, span, nullable) in self.numeric_.items():
            series = frame[name]
            null = series.isna().to_numpy()
            values = np.zeros(len(series))
            values[~null] = (numeric_values(series) - lo) / span
            blocks.append(values[:, None])
            if nullable:
                blocks.append(null.astype(np.float64)[:, None])
        for name, levels in self.levels_.items():
            codes = levels.get_indexer(pd.Index(frame[name].astype(object)))
            head = min(len(levels), ONE_HOT_LEVELS)
            one_hot = np.zeros((len(frame), head))
            rows = np.flatnonzero((codes >= 0) & (codes < head))
            one_hot[rows, codes[rows]] = 1.0
            blocks.append(one_hot)
            if len(levels) > head:
                tail = np.zeros((len(frame), ONE_HOT_LEVELS))
                rows = np.flatnonzero(codes >= head)
                tail[rows] = self.tail_vectors_[name][codes[rows] - head]
                blocks.append(tail)
        if not blocks:
            return np.zeros((len(frame), 0), dtype=np.float32)
        return np.concatenate(blocks, axis=1).astype(np.float32)


def _unit_vectors(count: int) -> np.ndarray:
    """``count`` random unit vectors of ``ONE_HOT_LEVELS`` dimensions, the same on every call."""
    vectors = np.random.default_rng(0).standard_normal((count, ONE_HOT_LEVELS))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def nearest_k(queries: np.ndarray, reference: np.ndarray, k: int = 1, *, exclude_self: bool = False) -> np.ndarray:
    """(n_queries, k) Euclidean distances to the k nearest reference rows, ascending, chunk by chunk.

    ``exclude_self`` drops each query's own row when queries and reference are the same rows.
    """
    device = _device()
    ref = torch.as_tensor(reference, device=device, dtype=torch.float64)
    extra = 1 if exclude_self else 0
    out = np.empty((len(queries), k), dtype=np.float64)
    for start in range(0, len(queries), _QUERY_CHUNK):
        q = torch.as_tensor(queries[start : start + _QUERY_CHUNK], device=device, dtype=torch.float64)
        best = torch.full((len(q), k + extra), float("inf"), device=device, dtype=torch.float64)
        for ref_start in range(0, len(ref), _REFERENCE_CHUNK):
            d = _cdist(q, ref[ref_start : ref_start + _REFERENCE_CHUNK])
            if exclude_self:
                rows = torch.arange(len(q), device=device)
                cols = rows + start - ref_start
                inside = (cols >= 0) & (cols < d.shape[1])
                d[rows[inside], cols[inside]] = -1.0  # own row: sorted first, then dropped
            merged = torch.cat([best, d], dim=1)
            best = torch.topk(merged, k + extra, dim=1, largest=False).values
        out[start : start + len(q)] = best[:, extra:].clamp_min(0).cpu().numpy()
    return out


def nearest_distances(queries: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Distance from each query row to its nearest reference row."""
    return nearest_k(queries, reference, 1)[:, 0]


def chunked_pairs(queries: np.ndarray, reference: np.ndarray) -> Iterator[tuple[int, torch.Tensor]]:
    """(start, distance block) for query chunks against all reference rows, for metrics that scan every pair."""
    device = _device()
    ref = torch.as_tensor(reference, device=device, dtype=torch.float64)
    for start in range(0, len(queries), _QUERY_CHUNK):
        chunk = torch.as_tensor(queries[start : start + _QUERY_CHUNK], device=device, dtype=torch.float64)
        yield start, _cdist(chunk, ref)
