"""Fidelity: per-column shape similarity and pairwise trend similarity, each against the holdout's own score."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from synth.schema import ColumnSpec, Schema
from validators.baselines import PAIR_NOISE_FACTOR, SHAPE_NOISE_FACTOR, deficit_noise, independent_columns
from validators.bounds import DEFAULT_BOUNDS, Bound
from validators.errors import MetricInputError
from validators.records import MetricResult, make_record

__all__ = ["column_shapes", "missing_values", "pair_trends"]

_NUMERIC_KINDS = ("continuous", "integer", "datetime")
_DISCRETE_KINDS = ("categorical", "boolean")
_BINS = 10


def modelled_columns(schema: Schema) -> list[ColumnSpec]:
    """Columns a metric compares: identifiers and constants carry no distribution to compare."""
    return [c for c in schema if c.kind in _NUMERIC_KINDS + _DISCRETE_KINDS]


def check_columns(schema: Schema, *frames: pd.DataFrame) -> None:
    for frame in frames:
        missing = [name for name in schema.names if name not in frame.columns]
        if missing:
            raise MetricInputError(f"table lacks the schema's column(s) {missing}")
        if len(frame) == 0:
            raise MetricInputError("a table given to a metric has no rows")


def numeric_values(series: pd.Series) -> np.ndarray:
    """Non-null values as float64 (datetimes as nanoseconds since the epoch)."""
    present = series.dropna()
    if pd.api.types.is_datetime64_any_dtype(present.dtype):
        if getattr(present.dt, "tz", None) is not None:
            present = present.dt.tz_convert("UTC").dt.tz_localize(None)
        return present.astype("datetime64[ns]").to_numpy().astype("int64").astype(np.float64)
    return pd.to_numeric(present).to_numpy(dtype=np.float64)


def ks_complement(real: pd.Series, synthetic: pd.Series) -> float:
    """1 - the Kolmogorov-Smirnov statistic between the two samples' non-null values."""
    a, b = np.sort(numeric_values(real)), np.sort(numeric_values(synthetic))
    if len(a) == 0 or len(b) == 0:
        return 0.0 if len(a) != len(b) else 1.0
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side="right") / len(a)
    cdf_b = np.searchsorted(b, points, side="right") / len(b)
    return float(1.0 - np.abs(cdf_a - cdf_b).max())


def tv_complement(real: pd.Series, synthetic: pd.Series) -> float:
    """1 - the total-variation distance between the shares of the non-null categories (as SDMetrics)."""
    if real.notna().sum() == 0 or synthetic.notna().sum() == 0:
        return 0.0 if real.notna().sum() != synthetic.notna().sum() else 1.0
    p = real.astype(object).value_counts(normalize=True, dropna=True)
    q = synthetic.astype(object).value_counts(normalize=True, dropna=True)
    p, q = p.align(q, fill_value=0.0)
    return float(1.0 - 0.5 * np.abs(p.to_numpy() - q.to_numpy()).sum())


def shape_scores(train: pd.DataFrame, other: pd.DataFrame, columns: list[ColumnSpec]) -> dict[str, float]:
    return {
        c.name: ks_complement(train[c.name], other[c.name])
        if c.kind in _NUMERIC_KINDS
        else tv_complement(train[c.name], other[c.name])
        for c in columns
    }


def column_shapes(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, *, schema: Schema, bound: Bound | None = None
) -> MetricResult:
    """Mean per-column shape similarity: KS complement for numbers and datetimes, TV complement for categories."""
    check_columns(schema, train, synthetic, holdout)
    columns = modelled_columns(schema)
    scores = shape_scores(train, synthetic, columns)
    references = shape_scores(train, holdout, columns)
    details = {
        name: {"score": scores[name], "reference": references[name], "kind": schema[name].kind} for name in scores
    }
    reference = _mean(references.values())
    return make_record(
        "column_shapes", "fidelity", _mean(scores.values()), reference, bound or DEFAULT_BOUNDS["column_shapes"],
        details, noise=deficit_noise(reference, SHAPE_NOISE_FACTOR),
    )  # fmt: skip


def missing_values(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, *, schema: Schema, bound: Bound | None = None
) -> MetricResult:
    """Mean over columns of 1 - |real null share - synthetic null share| (as SDMetrics' MissingValueSimilarity)."""
    check_columns(schema, train, synthetic, holdout)
    columns = [c.name for c in modelled_columns(schema)]

    def similarity(other: pd.DataFrame) -> dict[str, float]:
        return {c: 1.0 - abs(float(train[c].isna().mean()) - float(other[c].isna().mean())) for c in columns}

    scores, references = similarity(synthetic), similarity(holdout)
    details = {c: {"score": scores[c], "reference": references[c]} for c in columns}
    reference = _mean(references.values())
    return make_record(
        "missing_values", "fidelity", _mean(scores.values()), reference, bound or DEFAULT_BOUNDS["missing_values"],
        details, noise=deficit_noise(reference, SHAPE_NOISE_FACTOR),
    )  # fmt: skip


def _mean(values: Iterable[float]) -> float:
    listed = list(values)
    return float(np.mean(listed)) if listed else 1.0


def _codes(real: pd.Series, other: pd.Series, column: ColumnSpec) -> tuple[np.ndarray, np.ndarray, int]:
    """Both columns as small integer codes on a shared basis: categories, or 10 equal-width bins of the real range.

    Nulls get a code of their own.
    """
    if column.kind in _NUMERIC_KINDS:
        real_values = _floats_with_nan(real)
        lo, hi = np.nanmin(real_values), np.nanmax(real_values)
        edges = np.linspace(lo, hi, _BINS + 1)[1:-1]

        def binned(values: np.ndarray) -> np.ndarray:
            return np.where(np.isnan(values), _BINS, np.searchsorted(edges, values, side="right"))

        return binned(real_values), binned(_floats_with_nan(other)), _BINS + 1
    levels = pd.Index(pd.concat([real, other]).astype(object).dropna().unique())
    real_codes = levels.get_indexer(real.astype(object))
    other_codes = levels.get_indexer(other.astype(object))
    k = len(levels)
    return np.where(real_codes < 0, k, real_codes), np.where(other_codes < 0, k, other_codes), k + 1


def _floats_with_nan(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        out = np.full(len(series), np.nan)
        present = series.notna().to_numpy()
        out[present] = numeric_values(series)
        return out
    return pd.to_numeric(series).to_numpy(dtype=np.float64, na_value=np.nan)


def _contingency_similarity(
    a_real: np.ndarray, b_real: np.ndarray, a_other: np.ndarray, b_other: np.ndarray, ka: int, kb: int
) -> float:
    p = np.bincount(a_real * kb + b_real, minlength=ka * kb) / len(a_real)
    q = np.bincount(a_other * kb + b_other, minlength=ka * kb) / len(a_other)
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def _correlation_similarity(real: pd.DataFrame, other: pd.DataFrame, a: str, b: str) -> float | None:
    def corr(frame: pd.DataFrame) -> float:
        x, y = _floats_with_nan(frame[a]), _floats_with_nan(frame[b])
        both = ~(np.isnan(x) | np.isnan(y))
        if both.sum() < 2 or x[both].std() == 0 or y[both].std() == 0:
            return float("nan")
        return float(np.corrcoef(x[both], y[both])[0, 1])

    r, s = corr(real), corr(other)
    if np.isnan(r):
        return None
    return 0.0 if np.isnan(s) else float(1.0 - abs(r - s) / 2.0)


def pair_scores(train: pd.DataFrame, other: pd.DataFrame, columns: list[ColumnSpec]) -> dict[str, dict[str, Any]]:
    codes = {c.name: _codes(train[c.name], other[c.name], c) for c in columns}
    scores: dict[str, dict[str, Any]] = {}
    for left, right in itertools.combinations(columns, 2):
        key = f"{left.name} | {right.name}"
        if left.kind in _NUMERIC_KINDS and right.kind in _NUMERIC_KINDS:
            score = _correlation_similarity(train, other, left.name, right.name)
            if score is not None:
                scores[key] = {"score": score, "metric": "correlation_similarity"}
                continue
        ra, oa, ka = codes[left.name]
        rb, ob, kb = codes[right.name]
        scores[key] = {"score": _contingency_similarity(ra, rb, oa, ob, ka, kb), "metric": "contingency_similarity"}
    return scores


def pair_trends(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, *, schema: Schema, seed: int = 0,
    bound: Bound | None = None,
) -> MetricResult:  # fmt: skip
    """Mean similarity over all column pairs: correlation for two numbers, contingency (numbers binned) otherwise.

    The baseline is the holdout with its columns shuffled independently (drawn with ``seed``): what a set with
    perfect columns and no relations between them scores.
    """
    check_columns(schema, train, synthetic, holdout)
    columns = modelled_columns(schema)
    scores = pair_scores(train, synthetic, columns)
    references = pair_scores(train, holdout, columns)
    baselines = pair_scores(train, independent_columns(holdout, np.random.default_rng(seed)), columns)
    details = {key: {**scores[key], "reference": references[key]["score"]} for key in scores}
    reference = _mean(s["score"] for s in references.values())
    baseline = _mean(s["score"] for s in baselines.values()) if scores else None
    return make_record(
        "pair_trends", "fidelity", _mean(s["score"] for s in scores.values()), reference,
        bound or DEFAULT_BOUNDS["pair_trends"], details,
        noise=deficit_noise(reference, PAIR_NOISE_FACTOR), baseline=baseline,
    )  # fmt: skip
