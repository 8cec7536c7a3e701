"""Table shapes at the edges, built in code: each is modelled (same row count, same Arrow types out as in), passed
through by a stated rule (an all-null column stays all null, a constant column stays constant), or refused with one
SchemaError naming the column and why; in memory and after a Parquet round trip through read_source.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.errors import DataError
from pipelines.sources import read_source
from synth import SchemaError, TabularSynthesizer, infer_schema
from synth.schema import table_to_frame

FAST: dict[str, Any] = {
    "epochs": 1,
    "batch_size": 200,
    "generator_dims": (16,),
    "discriminator_dims": (16,),
    "device": "cpu",
    "seed": 0,
    "validation_share": 0.0,
}
ROWS = 200
SAMPLE_ROWS = 25

Rule = Literal["modelled", "refused", "all_null", "constant"]


@dataclass(frozen=True)
class Shape:
    """A table builder and what must become of the table.

    ``rule``: "modelled" (fit and sample keep the row count and the Arrow types; integers stay in the real range),
    "refused" (one SchemaError naming ``column`` and matching ``why``), "all_null" / "constant" (modelled, and
    ``column`` comes out all null / holding the input's one value). ``refusable``: a refusal as "refused" describes
    it is an acceptable answer too.
    """

    build: Callable[[], pd.DataFrame]
    rule: Rule
    column: str | None = None
    why: str = ""
    refusable: bool = False
    parquet: dict[str, Any] = field(default_factory=dict)


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _with_nulls(values: Any, share: float = 0.15) -> list[Any]:
    """The values as a list with about ``share`` of them replaced by None."""
    mask = _rng().random(len(values)) < share
    return [None if null else value for value, null in zip(list(values), mask, strict=True)]


def _frame(column: str, values: Any, *, rows: int = ROWS) -> pd.DataFrame:
    """The column under test beside an ordinary numeric and text column."""
    rng = _rng()
    return pd.DataFrame(
        {
            column: values,
            "x": rng.normal(size=rows),
            "group": pd.Series(rng.choice(["a", "b", "c"], rows), dtype="str"),
        }
    )


def _ints(rows: int = ROWS) -> np.ndarray:
    return _rng().integers(0, 50, rows)


def _stamps(unit: str, tz: str | None, rows: int = ROWS) -> pd.Series:
    """Whole seconds (so every unit holds them exactly) between 2001 and 2024."""
    seconds = _rng().integers(1_000_000_000, 1_700_000_000, rows)
    stamps = pd.Series(pd.to_datetime(seconds, unit="s")).astype(f"datetime64[{unit}]")
    return stamps if tz is None else stamps.dt.tz_localize(tz)


def _dates(rows: int = ROWS) -> list[dt.date]:
    return [dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in _rng().integers(0, 20_000, rows)]


def _far_dates(far: dt.date, rows: int = ROWS) -> list[dt.date]:
    """Dates with a quarter of them at ``far``, beyond the years nanosecond timestamps reach (1677 to 2262)."""
    return [far if i % 4 == 0 else day for i, day in enumerate(_dates(rows))]


def test_dates_beyond_nanosecond_timestamps_come_back_exactly() -> None:
    """A "no end" date of 9999-12-31 and a date of the 12th century (a typo in a real table) are values like any
    other: held by many rows, they come out as themselves, and text dates keep their format."""
    frame = _frame("ends", _far_dates(dt.date(9999, 12, 31)))
    frame["began"] = pd.Series(_far_dates(dt.date(1182, 3, 1))).map(lambda day: day.isoformat())
    assert infer_schema(frame)["began"].kind == "datetime"
    rows = _fit(frame).sample(400, seed=1)
    assert (rows["ends"] == dt.date(9999, 12, 31)).any() and rows["ends"].max() == dt.date(9999, 12, 31)
    assert (rows["began"] == "1182-03-01").any() and rows["began"].min() == "1182-03-01"


def _small_mixed(rows: int) -> pd.DataFrame:
    rng = _rng()
    return pd.DataFrame(
        {
            "x": rng.normal(size=rows),
            "n": rng.integers(0, 9, rows),
            "group": pd.Series(rng.choice(["a", "b"], rows), dtype="str"),
            "flag": rng.random(rows) < 0.5,
        }
    )


def _duplicated_rows() -> pd.DataFrame:
    unique = _small_mixed(140)
    return pd.concat([unique, unique.sample(60, random_state=0)], ignore_index=True)


def _many_levels() -> pd.DataFrame:
    """50,000 levels over 60,000 rows (1 epoch takes about 3 s here with a batch of 10,000)."""
    rng = _rng()
    levels = rng.permutation(np.resize(np.arange(50_000), 60_000))
    return pd.DataFrame({"code": pd.Series([f"level-{i}" for i in levels], dtype="str"), "x": rng.normal(size=60_000)})


def _wide() -> pd.DataFrame:
    rng, rows = _rng(), 30
    makers: list[Callable[[], Any]] = [
        lambda: rng.normal(size=rows),
        lambda: rng.integers(0, 9, rows),
        lambda: pd.Series(rng.choice(["u", "v", "w"], rows), dtype="str"),
        lambda: rng.random(rows) < 0.5,
    ]
    return pd.DataFrame({f"c{i:03d}": makers[i % len(makers)]() for i in range(300)})


_WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "seven",
    "wizards",
    "quietly",
    "box;",
    "yes,",
    "no!",
    "maybe?",
]


def _free_text() -> list[str]:
    rng = _rng()
    return [" ".join(rng.choice(_WORDS, rng.integers(5, 16))).capitalize() + "." for _ in range(ROWS)]


def _odd_names() -> pd.DataFrame:
    rng = _rng()
    names = ["名前", "first name", "price ($)", "a.b,c;d", 'it\'s "quoted"', "émoji 🎉", "  padded  ", "0", "x/y\\z"]
    makers: list[Callable[[], Any]] = [
        lambda: pd.Series(rng.choice(["Oslo", "Lima", "Pune"], ROWS), dtype="str"),
        lambda: rng.normal(size=ROWS),
        lambda: rng.integers(0, 9, ROWS),
    ]
    return pd.DataFrame({name: makers[i % len(makers)]() for i, name in enumerate(names)})


def _internal_names() -> pd.DataFrame:
    rng = _rng()
    return pd.DataFrame(
        {
            "__index_level_0__": rng.integers(0, 9, ROWS),
            "is_synthetic": rng.random(ROWS) < 0.5,
            "x": rng.normal(size=ROWS),
        }
    )


def _nested(values: list[Any]) -> pd.DataFrame:
    return _frame("nested", values)


def _decimals() -> list[decimal.Decimal]:
    return [decimal.Decimal(f"{v / 100:.2f}") for v in _rng().integers(-100_000, 100_000, ROWS)]


def _big_ints() -> np.ndarray:
    """int64 values above 2**53, up to the type's maximum, that float64 cannot hold exactly."""
    values = 2**53 + _rng().integers(0, 10**6, ROWS) * 7919
    values[:3] = [2**63 - 1, 2**62 + 1, 2**53 + 1]
    return values.astype(np.int64)


def _uint64s() -> np.ndarray:
    values = (2**63 + _rng().integers(0, 10**6, ROWS).astype(np.uint64) * np.uint64(7919)).astype(np.uint64)
    values[:2] = [2**64 - 1, 0]
    return values


def _infinities() -> np.ndarray:
    values = _rng().normal(size=ROWS)
    values[:4] = [np.inf, -np.inf, np.inf, -np.inf]
    return values


def _negative_zero() -> np.ndarray:
    values = _rng().normal(size=ROWS)
    values[:20] = -0.0
    return values


SHAPES: dict[str, Shape] = {
    # pandas extension dtypes, with and without nulls
    "Int64": Shape(lambda: _frame("v", pd.array(_ints(), dtype="Int64")), "modelled"),
    "Int64_nulls": Shape(lambda: _frame("v", pd.array(_with_nulls(_ints()), dtype="Int64")), "modelled"),
    "Float64": Shape(lambda: _frame("v", pd.array(_rng().normal(size=ROWS), dtype="Float64")), "modelled"),
    "Float64_nulls": Shape(
        lambda: _frame("v", pd.array(_with_nulls(_rng().normal(size=ROWS)), dtype="Float64")), "modelled"
    ),
    "boolean": Shape(lambda: _frame("v", pd.array(_rng().random(ROWS) < 0.4, dtype="boolean")), "modelled"),
    "boolean_nulls": Shape(
        lambda: _frame("v", pd.array(_with_nulls(_rng().random(ROWS) < 0.4), dtype="boolean")), "modelled"
    ),
    "string_pyarrow": Shape(
        lambda: _frame("v", pd.array(_rng().choice(["p", "q", "r"], ROWS), dtype="string[pyarrow]")), "modelled"
    ),
    "string_pyarrow_nulls": Shape(
        lambda: _frame("v", pd.array(_with_nulls(_rng().choice(["p", "q", "r"], ROWS)), dtype="string[pyarrow]")),
        "modelled",
    ),
    "categorical_ordered_unused": Shape(
        lambda: _frame(
            "v",
            pd.Categorical(
                _rng().choice(["low", "mid", "high"], ROWS), categories=["low", "mid", "high", "unused"], ordered=True
            ),
        ),
        "modelled",
    ),
    "numpy_bool_object_nulls": Shape(
        lambda: _frame("v", pd.Series(_with_nulls(_rng().random(ROWS) < 0.4), dtype=object)), "modelled"
    ),
    # timestamps of every unit, naive and zone-aware; dates; durations
    **{
        f"timestamp_{unit}_{tz or 'naive'}": Shape(lambda unit=unit, tz=tz: _frame("t", _stamps(unit, tz)), "modelled")
        for unit in ("s", "ms", "us", "ns")
        for tz in (None, "UTC", "Asia/Kolkata")
    },
    "timestamp_ns_nat": Shape(lambda: _frame("t", _stamps("ns", "UTC").mask(_rng().random(ROWS) < 0.1)), "modelled"),
    "date": Shape(lambda: _frame("d", _dates()), "modelled"),
    "date_no_end_sentinel": Shape(lambda: _frame("d", _far_dates(dt.date(9999, 12, 31))), "modelled"),
    "timestamp_us_twelfth_century": Shape(
        lambda: _frame("t", pd.Series(_far_dates(dt.date(1182, 3, 1))).astype("datetime64[us]")), "modelled"
    ),
    "date_nulls": Shape(lambda: _frame("d", _with_nulls(_dates())), "modelled"),
    "duration": Shape(
        lambda: _frame("span", pd.to_timedelta(_rng().integers(0, 10**6, ROWS), unit="s")),
        "modelled",
        "span",
        "duration|timedelta",
        refusable=True,
    ),
    # numbers at the edges of their types
    "decimal128": Shape(lambda: _frame("amount", _decimals()), "modelled", "amount", "decimal", refusable=True),
    "uint64": Shape(lambda: _frame("big", _uint64s()), "modelled", "big", "uint64", refusable=True),
    "int64_above_2_53": Shape(lambda: _frame("big", _big_ints()), "modelled", "big", "", refusable=True),
    "float_infinities": Shape(lambda: _frame("f", _infinities()), "modelled", "f", "infinite", refusable=True),
    "float_negative_zero": Shape(lambda: _frame("f", _negative_zero()), "modelled"),
    # pass-through rules
    "all_null_float": Shape(lambda: _frame("empty", np.full(ROWS, np.nan)), "all_null", "empty"),
    "all_null_Int64": Shape(lambda: _frame("empty", pd.array([None] * ROWS, dtype="Int64")), "all_null", "empty"),
    "all_null_str": Shape(lambda: _frame("empty", pd.Series([None] * ROWS, dtype="str")), "all_null", "empty"),
    "all_null_object": Shape(lambda: _frame("empty", pd.Series([None] * ROWS, dtype=object)), "all_null", "empty"),
    "all_null_timestamp": Shape(
        lambda: _frame("empty", pd.Series(pd.NaT, index=range(ROWS), dtype="datetime64[ns, UTC]")), "all_null", "empty"
    ),
    "constant_int": Shape(lambda: _frame("k", np.full(ROWS, 7, dtype=np.int64)), "constant", "k"),
    "constant_text": Shape(lambda: _frame("k", pd.Series(["NO"] * ROWS, dtype="str")), "constant", "k"),
    "constant_bool": Shape(lambda: _frame("k", np.ones(ROWS, dtype=bool)), "constant", "k"),
    "constant_timestamp": Shape(
        lambda: _frame("k", pd.Series([pd.Timestamp("2024-05-01", tz="UTC")] * ROWS)), "constant", "k"
    ),
    # nothing for the networks to learn: every column constant, an id or all null
    "only_constant_columns": Shape(
        lambda: pd.DataFrame({"k": np.full(ROWS, 7, dtype=np.int64), "s": pd.Series(["NO"] * ROWS, dtype="str")}),
        "constant",
        "k",
        refusable=True,
    ),
    "only_id_column": Shape(
        lambda: pd.DataFrame({"row_id": np.arange(ROWS, dtype=np.int64)}), "modelled", refusable=True
    ),
    "only_all_null_column": Shape(
        lambda: pd.DataFrame({"empty": np.full(ROWS, np.nan)}), "all_null", "empty", refusable=True
    ),
    # table sizes and repeats
    **{
        f"rows_{n}": Shape(
            lambda n=n: _small_mixed(n), "modelled", None, rf"\b{n}\b.*\brows?\b|\brows?\b.*\b{n}\b", refusable=True
        )
        for n in (1, 2, 10)
    },
    "duplicated_rows_30pct": Shape(_duplicated_rows, "modelled"),
    "text_50000_levels": Shape(_many_levels, "modelled"),
    "columns_300": Shape(_wide, "modelled"),
    "free_text": Shape(lambda: _frame("note", pd.Series(_free_text(), dtype="str")), "modelled"),
    # column names
    "odd_column_names": Shape(_odd_names, "modelled"),
    "internal_column_names": Shape(_internal_names, "modelled", parquet={"index": False}),
    # nested and binary types
    "list": Shape(lambda: _nested([[int(v), 1] for v in _ints()]), "refused", "nested", "list"),
    "struct": Shape(lambda: _nested([{"a": int(v), "b": "s"} for v in _ints()]), "refused", "nested", "struct"),
    "binary": Shape(lambda: _nested([bytes([int(v)]) * 3 for v in _ints()]), "refused", "nested", "binary"),
}


def arrow_types(frame: pd.DataFrame) -> list[tuple[str, pa.DataType]]:
    """(name, Arrow type) of each column, as a pipeline writes the frame."""
    return [(f.name, f.type) for f in pa.Table.from_pandas(frame, preserve_index=False).schema]


def _fit(frame: pd.DataFrame) -> TabularSynthesizer:
    options = FAST if len(frame) < 10_000 else {**FAST, "batch_size": 10_000}
    return TabularSynthesizer(**options).fit(frame, infer_schema(frame))


def assert_refusal(error: SchemaError, column: str | None, why: str) -> None:
    """One line, naming the column (when there is one) and matching the reason."""
    message = str(error)
    assert "\n" not in message, message
    if column is not None:
        assert column in message, message
    assert re.search(why, message, re.IGNORECASE), message


def assert_modelled(frame: pd.DataFrame, model: TabularSynthesizer) -> pd.DataFrame:
    rows = model.sample(SAMPLE_ROWS, seed=1)
    assert len(rows) == SAMPLE_ROWS
    assert list(rows.columns) == list(frame.columns)
    assert arrow_types(rows) == arrow_types(frame)
    return rows


def check_shape(frame: pd.DataFrame, shape: Shape) -> None:
    """The shape's rule, on ``frame``."""
    if shape.rule == "refused":
        with pytest.raises(SchemaError) as caught:
            _fit(frame)
        assert_refusal(caught.value, shape.column, shape.why)
        return
    try:
        model = _fit(frame)
    except SchemaError as error:
        if not shape.refusable:
            raise
        assert_refusal(error, shape.column, shape.why)
        return
    rows = assert_modelled(frame, model)
    if shape.column is not None:
        _check_values(frame[shape.column], rows[shape.column], shape.rule)


def _check_values(real: pd.Series, synthetic: pd.Series, rule: Rule) -> None:
    if rule == "all_null":
        assert synthetic.isna().all(), synthetic.head()
    elif rule == "constant":
        assert synthetic.notna().all() and (synthetic == real.iloc[0]).all(), synthetic.head()
    elif pd.api.types.is_integer_dtype(real.dtype):  # large integers: no value outside the real range (no wrap)
        assert real.min() <= synthetic.min() and synthetic.max() <= real.max(), (synthetic.min(), synthetic.max())


@pytest.mark.parametrize("name", list(SHAPES))
def test_shape_in_memory(name: str) -> None:
    check_shape(SHAPES[name].build(), SHAPES[name])


@pytest.mark.parametrize("name", list(SHAPES))
def test_shape_after_parquet_round_trip(name: str, tmp_path: Path) -> None:
    shape = SHAPES[name]
    path = tmp_path / "table.parquet"
    shape.build().to_parquet(path, **shape.parquet)
    frame = table_to_frame(read_source(path))
    check_shape(frame, shape)


WRITERS: dict[str, Callable[[pd.DataFrame, Path], Path]] = {
    "pandas_parquet": lambda df, d: _written(d / "t.parquet", lambda p: df.to_parquet(p)),
    "plain_parquet": lambda df, d: _written(
        d / "t.parquet",
        lambda p: pq.write_table(pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(), p),
    ),
    "csv": lambda df, d: _written(d / "t.csv", lambda p: df.to_csv(p, index=False)),
}


def _written(path: Path, write: Callable[[Path], Any]) -> Path:
    write(path)
    return path


@pytest.mark.parametrize("writer", list(WRITERS))
def test_nullable_boolean_comes_back_boolean(writer: str, tmp_path: Path) -> None:
    """Read by read_source from a file (with or without pandas metadata), a boolean column with nulls is sampled as
    booleans, never as text."""
    frame = table_to_frame(read_source(WRITERS[writer](SHAPES["boolean_nulls"].build(), tmp_path)))
    rows = _fit(frame).sample(SAMPLE_ROWS, seed=1)
    assert pa.types.is_boolean(pa.Table.from_pandas(rows[["v"]], preserve_index=False).schema.field("v").type)
    assert set(rows["v"].dropna().map(type)) <= {bool, np.bool_}, rows["v"].head()


# --- text dates and timestamps ---

TEXT_FORMATS = {
    "iso_datetime": "%Y-%m-%d %H:%M:%S",
    "iso_date": "%Y-%m-%d",
    "us_date": "%m/%d/%Y",
    "iso_utc_z": "%Y-%m-%dT%H:%M:%SZ",
}


def _text_stamps(fmt: str) -> pd.DataFrame:
    texts = _stamps("s", None).dt.strftime(fmt).astype("str")
    return _frame("when", texts.mask(_rng().random(ROWS) < 0.05))


@pytest.mark.parametrize("fmt", list(TEXT_FORMATS.values()), ids=list(TEXT_FORMATS))
def test_text_dates_are_datetimes_and_come_back_in_their_format(fmt: str) -> None:
    frame = _text_stamps(fmt)
    assert infer_schema(frame)["when"].kind == "datetime"
    rows = assert_modelled(frame, _fit(frame))
    for text in rows["when"].dropna():
        dt.datetime.strptime(text, fmt)  # raises ValueError when the format changed


@pytest.mark.parametrize("fmt", list(TEXT_FORMATS.values()), ids=list(TEXT_FORMATS))
def test_text_dates_from_csv_are_datetimes(fmt: str, tmp_path: Path) -> None:
    """Arrow's CSV reader parses some of these itself; whichever way they arrive, they are datetimes."""
    path = tmp_path / "stamps.csv"
    _text_stamps(fmt).to_csv(path, index=False)
    frame = table_to_frame(read_source(path))
    assert infer_schema(frame)["when"].kind == "datetime"
    assert_modelled(frame, _fit(frame))


# --- a stored pandas index ---


def _indexed_base() -> pd.DataFrame:
    rng = _rng()
    return pd.DataFrame(
        {
            "customer": [f"cust-{i:04d}" for i in range(ROWS)],
            "region": pd.Series(rng.choice(["north", "south"], ROWS), dtype="str"),
            "year": rng.integers(2000, 2010, ROWS),
            "x": rng.normal(size=ROWS),
        }
    )


INDEXES: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], set[str]]] = {
    "range": (lambda df: df, {"customer", "region", "year", "x"}),
    "sampled": (lambda df: df.sample(frac=0.9, random_state=0), {"customer", "region", "year", "x"}),
    "named": (lambda df: df.set_index("customer"), {"customer", "region", "year", "x"}),
    "multi_named": (lambda df: df.set_index(["region", "year"]), {"customer", "region", "year", "x"}),
    "multi_unnamed": (lambda df: df.set_index(["region", "year"]).rename_axis([None, None]), {"customer", "x"}),
}


@pytest.mark.parametrize("name", list(INDEXES))
def test_stored_index_after_parquet(name: str, tmp_path: Path) -> None:
    shape, expected = INDEXES[name]
    path = tmp_path / "table.parquet"
    shape(_indexed_base()).to_parquet(path)
    table = read_source(path)
    frame = table_to_frame(table)
    assert set(frame.columns) == expected
    assert set(infer_schema(table).names) == expected
    assert_modelled(frame, _fit(frame))
    model = TabularSynthesizer(**FAST).fit(table)
    assert set(model.sample(SAMPLE_ROWS, seed=1).columns) == expected


# --- CSV headers ---


def test_csv_with_a_repeated_header_is_one_data_error(tmp_path: Path) -> None:
    path = tmp_path / "repeated.csv"
    path.write_text("city,age,city\n" + "".join(f"Oslo,{20 + i},Lima\n" for i in range(30)), encoding="utf-8")
    with pytest.raises(DataError) as caught:
        table_to_frame(read_source(path))
    message = str(caught.value)
    assert "city" in message and "\n" not in message, message
