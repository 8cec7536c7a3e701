"""Leakage: exact copies of training rows and the distance-to-closest-record holdout share."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.schema import Schema
from validators.distances import RowEncoder, nearest_distances
from validators.fidelity import check_columns, modelled_columns
from validators.records import MetricResult, passes

__all__ = ["dcr_holdout_share", "exact_copy_rate"]


def _row_hashes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    normalised = pd.DataFrame({c: frame[c].astype(object).where(frame[c].notna(), None).astype(str) for c in columns})
    return pd.util.hash_pandas_object(normalised, index=False).to_numpy()


def _copy_share(train_hashes: np.ndarray, frame: pd.DataFrame, columns: list[str]) -> float:
    return float(np.isin(_row_hashes(frame, columns), train_hashes).mean())


def exact_copy_rate(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, *, schema: Schema, max_excess: float = 0.01
) -> MetricResult:
    """Share of synthetic rows identical to a training row; passes up to the holdout's own share + ``max_excess``.

    Real tables hold duplicates (Adult does), so the holdout's copy share is the honest baseline, not zero.
    """
    check_columns(schema, train, synthetic, holdout)
    columns = [c.name for c in modelled_columns(schema)]
    train_hashes = _row_hashes(train, columns)
    value = _copy_share(train_hashes, synthetic, columns)
    reference = _copy_share(train_hashes, holdout, columns)
    threshold = reference + max_excess
    details = {"copies": round(value * len(synthetic)), "rows": len(synthetic), "max_excess": max_excess}
    return MetricResult(
        "exact_copy_rate", "leakage", value, reference, threshold, "max", passes(value, threshold, "max"), details
    )


def _closer_to_train_share(queries: np.ndarray, train: np.ndarray, holdout: np.ndarray) -> float:
    to_train = nearest_distances(queries, train)
    to_holdout = nearest_distances(queries, holdout)
    return float(np.mean(to_train < to_holdout) + 0.5 * np.mean(to_train == to_holdout))


def dcr_holdout_share(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    *,
    schema: Schema,
    seed: int = 0,
    threshold: float = 0.6,
    max_rows: int = 10_000,
) -> MetricResult:
    """Share of synthetic rows closer to a training row than to a holdout row, on equal-size samples (ideal 0.5).

    The reference splits the holdout in two: one half plays the synthetic set against an equal-size train sample
    and the other half, so it shows what real data scores.
    """
    check_columns(schema, train, synthetic, holdout)
    rng = np.random.default_rng(seed)
    n = min(len(train), len(holdout), len(synthetic), max_rows)
    encoder = RowEncoder(schema).fit(train)

    def draw(frame: pd.DataFrame, size: int) -> np.ndarray:
        return encoder.transform(frame.iloc[rng.choice(len(frame), size=size, replace=False)])

    value = _closer_to_train_share(draw(synthetic, n), draw(train, n), draw(holdout, n))
    half = len(holdout) // 2
    if half >= 1:
        order = rng.permutation(len(holdout))
        as_synthetic = encoder.transform(holdout.iloc[order[:half]])
        as_holdout = encoder.transform(holdout.iloc[order[half : 2 * half]])
        reference = _closer_to_train_share(as_synthetic, draw(train, half), as_holdout)
    else:
        reference = float("nan")
    details = {"rows_per_set": n, "seed": seed}
    return MetricResult(
        "dcr_holdout_share", "leakage", value, reference, threshold, "max", passes(value, threshold, "max"), details
    )
