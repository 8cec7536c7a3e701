"""The measuring side: fidelity, utility, diversity and leakage metrics, the gate and the report."""

from validators.bounds import DEFAULT_BOUNDS, Bound
from validators.errors import MetricInputError, ValidatorError
from validators.evaluate import evaluate
from validators.gate import Verdict, decide
from validators.records import MetricResult
from validators.report import Report

__all__ = [
    "DEFAULT_BOUNDS",
    "Bound",
    "MetricInputError",
    "MetricResult",
    "Report",
    "ValidatorError",
    "Verdict",
    "decide",
    "evaluate",
]
