"""The gate: the verdict over all metric records, with one readable line per failing or warning check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from validators.records import MetricResult

__all__ = ["Verdict", "decide"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """``passed``: no check failed or warned; ``warned``: some warned, or failed with the gate not enforced;
    ``failed``: a check failed (or could not be computed) and the gate is enforced.
    """

    status: Literal["passed", "warned", "failed"]
    failures: tuple[str, ...]
    warnings: tuple[str, ...]


def _line(record: MetricResult) -> str:
    if record.status == "error":
        return f"{record.name} could not be computed: {record.details.get('reason', 'unknown reason')}"
    if record.status == "warn" and "reason" in record.details:
        return f"{record.name} not judged: {record.details['reason']}"
    side = "below" if record.direction == "min" else "above"
    level = record.threshold if record.status == "fail" else record.warn_threshold
    return (
        f"{record.name} = {record.value:.4f} is {side} its {'fail' if record.status == 'fail' else 'warn'} "
        f"threshold {level:.4f} (real holdout scores {record.reference:.4f})"
    )


def decide(results: list[MetricResult], *, enforce: bool = True) -> Verdict:
    """The verdict over the records; with ``enforce=False`` failures are reported as warnings."""
    failures = tuple(_line(r) for r in results if r.status in ("fail", "error"))
    warnings = tuple(_line(r) for r in results if r.status == "warn")
    if failures and enforce:
        return Verdict("failed", failures, warnings)
    if failures or warnings:
        return Verdict("warned", failures, warnings)
    return Verdict("passed", (), ())
