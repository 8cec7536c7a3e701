"""Reading real data (Parquet or CSV) into Arrow, with one readable error per way a file can be bad."""

from __future__ import annotations

import codecs
import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pipelines.errors import DataError

__all__ = ["SUFFIXES", "file_sha256", "read_source"]

SUFFIXES = (".parquet", ".pq", ".csv")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_source(path: Path) -> pa.Table:
    """The file as an Arrow table; raises DataError naming the file and the problem."""
    if not path.exists():
        raise DataError(f"source file not found: {path}")
    if not path.is_file():
        raise DataError(f"source is not a file: {path}")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataError(
            f"unsupported file type '{path.suffix or '(none)'}' for {path}; use Parquet (.parquet) or CSV (.csv)"
        )
    table = _read_csv(path) if suffix == ".csv" else _without_pandas_index(_read_parquet(path))
    repeated = sorted(name for name, count in Counter(table.column_names).items() if count > 1)
    if repeated:
        raise DataError(f"{path} has repeated column name(s) {repeated}; give every column its own name")
    if table.num_columns == 0:
        raise DataError(f"{path} has no columns")
    if table.num_rows == 0:
        raise DataError(f"{path} has no rows")
    return table


def _read_parquet(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        raise DataError(f"could not read Parquet file {path}: it is corrupt or not Parquet ({exc})") from exc


#: The name pandas gives an unnamed index it stores as a column (``df.sample(n).to_parquet(path)``).
_UNNAMED_INDEX = re.compile(r"__index_level_\d+__")


def _without_pandas_index(table: pa.Table) -> pa.Table:
    """The table as its columns, without the index pandas stored beside them.

    An unnamed index is row positions from pandas' bookkeeping and is dropped; a named index (``set_index("id")``)
    is data the user put there, so it becomes an ordinary column, first, as ``reset_index()`` would place it.
    pandas stores a range index as metadata only: an unnamed one is dropped, a named one is written out as a column.
    """
    meta = table.schema.pandas_metadata
    if not meta:
        return table
    stored = [name for name in meta.get("index_columns", []) if isinstance(name, str)]
    unnamed = [name for name in stored if _UNNAMED_INDEX.fullmatch(name)]
    named = [name for name in stored if name not in unnamed]
    table = table.drop_columns(unnamed)
    for index in meta.get("index_columns", []):
        if isinstance(index, dict) and index.get("kind") == "range" and index.get("name") is not None:
            name = str(index["name"])
            if name not in table.column_names:
                values = pa.array(range(index["start"], index["stop"], index["step"]), pa.int64())
                table, named = table.append_column(name, values), [*named, name]
    table = table.select(named + [name for name in table.column_names if name not in named])
    columns = [column for column in meta.get("columns", []) if column.get("field_name") not in unnamed]
    meta = {**meta, "index_columns": [], "columns": columns}
    return table.replace_schema_metadata({**table.schema.metadata, b"pandas": json.dumps(meta).encode()})


def _read_csv(path: Path) -> pa.Table:
    _check_utf8(path)
    try:
        # Empty fields (and NA, null, ...) are missing values in text columns too, as users of CSV expect.
        return pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(strings_can_be_null=True))
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            raise DataError(f"{path} is empty") from exc
        raise DataError(f"could not parse CSV file {path}: {exc}") from exc


def _check_utf8(path: Path) -> None:
    """Fail early, with the byte offset, on text that is not UTF-8 (Arrow would fail later, less clearly)."""
    offset = 0
    with path.open("rb") as handle:
        decoder = codecs.getincrementaldecoder("utf-8")()
        for block in iter(lambda: handle.read(1 << 20), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                position = offset + exc.start
                raise DataError(
                    f"{path} is not UTF-8 text (byte 0x{block[exc.start]:02x} at offset {position}); "
                    "re-encode it as UTF-8"
                ) from None
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise DataError(f"{path} is not UTF-8 text (it ends inside a multi-byte character)") from None
