"""The measuring side: fidelity, utility, diversity and leakage metrics for tables and images, the gate and the
report.
"""

from validators.bounds import DEFAULT_BOUNDS, Bound
from validators.errors import ClassifierFileError, MetricInputError, ValidatorError
from validators.evaluate import evaluate
from validators.gate import Verdict, decide
from validators.image import evaluate_images
from validators.image_features import FeatureClassifier
from validators.records import MetricResult
from validators.report import Report

__all__ = [
    "DEFAULT_BOUNDS",
    "Bound",
    "ClassifierFileError",
    "FeatureClassifier",
    "MetricInputError",
    "MetricResult",
    "Report",
    "ValidatorError",
    "Verdict",
    "decide",
    "evaluate",
    "evaluate_images",
]
