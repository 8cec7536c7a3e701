"""The measuring side: fidelity and leakage metrics, the gate and the report."""

from validators.errors import MetricInputError, ValidatorError
from validators.evaluate import evaluate
from validators.fidelity import column_shapes, pair_trends
from validators.gate import Thresholds, Verdict, decide
from validators.leakage import dcr_holdout_share, exact_copy_rate
from validators.records import MetricResult
from validators.report import Report

__all__ = [
    "MetricInputError",
    "MetricResult",
    "Report",
    "Thresholds",
    "ValidatorError",
    "Verdict",
    "column_shapes",
    "dcr_holdout_share",
    "decide",
    "evaluate",
    "exact_copy_rate",
    "pair_trends",
]
