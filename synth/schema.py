"""Column kinds inferred from a table, overridable, and saved as JSON so outputs keep the input's types."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, get_args

import pandas as pd
import pyarrow as pa

from synth.errors import SchemaError
from synth.identifiers import FAKED_KINDS, IDENTIFIER_KINDS, names_a_key, recognise_identifier, repeats_rarely

__all__ = [
    "IDENTIFIER_KINDS",
    "KINDS",
    "LEARNED_KINDS",
    "TEXT_DATE_FORMATS",
    "ColumnKind",
    "ColumnSpec",
    "Schema",
    "check_learnable",
    "format_text_dates",
    "infer_schema",
    "parse_text_dates",
    "table_to_frame",
    "text_date_format",
]

ColumnKind = Literal[
    "continuous",
    "integer",
    "categorical",
    "boolean",
    "datetime",
    "constant",
    "id",
    "person_name",
    "email",
    "phone",
    "address",
    "postcode",
    "url",
    "ip_address",
    "code",
    "free_text",
]
KINDS: tuple[str, ...] = get_args(ColumnKind)
#: Below this many rows a column of unique values is not taken for an identifier.
_MIN_ROWS_FOR_ID = 20
#: Names that row numbers come under: R's rownames, a pandas index written as a column (reset_index, to_csv then
#: read_csv, a stored index), readr's unnamed first column.
_ROW_NUMBER_NAME = re.compile(
    r"^(row[ _]?names?|row[ _]?(num|number|no|index)|index|level_0|unnamed: ?\d+|__index_level_\d+__|\.\.\.\d+)$",
    re.IGNORECASE,
)
_MAX_STORED_CATEGORIES = 10_000


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column: how it is modelled and how it is rebuilt.

    Attributes:
        name: column name in the input.
        kind: how the column is modelled (see ``KINDS``).
        nullable: whether the real data has nulls in it (they are modelled, not dropped).
        arrow_type: the Arrow type, for people; the exact type travels in ``Schema.arrow_schema``.
        pandas_dtype: the pandas dtype the column is rebuilt with.
        categories: the categories of a pandas ``category`` dtype, in order (None otherwise).
        ordered: whether that ``category`` dtype is ordered.
        text_format: for dates and timestamps stored as text, the ``strftime`` format they are read and written in
            (they are modelled as datetimes and come out as text in that format); None otherwise.
    """

    name: str
    kind: ColumnKind
    nullable: bool
    arrow_type: str
    pandas_dtype: str
    categories: tuple[Any, ...] | None = None
    text_format: str | None = None
    ordered: bool = False

    @property
    def is_text_date(self) -> bool:
        """A datetime stored as text: parsed before modelling, formatted back on the way out."""
        return self.kind == "datetime" and self.text_format is not None


@dataclass(frozen=True, slots=True)
class Schema:
    """The columns of a table in their input order, plus the exact Arrow schema for lossless output."""

    columns: tuple[ColumnSpec, ...]
    arrow_schema_b64: str

    def __iter__(self) -> Iterator[ColumnSpec]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def __getitem__(self, name: str) -> ColumnSpec:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def arrow_schema(self) -> pa.Schema:
        """The input's Arrow schema (without pandas metadata)."""
        buffer = pa.py_buffer(base64.b64decode(self.arrow_schema_b64))
        return pa.ipc.read_schema(buffer)

    def with_kinds(self, kinds: Mapping[str, str]) -> Schema:
        """A copy with some column kinds overridden (e.g. from a config's ``schema:`` section)."""
        known = set(self.names)
        unknown = sorted(set(kinds) - known)
        if unknown:
            raise SchemaError(f"schema override names unknown column(s) {unknown}; columns are {sorted(known)}")
        columns = []
        for column in self.columns:
            kind = kinds.get(column.name, column.kind)
            _check_kind_fits(column, kind)
            columns.append(replace(column, kind=kind))  # type: ignore[arg-type]
        return replace(self, columns=tuple(columns))

    def with_empty_as_constant(self, frame: pd.DataFrame) -> Schema:
        """A copy in which each column entirely null in ``frame`` is a constant: rows drawn without a column's few
        values hold nothing of it to learn or compare, and it comes out null, as an all-null column does."""
        empty = [spec.name for spec in self.columns if spec.kind != "constant" and frame[spec.name].isna().all()]
        return self.with_kinds(dict.fromkeys(empty, "constant")) if empty else self

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [
                {**asdict(c), "categories": None if c.categories is None else list(c.categories)} for c in self.columns
            ],
            "arrow_schema_b64": self.arrow_schema_b64,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        try:
            columns = tuple(
                ColumnSpec(**{**c, "categories": None if c["categories"] is None else tuple(c["categories"])})
                for c in data["columns"]
            )
            return cls(columns=columns, arrow_schema_b64=data["arrow_schema_b64"])
        except (KeyError, TypeError) as exc:
            raise SchemaError(f"schema JSON is malformed: {exc}") from exc

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> Schema:
        return cls.from_dict(json.loads(text))

    def describe(self) -> str:
        """A fixed-width table of the columns, for showing to the user."""
        width = max([len(c.name) for c in self.columns] + [6])
        lines = [f"{'column':<{width}}  {'kind':<11}  {'nulls':<5}  arrow type"]
        for c in self.columns:
            stored = f"{c.arrow_type} ({c.text_format})" if c.is_text_date else c.arrow_type
            lines.append(f"{c.name:<{width}}  {c.kind:<11}  {'yes' if c.nullable else 'no':<5}  {stored}")
        return "\n".join(lines)


def table_to_frame(table: pa.Table) -> pd.DataFrame:
    """Arrow to pandas without losing integers to floats or booleans to objects: integer and boolean columns with
    nulls become pandas' nullable types, whether or not the file carries pandas metadata."""
    mapping = {
        pa.bool_(): pd.BooleanDtype(),
        pa.int8(): pd.Int8Dtype(),
        pa.int16(): pd.Int16Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.int64(): pd.Int64Dtype(),
        pa.uint8(): pd.UInt8Dtype(),
        pa.uint16(): pd.UInt16Dtype(),
        pa.uint32(): pd.UInt32Dtype(),
        pa.uint64(): pd.UInt64Dtype(),
    }
    frame = table.to_pandas(types_mapper=mapping.get)
    for field in table.schema:
        # Columns without nulls go back to plain numpy types: what a user expects from pandas.
        plain = pa.types.is_integer(field.type) or pa.types.is_boolean(field.type)
        if plain and table.column(field.name).null_count == 0:
            frame[field.name] = frame[field.name].astype(str(field.type))
    return frame


def infer_schema(data: pd.DataFrame | pa.Table) -> Schema:
    """Infer each column's kind and nullability; raise SchemaError for data that cannot be modelled."""
    frame = table_to_frame(data) if isinstance(data, pa.Table) else data
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"expected a pandas DataFrame or an Arrow table, got {type(data).__name__}")
    if frame.shape[1] == 0:
        raise SchemaError("the table has no columns")
    if len(frame) == 0:
        raise SchemaError("the table has no rows")
    if len(frame) == 1:
        raise SchemaError("the table has 1 row; every column is then a constant and there is nothing to learn")
    if frame.columns.duplicated().any():
        dupes = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise SchemaError(f"duplicate column names {dupes}")
    arrow_schema = _arrow_schema_of(data, frame)
    columns = tuple(_infer_column(frame[name], arrow_schema.field(str(name)).type) for name in frame.columns)
    serialized = arrow_schema.remove_metadata().serialize().to_pybytes()
    schema = Schema(columns=columns, arrow_schema_b64=base64.b64encode(serialized).decode("ascii"))
    check_learnable(schema)
    return schema


#: Kinds a model learns; identifiers (``IDENTIFIER_KINDS``) are made afresh and constants (all-null columns too)
#: repeated.
LEARNED_KINDS = ("continuous", "integer", "datetime", "categorical", "boolean")


def check_learnable(schema: Schema) -> None:
    """Refuse a table in which no column is learned (all identifiers, constants or entirely null)."""
    if any(spec.kind in LEARNED_KINDS for spec in schema):
        return
    listed = ", ".join(f"{spec.name}: {spec.kind}" for spec in schema.columns[:10])
    raise SchemaError(
        f"the table has no column to learn: every column is an identifier, a constant or entirely null ({listed}"
        f"{', ...' if len(schema) > 10 else ''}); add a column with varying values or give one another kind"
    )


def _arrow_schema_of(data: pd.DataFrame | pa.Table, frame: pd.DataFrame) -> pa.Schema:
    if isinstance(data, pa.Table):
        return data.schema
    if not all(isinstance(c, str) for c in frame.columns):
        raise SchemaError("column names must be strings")
    try:
        return pa.Schema.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SchemaError(f"the table has a column Arrow cannot type: {exc}") from exc


def _infer_column(series: pd.Series, arrow_type: pa.DataType) -> ColumnSpec:
    name = str(series.name)
    n_null = int(series.isna().sum())
    # An all-null column has nothing to learn: it passes through as a constant null of its own type.
    kind: ColumnKind = "constant" if n_null == len(series) else _infer_kind(series, arrow_type)
    dtype = series.dtype
    categories = None
    if isinstance(dtype, pd.CategoricalDtype) and len(dtype.categories) <= _MAX_STORED_CATEGORIES:
        categories = tuple(dtype.categories.tolist())
    text_format = None
    if kind in ("categorical", "id") and (pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)):
        text_format = text_date_format(series)
        if text_format is not None:
            kind = "datetime"
        elif not isinstance(dtype, pd.CategoricalDtype):  # declared categories are the user's to keep
            kind = recognise_identifier(series) or kind  # type: ignore[assignment]
    return ColumnSpec(
        name=name,
        kind=kind,
        nullable=n_null > 0,
        arrow_type=str(arrow_type),
        pandas_dtype=str(dtype),
        categories=categories,
        text_format=text_format,
        ordered=bool(isinstance(dtype, pd.CategoricalDtype) and dtype.ordered),
    )


#: Formats of dates and timestamps stored as text, most specific first; "%d/%m" only where "%m/%d" fails.
TEXT_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%fZ",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d/%m/%y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%d %b %Y",
    "%b %d %Y",
)
_FORMAT_PROBE_VALUES = 200


def text_date_format(series: pd.Series) -> str | None:
    """The one format in ``TEXT_DATE_FORMATS`` that reads every non-null value of a text column, or None."""
    values = series.dropna()
    if len(values) == 0 or not all(isinstance(v, str) for v in values.iloc[:_FORMAT_PROBE_VALUES]):
        return None
    probe = values.iloc[:_FORMAT_PROBE_VALUES]
    for fmt in TEXT_DATE_FORMATS:
        if _parses(probe, fmt) and _parses(values, fmt):
            return fmt
    return None


def _parses(values: pd.Series, fmt: str) -> bool:
    parsed = pd.to_datetime(values, format=fmt, errors="coerce", utc="%z" in fmt)
    return bool(parsed.notna().all())


def parse_text_dates(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """A copy with the schema's text dates as datetimes (microseconds; UTC where the format has an offset).

    Values that do not read in the column's format become null. Frames without text dates come back as they are.
    """
    text_dates = [spec for spec in schema if spec.is_text_date and spec.name in frame.columns]
    if not text_dates:
        return frame
    frame = frame.copy()
    for spec in text_dates:
        fmt = str(spec.text_format)
        parsed = pd.to_datetime(frame[spec.name], format=fmt, errors="coerce", utc="%z" in fmt)
        frame[spec.name] = parsed.astype("datetime64[us, UTC]" if "%z" in fmt else "datetime64[us]")
    return frame


def format_text_dates(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The schema's text dates written back as text in their own format and pandas dtype (the inverse of
    ``parse_text_dates``); changes ``frame`` in place and returns it."""
    for spec in schema:
        if spec.is_text_date and spec.name in frame.columns:
            stamps = frame[spec.name]
            text = stamps.dt.strftime(str(spec.text_format)).astype(object).where(stamps.notna(), None)
            frame[spec.name] = text.astype(pd.api.types.pandas_dtype(spec.pandas_dtype))
    return frame


def _infer_kind(series: pd.Series, arrow_type: pa.DataType) -> ColumnKind:
    name = str(series.name)
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if not _is_supported(arrow_type):
        raise SchemaError(
            f"column '{name}' has Arrow type {arrow_type}, which cannot be modelled; "
            "drop it or convert it to a number, text, boolean or timestamp"
        )
    values = series.dropna()
    n_unique = int(values.nunique())
    unique_per_row = n_unique == len(series) and len(series) >= _MIN_ROWS_FOR_ID
    is_category = isinstance(series.dtype, pd.CategoricalDtype)
    if n_unique == 1:
        return "constant"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return "datetime"
    if pa.types.is_integer(arrow_type) and not is_category:
        keyed = names_a_key(name) or _ROW_NUMBER_NAME.match(name)
        if unique_per_row and (keyed or _is_consecutive(values)):
            return "id"
        if keyed and repeats_rarely(n_unique, len(values)):  # a key in a table of repeated rows, a panel's case
            return "id"
        return "integer"
    if pa.types.is_floating(arrow_type) and not is_category:
        return "continuous"
    return "id" if unique_per_row and not is_category else "categorical"


def _is_supported(arrow_type: pa.DataType) -> bool:
    checks = (
        pa.types.is_boolean,
        pa.types.is_integer,
        pa.types.is_floating,
        pa.types.is_string,
        pa.types.is_large_string,
        pa.types.is_timestamp,
        pa.types.is_date,
    )
    return any(check(arrow_type) for check in checks)


def _is_consecutive(values: pd.Series) -> bool:
    ordered = values.sort_values().to_numpy()
    return bool(len(ordered) > 1 and (ordered[1:] - ordered[:-1] == 1).all())


_NUMERIC_KINDS = {"continuous", "integer"}


def _check_kind_fits(column: ColumnSpec, kind: str) -> None:
    if kind not in KINDS:
        raise SchemaError(f"column '{column.name}': unknown kind '{kind}'; choose one of {list(KINDS)}")
    arrow = column.arrow_type
    numeric = arrow.startswith(("int", "uint", "float", "double", "halffloat", "decimal"))
    if kind in _NUMERIC_KINDS and not numeric:
        raise SchemaError(f"column '{column.name}' ({arrow}) cannot be modelled as {kind}; it is not numeric")
    if kind == "datetime" and not (arrow.startswith(("timestamp", "date")) or column.text_format is not None):
        raise SchemaError(f"column '{column.name}' ({arrow}) cannot be modelled as datetime")
    if kind == "id" and not (arrow.startswith(("int", "uint")) or "string" in arrow):
        raise SchemaError(f"column '{column.name}' ({arrow}) cannot be an id; ids are integer or text columns")
    if kind in FAKED_KINDS and ("string" not in arrow or column.pandas_dtype == "category"):
        raise SchemaError(f"column '{column.name}' ({arrow}) cannot be {kind}; only text columns hold identifiers")
    if kind == "boolean" and arrow != "bool":
        raise SchemaError(f"column '{column.name}' ({arrow}) cannot be modelled as boolean; use categorical")
