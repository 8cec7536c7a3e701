"""The metric record every metric returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from validators.bounds import Bound, Status, judge

__all__ = ["Family", "MetricResult", "failed_record", "make_record"]

Family = Literal["fidelity", "utility", "diversity", "leakage"]


@dataclass(frozen=True, slots=True)
class MetricResult:
    """One measured figure, with the same figure for real-vs-real (holdout vs train) as its reference.

    ``status`` is pass, warn or fail against the bound, or error when the figure could not be computed
    (``details["reason"]`` says why). ``threshold`` is the fail level, ``warn_threshold`` the warn level, both
    absolute; ``direction`` says whether higher ("min") or lower ("max") is better.
    """

    name: str
    family: Family
    value: float
    reference: float
    threshold: float
    warn_threshold: float | None
    direction: Literal["min", "max"]
    status: Status
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status in ("pass", "warn")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "value": _json_float(self.value),
            "reference": _json_float(self.reference),
            "threshold": _json_float(self.threshold),
            "warn_threshold": None if self.warn_threshold is None else _json_float(self.warn_threshold),
            "direction": self.direction,
            "status": self.status,
            "passed": self.passed,
            "details": self.details,
        }


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def make_record(
    name: str, family: Family, value: float, reference: float, bound: Bound, details: dict[str, Any] | None = None,
    *, noise: float = 0.0, baseline: float | None = None,
) -> MetricResult:  # fmt: skip
    """A record judged against its bound. ``noise``: the standard error of chance between the value and the
    reference (relative levels keep at least a few of them); ``baseline``: the figure of the holdout with its
    columns shuffled, for bounds that also judge against it. Both are kept in the details."""
    verdict = judge(value, reference, bound, noise, baseline)
    details = dict(details or {})
    if noise:
        details["reference_noise"] = float(noise)
    if baseline is not None:
        details["independence_baseline"] = float(baseline)
    return MetricResult(
        name, family, float(value), float(reference), verdict.threshold, verdict.warn_threshold, bound.direction,
        verdict.status, details,
    )  # fmt: skip


def failed_record(name: str, family: Family, bound: Bound, reason: str, *, real_data_too: bool = False) -> MetricResult:
    """The record of a metric that could not be computed: an error that names why, never a silent skip.

    ``real_data_too``: the figure cannot be computed on the real data either (e.g. a target the other columns do not
    predict), so it says nothing against the synthetic set: a warning that names why, not an error.
    """
    fail, warn = bound.levels(float("nan")) if bound.relative else (bound.fail, bound.warn)
    nan = float("nan")
    status: Status = "warn" if real_data_too else "error"
    return MetricResult(name, family, nan, nan, fail, warn, bound.direction, status, {"reason": reason})
