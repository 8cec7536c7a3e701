"""The generative side: schema inference, data transforms, conditional GANs for tables and images, sampling."""

from synth.errors import (
    ConditionError,
    ModelFileError,
    NotFittedError,
    ParameterError,
    SchemaError,
    SynthError,
)
from synth.image import ImageEpochStats, ImageSynthesizer
from synth.schema import ColumnSpec, Schema, infer_schema
from synth.tabular import EpochStats, TabularSynthesizer

__all__ = [
    "ColumnSpec",
    "ConditionError",
    "EpochStats",
    "ImageEpochStats",
    "ImageSynthesizer",
    "ModelFileError",
    "NotFittedError",
    "ParameterError",
    "Schema",
    "SchemaError",
    "SynthError",
    "TabularSynthesizer",
    "infer_schema",
]
