"""The Great Expectations contract: built from real rows, it holds for them and names each way a table breaks it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synth import infer_schema
from validators.expectations import build_contract, validate_contract


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    return pd.DataFrame(
        {
            "person_id": np.arange(1, n + 1, dtype=np.int64),
            "age": rng.integers(18, 90, n).astype(np.int64),
            "city": pd.Series(
                np.where(rng.random(n) < 0.1, None, rng.choice(["Oslo", "Lima", "Pune"], n)), dtype="str"
            ),
            "plan": pd.Categorical(rng.choice(["basic", "pro"], n)),
        }
    )


def test_contract_holds_for_its_own_data(people: pd.DataFrame, tmp_path: Path) -> None:
    schema = infer_schema(people)
    for kind in ("input", "synthetic"):
        contract = build_contract(people, schema, kind=kind, rows=len(people))
        result = validate_contract(people, contract, docs_dir=tmp_path / kind)
        assert result.success, result.failures
        assert result.evaluated == len(contract["expectations"])
    assert (tmp_path / "synthetic" / "index.html").is_file()  # GX's data docs, offline


def test_a_table_of_repeated_rows_keeps_its_own_input_contract(people: pd.DataFrame) -> None:
    """Its keys repeat where its rows do, so only the synthetic contract, whose keys are fresh, asks for unique ones."""
    repeated = pd.concat([people, people.iloc[:30]], ignore_index=True)
    schema = infer_schema(repeated)
    assert schema["person_id"].kind == "id"
    input_contract = build_contract(repeated, schema, kind="input")
    assert validate_contract(repeated, input_contract).success
    synthetic = build_contract(repeated, schema, kind="synthetic", rows=len(repeated))
    assert "expect_column_values_to_be_unique(column='person_id'" in " ".join(
        validate_contract(repeated, synthetic).failures
    )


@pytest.mark.parametrize(
    ("change", "broken"),
    [
        (lambda f: f.drop(columns=["city"]), "expect_table_columns_to_match_ordered_list"),
        (lambda f: f.assign(age=f["age"].astype(str)), "expect_column_values_to_be_of_type(column='age'"),
        (lambda f: f.assign(age=f["age"] + 100), "expect_column_values_to_be_between(column='age'"),
        (lambda f: f.assign(city="Paris"), "expect_column_values_to_be_in_set(column='city'"),
        (lambda f: f.assign(person_id=1), "expect_column_values_to_be_unique(column='person_id'"),
        (
            lambda f: f.assign(city=None).astype({"city": "str"}),
            "expect_column_proportion_of_non_null_values_to_be_between(column='city'",
        ),
        (lambda f: f.iloc[:50], "expect_table_row_count_to_equal"),
        (lambda f: f.assign(age=None).astype({"age": "float64"}), "expect_column_values_to_not_be_null(column='age'"),
    ],
)
def test_each_break_is_named(people: pd.DataFrame, change, broken: str) -> None:  # type: ignore[no-untyped-def]
    contract = build_contract(people, infer_schema(people), kind="synthetic", rows=len(people))
    result = validate_contract(change(people), contract)
    assert not result.success
    assert any(line.startswith(broken) for line in result.failures), result.failures


def test_privacy_options_widen_ranges_and_drop_rare_categories(people: pd.DataFrame) -> None:
    rare = people.assign(city=people["city"].where(people.index > 0, "Reykjavik"))
    contract = build_contract(rare, infer_schema(rare), kind="synthetic", widen_ranges=0.5, min_category_count=2)
    kwargs = {e["type"] + ":" + e["kwargs"].get("column", ""): e["kwargs"] for e in contract["expectations"]}
    assert "Reykjavik" not in kwargs["expect_column_values_to_be_in_set:city"]["value_set"]
    between = kwargs["expect_column_values_to_be_between:age"]
    assert between["min_value"] < people["age"].min() and between["max_value"] > people["age"].max()


def test_an_all_null_column_gets_no_type_and_a_wide_table_builds_fast(people: pd.DataFrame) -> None:
    wide = people.assign(empty=pd.Series([None] * len(people), dtype=object))
    wide = pd.concat([wide] + [people[["age"]].rename(columns={"age": f"age_{i}"}) for i in range(150)], axis=1)
    contract = build_contract(wide, infer_schema(wide), kind="synthetic", rows=len(wide))
    typed = {
        e["kwargs"]["column"] for e in contract["expectations"] if e["type"] == "expect_column_values_to_be_of_type"
    }
    assert "empty" not in typed and "age_149" in typed
    result = validate_contract(wide, contract)
    assert result.success and result.evaluated == len(contract["expectations"])
