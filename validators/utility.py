"""Utility: train on synthetic, test on real (TSTR) against train on real, test on real (TRTR), for a target column."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import f1_score, r2_score, roc_auc_score

from synth.schema import Schema
from validators.bounds import DEFAULT_BOUNDS, Bound
from validators.errors import MetricInputError
from validators.features import FeatureEncoder, present_columns
from validators.fidelity import check_columns, modelled_columns
from validators.records import MetricResult, failed_record, make_record

__all__ = ["utility"]


def _score(train: pd.DataFrame, test: pd.DataFrame, target: str, encoder: FeatureEncoder, classes: list[Any] | None,
           seed: int) -> dict[str, float]:  # fmt: skip
    features, test_features = encoder.transform(train), encoder.transform(test)
    keep = present_columns(features)  # a column without values in these training rows cannot be binned
    features, test_features, mask = features[:, keep], test_features[:, keep], encoder.categorical_mask[keep]
    categorical = mask if mask.any() else None
    if classes is None:
        regressor = HistGradientBoostingRegressor(max_iter=100, categorical_features=categorical, random_state=seed)
        regressor.fit(features, train[target].astype(float))
        return {"r2": float(r2_score(test[target].astype(float), regressor.predict(test_features)))}
    labels = train[target].astype(object).to_numpy()
    present = [c for c in classes if c in set(labels)]
    if len(present) < 2:
        raise ValueError(f"the training rows hold only {present} in '{target}'; a classifier needs two classes")
    classifier = HistGradientBoostingClassifier(max_iter=100, categorical_features=categorical, random_state=seed)
    classifier.fit(features, labels)
    truth = test[target].astype(object).to_numpy()
    proba = classifier.predict_proba(test_features)
    if len(classes) == 2:
        positive = list(classifier.classes_).index(classes[1]) if classes[1] in classifier.classes_ else None
        auc = float(roc_auc_score(truth == classes[1], proba[:, positive])) if positive is not None else 0.5
    else:
        auc = _macro_auc(truth, proba, list(classifier.classes_), classes)
    f1 = float(f1_score(truth, classifier.predict(test_features), average="macro", labels=classes, zero_division=0))
    return {"roc_auc": auc, "macro_f1": f1}


def _macro_auc(truth: np.ndarray, proba: np.ndarray, predicted: list[Any], classes: list[Any]) -> float:
    """One-vs-rest ROC AUC averaged over the classes the test rows hold both in and out of (a rare class may be
    missing from a small test set); a class the classifier never saw scores 0.5."""
    scores = []
    for label in classes:
        positive = truth == label
        if positive.all() or not positive.any():
            continue
        column = proba[:, predicted.index(label)] if label in predicted else np.zeros(len(truth))
        scores.append(float(roc_auc_score(positive, column)))
    if not scores:
        raise ValueError("the test rows hold a single class of the target; no ROC AUC")
    return float(np.mean(scores))


def utility(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, *, schema: Schema, target: str,
    seed: int = 0, bound: Bound | None = None,
) -> MetricResult:  # fmt: skip
    """TSTR / TRTR ratio of ROC AUC (classification) or R^2 (regression), tested on half of the holdout.

    The reference trains on the other half of the holdout (real data playing the synthetic set).
    """
    check_columns(schema, train, synthetic, holdout)
    bound = bound or DEFAULT_BOUNDS["utility_ratio"]
    if target not in schema.names:
        raise MetricInputError(f"target column '{target}' is not in the data; columns are {schema.names}")
    spec = schema[target]
    if spec.kind not in ("categorical", "boolean", "integer", "continuous"):
        return failed_record("utility_ratio", "utility", bound, f"target '{target}' is {spec.kind}; cannot predict it")
    classes = None
    unseen_rows = 0
    if spec.kind in ("categorical", "boolean"):
        classes = sorted(train[target].dropna().astype(object).unique().tolist(), key=str)
        # rows of a class the real training rows never hold (a rare class of real data, say) teach nothing to test
        known = synthetic[target].isna() | synthetic[target].astype(object).isin(classes)
        unseen_rows = int((~known).sum())
        synthetic = synthetic[known.to_numpy()]
    features = [c for c in modelled_columns(schema) if c.name != target]
    encoder = FeatureEncoder(features).fit(train)
    order = np.random.default_rng(seed).permutation(len(holdout))
    half = len(holdout) // 2
    as_synthetic, test = holdout.iloc[order[:half]], holdout.iloc[order[half:]]
    train, synthetic, as_synthetic, test = (f[f[target].notna()] for f in (train, synthetic, as_synthetic, test))
    try:
        trtr = _score(train, test, target, encoder, classes, seed)
        tstr = _score(synthetic, test, target, encoder, classes, seed)
        trtr_small = _score(as_synthetic, test, target, encoder, classes, seed)
    except ValueError as exc:
        return failed_record("utility_ratio", "utility", bound, str(exc))
    key = "r2" if classes is None else "roc_auc"
    if trtr[key] <= 0:
        reason = f"'{target}' is not predictable from the other columns even on real data (real-on-real {key} " \
                 f"{trtr[key]:.3f}), so no ratio is taken"  # fmt: skip
        return failed_record("utility_ratio", "utility", bound, reason, real_data_too=True)
    details = {"target": target, "task": "regression" if classes is None else "classification",
               "trtr": trtr, "tstr": tstr, "holdout_half_as_synthetic": trtr_small, "test_rows": len(test),
               "synthetic_rows_of_unseen_classes": unseen_rows}  # fmt: skip
    return make_record("utility_ratio", "utility", tstr[key] / trtr[key], trtr_small[key] / trtr[key], bound, details)
