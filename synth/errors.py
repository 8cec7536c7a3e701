"""Errors raised by the generative side.

SynthError                      base of everything raised on purpose here
├── SchemaError(ValueError)     the data cannot be described or modelled (all-null column, too few rows, bad override)
│   └── ImageDataError          an image set cannot be read or modelled (corrupt file, mixed sizes, bad labels)
├── ConditionError(ValueError)  a sampling condition names an unknown column or value
├── ParameterError(ValueError)  an estimator parameter is out of range
├── ModelFileError              a saved model folder is missing, incomplete or from an incompatible format
└── NotFittedError(ValueError, AttributeError)   sample/save before fit
"""

from __future__ import annotations

__all__ = [
    "ConditionError",
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
    """A sampling condition names an unknown column or value."""


class ParameterError(SynthError, ValueError):
    """An estimator parameter is out of its allowed range."""


class ModelFileError(SynthError):
    """A saved model folder is missing, incomplete or incompatible."""


class NotFittedError(SynthError, ValueError, AttributeError):
    """The model was used before fit()."""
