"""Config loading: valid YAML works with paths resolved from the caller's directory; each mistake names its key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from pipelines.config import load_config
from pipelines.errors import ConfigError
from synth import ImageSynthesizer, ParameterError, TabularSynthesizer

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_shipped_adult_config_loads_with_paths_from_the_working_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    config = load_config("configs/adult.yaml")
    assert config.source == ROOT / "data" / "adult" / "adult_train.parquet"
    assert config.output == (ROOT / "data" / "published").as_posix()
    assert config.target == "income" and config.gate.enforce


def test_output_root_defaults_to_synth_root_and_keeps_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYNTH_ROOT", "/srv/catalog")
    assert load_config(_write(tmp_path, "name: a\nsource: x.csv\n")).output == "/srv/catalog"
    monkeypatch.delenv("SYNTH_ROOT")
    assert load_config(_write(tmp_path, "name: a\nsource: x.csv\n")).output == (tmp_path / "data/published").as_posix()
    url = load_config(_write(tmp_path, "name: a\nsource: x.csv\noutput: s3://bucket/synthetic\n"))
    assert url.output == "s3://bucket/synthetic"


def test_config_hash_ignores_where_the_files_are(tmp_path: Path) -> None:
    text = "name: a\nsource: x.csv\nmodel: {epochs: 3}\n"
    here = load_config(_write(tmp_path, text), base=tmp_path)
    elsewhere = load_config(_write(tmp_path, text), base=tmp_path / "other")
    assert here.source != elsewhere.source and here.digest() == elsewhere.digest()
    assert load_config(_write(tmp_path, text.replace("3", "4"))).digest() != here.digest()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: a\nsource: x.csv\nmodell: {}\n", "unknown key 'modell'; did you mean 'model'?"),
        ("name: a\nsource: x.csv\nmodel: {epoch: 3}\n", "unknown key 'model.epoch'; did you mean 'epochs'?"),
        ("name: a\nsource: x.csv\ngate: {enforced: true}\n", "unknown key 'gate.enforced'; did you mean 'enforce'?"),
        ("name: a\n", "missing required key 'source'"),
        ("name: a\nsource: x\nmodel: {epochs: 0}\n", "bad value for 'model.epochs': epochs must be an int >= 1, got 0"),
        ("name: Bad Name\nsource: x\n", "bad value for 'name'"),
        ("- just\n- a list\n", "must hold a mapping"),
        ("name: [unclosed\n", "not valid YAML"),
        (
            "name: a\nsource: x\nschedule: {cron: '61 * * * *'}\n",
            "bad value for 'schedule.cron': Invalid cron",
        ),
        (
            "name: a\nsource: x\nschedule: {cron: '0 3 * * *', timezone: Mars/Base}\n",
            "bad value for 'schedule.timezone'",
        ),
        ("name: a\nsource: x\nrunner: {address: 'tcp://h:8786'}\n", "runner.address is for kind: dask"),
        ("name: a\nsource: x\nrunner: {kind: spark}\n", "bad value for 'runner.kind'"),
        ("name: a\nsource: x\ngenerate: {partitions: 0}\n", "bad value for 'generate.partitions'"),
        ("name: a\nsource: x\npublish: {keep: 0}\n", "bad value for 'publish.keep'"),
    ],
)
def test_config_mistakes_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("?", r"\?").replace("(", r"\(")):
        load_config(_write(tmp_path, text))


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_model_section_passes_only_what_was_set() -> None:
    """Defaults live in the estimator's signature only; the config forwards what the user wrote."""
    from pipelines.config import ModelConfig

    assert ModelConfig(epochs=5).estimator_params() == {"epochs": 5}
    assert ModelConfig(kind="image", channels=8).estimator_params() == {"channels": 8}
    assert ModelConfig(generator_dims=[64, 64]).estimator_params() == {"generator_dims": (64, 64)}


@pytest.mark.parametrize("estimator", [TabularSynthesizer, ImageSynthesizer])
def test_every_estimator_keyword_is_a_config_key_refused_in_the_same_words(estimator: type) -> None:
    """One declaration per parameter: each keyword of the estimator is a key of the model section (or, for the
    privacy keywords, of the privacy section), and each bad value is refused by both with the same message."""
    from pipelines.config import PRIVACY_KEYS, ModelConfig, PrivacyConfig

    kind = "image" if estimator is ImageSynthesizer else "tabular"
    keywords = set(estimator().get_params())
    assert set(estimator._parameter_constraints) == keywords  # every keyword declared, nothing else
    assert keywords <= set(ModelConfig.model_fields) | set(PRIVACY_KEYS)
    candidates = [0, -1, 0.5, 1.5, 2, True, "x", "", None, [], [0], {"a": 1}, float("nan"), "cuda:7", "xx_YY"]
    refused = 0
    for name in sorted(keywords):
        section, extra = (PrivacyConfig, {}) if name in PRIVACY_KEYS else (ModelConfig, {"kind": kind})
        if name != "epsilon":
            extra |= {"epsilon": 1.0} if section is PrivacyConfig else {}
        for value in candidates:
            try:
                estimator(**{name: value}).validate_params()
                python = None
            except ParameterError as exc:
                python = str(exc)
            if value is None and name != "epsilon":
                continue  # an unset key: the estimator's default, by design
            try:
                section(**{**extra, name: value})
                config = None
            except ValidationError as exc:
                config = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
            if name == "epsilon" and value is None:
                assert config == "privacy.epsilon must be a number > 0, got None"  # required in privacy mode
                continue
            assert config == python, (name, value)
            refused += python is not None
    assert refused > 2 * len(keywords)


def test_digest_is_stable_and_changes_with_content(tmp_path: Path) -> None:
    first = load_config(_write(tmp_path, "name: a\nsource: x.csv\n"), base=tmp_path)
    same = load_config(_write(tmp_path, "source: x.csv\nname: a\n"), base=tmp_path)
    other = load_config(_write(tmp_path, "name: a\nsource: x.csv\nmodel: {epochs: 3}\n"), base=tmp_path)
    assert first.digest() == same.digest() != other.digest()


def test_gate_levels_override_and_stay_in_order(tmp_path: Path) -> None:
    gate = load_config(_write(tmp_path, "name: a\nsource: x.csv\ngate: {column_shapes: 0.02, mia_auc: 0.08}\n")).gate
    bounds = gate.bounds()
    assert bounds["column_shapes"].fail == 0.02 and bounds["column_shapes"].warn is None  # old warn lay beyond it
    assert bounds["mia_auc"].fail == 0.08 and bounds["mia_auc"].warn == 0.05
    switched = "name: a\nsource: x.csv\ngate: {pair_trends: {fail: 0.85, relative: false}}\n"
    assert load_config(_write(tmp_path, switched)).gate.bounds()["pair_trends"].warn is None
    backwards = "name: a\nsource: x.csv\ngate: {exact_copy_rate: {fail: 0.01, warn: 0.02}}\n"
    with pytest.raises(ConfigError, match=r"gate.exact_copy_rate: warn level 0.02 is not stricter than fail level"):
        load_config(_write(tmp_path, backwards))


@pytest.mark.parametrize("model", ["{kind: tabular, epochs: 3}", "{kind: image, epochs: 3, channels: 8}"])
def test_a_dumped_config_loads_again_as_a_deployment_parameter(tmp_path: Path, model: str) -> None:
    """A deployment passes the whole config, every default spelled out; it must validate as it was written."""
    from pipelines.config import PipelineConfig

    config = load_config(_write(tmp_path, f"name: a\nsource: x.npz\nmodel: {model}\n"))
    dumped = config.model_dump(mode="json", by_alias=True)
    assert PipelineConfig.model_validate(dumped) == config
