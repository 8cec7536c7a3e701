"""The gate: thresholds with documented defaults, and the verdict from the metric records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from validators.records import MetricResult

__all__ = ["Thresholds", "Verdict", "decide"]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Pass marks of the gate's metrics. Defaults sit well below what real data scores (see README)."""

    column_shapes: float = 0.85  # min: mean KS / TV complement
    pair_trends: float = 0.75  # min: mean correlation / contingency similarity
    exact_copy_rate_excess: float = 0.01  # max: copies beyond the holdout's own copy share
    dcr_holdout_share: float = 0.6  # max: share of synthetic rows closer to train than to holdout


@dataclass(frozen=True, slots=True)
class Verdict:
    """``passed``: every check passed; ``warned``: some failed but the gate is not enforced; ``failed``: otherwise."""

    status: Literal["passed", "warned", "failed"]
    failures: tuple[str, ...]


def decide(results: list[MetricResult], *, enforce: bool = True) -> Verdict:
    """The verdict: each failing record becomes a readable line naming the metric, its value and its threshold."""
    failures = tuple(
        f"{r.name} = {r.value:.4f} is {'below' if r.direction == 'min' else 'above'} its threshold {r.threshold:.4f} "
        f"(real holdout scores {r.reference:.4f})"
        for r in results
        if not r.passed
    )
    if not failures:
        return Verdict("passed", ())
    return Verdict("failed" if enforce else "warned", failures)
