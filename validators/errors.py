"""Errors raised by the measuring side.

ValidatorError                     base of everything raised on purpose here
├── MetricInputError(ValueError)       the data given to a metric cannot be compared (missing columns, no rows,
│                                      images of different shapes, labels of classes the real data lacks)
└── ClassifierFileError(ValueError)    a saved FeatureClassifier folder is missing or damaged
"""

from __future__ import annotations

__all__ = ["ClassifierFileError", "MetricInputError", "ValidatorError"]


class ValidatorError(Exception):
    """Base class of the errors validators raise on purpose."""


class MetricInputError(ValidatorError, ValueError):
    """The data given to a metric cannot be compared."""


class ClassifierFileError(ValidatorError, ValueError):
    """A saved feature classifier cannot be read: a file is missing, malformed or from another format version."""
