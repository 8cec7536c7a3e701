"""Reading sources: CSV and Parquet come in with their types; checksums follow the bytes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.errors import DataError
from pipelines.sources import file_sha256, read_source
from synth import TabularSynthesizer, infer_schema
from synth.schema import table_to_frame


def test_csv_is_read_with_types_and_nulls(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    lines = ["id,age,score,city,joined"] + [
        f"{i},{20 + i % 50},{'' if i % 10 == 0 else i / 3:.4},{'' if i % 7 == 0 else ['Oslo', 'Lima'][i % 2]},"
        f"2024-01-{1 + i % 28:02d}"
        for i in range(1, 101)
    ]
    path.write_text("\n".join(lines).replace(",nan,", ",,") + "\n", encoding="utf-8")
    table = read_source(path)
    assert table.num_rows == 100
    assert pa.types.is_integer(table.schema.field("age").type)
    assert table.column("city").null_count == 14
    kinds = {c.name: c.kind for c in infer_schema(table)}
    assert kinds == {"id": "id", "age": "integer", "score": "continuous", "city": "categorical", "joined": "datetime"}
    model = TabularSynthesizer(epochs=1, batch_size=50, seed=0, device="cpu").fit(table)
    out = pa.Table.from_pandas(model.sample(30, seed=1), schema=model.schema_.arrow_schema(), preserve_index=False)
    assert out.schema.remove_metadata() == table.schema.remove_metadata()  # dates stay date32, text stays string


def test_checksum_changes_with_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a\n1\n")
    before = file_sha256(path)
    path.write_text("a\n2\n")
    assert file_sha256(path) != before


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"x": [1.5, 2.5, 3.5, 4.5], "flag": pd.array([True, None, False, True], dtype="boolean")})


@pytest.mark.parametrize(
    ("index", "columns"),
    [
        (None, ["x", "flag"]),  # a RangeIndex: metadata only
        (pd.Index([7, 3, 9, 1]), ["x", "flag"]),  # what df.sample(n) leaves: stored as __index_level_0__
        (pd.Index(["a", "b", "c", "d"], name="key"), ["key", "x", "flag"]),  # named: data the user put there
        (pd.RangeIndex(5, 9, name="row"), ["row", "x", "flag"]),  # a named range: written out as a column
        (pd.MultiIndex.from_arrays([[1, 1, 2, 2], [5, 6, 7, 8]], names=["k", None]), ["k", "x", "flag"]),
    ],
    ids=["range", "unnamed", "named", "named-range", "multi"],
)
def test_a_stored_pandas_index_is_dropped_or_kept_as_a_column(
    tmp_path: Path, index: pd.Index | None, columns: list[str]
) -> None:
    frame = _frame() if index is None else _frame().set_index(index)
    frame.to_parquet(tmp_path / "t.parquet")  # pandas' default: the index is stored
    table = read_source(tmp_path / "t.parquet")
    assert table.column_names == columns
    back = table_to_frame(table)
    assert list(back.columns) == columns and isinstance(back.index, pd.RangeIndex)
    assert back["flag"].dtype == "boolean" and back["flag"].isna().sum() == 1
    assert infer_schema(table).names == columns


def test_a_column_named_like_pandas_bookkeeping_is_data(tmp_path: Path) -> None:
    _frame().assign(__index_level_0__=[4, 3, 2, 1]).to_parquet(tmp_path / "t.parquet", index=False)
    assert read_source(tmp_path / "t.parquet").column("__index_level_0__").to_pylist() == [4, 3, 2, 1]


def test_repeated_column_names_are_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b,a,b,c\n1,2,3,4,5\n")
    with pytest.raises(DataError, match=r"repeated column name\(s\) \['a', 'b'\]"):
        read_source(tmp_path / "t.csv")


def test_a_step_table_is_read_once_and_refused_once_its_bytes_change(tmp_path: Path) -> None:
    from pipelines.sources import derived, forget_tables, read_table, write_table

    table = pa.table({"x": list(range(50))})
    ref = write_table(table, tmp_path / "train.parquet")
    assert read_table(ref) is read_table(ref)  # from memory: the run's steps share one read
    calls: list[int] = []

    def make() -> int:
        calls.append(1)
        return len(calls)

    assert derived("key", make) == derived("key", make) == 1  # built once, whoever asks
    pq.write_table(pa.table({"x": list(range(51))}), tmp_path / "train.parquet")
    with pytest.raises(DataError, match="changed after it was written"):
        read_table(ref)
    forget_tables()
    assert derived("key", make) == 2  # a new run builds anew
    forget_tables()
