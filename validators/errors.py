"""Errors raised by the measuring side.

ValidatorError                     base of everything raised on purpose here
├── MetricInputError(ValueError)       the data given to a metric cannot be compared (missing columns, no rows,
│                                      images of different shapes, labels of classes the real data lacks), or a
│                                      setting is out of range (a percentile above 100, a row count below 1)
├── ClassifierFileError(ValueError)    a saved FeatureClassifier folder is missing or damaged
└── PrivacyFilterError                 the privacy filter could not keep the rows asked for within its rounds: the
                                       model keeps producing copies of (or near-copies of) training rows
"""

from __future__ import annotations

__all__ = ["ClassifierFileError", "MetricInputError", "PrivacyFilterError", "ValidatorError"]


class ValidatorError(Exception):
    """Base class of the errors validators raise on purpose."""


class MetricInputError(ValidatorError, ValueError):
    """The data given to a metric cannot be compared, or a setting it was given is out of range."""


class ClassifierFileError(ValidatorError, ValueError):
    """A saved feature classifier cannot be read: a file is missing, malformed or from another format version."""


class PrivacyFilterError(ValidatorError):
    """Too many synthetic rows were copies or near-copies of training rows to keep the count asked for.

    Not a ValueError: the inputs were fine, the model's output was not; more rounds or a more private model fix it.
    """
