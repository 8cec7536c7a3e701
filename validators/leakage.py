"""Leakage: exact copies, distance to closest record (share and low tail), NNDR, and a membership-inference attack.

Every distance is measured on one encoding of mixed types (validators.distances.RowEncoder, fitted on train).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

from synth.schema import Schema
from validators.baselines import auc_noise, mean_noise, share_noise
from validators.bounds import DEFAULT_BOUNDS, Bound
from validators.distances import RowEncoder, nearest_distances, nearest_k
from validators.fidelity import check_columns, modelled_columns
from validators.records import MetricResult, make_record

__all__ = [
    "canonical_values",
    "dcr_holdout_share",
    "distance_checks",
    "exact_copy_rate",
    "low_dcr_share",
    "membership_inference",
    "nndr",
    "row_keys",
]


def canonical_values(series: pd.Series) -> pd.Series:
    """One text form per value, so 39 (int) and 39.0 (float) or two string dtypes compare equal."""
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            series = series.astype("int64", errors="ignore") if series.notna().all() else series.astype(str)
        return series.astype(object).where(series.notna(), None).astype(str)
    values = pd.to_numeric(series).astype("float64")
    return values.astype(object).where(values.notna(), None).astype(str)


def row_keys(frame: pd.DataFrame, schema: Schema) -> np.ndarray:
    """One 64-bit key per row of its modelled columns in canonical form: rows that are equal value for value have
    equal keys whatever their dtypes (identifiers and constants are left out, as every leakage check does).
    """
    normalised = pd.DataFrame({c.name: canonical_values(frame[c.name]) for c in modelled_columns(schema)})
    return pd.util.hash_pandas_object(normalised, index=False).to_numpy()


def _copy_share(train_keys: np.ndarray, frame: pd.DataFrame, schema: Schema) -> float:
    return float(np.isin(row_keys(frame, schema), train_keys).mean())


def exact_copy_rate(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, *, schema: Schema, bound: Bound | None = None
) -> MetricResult:
    """Share of synthetic rows identical to a training row, against the holdout's own share.

    Real tables hold duplicates (Adult does), so the holdout's copy share is the honest baseline, not zero.
    """
    check_columns(schema, train, synthetic, holdout)
    train_keys = row_keys(train, schema)
    value = _copy_share(train_keys, synthetic, schema)
    reference = _copy_share(train_keys, holdout, schema)
    details = {"copies": round(value * len(synthetic)), "rows": len(synthetic)}
    return make_record(
        "exact_copy_rate", "leakage", value, reference, bound or DEFAULT_BOUNDS["exact_copy_rate"], details,
        noise=share_noise(reference, len(synthetic), len(holdout)),
    )  # fmt: skip


class _Points:
    """The three tables encoded once, on equal-size samples drawn with one seed, and the nearest-neighbour
    distances the distance checks share (each computed once, when first asked for).
    """

    def __init__(self, train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, schema: Schema,
                 seed: int, max_rows: int) -> None:  # fmt: skip
        check_columns(schema, train, synthetic, holdout)
        rng = np.random.default_rng(seed)
        self.n = min(len(train), len(holdout), len(synthetic), max_rows)
        self.seed = seed
        encoder = RowEncoder(schema).fit(train)

        def draw(frame: pd.DataFrame, size: int) -> np.ndarray:
            return encoder.transform(frame.iloc[rng.choice(len(frame), size=size, replace=False)])

        self.synthetic, self.train, self.holdout = draw(synthetic, self.n), draw(train, self.n), draw(holdout, self.n)
        # The real-vs-real reference: half the holdout plays the synthetic set, the other half the holdout.
        half = self.n // 2
        self.half_a, self.half_b = self.holdout[:half], self.holdout[half : 2 * half]
        self.train_half = self.train[:half]

    @cached_property
    def synthetic_to_train(self) -> np.ndarray:
        """(n, 2): distances from each synthetic row to its two nearest train rows."""
        return nearest_k(self.synthetic, self.train, 2)

    @cached_property
    def holdout_to_train(self) -> np.ndarray:
        """(n, 2): distances from each holdout row to its two nearest train rows."""
        return nearest_k(self.holdout, self.train, 2)


def _closer_to_train_share(to_train: np.ndarray, to_holdout: np.ndarray) -> float:
    tie = np.isclose(to_train, to_holdout, rtol=0.0, atol=1e-9)
    return float(np.mean((to_train < to_holdout) & ~tie) + 0.5 * np.mean(tie))


def _dcr(points: _Points, bound: Bound) -> MetricResult:
    value = _closer_to_train_share(points.synthetic_to_train[:, 0], nearest_distances(points.synthetic, points.holdout))
    reference = _closer_to_train_share(
        nearest_distances(points.half_a, points.train_half), nearest_distances(points.half_a, points.half_b)
    )
    details = {"rows_per_set": points.n, "seed": points.seed}
    noise = share_noise(reference, points.n, len(points.half_a))
    return make_record("dcr_holdout_share", "leakage", value, reference, bound, details, noise=noise)


def dcr_holdout_share(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, *, schema: Schema, seed: int = 0,
    bound: Bound | None = None, max_rows: int = 10_000,
) -> MetricResult:  # fmt: skip
    """Share of synthetic rows closer to a training row than to a holdout row, on equal-size samples (ideal 0.5)."""
    points = _Points(train, synthetic, holdout, schema, seed, max_rows)
    return _dcr(points, bound or DEFAULT_BOUNDS["dcr_holdout_share"])


def _low_dcr(points: _Points, bound: Bound, percentile: float = 1.0) -> MetricResult:
    synthetic_to_train, holdout_to_train = points.synthetic_to_train[:, 0], points.holdout_to_train[:, 0]
    line = float(np.percentile(holdout_to_train, percentile))
    value = float(np.mean(synthetic_to_train <= line))
    # The reference sets the line on one half of the holdout and measures the other half against it.
    half = len(holdout_to_train) // 2
    half_line = float(np.percentile(holdout_to_train[:half], percentile)) if half else line
    reference = float(np.mean(holdout_to_train[half:] <= half_line))
    edges = np.linspace(0.0, float(np.percentile(np.concatenate([synthetic_to_train, holdout_to_train]), 99)), 31)
    details = {
        "line": line,
        "percentile": percentile,
        "rows_per_set": points.n,
        "histogram": {
            "edges": edges.tolist(),
            "synthetic_to_train": np.histogram(synthetic_to_train, edges)[0].tolist(),
            "holdout_to_train": np.histogram(holdout_to_train, edges)[0].tolist(),
        },
    }
    noise = share_noise(max(reference, percentile / 100.0), points.n, len(holdout_to_train) - half)
    return make_record("low_dcr_share", "leakage", value, reference, bound, details, noise=noise)


def low_dcr_share(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, *, schema: Schema, seed: int = 0,
    bound: Bound | None = None, max_rows: int = 10_000, percentile: float = 1.0,
) -> MetricResult:  # fmt: skip
    """Share of synthetic rows closer to train than the 1st percentile of holdout-to-train distances.

    Real rows fall at or below that line about 1 % of the time; a generator that memorises rows far more often.
    """
    points = _Points(train, synthetic, holdout, schema, seed, max_rows)
    return _low_dcr(points, bound or DEFAULT_BOUNDS["low_dcr_share"], percentile)


def _nndr_ratios(nearest_two: np.ndarray) -> np.ndarray:
    # 0 / 0 (a copy of a row that train holds twice) is as close as it gets: ratio 0.
    return np.divide(nearest_two[:, 0], nearest_two[:, 1], out=np.zeros(len(nearest_two)), where=nearest_two[:, 1] > 0)


def _nndr(points: _Points, bound: Bound) -> MetricResult:
    ratios, references = _nndr_ratios(points.synthetic_to_train), _nndr_ratios(points.holdout_to_train)
    value, reference = float(ratios.mean()), float(references.mean())
    noise = mean_noise(ratios, references)
    return make_record("nndr", "leakage", value, reference, bound, {"rows_per_set": points.n}, noise=noise)


def nndr(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, *, schema: Schema, seed: int = 0,
    bound: Bound | None = None, max_rows: int = 10_000,
) -> MetricResult:  # fmt: skip
    """Mean nearest-neighbour distance ratio (nearest / second nearest train row): low means singled-out rows."""
    return _nndr(_Points(train, synthetic, holdout, schema, seed, max_rows), bound or DEFAULT_BOUNDS["nndr"])


def _attack(members: np.ndarray, non_members: np.ndarray, synthetic: np.ndarray) -> tuple[float, float]:
    """ROC AUC and true-positive rate at 1 % false positives of "closer to the synthetic set means member"."""
    scores = -np.concatenate([nearest_distances(members, synthetic), nearest_distances(non_members, synthetic)])
    labels = np.concatenate([np.ones(len(members)), np.zeros(len(non_members))])
    fpr, tpr, _ = roc_curve(labels, scores)
    return float(roc_auc_score(labels, scores)), float(tpr[fpr <= 0.01].max())


def _mia(points: _Points, bound: Bound) -> MetricResult:
    value, tpr = _attack(points.train, points.holdout, points.synthetic)
    reference, reference_tpr = _attack(points.train_half, points.half_b, points.half_a)
    details = {"tpr_at_1pct_fpr": tpr, "reference_tpr_at_1pct_fpr": reference_tpr, "rows_per_set": points.n}
    half = len(points.half_a)
    noise = float(np.hypot(auc_noise(points.n, points.n), auc_noise(half, half)))
    return make_record("mia_auc", "leakage", value, reference, bound, details, noise=noise)


def membership_inference(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, *, schema: Schema, seed: int = 0,
    bound: Bound | None = None, max_rows: int = 10_000,
) -> MetricResult:  # fmt: skip
    """A distance attack: members (train rows) against non-members (holdout rows) by distance to the synthetic set.

    ROC AUC 0.5 means the synthetic data tells an attacker nothing about who was in the training data.
    """
    return _mia(_Points(train, synthetic, holdout, schema, seed, max_rows), bound or DEFAULT_BOUNDS["mia_auc"])


def distance_checks(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, *, schema: Schema, seed: int = 0,
    bounds: Mapping[str, Bound] | None = None, max_rows: int = 10_000,
) -> list[MetricResult]:  # fmt: skip
    """DCR share, low-DCR tail, NNDR and the membership attack on one encoding and one set of neighbour searches:
    the same records as the four functions above, for a fraction of their cost.
    """
    marks = {**DEFAULT_BOUNDS, **(bounds or {})}
    points = _Points(train, synthetic, holdout, schema, seed, max_rows)
    return [
        _dcr(points, marks["dcr_holdout_share"]),
        _low_dcr(points, marks["low_dcr_share"]),
        _nndr(points, marks["nndr"]),
        _mia(points, marks["mia_auc"]),
    ]
