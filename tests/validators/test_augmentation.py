"""The augmentation gate: harmful additions (shuffled or flipped labels) fail, unseen real minority rows pass,
the same seeds give the same records, and inputs that cannot be compared are clear errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synth import infer_schema
from synth.schema import Schema, table_to_frame
from validators import MetricInputError, MetricResult, augmentation_lift, decide

ADULT = Path(__file__).resolve().parents[2] / "data" / "adult" / "adult_train.parquet"


@pytest.fixture(scope="module")
def data(adult_table: pa.Table) -> dict[str, pd.DataFrame]:
    """The 600 training rows, a 2,000-row holdout and a pool of further rows, none of them equal to a train row."""
    train = table_to_frame(adult_table)
    full = table_to_frame(pq.read_table(ADULT))
    unseen = full.merge(train.drop_duplicates(), how="left", indicator=True)
    unseen = unseen[unseen["_merge"] == "left_only"].drop(columns="_merge")
    unseen = unseen.iloc[np.random.default_rng(1).permutation(len(unseen))].reset_index(drop=True)
    return {"train": train, "holdout": unseen.iloc[:2000].reset_index(drop=True), "pool": unseen.iloc[2000:]}


@pytest.fixture(scope="module")
def schema(data: dict[str, pd.DataFrame]) -> Schema:
    return infer_schema(data["train"])


def augmented(train: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    parts = [train.assign(is_synthetic=False), extra.reset_index(drop=True).assign(is_synthetic=True)]
    return pd.concat(parts, ignore_index=True)


def by_name(records: list[MetricResult]) -> dict[str, MetricResult]:
    return {r.name: r for r in records}


def test_shuffled_labels_fail(data: dict[str, pd.DataFrame], schema: Schema) -> None:
    rows = data["pool"].iloc[:600]
    shuffled = rows.assign(income=rows["income"].to_numpy()[np.random.default_rng(0).permutation(len(rows))])
    records = by_name(augmentation_lift(data["train"], augmented(data["train"], shuffled), data["holdout"],
                                        target="income", schema=schema))  # fmt: skip
    f1 = records["augmentation_macro_f1_lift"]
    assert f1.status == "fail" and f1.family == "utility" and f1.threshold == pytest.approx(-0.01)
    assert f1.details["ci95"][1] < -0.05  # the whole interval is a clear loss
    assert f1.value == pytest.approx(f1.details["ci95"][0])  # the value judged is the lower confidence bound
    assert records["augmentation_roc_auc_lift"].status == "fail"
    assert records["augmentation_minority_recall_lift"].status == "fail"
    assert abs(f1.details["reference_mean_lift"]) < 0.02  # random oversampling of real rows is about neutral
    assert decide(list(records.values())).status == "failed"


def test_minority_rows_relabelled_fail(data: dict[str, pd.DataFrame], schema: Schema) -> None:
    pool = data["pool"]
    flipped = pool[pool["income"] == ">50K"].iloc[:200].assign(income="<=50K")
    records = augmentation_lift(data["train"], augmented(data["train"], flipped), data["holdout"], target="income",
                                schema=schema, seeds=3)  # fmt: skip
    assert [r.status for r in records] == ["fail", "fail", "fail"]


def test_unseen_real_minority_rows_pass(data: dict[str, pd.DataFrame], schema: Schema) -> None:
    pool = data["pool"]
    extra = pool[pool["income"] == ">50K"].iloc[:100]  # >50K from 131 of 600 rows to 231 of 700
    records = by_name(augmentation_lift(data["train"], augmented(data["train"], extra), data["holdout"],
                                        target="income", schema=schema))  # fmt: skip
    f1 = records["augmentation_macro_f1_lift"]
    assert f1.status == "pass" and f1.value > 0
    low, high = f1.details["ci95"]
    assert low <= f1.details["mean_lift"] <= high and len(f1.details["per_seed"]) == 5
    assert f1.details["augmented_mean"] > f1.details["real_only_mean"]
    recall = records["augmentation_minority_recall_lift"]
    assert recall.status == "pass" and recall.details["minority_classes"] == [">50K"]
    assert recall.details["per_class"][">50K"]["augmented"] > recall.details["per_class"][">50K"]["real_only"]
    assert records["augmentation_roc_auc_lift"].passed
    assert decide(list(records.values())).status in ("passed", "warned")


def test_same_seeds_same_records_and_inputs_untouched(data: dict[str, pd.DataFrame], schema: Schema) -> None:
    extra = data["pool"].iloc[:150]
    table = augmented(data["train"], extra)
    before = table.copy()
    first = augmentation_lift(data["train"], table, data["holdout"], target="income", schema=schema, seeds=2)
    second = augmentation_lift(data["train"], table, data["holdout"], target="income", schema=schema, seeds=2)
    assert [r.to_dict() for r in first] == [r.to_dict() for r in second]
    pd.testing.assert_frame_equal(table, before)


def test_multiclass_target(data: dict[str, pd.DataFrame], schema: Schema) -> None:
    pool = data["pool"]
    extra = pool[pool["race"].isin(["Amer-Indian-Eskimo", "Other", "Asian-Pac-Islander"])].iloc[:60]
    records = by_name(augmentation_lift(data["train"], augmented(data["train"], extra), data["holdout"],
                                        target="race", schema=schema, seeds=2, tolerance=0.05))  # fmt: skip
    recall = records["augmentation_minority_recall_lift"]
    assert set(recall.details["minority_classes"]) == {"Amer-Indian-Eskimo", "Asian-Pac-Islander", "Black", "Other"}
    assert records["augmentation_macro_f1_lift"].threshold == pytest.approx(-0.05)
    assert all(np.isfinite(r.value) for r in records.values())


def test_bad_inputs_are_clear_errors(data: dict[str, pd.DataFrame], schema: Schema) -> None:
    train, holdout = data["train"], data["holdout"]
    table = augmented(train, data["pool"].iloc[:50])
    with pytest.raises(MetricInputError, match="target column 'salary' is not in the real training table"):
        augmentation_lift(train, table, holdout, target="salary", schema=schema)
    with pytest.raises(MetricInputError, match="no 'is_synthetic' column"):
        augmentation_lift(train, table.drop(columns="is_synthetic"), holdout, target="income", schema=schema)
    with pytest.raises(MetricInputError, match="must be a boolean column"):
        augmentation_lift(train, table.assign(is_synthetic=1), holdout, target="income", schema=schema)
    with pytest.raises(MetricInputError, match="holds 599 real rows but the real training table 600"):
        augmentation_lift(train, table.iloc[1:], holdout, target="income", schema=schema)
    with pytest.raises(MetricInputError, match="seeds must be an int >= 2"):
        augmentation_lift(train, table, holdout, target="income", schema=schema, seeds=1)
    with pytest.raises(MetricInputError, match="target 'age' is integer"):
        augmentation_lift(train, table, holdout, target="age", schema=schema)
    with pytest.raises(MetricInputError, match=r"minority classes \['rich'\] are not classes"):
        augmentation_lift(train, table, holdout, target="income", schema=schema, minority=["rich"])
    odd = table.assign(income=np.where(table["is_synthetic"], "maybe", table["income"]))
    records = augmentation_lift(train, odd, holdout, target="income", schema=schema)
    assert all(r.status == "error" and "never has: ['maybe']" in r.details["reason"] for r in records)
