"""Reading real data (Parquet or CSV) into Arrow, with one readable error per way a file can be bad; and the tables
a run's steps write and read back, checked against their hash and read once per process."""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TypeVar, cast

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pipelines.errors import DataError
from pipelines.refs import TableRef

__all__ = [
    "SUFFIXES",
    "derived",
    "file_sha256",
    "forget_tables",
    "read_checked",
    "read_source",
    "read_table",
    "write_table",
]

SUFFIXES = (".parquet", ".pq", ".csv")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_table(table: pa.Table, path: Path, row_group_size: int | None = None) -> TableRef:
    """Write a step's table and the reference the later steps read it by (from memory, in this process)."""
    pq.write_table(table, path, row_group_size=row_group_size)
    ref = TableRef(path=str(path), sha256=file_sha256(path), rows=table.num_rows)
    _remember(ref, path, table)
    return ref


def read_checked(path: Path) -> tuple[TableRef, pa.Table]:
    """A user's source file read (``read_source``'s checks) and its reference, so later steps read it from memory."""
    table = read_source(path)
    ref = TableRef(path=str(path), sha256=file_sha256(path), rows=table.num_rows)
    _remember(ref, path, table)
    return ref, table


def read_table(ref: TableRef) -> pa.Table:
    """Read a table a step wrote (or the checked source), refusing one whose bytes changed since. A file read
    before by this process, unchanged on disk since, is not read again (the split is read by several steps)."""
    path = Path(ref.path)
    if not path.is_file():
        raise DataError(f"{path} is gone; was the run folder removed?")
    with _LOCK:
        known = _READ.get(ref)
    if known is not None and known[0] == _stamp(path):
        return known[1]
    if file_sha256(path) != ref.sha256:
        raise DataError(f"{path} changed after it was written (checksum mismatch)")
    table = read_source(path)
    _remember(ref, path, table)
    return table


def derived(key: Hashable, make: Callable[[], T]) -> T:
    """``make()`` once per ``key`` until ``forget_tables``: what several steps build from the same tables (the real
    rows as frames, the privacy filter fitted on them). Threads asking at once wait for the first."""
    with _MAKING:
        if key not in _DERIVED:
            _DERIVED[key] = make()
        return cast(T, _DERIVED[key])


def forget_tables() -> None:
    """Drop the tables ``read_table`` keeps and what ``derived`` built (a run ends)."""
    with _MAKING, _LOCK:  # the order derived() takes them in
        _READ.clear()
        _DERIVED.clear()


#: The last few tables read or written, by reference, with the file's (size, mtime) when they were.
_READ: dict[TableRef, tuple[tuple[int, int], pa.Table]] = {}
_KEEP = 4
_LOCK = threading.Lock()  # generate-part tasks read on threads of one process
_DERIVED: dict[Hashable, object] = {}
_MAKING = threading.RLock()  # a derived value may be built from another
T = TypeVar("T")


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _remember(ref: TableRef, path: Path, table: pa.Table) -> None:
    with _LOCK:
        _READ.pop(ref, None)
        _READ[ref] = (_stamp(path), table)
        while len(_READ) > _KEEP:
            _READ.pop(next(iter(_READ)))


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
