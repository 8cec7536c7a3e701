"""The generative side: schema inference, data transforms, conditional GANs, sampling."""

from synth.errors import (
    ConditionError,
    ModelFileError,
    NotFittedError,
    ParameterError,
    SchemaError,
    SynthError,
)
from synth.schema import ColumnSpec, Schema, infer_schema
from synth.tabular import EpochStats, TabularSynthesizer

__all__ = [
    "ColumnSpec",
    "ConditionError",
    "EpochStats",
    "ModelFileError",
    "NotFittedError",
    "ParameterError",
    "Schema",
    "SchemaError",
    "SynthError",
    "TabularSynthesizer",
    "infer_schema",
]
