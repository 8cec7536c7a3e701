"""The two purposes as modes of a config: privacy (a DP model with its budget in the manifest, the post-sampling
filter, stricter gate levels, a widened contract) and augmentation (real rows plus exactly the rows a class balance
needs, marked, published as the augmented kind with the downstream lift measured)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.datasets import load_digits

from pipelines.catalog import load_published
from pipelines.config import PipelineConfig, load_config
from pipelines.errors import ConfigError
from validators import DEFAULT_BOUNDS, PRIVACY_BOUNDS

#: Adult's documented ranges, given as public metadata so no budget goes to estimating them on 600 rows.
ADULT_BOUNDS = (
    "{age: {min: 17, max: 90}, fnlwgt: {min: 12285, max: 1484705}, education_num: {min: 1, max: 16}, "
    "capital_gain: {min: 0, max: 99999}, capital_loss: {min: 0, max: 4356}, hours_per_week: {min: 1, max: 99}}"
)
TINY_MODEL = "model: {epochs: 2, batch_size: 100, seed: 0, generator_dims: [32], discriminator_dims: [32]}"


def _config(tmp_path: Path, source: Path, body: str) -> PipelineConfig:
    path = tmp_path / "run.yaml"
    path.write_text(
        f"name: modes\nsource: {source}\ntarget: income\n{TINY_MODEL}\noutput: {tmp_path / 'published'}\n"
        f"work_dir: {tmp_path / 'work'}\ngate: {{enforce: false}}\n{body}"
    )
    return load_config(path)


@pytest.mark.usefixtures("prefect_harness")
def test_privacy_mode_records_its_budget_filters_and_gates_strictly(tmp_path: Path, adult_file: Path) -> None:
    from pipelines.flow import synthesize

    config = _config(
        tmp_path,
        adult_file,
        f"mode: privacy\nprivacy: {{epsilon: 3.0, rare_category_min: 5, public_metadata: {ADULT_BOUNDS}}}\n"
        "generate: {rows: 300, seed: 1, partitions: 2}\n",
    )
    result = synthesize(config)
    folder = Path(result.published.path)
    manifest = json.loads((folder / "manifest.json").read_text())
    privacy = manifest["privacy"]
    assert manifest["kind"] == "synthetic" and manifest["mode"] == "privacy" and manifest["rows"] == 300
    assert privacy["epsilon_target"] == 3.0 and 0 < privacy["epsilon_spent"] <= 3.0 and privacy["delta"] == 1e-5
    assert privacy["filter"]["asked"] == 300 and privacy["filter"]["drawn"] >= 300 and privacy["filter"]["line"] >= 0
    report = json.loads((folder / "report.json").read_text())
    assert report["context"]["privacy"]["epsilon_spent"] == privacy["epsilon_spent"]  # in the report too
    mia = next(m for m in report["metrics"] if m["name"] == "mia_auc")
    strict, usual = (
        b.levels(mia["reference"], mia["details"]["reference_noise"])[0]
        for b in (PRIVACY_BOUNDS["mia_auc"], DEFAULT_BOUNDS["mia_auc"])
    )
    assert mia["threshold"] == pytest.approx(strict) and strict <= usual  # the stricter default
    frame = load_published("modes", root=config.output)
    assert len(frame) == 300 and frame["age"].between(17, 90).all()
    # the published contract allows the public bounds and the disclosed categories, not the real extremes
    contract = json.loads((folder / "synthetic-contract.json").read_text())
    kwargs = {(e["type"], e["kwargs"].get("column")): e["kwargs"] for e in contract["expectations"]}
    age = kwargs[("expect_column_values_to_be_between", "age")]
    assert (age["min_value"], age["max_value"]) == (17, 90)
    countries = pq.read_table(adult_file)["native_country"].to_pandas().value_counts()
    allowed = set(kwargs[("expect_column_values_to_be_in_set", "native_country")]["value_set"])
    assert not allowed & set(countries[countries < 5].index) and "other" in allowed


@pytest.mark.usefixtures("prefect_harness")
def test_augmentation_mode_adds_exactly_the_rows_a_balance_needs(tmp_path: Path, adult_file: Path) -> None:
    from pipelines.flow import synthesize

    config = _config(
        tmp_path,
        adult_file,
        "mode: augmentation\naugmentation: {balance: {'>50K': 0.5, '<=50K': 0.5}, seeds: 2}\n",
    )
    result = synthesize(config)
    manifest = json.loads((Path(result.published.path) / "manifest.json").read_text())
    assert manifest["kind"] == "augmented" and result.published.version == "v1"
    frame = load_published("modes", kind="augmented", root=config.output)
    real = frame[~frame["is_synthetic"]]
    assert len(real) == manifest["augmentation"]["real_rows"] == 480  # the 80 % training split of 600 rows
    counts = frame["income"].value_counts()
    assert counts[">50K"] == counts["<=50K"] == real["income"].value_counts()["<=50K"]
    assert manifest["rows"] == len(frame) and manifest["augmentation"]["synthetic_rows"] == int(
        frame["is_synthetic"].sum()
    )
    assert {"augmentation_macro_f1_lift", "augmentation_roc_auc_lift", "column_shapes"} <= set(manifest["metrics"])


@pytest.mark.usefixtures("prefect_harness")
def test_image_sets_are_topped_up_per_class(tmp_path: Path) -> None:
    from pipelines.flow import synthesize

    digits = load_digits()
    source = tmp_path / "digits.npz"
    np.savez(source, images=(digits.images * 255 / 16).round().astype(np.uint8), labels=digits.target)
    path = tmp_path / "images.yaml"
    path.write_text(
        f"name: digits-more\nsource: {source}\n"
        "model: {kind: image, epochs: 1, seed: 0, channels: 8, classifier_epochs: 1}\n"
        "mode: augmentation\naugmentation: {balance: {top_up_to: 160}}\n"
        f"output: {tmp_path / 'published'}\nwork_dir: {tmp_path / 'work'}\ngate: {{enforce: false}}\n"
    )
    result = synthesize(load_config(path))
    table = pq.read_table(Path(result.published.path) / "part-00000.parquet")
    assert table.column_names == ["image", "label", "width", "height", "is_synthetic"]
    labels = np.asarray(table["label"].to_pylist())
    assert (np.bincount(labels, minlength=10) >= 160).all()
    synthetic = np.asarray(table["is_synthetic"].to_pylist())
    real_counts = np.bincount(labels[~synthetic], minlength=10)
    assert (np.bincount(labels[synthetic], minlength=10) == np.maximum(160 - real_counts, 0)).all()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("mode: privacy\n", "mode: privacy needs a privacy section"),
        ("privacy: {epsilon: 1}\n", "the privacy section is for mode: privacy"),
        ("mode: privacy\nprivacy: {epsilon: 0}\n", "privacy.epsilon"),
        ("mode: augmentation\naugmentation: {seeds: 1}\n", "augmentation.seeds"),
        ("target: null\nmode: augmentation\n", "needs the class column"),
        ("model: {kind: image}\nmode: privacy\nprivacy: {epsilon: 1}\n", "mode: privacy is for tables"),
    ],
)
def test_mode_settings_are_checked_when_the_config_loads(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"name: a\nsource: x.csv\ntarget: income\n{body}")
    with pytest.raises(ConfigError, match=message):
        load_config(path)
