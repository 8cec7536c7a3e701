"""Schema inference: kinds, nullability, overrides, JSON round trip, and refusals with named columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from synth import Schema, SchemaError, infer_schema
from synth.schema import format_text_dates, parse_text_dates, table_to_frame


def test_kinds_and_nulls_of_a_mixed_table(mixed_frame: pd.DataFrame) -> None:
    schema = infer_schema(mixed_frame)
    kinds = {c.name: c.kind for c in schema}
    assert kinds == {
        "customer_id": "id",
        "age": "integer",
        "visits": "integer",
        "income": "continuous",
        "member": "boolean",
        "plan": "categorical",
        "city": "categorical",
        "signed_up": "datetime",
        "country": "constant",
    }
    assert {c.name for c in schema if c.nullable} == {"visits", "income", "city"}
    assert schema.names == list(mixed_frame.columns)


def test_adult_schema_from_arrow(adult_table: pa.Table) -> None:
    schema = infer_schema(adult_table)
    assert schema["age"].kind == "integer"
    assert schema["workclass"].kind == "categorical" and schema["workclass"].nullable
    assert schema.arrow_schema() == adult_table.schema.remove_metadata()


def test_json_round_trip_keeps_everything(mixed_frame: pd.DataFrame) -> None:
    schema = infer_schema(mixed_frame)
    again = Schema.from_json(schema.to_json())
    assert again == schema
    assert again.arrow_schema() == schema.arrow_schema()


def test_override_changes_kind_and_refuses_nonsense(mixed_frame: pd.DataFrame) -> None:
    schema = infer_schema(mixed_frame).with_kinds({"age": "categorical"})
    assert schema["age"].kind == "categorical"
    with pytest.raises(SchemaError, match=r"'city'.*not numeric"):
        schema.with_kinds({"city": "continuous"})
    with pytest.raises(SchemaError, match="unknown column"):
        schema.with_kinds({"nope": "categorical"})
    with pytest.raises(SchemaError, match="unknown kind 'text'"):
        schema.with_kinds({"city": "text"})


def test_all_null_column_passes_through_as_a_constant() -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "empty": [None, None, None]})
    spec = infer_schema(frame)["empty"]
    assert (spec.kind, spec.nullable, spec.arrow_type) == ("constant", True, "null")


def test_empty_table_is_refused() -> None:
    with pytest.raises(SchemaError, match="no rows"):
        infer_schema(pd.DataFrame({"a": pd.Series([], dtype="int64")}))


def test_unmodellable_type_is_refused_by_name() -> None:
    table = pa.table({"a": [1, 2, 3], "tags": [[1], [2], [3]]})
    with pytest.raises(SchemaError, match=r"column 'tags'.*list"):
        infer_schema(table)


def test_text_unique_per_row_is_an_id_but_small_tables_are_not() -> None:
    many = pd.DataFrame({"code": [f"c{i}" for i in range(50)], "x": np.arange(50.0)})
    few = pd.DataFrame({"code": [f"c{i}" for i in range(5)], "x": np.arange(5.0)})
    assert infer_schema(many)["code"].kind == "id"
    assert infer_schema(few)["code"].kind == "categorical"


@pytest.mark.parametrize("name", ["rownames", "Unnamed: 0", "index", "__index_level_0__", "...1", "row_number"])
def test_row_numbers_of_a_sampled_table_are_ids(name: str) -> None:
    kept = np.sort(np.random.default_rng(0).choice(10_000, size=200, replace=False))  # not consecutive
    frame = pd.DataFrame({name: kept, "price": kept * 3 + 7, "x": np.arange(200.0)})
    kinds = {c.name: c.kind for c in infer_schema(frame)}
    assert kinds == {name: "id", "price": "integer", "x": "continuous"}


@pytest.mark.parametrize("name", ["uid", "patient_id", "PatientID", "caseid", "case_number", "record_no"])
def test_an_integer_key_is_an_id_in_a_table_of_repeated_rows(name: str) -> None:
    """A case number repeats where rows do (a duplicated row, a person interviewed twice): it is still a key, never a
    number to learn, whose generated values would land on real case numbers."""
    keys = np.random.default_rng(0).choice(10_000_000, size=300, replace=False) + 19_780_000
    frame = pd.DataFrame({name: keys, "x": np.arange(300.0)})
    repeated = pd.concat([frame, frame.iloc[:40]], ignore_index=True)
    assert infer_schema(repeated)[name].kind == "id"


@pytest.mark.parametrize("name", ["store_id", "paid", "pid7", "number", "key_count"])
def test_codes_with_few_values_and_names_that_only_look_like_keys_stay_integers(name: str) -> None:
    """45 stores in 300 rows are a feature to learn; ``paid`` and ``pid7`` do not name keys."""
    rng = np.random.default_rng(0)
    values = rng.integers(0, 45, 300) if name == "store_id" else rng.choice(10_000, size=300) + 100
    frame = pd.DataFrame({name: values, "x": np.arange(300.0)})
    frame = pd.concat([frame, frame.iloc[:40]], ignore_index=True)
    assert infer_schema(frame)[name].kind == "integer"


def test_arrow_ints_with_nulls_stay_integers() -> None:
    table = pa.table({"n": pa.array([1, None, 3], type=pa.int32())})
    frame = table_to_frame(table)
    assert str(frame["n"].dtype) == "Int32"
    assert infer_schema(table)["n"].kind == "integer"


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        (["2013-05-24 06:06:17", "2014-01-02 23:59:00"], "%Y-%m-%d %H:%M:%S"),
        (["1985-07-19", "1999-12-31"], "%Y-%m-%d"),
        (["07/19/1985", "12/31/1999"], "%m/%d/%Y"),
        (["19/07/1985", "31/12/1999"], "%d/%m/%Y"),
        (["2013-05-24T06:06:17Z", "2014-01-02T00:00:00Z"], "%Y-%m-%dT%H:%M:%SZ"),
        (["2013-05-24T06:06:17+02:00", "2014-01-02T00:00:00-05:00"], "%Y-%m-%dT%H:%M:%S%z"),
    ],
)
def test_dates_stored_as_text_are_datetimes_that_come_back_as_text(text: list[str], fmt: str) -> None:
    frame = pd.DataFrame({"when": [*(text * 15)[:30], None], "n": range(31)})
    spec = infer_schema(frame)["when"]
    assert (spec.kind, spec.text_format, spec.is_text_date) == ("datetime", fmt, True)
    schema = infer_schema(frame)
    parsed = parse_text_dates(frame, schema)
    assert pd.api.types.is_datetime64_any_dtype(parsed["when"]) and parsed["when"].isna().sum() == 1
    back = format_text_dates(parsed, schema)["when"]
    assert back.dtype == frame["when"].dtype
    assert (
        pd.to_datetime(back, format=fmt, utc=True) == pd.to_datetime(frame["when"], format=fmt, utc=True)
    ).sum() == 30
    assert Schema.from_json(schema.to_json()) == schema


def test_text_that_is_not_all_dates_stays_categorical() -> None:
    frame = pd.DataFrame({"when": ["2013-05-24", "soon", "2014-01-02"] * 10})
    spec = infer_schema(frame)["when"]
    assert (spec.kind, spec.text_format) == ("categorical", None)
    with pytest.raises(SchemaError, match="cannot be modelled as datetime"):
        infer_schema(frame).with_kinds({"when": "datetime"})
