"""The pipeline config: one pydantic model per YAML section, loaded with errors that name the bad key."""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from pipelines.errors import ConfigError
from pipelines.publish import NAME_MAX_LENGTH, NAME_PATTERN
from pipelines.store import default_root
from synth import ImageSynthesizer, ParameterError, TabularSynthesizer
from synth.params import Param
from validators.bounds import DEFAULT_BOUNDS, Bound

__all__ = [
    "AugmentationConfig",
    "BoundConfig",
    "GateConfig",
    "GenerateConfig",
    "ModelConfig",
    "PipelineConfig",
    "PrivacyConfig",
    "PublishConfig",
    "RunnerConfig",
    "ScheduleConfig",
    "SplitConfig",
    "load_config",
    "load_gate_config",
]


class _Section(BaseModel):
    """Strict types: ``epochs: true`` or ``seed: '3'`` is an error, never 1 or 3 (a list still makes a tuple and a
    string a path)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


#: The estimators' keywords that the privacy section sets (with ``rare_category_min``, which both sections may set).
PRIVACY_KEYS = ("epsilon", "delta", "metadata_share", "public_metadata", "max_grad_norm")
_TABULAR = {k: v for k, v in TabularSynthesizer._parameter_constraints.items() if k not in PRIVACY_KEYS}
_IMAGE = ImageSynthesizer._parameter_constraints
_TABULAR_ONLY = tuple(name for name in _TABULAR if name not in _IMAGE)
_IMAGE_ONLY = (*(name for name in _IMAGE if name not in _TABULAR), "classifier_epochs")


def _checked(params: Mapping[str, Param]) -> Any:
    """A field validator holding each value to its estimator parameter's constraint, with the estimator's words."""

    def check(cls: type[BaseModel], value: Any, info: ValidationInfo) -> Any:
        if value is not None:
            try:
                params[str(info.field_name)].check(str(info.field_name), value)
            except ParameterError as exc:
                raise ValueError(str(exc)) from None
        return value

    return field_validator(*params)(classmethod(check))


def _estimator_section(
    name: str, base: type[_Section], params: Mapping[str, Param], defaults: Mapping[str, Any]
) -> Any:
    """``base`` with one key per estimator parameter (None: the estimator's default), held to its rule."""
    fields: dict[str, Any] = {key: (Any, defaults.get(key)) for key in params}
    validators = {"estimator_constraints": _checked(params)}
    return create_model(name, __base__=base, __validators__=validators, **fields)


class _ModelBase(_Section):
    """Keyword arguments of the synthesizer; anything left out takes the estimator's own default.

    ``kind`` picks the synthesizer: ``tabular`` (TabularSynthesizer) or ``image`` (ImageSynthesizer); a setting that
    belongs to the other kind is refused by name. Every other key is an estimator parameter, declared and checked
    where the estimator declares it (``_parameter_constraints``), plus two pipeline settings.
    """

    kind: Literal["tabular", "image"] = "tabular"
    checkpoint_every: int = Field(default=5, ge=1)  # epochs between training checkpoints (a killed run resumes)
    classifier_epochs: int = Field(default=5, ge=1)  # image sets: the measuring CNN's epochs (cached with the model)

    @model_validator(mode="after")
    def _settings_fit_the_kind(self) -> _ModelBase:
        foreign = _IMAGE_ONLY if self.kind == "tabular" else _TABULAR_ONLY
        # a dumped config (a deployment's parameter) spells out every default: only a changed value is a mistake
        given = [name for name in foreign if getattr(self, name) != type(self).model_fields[name].default]
        if given:
            other = "image" if self.kind == "tabular" else "tabular"
            raise ValueError(f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for kind: {other}")
        return self

    def estimator_params(self) -> dict[str, Any]:
        params = self.model_dump(exclude={"kind", "checkpoint_every", "classifier_epochs"}, exclude_none=True)
        return {name: tuple(value) if isinstance(value, list) else value for name, value in params.items()}


_MODEL_PARAMS = {**_IMAGE, **_TABULAR}  # a keyword both take has one constraint (a test holds them equal)
if TYPE_CHECKING:  # the type checker sees the base; the estimator keywords are made from their declarations
    ModelConfig = _ModelBase
else:
    ModelConfig = _estimator_section("ModelConfig", _ModelBase, _MODEL_PARAMS, {})


class SplitConfig(_Section):
    holdout: float = Field(default=0.2, gt=0, lt=1)
    seed: int = Field(default=0, ge=0)


class GenerateConfig(_Section):
    rows: int | None = Field(default=None, ge=1)  # default: as many rows as the training split
    seed: int = Field(default=1, ge=0)
    partitions: int = Field(default=1, ge=1)  # part files, each generated by its own task
    batch_rows: int | None = Field(default=None, ge=1)  # rows in memory at once (one row group); 100,000 rows of a
    # table or 2,000 images when unset
    measure_rows: int = Field(default=100_000, ge=1)  # the seeded sample of the output that is measured


class RunnerConfig(_Section):
    """Where the flow's tasks run: threads in the flow's process, or a Dask cluster."""

    kind: Literal["thread", "dask"] = "thread"
    address: str | None = None  # dask: an existing scheduler (tcp://host:8786); none starts a LocalCluster
    workers: int = Field(default=2, ge=1)  # thread: pool size; dask LocalCluster: worker processes

    @model_validator(mode="after")
    def _address_needs_dask(self) -> RunnerConfig:
        if self.address is not None and self.kind != "dask":
            raise ValueError("runner.address is for kind: dask")
        return self


class PublishConfig(_Section):
    keep: int | None = Field(default=None, ge=1)  # newest versions kept per dataset; None keeps every version


class ScheduleConfig(_Section):
    """When ``synth serve`` runs the config's deployment."""

    cron: str
    timezone: str = "UTC"

    @model_validator(mode="after")
    def _valid_cron(self) -> ScheduleConfig:
        from prefect.client.schemas.schedules import CronSchedule

        CronSchedule(cron=self.cron, timezone=self.timezone)  # raises ValueError naming the bad part
        return self


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

    def bounds(self, defaults: Mapping[str, Bound] = DEFAULT_BOUNDS) -> dict[str, Bound]:
        """The overridden bounds by metric name, on top of ``defaults`` (the privacy mode has stricter ones); a bare
        number replaces the fail level only."""
        out = {}
        for name, default in {**DEFAULT_BOUNDS, **defaults}.items():
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
if TYPE_CHECKING:  # the type checker sees the base; its fields are made from the suite's metrics at run time
    GateConfig = _GateBase
else:
    GateConfig = create_model(
        "GateConfig",
        __base__=_GateBase,
        **{name: (float | BoundConfig | None, None) for name in DEFAULT_BOUNDS},
    )


class _PrivacyBase(_Section):
    """``mode: privacy``: differentially private training, rare-category protection and the post-sampling filter.

    Its keys are the estimator's privacy keywords (``epsilon`` required; the others default to the estimator's),
    ``rare_category_min`` (10 here, stricter than the estimator's 5) and the filter's percentile.
    """

    filter_percentile: float = Field(default=1.0, ge=0, le=50)  # drop rows closer than this holdout->train percentile

    @model_validator(mode="after")
    def _epsilon_is_a_number(self) -> _PrivacyBase:
        if getattr(self, "epsilon", None) is None:  # None is the estimator's "not private"; here it must be set
            raise ValueError("privacy.epsilon must be a number > 0, got None")
        return self

    def estimator_params(self) -> dict[str, Any]:
        """The TabularSynthesizer keywords this section sets (the rest keep the estimator's defaults)."""
        return self.model_dump(exclude={"filter_percentile"}, exclude_none=True)


_PRIVACY_PARAMS = {
    name: TabularSynthesizer._parameter_constraints[name] for name in (*PRIVACY_KEYS, "rare_category_min")
}
_PRIVACY_DEFAULTS = {"epsilon": ..., "rare_category_min": 10}  # k: values held by fewer rows never come out
if TYPE_CHECKING:
    PrivacyConfig = _PrivacyBase
else:
    PrivacyConfig = _estimator_section("PrivacyConfig", _PrivacyBase, _PRIVACY_PARAMS, _PRIVACY_DEFAULTS)


class AugmentationConfig(_Section):
    """``mode: augmentation``: the real training rows plus exactly the synthetic rows a target class balance needs."""

    label: str | None = None  # the class column; default: the config's target
    balance: Literal["uniform"] | dict[Any, int | float] = "uniform"  # uniform, {label: share}, or {top_up_to: N}
    seeds: int = Field(default=5, ge=2)  # downstream models per side, for the lift's confidence interval
    tolerance: float = Field(default=0.01, ge=0)  # publish when the lift's lower 95 % bound is >= -tolerance


class PipelineConfig(_Section):
    name: str = Field(pattern=NAME_PATTERN, max_length=NAME_MAX_LENGTH)
    source: Path = Field(strict=False)
    target: str | None = None
    model: ModelConfig = ModelConfig()
    split: SplitConfig = SplitConfig()
    generate: GenerateConfig = GenerateConfig()
    gate: GateConfig = Field(default_factory=GateConfig)
    output: str = Field(default_factory=default_root)  # a folder or an object-store URL (s3://bucket/prefix)
    work_dir: Path = Field(default=Path("data/runs"), strict=False)
    publish: PublishConfig = PublishConfig()
    runner: RunnerConfig = RunnerConfig()
    schedule: ScheduleConfig | None = None
    tags: tuple[str, ...] = Field(default=(), strict=False)
    description: str | None = None
    schema_: dict[str, str] = Field(default_factory=dict, alias="schema")
    mode: Literal["synthetic", "privacy", "augmentation"] = "synthetic"
    privacy: PrivacyConfig | None = None
    augmentation: AugmentationConfig | None = None

    @model_validator(mode="after")
    def _mode_has_its_section(self) -> PipelineConfig:
        if self.mode == "privacy" and self.privacy is None:
            raise ValueError("mode: privacy needs a privacy section with at least epsilon, e.g. privacy: {epsilon: 3}")
        if self.privacy is not None and self.mode != "privacy":
            raise ValueError("the privacy section is for mode: privacy")
        if self.augmentation is not None and self.mode != "augmentation":
            raise ValueError("the augmentation section is for mode: augmentation")
        if self.mode == "privacy" and self.model.kind == "image":
            raise ValueError("mode: privacy is for tables so far; image sets take mode: synthetic or augmentation")
        if self.mode == "augmentation" and self.model.kind == "tabular" and self.label_column() is None:
            raise ValueError("mode: augmentation needs the class column: set target or augmentation.label")
        return self

    def label_column(self) -> str | None:
        """The class column augmentation rebalances (tables); image sets balance their labels."""
        given = self.augmentation.label if self.augmentation is not None else None
        return given or self.target

    def augmentation_settings(self) -> AugmentationConfig:
        return self.augmentation or AugmentationConfig()

    def resolved(self, base: Path) -> PipelineConfig:
        """The same config with relative paths taken from ``base``."""
        output = self.output if "://" in self.output else (base / self.output).resolve().as_posix()
        return self.model_copy(
            update={
                "source": (base / self.source).resolve(),
                "work_dir": (base / self.work_dir).resolve(),
                "output": output,
            }
        )

    def digest(self) -> str:
        """sha256 of the sorted-key JSON of what the config asks for, leaving out where its files are (the source's
        own sha256 sits beside it in a manifest): the same config gives the same hash on every machine."""
        asked = self.model_dump(mode="json", by_alias=True, exclude={"source", "output", "work_dir"})
        text = json.dumps(asked, sort_keys=True)
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
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{config_path} is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{config_path} is not valid YAML: {_yaml_problem(exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_path} must hold a mapping of keys")
    return raw


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's multi-line message in one line: what is wrong and where (1-based line and column)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"


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
    message = str(error["msg"]).removeprefix("Value error, ")
    if not location:  # a rule across sections: its message says it all
        return message
    if error["type"] == "value_error":  # our own check: its message names the value
        return f"bad value for '{location}': {message}"
    return f"bad value for '{location}': {message} (got {error.get('input')!r})"
