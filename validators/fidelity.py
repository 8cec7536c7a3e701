"""Fidelity: per-column shape similarity and pairwise trend similarity, each against the holdout's own score."""

from __future__ import annotations

import datetime as dt
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
    """Non-null values as float64 (datetimes as microseconds since the epoch)."""
    present = _stamped(series.dropna())
    if pd.api.types.is_datetime64_any_dtype(present.dtype):
        if getattr(present.dt, "tz", None) is not None:
            present = present.dt.tz_convert("UTC").dt.tz_localize(None)
        return present.astype("datetime64[us]").to_numpy().astype("int64").astype(np.float64)
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
        present = real_values[~np.isnan(real_values)]
        lo, hi = (present.min(), present.max()) if len(present) else (0.0, 0.0)  # a sample may hold no value
        edges = np.linspace(lo, hi, _BINS + 1)[1:-1]

        def binned(values: np.ndarray) -> np.ndarray:
            return np.where(np.isnan(values), _BINS, np.searchsorted(edges, values, side="right"))

        return binned(real_values), binned(_floats_with_nan(other)), _BINS + 1
    levels = pd.Index(pd.concat([real, other]).astype(object).dropna().unique())
    real_codes = levels.get_indexer(real.astype(object))
    other_codes = levels.get_indexer(other.astype(object))
    k = len(levels)
    return np.where(real_codes < 0, k, real_codes), np.where(other_codes < 0, k, other_codes), k + 1


def _stamped(series: pd.Series) -> pd.Series:
    """Dates held as Python objects (how pandas reads an Arrow date column) as datetimes; any other column as it
    is."""
    first = series.dropna().iloc[:1].tolist()
    if series.dtype == object and first and isinstance(first[0], dt.date):
        return pd.to_datetime(series)
    return series


def _floats_with_nan(series: pd.Series) -> np.ndarray:
    series = _stamped(series)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        out = np.full(len(series), np.nan)
        present = series.notna().to_numpy()
        out[present] = numeric_values(series)
        return out
    return pd.to_numeric(series).to_numpy(dtype=np.float64, na_value=np.nan)


def _contingency_similarity(
    a_real: np.ndarray, b_real: np.ndarray, a_other: np.ndarray, b_other: np.ndarray, ka: int, kb: int
) -> float:
    """1 - total variation distance between the two joint distributions of a pair of coded columns.

    Two columns of names or codes have more possible cells than rows (ka x kb): then only the cells that occur are
    counted, so memory follows the rows, not the product of the levels.
    """
    real_cells = a_real.astype(np.int64) * kb + b_real
    other_cells = a_other.astype(np.int64) * kb + b_other
    if ka * kb <= 4 * (len(real_cells) + len(other_cells)):
        p = np.bincount(real_cells, minlength=ka * kb) / len(real_cells)
        q = np.bincount(other_cells, minlength=ka * kb) / len(other_cells)
    else:
        cells, index = np.unique(np.concatenate([real_cells, other_cells]), return_inverse=True)
        p = np.bincount(index[: len(real_cells)], minlength=len(cells)) / len(real_cells)
        q = np.bincount(index[len(real_cells) :], minlength=len(cells)) / len(other_cells)
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation over the rows where both are present; NaN when it is undefined."""
    both = ~(np.isnan(x) | np.isnan(y))
    if both.sum() < 2:
        return float("nan")
    x, y = x[both], y[both]
    if x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def column_pairs(columns: list[ColumnSpec], seed: int = 0) -> list[tuple[ColumnSpec, ColumnSpec]]:
    """Every pair of columns; on a table with more than ``MAX_PAIRS`` of them, a seeded sample of that many (the mean
    over a uniform sample estimates the mean over all pairs without bias, at a bounded cost)."""
    pairs = list(itertools.combinations(columns, 2))
    if len(pairs) <= MAX_PAIRS:
        return pairs
    chosen = np.sort(np.random.default_rng(seed).choice(len(pairs), size=MAX_PAIRS, replace=False))
    return [pairs[i] for i in chosen]


def pair_scores(
    train: pd.DataFrame, other: pd.DataFrame, columns: list[ColumnSpec],
    pairs: list[tuple[ColumnSpec, ColumnSpec]] | None = None,
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Each pair's similarity (every pair of ``columns`` unless ``pairs`` names some): correlation similarity for two
    numbers (when the real correlation is defined), contingency similarity otherwise."""
    codes = {c.name: _codes(train[c.name], other[c.name], c) for c in columns}
    numeric = [c.name for c in columns if c.kind in _NUMERIC_KINDS]
    floats = {name: (_floats_with_nan(train[name]), _floats_with_nan(other[name])) for name in numeric}
    scores: dict[str, dict[str, Any]] = {}
    for left, right in itertools.combinations(columns, 2) if pairs is None else pairs:
        key = f"{left.name} | {right.name}"
        if left.name in floats and right.name in floats:
            (xa, xb), (ya, yb) = floats[left.name], floats[right.name]
            r = _correlation(xa, ya)
            if not np.isnan(r):
                s = _correlation(xb, yb)
                score = 0.0 if np.isnan(s) else 1.0 - abs(r - s) / 2.0
                scores[key] = {"score": score, "metric": "correlation_similarity"}
                continue
        ra, oa, ka = codes[left.name]
        rb, ob, kb = codes[right.name]
        scores[key] = {"score": _contingency_similarity(ra, rb, oa, ob, ka, kb), "metric": "contingency_similarity"}
    return scores


#: Pairs whose scores a pair-trends record keeps in its details (the worst against the real holdout, when more).
MAX_PAIR_DETAILS = 2_000
#: Pairs measured at most: all of them up to 100 columns (4,950 pairs), a seeded sample beyond.
MAX_PAIRS = 5_000


def pair_trends(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, *, schema: Schema, seed: int = 0,
    bound: Bound | None = None,
) -> MetricResult:  # fmt: skip
    """Mean similarity over all column pairs (a seeded sample of ``MAX_PAIRS`` on wider tables): correlation for two
    numbers, contingency (numbers binned) otherwise.

    The baseline is the holdout with its columns shuffled independently (drawn with ``seed``): what a set with
    perfect columns and no relations between them scores.
    """
    check_columns(schema, train, synthetic, holdout)
    columns = modelled_columns(schema)
    pairs = column_pairs(columns, seed)
    scores = pair_scores(train, synthetic, columns, pairs)
    references = pair_scores(train, holdout, columns, pairs)
    baselines = pair_scores(train, independent_columns(holdout, np.random.default_rng(seed)), columns, pairs)
    details: dict[str, Any] = {key: {**scores[key], "reference": references[key]["score"]} for key in scores}
    reference = _mean(s["score"] for s in references.values())
    baseline = _mean(s["score"] for s in baselines.values()) if scores else None
    if len(details) > MAX_PAIR_DETAILS:  # a wide table: the report keeps the pairs that lost most
        worst = sorted(details, key=lambda key: details[key]["score"] - details[key]["reference"])[:MAX_PAIR_DETAILS]
        details = {key: details[key] for key in worst}
    details["pairs_measured"] = len(pairs)
    details["pairs_in_table"] = len(columns) * (len(columns) - 1) // 2
    return make_record(
        "pair_trends", "fidelity", _mean(s["score"] for s in scores.values()), reference,
        bound or DEFAULT_BOUNDS["pair_trends"], details,
        noise=deficit_noise(reference, PAIR_NOISE_FACTOR), baseline=baseline,
    )  # fmt: skip
