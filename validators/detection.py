"""Detection: how well a gradient-boosting classifier tells real rows from synthetic ones (ROC AUC, 0.5 = cannot)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from synth.schema import ColumnSpec, Schema
from validators.baselines import auc_noise, independent_columns
from validators.bounds import DEFAULT_BOUNDS, Bound
from validators.features import FeatureEncoder, present_columns
from validators.fidelity import check_columns, modelled_columns
from validators.records import MetricResult, make_record

__all__ = ["DETECTION_FOLDS", "DETECTION_MAX_ROWS", "detection_auc", "separability"]

DETECTION_FOLDS = 5
#: Rows per side at most: the full sets up to here (a 300,000-row table's holdout is 60,000 rows).
DETECTION_MAX_ROWS = 50_000


def _auc(real: np.ndarray, other: np.ndarray, mask: np.ndarray, seed: int) -> float:
    """Mean ROC AUC over stratified folds; each fold's classifier sees the columns its training rows hold values in."""
    features = np.concatenate([real, other])
    labels = np.concatenate([np.zeros(len(real)), np.ones(len(other))])
    folds = StratifiedKFold(n_splits=DETECTION_FOLDS, shuffle=True, random_state=seed)
    scores = []
    for fit_rows, test_rows in folds.split(features, labels):
        keep = present_columns(features[fit_rows])
        kept_mask = mask[keep]
        classifier = HistGradientBoostingClassifier(
            max_iter=100, categorical_features=kept_mask if kept_mask.any() else None, early_stopping=False,
            random_state=seed,
        )  # fmt: skip
        classifier.fit(features[fit_rows][:, keep], labels[fit_rows])
        scores.append(roc_auc_score(labels[test_rows], classifier.predict_proba(features[test_rows][:, keep])[:, 1]))
    return float(np.mean(scores))


def separability(real: pd.DataFrame, other: pd.DataFrame, columns: list[ColumnSpec], seed: int = 0) -> float:
    """Cross-validated ROC AUC of a gradient-boosting classifier telling ``real`` rows from ``other`` rows, on every
    row given (the caller chooses the sizes; equal sizes keep 0.5 the mark of indistinguishable sets)."""
    encoder = FeatureEncoder(columns).fit(real)
    return _auc(encoder.transform(real), encoder.transform(other), encoder.categorical_mask, seed)


def detection_auc(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, *, schema: Schema, seed: int = 0,
    bound: Bound | None = None, max_rows: int = DETECTION_MAX_ROWS,
) -> MetricResult:  # fmt: skip
    """Cross-validated ROC AUC of real training rows against synthetic rows, on equal-size samples of the full sets
    (as many rows as the smallest of the three, at most ``max_rows``), by scikit-learn's histogram gradient boosting
    with native categorical features. The reference is real training rows against the real holdout; the baseline is
    against the holdout with its columns shuffled independently (perfect columns, no relations between them).
    """
    check_columns(schema, train, synthetic, holdout)
    rng = np.random.default_rng(seed)
    n = min(len(train), len(synthetic), len(holdout), max_rows)

    def draw(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.iloc[np.sort(rng.choice(len(frame), size=n, replace=False))].reset_index(drop=True)

    train_n, synthetic_n, holdout_n = draw(train), draw(synthetic), draw(holdout)
    encoder = FeatureEncoder(modelled_columns(schema)).fit(train_n)
    mask = encoder.categorical_mask
    real = encoder.transform(train_n)
    value = _auc(real, encoder.transform(synthetic_n), mask, seed)
    measured = _auc(real, encoder.transform(holdout_n), mask, seed)
    baseline = _auc(real, encoder.transform(independent_columns(holdout_n, rng)), mask, seed)
    details = {
        "classifier": "HistGradientBoostingClassifier(max_iter=100, native categorical features)",
        "folds": DETECTION_FOLDS,
        "rows_per_set": n,
        "seed": seed,
        "measured_reference": measured,
    }
    # Below 0.5 the holdout's figure is chance (cross-validation on few rows), not real rows telling themselves
    # apart less than identical ones would: a level read from it would judge the synthetic set against luck.
    reference = max(measured, 0.5)
    return make_record(
        "detection_auc", "fidelity", value, reference, bound or DEFAULT_BOUNDS["detection_auc"], details,
        noise=auc_noise(n, n) * np.sqrt(2.0), baseline=baseline,
    )  # fmt: skip
