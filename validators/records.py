"""The metric record every metric returns, and the direction a threshold is read in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["MetricResult", "passes"]


@dataclass(frozen=True, slots=True)
class MetricResult:
    """One measured figure, with the same figure for real-vs-real (holdout vs train) as its reference.

    ``direction`` says how ``threshold`` is read: ``"min"`` passes when value >= threshold, ``"max"`` when
    value <= threshold.
    """

    name: str
    family: Literal["fidelity", "diversity", "utility", "leakage"]
    value: float
    reference: float
    threshold: float
    direction: Literal["min", "max"]
    passed: bool
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "value": self.value,
            "reference": self.reference,
            "threshold": self.threshold,
            "direction": self.direction,
            "passed": self.passed,
            "details": self.details,
        }


def passes(value: float, threshold: float, direction: Literal["min", "max"]) -> bool:
    """Whether a value clears its threshold in the given direction (NaN never passes)."""
    if value != value:  # NaN
        return False
    return value >= threshold if direction == "min" else value <= threshold
