"""Utility: train on synthetic, test on real (TSTR) against train on real, test on real (TRTR), for a target column.

Both scores rank the test rows: ROC AUC for a class target, Spearman's rank correlation between prediction and
truth for a number (the regressor learns the target's ranks). A heavy-tailed target then neither steers the model
nor swings the score with one test value, as it does with squared error and R².
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import f1_score, roc_auc_score

from synth.schema import Schema
from validators.bounds import DEFAULT_BOUNDS, Bound
from validators.errors import MetricInputError
from validators.features import FeatureEncoder, present_columns
from validators.fidelity import check_columns, modelled_columns
from validators.records import MetricResult, failed_record, make_record

__all__ = ["TARGET_KINDS", "utility"]

#: Column kinds a utility check can predict.
TARGET_KINDS = ("categorical", "boolean", "integer", "continuous")
#: Resamples of the test rows behind the ratio's standard error of chance.
BOOTSTRAP_DRAWS = 100
#: Standard errors the real-on-real score must clear above chance for a ratio to it to mean anything.
PREDICTABLE_SIGMAS = 3.0
#: Test rows a class needs (in and out of it) for its one-vs-rest AUC to enter a multi-class average.
MIN_CLASS_ROWS = 20
#: A class held by fewer training rows than this share of them and than ``MIN_CLASS_ROWS`` is left out of the fit: a
#: few rows of a class can break scikit-learn's multi-class gradient boosting with categorical features
#: (openintro/seattlepets: 4 "Goat" and 2 "Pig" rows took breed-to-species from AUC 1.0 to 0.23 and 0.74).
MIN_FIT_SHARE = 0.01


def _predict(train: pd.DataFrame, test: pd.DataFrame, target: str, encoder: FeatureEncoder,
             classes: list[Any] | None, seed: int) -> np.ndarray:  # fmt: skip
    """Predictions for the test rows: numbers, or one probability column per class of ``classes`` (zeros for a
    class the training rows do not hold, or hold too rarely to learn: ``MIN_FIT_SHARE``)."""
    features, test_features = encoder.transform(train), encoder.transform(test)
    keep = present_columns(features)  # a column without values in these training rows cannot be binned
    features, test_features, mask = features[:, keep], test_features[:, keep], encoder.categorical_mask[keep]
    categorical = mask if mask.any() else None
    if classes is None:
        regressor = HistGradientBoostingRegressor(max_iter=100, categorical_features=categorical, random_state=seed)
        regressor.fit(features, rankdata(train[target].astype(float)) / len(train))  # ranks: a tail cannot steer it
        return np.asarray(regressor.predict(test_features), dtype=float)
    labels = train[target].astype(object).to_numpy()
    counts = pd.Series(labels).value_counts()
    learned = np.isin(labels, counts.index[counts >= min(MIN_CLASS_ROWS, MIN_FIT_SHARE * len(labels))])
    learned &= np.isin(labels, classes)  # the holdout's half may hold a class the real training rows do not
    present = [c for c in classes if c in set(labels[learned])]
    if len(present) < 2:
        raise ValueError(
            f"the training rows hold only {present} in '{target}' often enough to learn; a classifier needs two classes"
        )
    classifier = HistGradientBoostingClassifier(max_iter=100, categorical_features=categorical, random_state=seed)
    classifier.fit(features[learned], labels[learned])
    proba = classifier.predict_proba(test_features)
    aligned = np.zeros((len(test), len(classes)))
    for column, label in enumerate(classifier.classes_):
        aligned[:, classes.index(label)] = proba[:, column]
    return aligned


def _rank_score(truth: np.ndarray, prediction: np.ndarray) -> float:
    """ROC AUC (binary: of the second class; more: one-vs-rest, macro over the classes with at least
    ``MIN_CLASS_ROWS`` test rows in and out, else over every class the rows hold both in and out of) or Spearman's
    rank correlation (a number target; 0 for a constant prediction)."""
    if prediction.ndim == 1:
        if np.ptp(prediction) == 0 or np.ptp(truth) == 0:
            return 0.0
        return float(np.corrcoef(rankdata(truth), rankdata(prediction))[0, 1])
    if prediction.shape[1] == 2:
        positive = truth == 1
        if positive.all() or not positive.any():
            raise ValueError("the test rows hold a single class of the target; no ROC AUC")
        return float(roc_auc_score(positive, prediction[:, 1]))
    present = [c for c in range(prediction.shape[1]) if 0 < int((truth == c).sum()) < len(truth)]
    if not present:
        raise ValueError("the test rows hold a single class of the target; no ROC AUC")
    # a class with a handful of test rows has an AUC that is mostly chance: average the classes that can be measured
    sizable = [c for c in present if min(int((truth == c).sum()), int((truth != c).sum())) >= MIN_CLASS_ROWS]
    return float(np.mean([roc_auc_score(truth == c, prediction[:, c]) for c in sizable or present]))


def _details(truth: np.ndarray, prediction: np.ndarray, classes: list[Any] | None) -> dict[str, float]:
    if classes is None:
        return {"rank_correlation": _rank_score(truth, prediction)}
    predicted = prediction.argmax(axis=1)
    f1 = float(f1_score(truth, predicted, average="macro", labels=list(range(len(classes))), zero_division=0))
    return {"roc_auc": _rank_score(truth, prediction), "macro_f1": f1}


def _bootstrap(truth: np.ndarray, real: np.ndarray, small: np.ndarray, seed: int) -> tuple[float, float]:
    """Standard errors of TRTR and of the difference between two ratios of real-trained models, from resampling
    the test rows. Only real data sets the levels, so a poor synthetic set cannot widen its own."""
    rng = np.random.default_rng(seed)
    real_scores, ratios = [], []
    for _ in range(BOOTSTRAP_DRAWS):
        rows = rng.integers(0, len(truth), len(truth))
        try:
            trtr, reference = _rank_score(truth[rows], real[rows]), _rank_score(truth[rows], small[rows])
        except ValueError:  # a draw without both sides of a class
            continue
        real_scores.append(trtr)
        if trtr > 0:
            ratios.append(reference / trtr)

    def spread(values: list[float]) -> float:
        return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0

    return spread(real_scores), math.sqrt(2.0) * spread(ratios)


def utility(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, *, schema: Schema, target: str,
    seed: int = 0, rare_min: int = 1, bound: Bound | None = None,
) -> MetricResult:  # fmt: skip
    """TSTR / TRTR ratio of the rank score, tested on half of the holdout.

    The reference trains on the other half of the holdout (real data playing the synthetic set); its standard error
    comes from resampling the test rows. ``rare_min``: the k of rare-value protection the synthetic set was made
    with; a class target with fewer than two classes that many training rows hold has no synthetic classifier to
    judge, whatever the model.
    """
    check_columns(schema, train, synthetic, holdout)
    bound = bound or DEFAULT_BOUNDS["utility_ratio"]
    if target not in schema.names:
        raise MetricInputError(f"target column '{target}' is not in the data; columns are {schema.names}")
    spec = schema[target]
    if spec.kind not in TARGET_KINDS:
        return failed_record("utility_ratio", "utility", bound, f"target '{target}' is {spec.kind}; cannot predict it")
    classes = None
    unseen_rows = 0
    if spec.kind in ("categorical", "boolean"):
        counts = train[target].dropna().astype(object).value_counts()
        classes = sorted(counts.index.tolist(), key=str)
        if int((counts >= rare_min).sum()) < 2:
            reason = (
                f"fewer than two classes of '{target}' are held by {rare_min} training rows or more, so rare-value "
                "protection lets out too few to train a classifier on synthetic rows"
            )
            return failed_record("utility_ratio", "utility", bound, reason, real_data_too=True)
        # rows of a class the real training rows never hold (a rare class of real data, say) teach nothing to test
        known = synthetic[target].isna() | synthetic[target].astype(object).isin(classes)
        unseen_rows = int((~known).sum())
        synthetic = synthetic[known.to_numpy()]
    features = [c for c in modelled_columns(schema) if c.name != target]
    if not features:
        reason = f"no column but '{target}' is modelled, so nothing predicts it, on real data either"
        return failed_record("utility_ratio", "utility", bound, reason, real_data_too=True)
    encoder = FeatureEncoder(features).fit(train)
    order = np.random.default_rng(seed).permutation(len(holdout))
    half = len(holdout) // 2
    as_synthetic, test = holdout.iloc[order[:half]], holdout.iloc[order[half:]]
    train, synthetic, as_synthetic, test = (f[f[target].notna()] for f in (train, synthetic, as_synthetic, test))
    if classes is None:
        truth = test[target].astype(float).to_numpy()
    else:
        index = {label: code for code, label in enumerate(classes)}
        truth = np.array([index.get(label, -1) for label in test[target].astype(object)])
    try:  # real rows that cannot train or test a model say nothing against the synthetic set
        real, small = (_predict(rows, test, target, encoder, classes, seed) for rows in (train, as_synthetic))
        trtr, trtr_small = (_details(truth, p, classes) for p in (real, small))
    except ValueError as exc:
        return failed_record("utility_ratio", "utility", bound, f"on real data: {exc}", real_data_too=True)
    try:
        tstr = _details(truth, _predict(synthetic, test, target, encoder, classes, seed), classes)
    except ValueError as exc:
        return failed_record("utility_ratio", "utility", bound, str(exc))
    key = "rank_correlation" if classes is None else "roc_auc"
    real_noise, noise = _bootstrap(truth, real, small, seed)
    chance = 0.0 if classes is None else 0.5
    if trtr[key] - chance <= PREDICTABLE_SIGMAS * real_noise:
        reason = (
            f"'{target}' is not predictable from the other columns even on real data (real-on-real {key} "
            f"{trtr[key]:.3f}, chance {chance:g}, standard error {real_noise:.3f}), so no ratio is taken"
        )
        return failed_record("utility_ratio", "utility", bound, reason, real_data_too=True)
    details = {"target": target, "task": "regression" if classes is None else "classification",
               "trtr": trtr, "tstr": tstr, "holdout_half_as_synthetic": trtr_small, "test_rows": len(test),
               "synthetic_rows_of_unseen_classes": unseen_rows}  # fmt: skip
    value, reference = tstr[key] / trtr[key], trtr_small[key] / trtr[key]
    return make_record("utility_ratio", "utility", value, reference, bound, details, noise=noise)
