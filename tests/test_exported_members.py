"""Each package's __all__ is exactly its public surface, and every name in it resolves."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "synth": {
        "ColumnSpec", "ConditionError", "ConditionShortfall", "EpochStats", "ImageEpochStats", "ImageSynthesizer",
        "ModelFileError", "NotFittedError", "ParameterError", "Schema", "SchemaError", "SynthError",
        "TabularSynthesizer", "infer_schema", "plan_rebalance", "rebalance",
    },
    "validators": {
        "DEFAULT_BOUNDS", "Bound", "ClassifierFileError", "FeatureClassifier", "MetricInputError", "MetricResult",
        "Report", "ValidatorError", "Verdict", "augmentation_lift", "decide", "evaluate", "evaluate_images",
        "PRIVACY_BOUNDS", "PrivacyFilter", "PrivacyFilterError", "filter_and_refill",
    },
    "pipelines": {"load_published"},
}  # fmt: skip


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_all_is_the_public_surface(package: str) -> None:
    module = importlib.import_module(package)
    assert set(module.__all__) == PUBLIC[package]
    for name in module.__all__:
        assert getattr(module, name) is not None


def test_synth_does_not_import_prefect_or_validators() -> None:
    """DESIGN: synth/ knows nothing of Prefect, GX or the gate."""
    import subprocess
    import sys

    heavy = "('prefect', 'validators', 'great_expectations')"
    code = f"import sys, synth; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_catalog_and_a_schema_load_without_torch() -> None:
    """`synth list`, `synth pull` and `load_published` start in a second, not after torch's and scikit-learn's
    imports; the models load them on first use."""
    import subprocess
    import sys

    code = (
        "import sys, pipelines.cli, synth; from synth import Schema, infer_schema; "
        "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules)); "
        "synth.TabularSynthesizer; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["[]", "True"]
