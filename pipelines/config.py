"""The pipeline config: one pydantic model per YAML section, loaded with errors that name the bad key."""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from pipelines.errors import ConfigError
from validators.bounds import DEFAULT_BOUNDS, Bound

__all__ = [
    "BoundConfig",
    "GateConfig",
    "GenerateConfig",
    "ModelConfig",
    "PipelineConfig",
    "SplitConfig",
    "load_config",
    "load_gate_config",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelConfig(_Section):
    """Keyword arguments of the synthesizer; anything left out takes the estimator's own default."""

    kind: Literal["tabular"] = "tabular"
    epochs: int | None = Field(default=None, ge=1)
    batch_size: int | None = Field(default=None, ge=1)
    seed: int | None = Field(default=None, ge=0)
    device: str | None = None
    max_categories: int | None = Field(default=None, ge=2)
    learning_rate: float | None = Field(default=None, gt=0, lt=1)
    discriminator_steps: int | None = Field(default=None, ge=1)
    generator_dims: tuple[int, ...] | None = Field(default=None, min_length=1)
    discriminator_dims: tuple[int, ...] | None = Field(default=None, min_length=1)

    def estimator_params(self) -> dict[str, Any]:
        return self.model_dump(exclude={"kind"}, exclude_none=True)


class SplitConfig(_Section):
    holdout: float = Field(default=0.2, gt=0, lt=1)
    seed: int = Field(default=0, ge=0)


class GenerateConfig(_Section):
    rows: int | None = Field(default=None, ge=1)  # default: as many rows as the training split
    seed: int = Field(default=1, ge=0)


class BoundConfig(_Section):
    """A metric's pass marks; what is left out keeps the default's value."""

    fail: float | None = None
    warn: float | None = None
    relative: bool | None = None


class _GateBase(_Section):
    enforce: bool = True

    @model_validator(mode="after")
    def _levels_in_order(self) -> _GateBase:
        self.bounds()  # refuses a warn level that could never warn, when the config loads
        return self

    def bounds(self) -> dict[str, Bound]:
        """The overridden bounds by metric name; a bare number replaces the fail level only."""
        out = {}
        for name, default in DEFAULT_BOUNDS.items():
            given = getattr(self, name)
            if given is None:
                continue
            if isinstance(given, BoundConfig):
                changes: dict[str, Any] = given.model_dump(exclude_none=True)
                relative_changed = "relative" in changes and changes["relative"] != default.relative
                if ("warn" in given.model_fields_set and given.warn is None) or (
                    relative_changed and "warn" not in changes
                ):
                    changes["warn"] = None  # a warn level in the other scale would mean something else
                bound = replace(default, **changes)
                warn_given = "warn" in given.model_fields_set
            else:
                bound, warn_given = replace(default, fail=float(given)), False
            if not warn_given and not _in_order(bound):
                bound = replace(bound, warn=None)  # the default warn level lies beyond the new fail level
            if not _in_order(bound):
                raise ConfigError(
                    f"gate.{name}: warn level {bound.warn} is not stricter than fail level {bound.fail} "
                    f"({'higher' if bound.direction == 'min' else 'lower'} is better"
                    f"{', levels are distances from the reference' if bound.relative else ''})"
                )
            out[name] = bound
        return out


def _in_order(bound: Bound) -> bool:
    """Whether the warn level sits on the safe side of the fail level (else it could never warn)."""
    if bound.warn is None or bound.warn == bound.fail:
        return True
    higher_is_stricter = bound.direction == "min" and not bound.relative
    return bound.warn > bound.fail if higher_is_stricter else bound.warn < bound.fail


#: One optional key per metric of the suite, so a misspelt metric name is an error that suggests the right one.
GateConfig = create_model(  # type: ignore[call-overload]
    "GateConfig",
    __base__=_GateBase,
    **{name: (float | BoundConfig | None, None) for name in DEFAULT_BOUNDS},
)


class PipelineConfig(_Section):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    source: Path
    target: str | None = None
    model: ModelConfig = ModelConfig()
    split: SplitConfig = SplitConfig()
    generate: GenerateConfig = GenerateConfig()
    gate: GateConfig = Field(default_factory=GateConfig)
    output: Path = Path("data/published")
    work_dir: Path = Path("data/runs")
    schema_: dict[str, str] = Field(default_factory=dict, alias="schema")

    def resolved(self, base: Path) -> PipelineConfig:
        """The same config with relative paths taken from ``base``."""
        return self.model_copy(
            update={name: (base / getattr(self, name)).resolve() for name in ("source", "output", "work_dir")}
        )

    def digest(self) -> str:
        """sha256 of the sorted-key JSON: the config's identity in manifests."""
        text = json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def load_config(path: str | Path, *, base: Path | None = None) -> PipelineConfig:
    """Read and validate a YAML config; relative paths resolve from ``base`` (default: the working directory)."""
    config_path = Path(path)
    raw = _read_yaml(config_path)
    try:
        config = PipelineConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{config_path}: {_explain(exc)}") from None
    return config.resolved(base or Path.cwd())


def _read_yaml(config_path: Path) -> dict[str, Any]:
    if not config_path.is_file():
        raise ConfigError(f"config file not found: {config_path}")
    try:
        raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{config_path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_path} must hold a mapping of keys")
    return raw


def load_gate_config(path: str | Path) -> _GateBase:
    """A YAML file holding a gate section (the keys of ``gate:`` in a pipeline config), for ``synth gate``."""
    raw = _read_yaml(Path(path))
    if "gate" in raw and len(raw) == 1:
        raw = raw["gate"]
    try:
        gate: _GateBase = GateConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_explain(exc, GateConfig)}") from None
    return gate


def _explain(exc: ValidationError, root: type[BaseModel] | None = None) -> str:
    """The first problem, naming the key by its dotted path, with a suggestion for a misspelt key."""
    errors = exc.errors()
    # A gate bound is a number or a mapping: report the branch that matches what was written.
    mapping_branch = [e for e in errors if "BoundConfig" in e["loc"] and e["loc"][-1] != "BoundConfig"]
    error = mapping_branch[0] if mapping_branch else errors[0]
    shown = [str(part) for part in error["loc"] if part not in ("float", "BoundConfig")]
    location = ".".join(shown)
    if error["type"] == "extra_forbidden":
        parent: type[BaseModel] = root or PipelineConfig
        for part in error["loc"][:-1]:
            if part == "BoundConfig":
                parent = BoundConfig
            elif part != "float":
                annotation = parent.model_fields[str(part)].annotation
                parent = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else parent
        known = [info.alias or name for name, info in parent.model_fields.items()]
        guess = difflib.get_close_matches(str(error["loc"][-1]), known, n=1)
        hint = f"; did you mean '{guess[0]}'?" if guess else f"; known keys: {', '.join(known)}"
        return f"unknown key '{location}'{hint}"
    if error["type"] == "missing":
        return f"missing required key '{location}'"
    return f"bad value for '{location}': {error['msg']} (got {error.get('input')!r})"
