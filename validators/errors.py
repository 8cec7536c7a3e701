"""Errors raised by the measuring side.

ValidatorError                 base of everything raised on purpose here
└── MetricInputError(ValueError)   the tables given to a metric cannot be compared (missing columns, no rows)
"""

from __future__ import annotations

__all__ = ["MetricInputError", "ValidatorError"]


class ValidatorError(Exception):
    """Base class of the errors validators raise on purpose."""


class MetricInputError(ValidatorError, ValueError):
    """The tables given to a metric cannot be compared."""
