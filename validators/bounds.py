"""Pass marks: a fail level and a warn level per metric, absolute or relative to the real holdout's own figure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = ["DEFAULT_BOUNDS", "PRIVACY_BOUNDS", "Bound", "Judgement", "judge"]

Direction = Literal["min", "max"]
Status = Literal["pass", "warn", "fail", "error"]


#: Standard errors of chance a relative fail (warn) level keeps from the reference, at the least: with 16 checks on
#: a table, 4 standard errors make a false failure on real data a one-in-thousands event.
FAIL_SIGMAS = 4.0
WARN_SIGMAS = 3.0


@dataclass(frozen=True, slots=True)
class Bound:
    """Where a metric starts to warn and to fail.

    ``direction`` "min": higher is better and a value below ``fail`` fails; "max": lower is better.
    ``relative``: the levels are distances from the reference (the real holdout's figure), e.g. a "max" bound with
    ``fail=0.01, relative=True`` fails a value above reference + 0.01; the distance is widened to at least
    ``FAIL_SIGMAS`` (``WARN_SIGMAS``) standard errors of chance when the metric reports them.
    ``baseline_share``: for metrics measured on an independent-columns baseline too, a value must also have come at
    least this share of the way from the baseline to the reference (never closer to it than chance allows).
    """

    direction: Direction
    fail: float
    warn: float | None = None
    relative: bool = False
    baseline_share: float | None = None

    def levels(self, reference: float, noise: float = 0.0, baseline: float | None = None) -> tuple[float, float | None]:
        """The absolute fail and warn thresholds for a reference, its standard error and the baseline's figure."""
        if not self.relative:
            return self.fail, self.warn
        sign = -1.0 if self.direction == "min" else 1.0
        fail_margin = max(self.fail, FAIL_SIGMAS * noise)
        fail = reference + sign * fail_margin
        if self.baseline_share is not None and baseline is not None and not math.isnan(baseline):
            structural = baseline + self.baseline_share * (reference - baseline)
            chance = reference + sign * FAIL_SIGMAS * noise
            tighter = max if self.direction == "min" else min
            looser = min if self.direction == "min" else max
            fail = tighter(fail, looser(structural, chance))
        if self.warn is None:
            return fail, None
        warn = reference + sign * max(self.warn, WARN_SIGMAS * noise)
        return fail, (max(warn, fail) if self.direction == "min" else min(warn, fail))


@dataclass(frozen=True, slots=True)
class Judgement:
    status: Status
    threshold: float
    warn_threshold: float | None


def judge(value: float, reference: float, bound: Bound, noise: float = 0.0, baseline: float | None = None) -> Judgement:
    """Pass, warn or fail for a value; NaN (a figure that could not be computed) is an error."""
    fail, warn = bound.levels(reference, noise, baseline)
    if math.isnan(value) or math.isnan(fail):
        return Judgement("error", fail, warn)

    def beyond(level: float) -> bool:
        return value < level if bound.direction == "min" else value > level

    if beyond(fail):
        return Judgement("fail", fail, warn)
    if warn is not None and beyond(warn):
        return Judgement("warn", fail, warn)
    return Judgement("pass", fail, warn)


#: Defaults. Every level whose natural value depends on the table is relative to the real holdout's own figure and
#: at least FAIL_SIGMAS standard errors from it, so gating unseen real rows passes on any table (bench/corpus.py
#: checks it on twelve real tables); the margins are what a synthetic set may lose against real data. Pair trends
#: (detection) also fail a set that keeps less than half (40 %) of the way from independent columns to the real
#: holdout, so shuffled columns fail even on narrow tables. A copy of the training rows fails on leakage, a
#: collapsed set on coverage (tests/validators/test_gate_suite.py).
DEFAULT_BOUNDS: dict[str, Bound] = {
    # fidelity
    "column_shapes": Bound("min", fail=0.10, warn=0.03, relative=True),
    "missing_values": Bound("min", fail=0.05, warn=0.02, relative=True),
    "pair_trends": Bound("min", fail=0.15, warn=0.05, relative=True, baseline_share=0.5),
    "detection_auc": Bound("max", fail=0.40, warn=0.25, relative=True, baseline_share=0.4),
    # utility
    "utility_ratio": Bound("min", fail=0.15, warn=0.05, relative=True),  # reference: half the holdout as train
    # diversity
    "category_coverage": Bound("min", fail=0.10, warn=0.05, relative=True),
    "range_coverage": Bound("min", fail=0.25, warn=0.10, relative=True),
    "prdc_precision": Bound("min", fail=0.30, warn=0.15, relative=True),
    "prdc_recall": Bound("min", fail=0.40, warn=0.20, relative=True),
    "prdc_density": Bound("min", fail=0.50, warn=0.25, relative=True),
    "prdc_coverage": Bound("min", fail=0.40, warn=0.20, relative=True),
    # leakage
    "exact_copy_rate": Bound("max", fail=0.01, warn=0.005, relative=True),
    "dcr_holdout_share": Bound("max", fail=0.10, warn=0.05, relative=True),
    "low_dcr_share": Bound("max", fail=0.04, warn=0.02, relative=True),
    "nndr": Bound("min", fail=0.10, warn=0.05, relative=True),
    "mia_auc": Bound("max", fail=0.10, warn=0.05, relative=True),
    # absolute, as its meaning is the same on every table: no real value held by fewer than k training rows comes
    # out. Real rows hold theirs, so the holdout's figure (shown) is above 0 wherever a column has rare values.
    "rare_value_share": Bound("max", fail=0.0),
    # images (validators.image). Calibrated on Fashion-MNIST (classifier on 8,000 train images, 2,000-image sets) and
    # digits: real unseen images pass; copies, noise, inverted, one-class, shuffled-label and mode-collapsed sets fail.
    # Below about 400 images per set sampling noise alone can cross a warn level (see the module docs).
    "conditional_accuracy": Bound("min", fail=0.10, warn=0.05, relative=True),  # 0.10 below ~ the 90 % aim
    "frechet_distance": Bound("max", fail=5.0, warn=2.0, relative=True),  # units: mean train feature variance
    "kid": Bound("max", fail=0.5, warn=0.2, relative=True),
    "image_precision": Bound("min", fail=0.25, warn=0.10, relative=True),
    "image_recall": Bound("min", fail=0.40, warn=0.10, relative=True),  # GANs lag on recall; collapse scores ~0
    "image_density": Bound("min", fail=0.35, warn=0.15, relative=True),
    "image_coverage": Bound("min", fail=0.25, warn=0.10, relative=True),
    "memorisation_share": Bound("max", fail=0.05, warn=0.03),  # as low_dcr_share: real sets score ~0.01
    # augmentation (validators.augmentation): each value is the lower 95 % confidence bound of the mean lift
    # (augmented - real only) over 5 seeds; below 0 warns (a loss cannot be ruled out). The macro-F1 fail level is
    # -tolerance (config, default 0.01): the publication rule. The other two are calibrated on Adult (600 train
    # rows, 2,000-row holdout): neutral additions (unseen real rows of the natural mix, a second copy of the train
    # rows) score down to -0.05 (minority recall) and -0.005 (AUC); harmful ones (shuffled labels, minority rows
    # relabelled) -0.10 to -0.50.
    "augmentation_macro_f1_lift": Bound("min", fail=-0.01, warn=0.0),
    "augmentation_minority_recall_lift": Bound("min", fail=-0.10, warn=0.0),
    "augmentation_roc_auc_lift": Bound("min", fail=-0.02, warn=0.0),
}

#: Privacy mode's stricter leakage levels, merged over DEFAULT_BOUNDS (``{**DEFAULT_BOUNDS, **PRIVACY_BOUNDS}``); a
#: config's gate overrides still apply on top. Relative to the real holdout's figures as the defaults are, with half
#: their margins or less; the chance widening (FAIL_SIGMAS standard errors) still keeps real data passing.
#: Filtered output has no exact copies at all, so the copy level only bites when the filter was skipped.
PRIVACY_BOUNDS: dict[str, Bound] = {
    "exact_copy_rate": Bound("max", fail=0.002, warn=0.001, relative=True),
    "dcr_holdout_share": Bound("max", fail=0.05, warn=0.02, relative=True),
    "low_dcr_share": Bound("max", fail=0.015, warn=0.01, relative=True),
    "nndr": Bound("min", fail=0.05, warn=0.025, relative=True),
    "mia_auc": Bound("max", fail=0.05, warn=0.03, relative=True),
}
