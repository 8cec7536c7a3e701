"""Errors raised by the generative side.

SynthError                      base of everything raised on purpose here
├── SchemaError(ValueError)     the data cannot be described or modelled (all-null column, too few rows, bad override)
│   └── ImageDataError          an image set cannot be read or modelled (corrupt file, mixed sizes, bad labels)
├── ConditionError(ValueError)  a sampling condition is not possible (unknown column or value, bad range, too many)
│   └── ConditionShortfall      targeted sampling found fewer matching rows than asked within its tries
├── ParameterError(ValueError)  an estimator parameter is out of range
├── ModelFileError              a saved model folder is missing, incomplete or from an incompatible format
└── NotFittedError(ValueError, AttributeError)   sample/save before fit
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ConditionError",
    "ConditionShortfall",
    "ImageDataError",
    "ModelFileError",
    "NotFittedError",
    "ParameterError",
    "SchemaError",
    "SynthError",
]


class SynthError(Exception):
    """Base class of the errors synth raises on purpose."""


class SchemaError(SynthError, ValueError):
    """The data cannot be described or modelled as given."""


class ImageDataError(SchemaError):
    """An image set cannot be read or modelled: a corrupt file, images of different sizes, labels that do not fit."""


class ConditionError(SynthError, ValueError):
    """A sampling condition is not possible: an unknown column or value, a bad range, too many columns."""


class ConditionShortfall(ConditionError):
    """Targeted sampling found fewer rows satisfying every condition than were asked for, within its tries.

    Nothing is forced: the caller decides whether the partial rows do. ``rows`` holds them (every one satisfies
    every condition); ``requested``, ``found``, ``tries``, ``generated`` and ``acceptance_rate`` say how it went.
    """

    def __init__(
        self,
        message: str,
        *,
        rows: pd.DataFrame,
        requested: int,
        found: int,
        tries: int,
        generated: int,
        acceptance_rate: float,
    ) -> None:
        super().__init__(message)
        self.rows = rows
        self.requested, self.found, self.tries = requested, found, tries
        self.generated, self.acceptance_rate = generated, acceptance_rate

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        """Keyword-only arguments do not survive the default exception pickling (task runners pickle errors)."""
        state: dict[str, Any] = {"rows": self.rows, "requested": self.requested, "found": self.found}
        state |= {"tries": self.tries, "generated": self.generated, "acceptance_rate": self.acceptance_rate}
        return functools.partial(ConditionShortfall, **state), (str(self),)


class ParameterError(SynthError, ValueError):
    """An estimator parameter is out of its allowed range."""


class ModelFileError(SynthError):
    """A saved model folder is missing, incomplete or incompatible."""


class NotFittedError(SynthError, ValueError, AttributeError):
    """The model was used before fit()."""
