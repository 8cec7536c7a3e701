"""The measuring side: fidelity, utility, diversity and leakage metrics for tables and images, the gate and the
report.
"""

from validators.augmentation import augmentation_lift
from validators.bounds import DEFAULT_BOUNDS, PRIVACY_BOUNDS, Bound
from validators.errors import ClassifierFileError, MetricInputError, PrivacyFilterError, ValidatorError
from validators.evaluate import evaluate
from validators.gate import Verdict, decide
from validators.image import evaluate_images
from validators.image_features import FeatureClassifier
from validators.privacy_filter import PrivacyFilter, filter_and_refill
from validators.records import MetricResult
from validators.report import Report

__all__ = [
    "DEFAULT_BOUNDS",
    "PRIVACY_BOUNDS",
    "Bound",
    "ClassifierFileError",
    "FeatureClassifier",
    "MetricInputError",
    "MetricResult",
    "PrivacyFilter",
    "PrivacyFilterError",
    "Report",
    "ValidatorError",
    "Verdict",
    "augmentation_lift",
    "decide",
    "evaluate",
    "evaluate_images",
    "filter_and_refill",
]
