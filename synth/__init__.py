"""The generative side: schema inference, data transforms, conditional GANs for tables and images, sampling."""

from synth.threads import choose_wait_policy

choose_wait_policy()  # before anything below loads torch

from synth.errors import (
    ConditionError,
    ConditionShortfall,
    ModelFileError,
    NotFittedError,
    ParameterError,
    SchemaError,
    SynthError,
)
from synth.image import ImageEpochStats, ImageSynthesizer
from synth.rebalance import plan_rebalance, rebalance
from synth.schema import ColumnSpec, Schema, infer_schema
from synth.tabular import EpochStats, TabularSynthesizer

__all__ = [
    "ColumnSpec",
    "ConditionError",
    "ConditionShortfall",
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
    "plan_rebalance",
    "rebalance",
]
