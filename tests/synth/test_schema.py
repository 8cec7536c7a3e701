"""Schema inference: kinds, nullability, overrides, JSON round trip, and refusals with named columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from synth import Schema, SchemaError, infer_schema
from synth.schema import table_to_frame


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


def test_arrow_ints_with_nulls_stay_integers() -> None:
    table = pa.table({"n": pa.array([1, None, 3], type=pa.int32())})
    frame = table_to_frame(table)
    assert str(frame["n"].dtype) == "Int32"
    assert infer_schema(table)["n"].kind == "integer"
