"""What each step of a run needs from the config, cut out of it once when the run starts: tasks take these small,
frozen records (and the config's own sections), never the whole config, so each one says what it depends on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.config import GenerateConfig, ModelConfig, PipelineConfig, PrivacyConfig, SplitConfig
from validators.bounds import Bound

__all__ = ["Augmenting", "Intake", "Measuring", "Publishing", "Training", "estimator_params"]


def estimator_params(model: ModelConfig, privacy: PrivacyConfig | None = None) -> dict[str, Any]:
    """The synthesizer's keywords: the model section's, plus the privacy section's in privacy mode."""
    return {**model.estimator_params(), **(privacy.estimator_params() if privacy is not None else {})}


@dataclass(frozen=True, slots=True)
class Intake:
    """Reading and checking the source: where it is and what the rest of the run will ask of it (its target, the
    schema overrides, the model settings, the split and the rows to generate), and where the run may write."""

    name: str
    source: Path
    target: str | None
    schema_overrides: Mapping[str, str]
    model: ModelConfig
    privacy: PrivacyConfig | None
    split: SplitConfig
    generate: GenerateConfig
    output: str
    work_dir: Path

    @classmethod
    def of(cls, config: PipelineConfig) -> Intake:
        return cls(
            config.name, config.source, config.target, dict(config.schema_), config.model, config.privacy,
            config.split, config.generate, config.output, config.work_dir,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Training:
    """Training or reusing a model: the estimator's settings and the folder trained models are kept in."""

    model: ModelConfig
    privacy: PrivacyConfig | None
    models_dir: Path

    @classmethod
    def of(cls, config: PipelineConfig) -> Training:
        return cls(config.model, config.privacy, config.work_dir / "models")

    def estimator_params(self) -> dict[str, Any]:
        return estimator_params(self.model, self.privacy)


@dataclass(frozen=True, slots=True)
class Measuring:
    """Measuring and gating: the target whose utility is measured, the gate's levels (stricter in privacy mode)
    and whether they are enforced, and the k of the run's rare-value protection."""

    target: str | None
    bounds: Mapping[str, Bound]
    enforce: bool
    rare_min: int
    private: bool

    @classmethod
    def of(cls, config: PipelineConfig) -> Measuring:
        from synth import TabularSynthesizer
        from validators import PRIVACY_BOUNDS

        defaults = PRIVACY_BOUNDS if config.mode == "privacy" else {}
        params = estimator_params(config.model, config.privacy)
        rare_min = int(params.get("rare_category_min", TabularSynthesizer().rare_category_min))
        return cls(
            config.target, {**defaults, **config.gate.bounds(defaults)}, config.gate.enforce, rare_min,
            config.privacy is not None,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Augmenting:
    """``mode: augmentation``: the class column (a table's; image sets balance their labels), the balance asked
    for, the seeds of the downstream lift and its tolerance, and the generation seed and batch."""

    label: str | None
    balance: str | dict[Any, int | float]
    lift_seeds: int
    tolerance: float
    seed: int
    batch_rows: int | None

    @classmethod
    def of(cls, config: PipelineConfig) -> Augmenting:
        settings = config.augmentation_settings()
        return cls(
            config.label_column(), settings.balance, settings.seeds, settings.tolerance, config.generate.seed,
            config.generate.batch_rows,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Publishing:
    """Publishing or quarantining: the dataset's name, the output root, and how many versions to keep."""

    name: str
    output: str
    keep: int | None

    @classmethod
    def of(cls, config: PipelineConfig) -> Publishing:
        return cls(config.name, config.output, config.publish.keep)
