"""Tables as feature matrices for scikit-learn's gradient boosting: numbers as floats, categories as codes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.schema import ColumnSpec
from validators.fidelity import numeric_values

__all__ = ["FeatureEncoder", "present_columns"]

_MAX_LEVELS = 250  # HistGradientBoosting takes at most 255 categories per feature


class FeatureEncoder:
    """Numbers (and datetimes) as float64 with NaN for nulls; categories as codes of the real data's most frequent
    levels (rarer or unseen levels share one code, nulls stay NaN so the model learns them natively).
    """

    def __init__(self, columns: list[ColumnSpec]) -> None:
        self.columns = columns

    def fit(self, real: pd.DataFrame) -> FeatureEncoder:
        self.levels_: dict[str, pd.Index] = {}
        for column in self.columns:
            if column.kind in ("categorical", "boolean"):
                counts = real[column.name].astype(object).value_counts()
                self.levels_[column.name] = pd.Index(counts.index[: _MAX_LEVELS - 1])
        return self

    @property
    def categorical_mask(self) -> np.ndarray:
        return np.array([c.name in self.levels_ for c in self.columns])

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(frame), len(self.columns)), dtype=np.float64)
        for j, column in enumerate(self.columns):
            series = frame[column.name]
            null = series.isna().to_numpy()
            if column.name in self.levels_:
                levels = self.levels_[column.name]
                codes = levels.get_indexer(pd.Index(series.astype(object))).astype(np.float64)
                codes[codes < 0] = len(levels)  # rare or unseen levels share the last code
                out[:, j] = np.where(null, np.nan, codes)
            else:
                values = np.full(len(series), np.nan)
                values[~null] = numeric_values(series)
                out[:, j] = values
        return out


def present_columns(features: np.ndarray) -> np.ndarray:
    """Which columns hold at least one value: gradient boosting cannot bin a column that is entirely NaN (a column
    with few values can be empty in one training fold), and such a column tells it nothing."""
    return np.asarray(~np.isnan(features).all(axis=0))
