"""Proof that an augmentation helps: the same classifier trained on the real rows alone and on the real plus
synthetic rows, both tested on the real holdout, over several seeds; the lift comes with a confidence interval.

Three records (family "utility"): ``augmentation_macro_f1_lift``, ``augmentation_minority_recall_lift`` and
``augmentation_roc_auc_lift``. Each record's **value is the lower bound of the 95 % confidence interval of the mean
lift** (augmented minus real-only) over the seeds, so the gate's usual rule (a "min" bound: fail below the fail
level) reads "publish only when the lift's lower confidence bound is >= -tolerance". The mean lift, the interval,
the per-seed lifts and both arms' means are in the details.

What varies between seeds: each seed draws a bootstrap resample of the real rows (shared by every arm, so the
arms differ only in what is added) and of the synthetic rows, and seeds the classifier. The interval is a Student-t
interval of the mean over seeds: it measures how much the lift depends on the training draw. The holdout is fixed
and shared (the lift is paired), so its own sampling error, which mostly cancels in a difference, is not in it.

The reference is the same figure for naive random oversampling: as many rows per class as the synthetic set has,
drawn again (duplicated) from the real rows. It is the baseline a synthetic augmentation should beat: it adds
the same class mix and no new information, so it shows what rebalancing alone does to the classifier.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import f1_score, recall_score, roc_auc_score

from synth.schema import Schema, infer_schema
from validators.bounds import DEFAULT_BOUNDS, Bound
from validators.errors import MetricInputError
from validators.features import FeatureEncoder
from validators.fidelity import check_columns, modelled_columns
from validators.records import MetricResult, failed_record, make_record

__all__ = ["AUGMENTATION_METRICS", "SYNTHETIC_FLAG", "augmentation_lift"]

#: The boolean column that marks the synthetic rows of an augmented table (as synth.rebalance writes it).
SYNTHETIC_FLAG = "is_synthetic"
AUGMENTATION_METRICS = ("augmentation_macro_f1_lift", "augmentation_minority_recall_lift", "augmentation_roc_auc_lift")
_KEYS = ("macro_f1", "minority_recall", "roc_auc")
_CONFIDENCE = 0.95

_Run = dict[str, dict[str, Any]]  # arm ("real_only", "augmented", "oversampled") -> its scores for one seed


def augmentation_lift(
    real_train: pd.DataFrame, augmented: pd.DataFrame, holdout: pd.DataFrame, *, target: str,
    schema: Schema | None = None, seeds: int = 5, tolerance: float = 0.01, minority: Collection[Any] | None = None,
    bounds: Mapping[str, Bound] | None = None,
) -> list[MetricResult]:  # fmt: skip
    """The three lift records for ``augmented`` (real rows plus synthetic rows flagged in ``is_synthetic``).

    ``minority``: the classes whose recall is followed; by default those with less than the mean class share of
    ``real_train`` (all classes when every share is equal). ``tolerance`` sets the macro-F1 record's fail level
    to ``-tolerance`` (the publication rule); ``bounds`` override the default bounds by record name (the macro-F1
    one's warn level, the other two records whole). Raises MetricInputError for inputs that cannot be compared.
    """
    schema = schema if schema is not None else infer_schema(real_train)
    synthetic = _check_inputs(real_train, augmented, holdout, schema, target, seeds, tolerance)
    marks = {**DEFAULT_BOUNDS, **(bounds or {})}
    record_bounds = dict(zip(AUGMENTATION_METRICS, (marks[name] for name in AUGMENTATION_METRICS), strict=True))
    f1_name = AUGMENTATION_METRICS[0]
    record_bounds[f1_name] = dataclasses.replace(record_bounds[f1_name], fail=-float(tolerance))
    real = real_train[real_train[target].notna()]
    synthetic = synthetic[synthetic[target].notna()]
    classes = sorted(real[target].astype(object).unique().tolist(), key=str)
    if len(classes) < 2:
        raise MetricInputError(f"the real training rows hold only {classes} in '{target}'; a classifier needs two")
    followed = _minority_classes(real[target], classes, minority)
    unknown = sorted(set(synthetic[target].astype(object)) - set(classes), key=str)
    test = holdout[holdout[target].astype(object).isin(classes)]
    reason = None
    if unknown:
        reason = f"the synthetic '{target}' holds classes the real data never has: {unknown[:5]}"
    elif test[target].nunique() < 2:
        reason = f"the holdout holds fewer than two of the real classes of '{target}'; no ROC AUC or F1 to compare"
    if reason is not None:
        return [failed_record(name, "utility", record_bounds[name], reason) for name in AUGMENTATION_METRICS]
    features = [c for c in modelled_columns(schema) if c.name != target]
    encoder = FeatureEncoder(features).fit(real)
    data = _Arms(encoder, real, synthetic, test, target, classes, followed)
    runs = [data.run(seed) for seed in range(seeds)]
    context = {"target": target, "seeds": seeds, "real_rows": len(real), "synthetic_rows": len(synthetic),
               "holdout_rows": len(test), "tolerance": float(tolerance)}  # fmt: skip
    records = []
    for name, key in zip(AUGMENTATION_METRICS, _KEYS, strict=True):
        lift, ref_lift, details = _summarise(runs, key, context)
        if key == "minority_recall":
            details["minority_classes"] = [_jsonable(c) for c in followed]
            details["per_class"] = _per_class(runs, followed)
        records.append(make_record(name, "utility", lift, ref_lift, record_bounds[name], details))
    return records


class _Arms:
    """Encoded rows of the three training arms and the holdout, and one seed's scores for each arm."""

    def __init__(self, encoder: FeatureEncoder, real: pd.DataFrame, synthetic: pd.DataFrame, test: pd.DataFrame,
                 target: str, classes: list[Any], followed: list[Any]) -> None:  # fmt: skip
        self.classes, self.followed = classes, followed
        mask = encoder.categorical_mask
        self.categorical = mask if mask.any() else None
        self.x_real, self.y_real = encoder.transform(real), real[target].astype(object).to_numpy()
        self.x_syn, self.y_syn = encoder.transform(synthetic), synthetic[target].astype(object).to_numpy()
        self.x_test, self.y_test = encoder.transform(test), test[target].astype(object).to_numpy()

    def run(self, seed: int) -> _Run:
        """Scores of the real-only, augmented and oversampled (reference) arms for one seed."""
        rng = np.random.default_rng(seed)
        real = rng.integers(0, len(self.y_real), len(self.y_real))
        syn = rng.integers(0, len(self.y_syn), len(self.y_syn))
        copies = self._oversample(real, rng)
        x_real, y_real = self.x_real[real], self.y_real[real]
        arms = {
            "real_only": (x_real, y_real),
            "augmented": (np.concatenate([x_real, self.x_syn[syn]]), np.concatenate([y_real, self.y_syn[syn]])),
            "oversampled": (np.concatenate([x_real, self.x_real[copies]]),
                            np.concatenate([y_real, self.y_real[copies]])),
        }  # fmt: skip
        return {arm: self._score(x, y, seed) for arm, (x, y) in arms.items()}

    def _oversample(self, real: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Real row numbers drawn again, as many per class as the synthetic rows have (from the seed's resample,
        or from all real rows of a class the resample missed).
        """
        picks = []
        for label in self.classes:
            k = int((self.y_syn == label).sum())
            if k == 0:
                continue
            pool = real[self.y_real[real] == label]
            pool = pool if len(pool) else np.flatnonzero(self.y_real == label)
            picks.append(pool[rng.integers(0, len(pool), k)])
        return np.concatenate(picks) if picks else np.zeros(0, dtype=np.int64)

    def _score(self, x: np.ndarray, y: np.ndarray, seed: int) -> dict[str, Any]:
        classifier = HistGradientBoostingClassifier(max_iter=100, categorical_features=self.categorical,
                                                    random_state=seed)  # fmt: skip
        classifier.fit(x, y)
        proba = np.zeros((len(self.y_test), len(self.classes)))  # a class the resample missed keeps 0
        proba[:, [self.classes.index(label) for label in classifier.classes_]] = classifier.predict_proba(self.x_test)
        predicted = classifier.predict(self.x_test)
        truth = self.y_test
        recalls = recall_score(truth, predicted, labels=self.classes, average=None, zero_division=0)
        recall = {label: float(r) for label, r in zip(self.classes, recalls, strict=True) if (truth == label).any()}
        followed = [recall[c] for c in self.followed if c in recall]
        return {
            "macro_f1": float(f1_score(truth, predicted, labels=self.classes, average="macro", zero_division=0)),
            "minority_recall": float(np.mean(followed)) if followed else float("nan"),
            "roc_auc": _roc_auc(truth, proba, self.classes),
            "recall": recall,
        }


def _roc_auc(truth: np.ndarray, proba: np.ndarray, classes: list[Any]) -> float:
    """Binary: the AUC of the second class (sorted by name, as utility does); more classes: one-vs-rest, macro,
    over the classes the holdout holds.
    """
    if len(classes) == 2:
        return float(roc_auc_score(truth == classes[1], proba[:, 1]))
    present = [j for j, c in enumerate(classes) if 0 < (truth == c).sum() < len(truth)]
    scores = [roc_auc_score(truth == classes[j], proba[:, j]) for j in present]
    return float(np.mean(scores))


def _summarise(runs: list[_Run], key: str, context: dict[str, Any]) -> tuple[float, float, dict[str, Any]]:
    """The record's value and reference (lower confidence bounds of the two mean lifts) and its details."""
    lifts = [r["augmented"][key] - r["real_only"][key] for r in runs]
    reference = [r["oversampled"][key] - r["real_only"][key] for r in runs]
    mean, low, high = _interval(lifts)
    ref_mean, ref_low, ref_high = _interval(reference)
    details = {
        **context,
        "value_is": "lower bound of the 95 % confidence interval of the mean lift (augmented - real only) over seeds",
        "mean_lift": mean, "ci95": [low, high], "per_seed": lifts,
        "real_only_mean": float(np.mean([r["real_only"][key] for r in runs])),
        "augmented_mean": float(np.mean([r["augmented"][key] for r in runs])),
        "reference_is": "the same for random oversampling: the synthetic rows' class counts drawn from the real rows",
        "reference_mean_lift": ref_mean, "reference_ci95": [ref_low, ref_high], "reference_per_seed": reference,
    }  # fmt: skip
    return low, ref_low, details


def _per_class(runs: list[_Run], followed: list[Any]) -> dict[str, dict[str, Any]]:
    """Mean recall lift (``value``), its interval and both arms' mean recall, per followed class in the holdout."""
    out = {}
    for label in followed:
        if label not in runs[0]["real_only"]["recall"]:
            continue
        lifts = [r["augmented"]["recall"][label] - r["real_only"]["recall"][label] for r in runs]
        mean, low, high = _interval(lifts)
        out[str(label)] = {
            "value": mean, "ci95": [low, high],
            "real_only": float(np.mean([r["real_only"]["recall"][label] for r in runs])),
            "augmented": float(np.mean([r["augmented"]["recall"][label] for r in runs])),
        }  # fmt: skip
    return out


def _interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of the mean (NaN when a value is NaN)."""
    array = np.asarray(values, dtype=np.float64)
    mean = float(array.mean())
    if np.isnan(array).any():
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + _CONFIDENCE / 2, len(array) - 1)) * float(array.std(ddof=1)) / math.sqrt(len(array))
    return mean, mean - half, mean + half


def _minority_classes(labels: pd.Series, classes: list[Any], minority: Collection[Any] | None) -> list[Any]:
    if minority is not None:
        wanted = list(minority)
        unknown = [c for c in wanted if c not in classes]
        if unknown or not wanted:
            raise MetricInputError(f"minority classes {unknown or wanted} are not classes of the real data {classes}")
        return [c for c in classes if c in wanted]
    shares = labels.astype(object).value_counts(normalize=True)
    below = [c for c in classes if shares[c] < 1 / len(classes) - 1e-12]
    return below or list(classes)


def _check_inputs(real_train: pd.DataFrame, augmented: pd.DataFrame, holdout: pd.DataFrame, schema: Schema,
                  target: str, seeds: int, tolerance: float) -> pd.DataFrame:  # fmt: skip
    """Refuse what cannot be compared; the synthetic rows (without the flag column) otherwise."""
    for label, frame in (("real training", real_train), ("augmented", augmented), ("holdout", holdout)):
        if target not in frame.columns:
            raise MetricInputError(f"target column '{target}' is not in the {label} table")
    if SYNTHETIC_FLAG not in augmented.columns:
        raise MetricInputError(f"the augmented table has no '{SYNTHETIC_FLAG}' column marking its synthetic rows")
    flag = augmented[SYNTHETIC_FLAG]
    if not pd.api.types.is_bool_dtype(flag.dtype) or flag.isna().any():
        raise MetricInputError(f"'{SYNTHETIC_FLAG}' must be a boolean column without nulls, got {flag.dtype}")
    check_columns(schema, real_train, augmented, holdout)
    if schema[target].kind not in ("categorical", "boolean"):
        raise MetricInputError(f"target '{target}' is {schema[target].kind}; the augmentation lift needs classes")
    if int((~flag).sum()) != len(real_train):
        raise MetricInputError(
            f"the augmented table holds {int((~flag).sum())} real rows but the real training table {len(real_train)};"
            " the augmented table must be the real training rows plus the synthetic ones"
        )
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 2:
        raise MetricInputError(f"seeds must be an int >= 2 (a confidence interval needs two), got {seeds!r}")
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not 0 <= tolerance < 1:
        raise MetricInputError(f"tolerance must be a number in [0, 1), got {tolerance!r}")
    return augmented.loc[flag.to_numpy(), list(schema.names)]


def _jsonable(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
