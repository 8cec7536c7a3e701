"""Rows as points for distance metrics, and nearest-neighbour distances in chunks (never an n x n matrix)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from synth.schema import Schema
from validators.fidelity import modelled_columns, numeric_values

__all__ = ["RowEncoder", "nearest_distances"]

_QUERY_CHUNK = 2048
_REFERENCE_CHUNK = 8192


class RowEncoder:
    """Mixed-type rows as numbers: numbers min-max scaled on the train range with a null flag, categories one-hot
    with null as a level of its own (unseen levels encode as all zeros). Identifiers and constants are left out.
    """

    def __init__(self, schema: Schema) -> None:
        self.schema = schema

    def fit(self, train: pd.DataFrame) -> RowEncoder:
        self.numeric_: dict[str, tuple[float, float, bool]] = {}
        self.levels_: dict[str, pd.Index] = {}
        for column in modelled_columns(self.schema):
            series = train[column.name]
            if column.kind in ("categorical", "boolean"):
                self.levels_[column.name] = pd.Index(series.astype(object).unique())
            else:
                values = numeric_values(series)
                lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
                self.numeric_[column.name] = (lo, hi - lo if hi > lo else 1.0, column.nullable)
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
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
            one_hot = np.zeros((len(frame), len(levels)))
            known = codes >= 0
            one_hot[np.flatnonzero(known), codes[known]] = 1.0
            blocks.append(one_hot)
        if not blocks:
            return np.zeros((len(frame), 0), dtype=np.float32)
        return np.concatenate(blocks, axis=1).astype(np.float32)


def nearest_distances(queries: np.ndarray, reference: np.ndarray, device: torch.device | None = None) -> np.ndarray:
    """Euclidean distance from each query row to its nearest reference row, computed chunk by chunk."""
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    ref = torch.as_tensor(reference, device=device)
    out = np.empty(len(queries), dtype=np.float64)
    for start in range(0, len(queries), _QUERY_CHUNK):
        q = torch.as_tensor(queries[start : start + _QUERY_CHUNK], device=device)
        best = torch.full((len(q),), float("inf"), device=device)
        for ref_start in range(0, len(ref), _REFERENCE_CHUNK):
            d = torch.cdist(
                q, ref[ref_start : ref_start + _REFERENCE_CHUNK], compute_mode="donot_use_mm_for_euclid_dist"
            )
            best = torch.minimum(best, d.min(dim=1).values)
        out[start : start + len(q)] = best.cpu().numpy()
    return out
