"""Detection: how well a gradient-boosting classifier tells real rows from synthetic ones (ROC AUC, 0.5 = cannot)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score

from synth.schema import Schema
from validators.bounds import DEFAULT_BOUNDS, Bound
from validators.features import FeatureEncoder
from validators.fidelity import check_columns, modelled_columns
from validators.records import MetricResult, make_record

__all__ = ["detection_auc"]


def _auc(real: np.ndarray, other: np.ndarray, mask: np.ndarray, seed: int) -> float:
    features = np.concatenate([real, other])
    labels = np.concatenate([np.zeros(len(real)), np.ones(len(other))])
    classifier = HistGradientBoostingClassifier(
        max_iter=100, categorical_features=mask if mask.any() else None, early_stopping=False, random_state=seed
    )
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    return float(cross_val_score(classifier, features, labels, cv=folds, scoring="roc_auc").mean())


def detection_auc(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, *, schema: Schema, seed: int = 0,
    bound: Bound | None = None,
) -> MetricResult:  # fmt: skip
    """Cross-validated (3-fold) ROC AUC of real-vs-synthetic; the reference is real train vs real holdout.

    Give it equal-size samples: the classifier's task is balanced only then.
    """
    check_columns(schema, train, synthetic, holdout)
    columns = modelled_columns(schema)
    encoder = FeatureEncoder(columns).fit(train)
    mask = encoder.categorical_mask
    real = encoder.transform(train)
    value = _auc(real, encoder.transform(synthetic), mask, seed)
    reference = _auc(real, encoder.transform(holdout), mask, seed)
    details = {"classifier": "HistGradientBoostingClassifier(max_iter=100)", "folds": 3, "seed": seed}
    return make_record("detection_auc", "fidelity", value, reference, bound or DEFAULT_BOUNDS["detection_auc"], details)
