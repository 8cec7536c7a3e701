"""The generative side: schema inference, data transforms, conditional GANs for tables and images, sampling."""

from typing import TYPE_CHECKING

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
from synth.rebalance import plan_rebalance, rebalance
from synth.schema import ColumnSpec, Schema, infer_schema

if TYPE_CHECKING:
    from synth.image import ImageEpochStats, ImageSynthesizer
    from synth.tabular import EpochStats, TabularSynthesizer

#: The models' names, imported on first use: they load torch and scikit-learn (seconds), which reading a schema or
#: the catalog (``synth list``, ``load_published``) never needs.
_MODELS = {
    "EpochStats": "synth.tabular",
    "TabularSynthesizer": "synth.tabular",
    "ImageEpochStats": "synth.image",
    "ImageSynthesizer": "synth.image",
}


def __getattr__(name: str) -> object:
    if name not in _MODELS:
        raise AttributeError(f"module 'synth' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_MODELS[name]), name)
    globals()[name] = value
    return value


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
