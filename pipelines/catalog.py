"""The catalog of published datasets: list them, find a version, verify its checksums, read or pull it."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.errors import DataError, IntegrityError, NotFound
from pipelines.interrupts import on_interrupt
from pipelines.publish import QUARANTINE, VERSION, check_dataset_name, version_numbers
from pipelines.store import Store, default_root

__all__ = [
    "DatasetVersion",
    "find_version",
    "list_quarantined",
    "list_versions",
    "load_published",
    "pull",
    "read_verified",
]

_CHUNK = 1 << 20
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    """One published (or quarantined) version, as its manifest describes it; ``damage`` says why a version whose
    manifest is missing or unreadable cannot be read (its manifest is then empty)."""

    name: str
    version: str
    folder: tuple[str, ...]  # below the store's root
    manifest: dict[str, Any]
    damage: str | None = None

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind", "synthetic"))

    @property
    def rows(self) -> int | None:
        return None if self.damage else int(self.manifest["rows"])

    @property
    def created(self) -> str:
        return str(self.manifest.get("created", ""))

    @property
    def verdict(self) -> str:
        return str(self.manifest.get("gate", {}).get("verdict", ""))

    @property
    def arrow_schema(self) -> pa.Schema | None:
        """The input's exact Arrow schema as the pipeline recorded it (Parquet alone loses large dictionary values)."""
        encoded = self.manifest.get("arrow_schema_b64")
        return None if encoded is None else pa.ipc.read_schema(pa.py_buffer(base64.b64decode(encoded)))

    def exact(self, table: pa.Table) -> pa.Table:
        """``table`` with the recorded Arrow types, where a schema was recorded."""
        schema = self.arrow_schema
        return table if schema is None else table.cast(schema)

    @property
    def parts(self) -> list[str]:
        return [name for name in self.manifest["files"] if name.startswith("part-") and name.endswith(".parquet")]


def _open(root: str | Path | Store | None) -> Store:
    return root if isinstance(root, Store) else Store.open(root if root is not None else default_root())


def _dataset_names(store: Store, parent: tuple[str, ...] = ()) -> list[str]:
    return [info.base_name for info in store.children(*parent) if not info.base_name.startswith(".")]


def _read_manifest(store: Store, folder: tuple[str, ...]) -> tuple[dict[str, Any], str | None]:
    """A version folder's manifest, or an empty one and what is wrong with it."""
    if not store.exists(*folder, "manifest.json"):
        return {}, "manifest.json is missing"
    try:
        manifest = json.loads(store.read_bytes(*folder, "manifest.json"))
    except (OSError, ValueError) as exc:  # a JSON or UTF-8 error is a ValueError
        return {}, f"manifest.json cannot be read ({str(exc).splitlines()[0]})"
    if not isinstance(manifest, dict):
        return {}, "manifest.json does not hold a mapping"
    lacking = [key for key in ("rows", "files") if key not in manifest]
    if lacking or not isinstance(manifest["files"], dict) or not isinstance(manifest["rows"], int):
        return {}, f"manifest.json lacks {lacking or 'well-formed rows and files'}"
    return manifest, None


def list_versions(root: str | Path | Store | None = None, name: str | None = None) -> list[DatasetVersion]:
    """Every published version under ``root`` (default ``$SYNTH_ROOT`` or data/published), by name then number;
    a damaged version is listed with its ``damage``."""
    store = _open(root)
    if name is not None:
        check_dataset_name(name)
    out = []
    for dataset in [name] if name is not None else _dataset_names(store):
        for number in version_numbers(store, dataset):
            folder = (dataset, f"v{number}")
            manifest, damage = _read_manifest(store, folder)
            out.append(DatasetVersion(dataset, f"v{number}", folder, manifest, damage))
    return out


def list_quarantined(root: str | Path | Store | None = None, name: str | None = None) -> list[DatasetVersion]:
    """Candidates kept back because their gate or contract failed, oldest first."""
    store = _open(root)
    if name is not None:
        check_dataset_name(name)
    out = []
    for dataset in [name] if name is not None else _dataset_names(store, (QUARANTINE,)):
        for entry in _dataset_names(store, (QUARANTINE, dataset)):
            folder = (QUARANTINE, dataset, entry)
            manifest, damage = _read_manifest(store, folder)
            out.append(DatasetVersion(dataset, entry, folder, manifest, damage))
    return out


def find_version(
    name: str, version: str = "latest", *, kind: str | None = None, root: str | Path | Store | None = None
) -> DatasetVersion:
    """The version asked for (``latest``: the newest, of ``kind`` when given); NotFound names what there is."""
    store = _open(root)
    available = list_versions(store, name)
    if not available:
        known = _dataset_names(store)
        raise NotFound(
            f"no published dataset '{name}' under {store.show()}"
            + (f"; published: {', '.join(known)}" if known else "; nothing is published there")
        )
    healthy = [v for v in available if v.damage is None]
    matching = [v for v in healthy if kind is None or v.kind == kind]
    if version == "latest":
        newest = int(matching[-1].version[1:]) if matching else 0
        skipped = [v.version for v in available if v.damage is not None and int(v.version[1:]) > newest]
        if skipped:
            log.warning("%s %s damaged; skipped for latest (synth list shows why)", name, ", ".join(skipped))
        if matching:
            return matching[-1]
    wanted = version if version.startswith("v") else f"v{version}"
    for candidate in available:
        if candidate.version == wanted and candidate.damage is not None:
            raise IntegrityError(f"{name} {wanted} at {store.show(*candidate.folder)} is damaged: {candidate.damage}")
    if not matching:
        if not healthy:
            raise IntegrityError(f"every version of {name} under {store.show()} is damaged (synth list shows why)")
        kinds = sorted({v.kind for v in healthy})
        raise NotFound(f"{name} has no {kind} version; its versions are of kind {', '.join(kinds)}")
    for candidate in matching:
        if candidate.version == wanted:
            return candidate
    shown = ", ".join(v.version for v in matching)
    if VERSION.match(wanted) is None:
        raise NotFound(f"'{version}' is not a version: use latest or a number like v3 (versions of {name}: {shown})")
    raise NotFound(f"{name} has no version {wanted}{f' of kind {kind}' if kind else ''}; versions: {shown}")


def verify(store: Store, found: DatasetVersion) -> None:
    """Check every file against the manifest: present, same size, same sha256, and no part file it does not list."""
    where = f"{found.name} {found.version} at {store.show(*found.folder)}"
    if found.damage is not None:
        raise IntegrityError(f"{where} is damaged: {found.damage}; refusing to read it")
    listed = found.manifest.get("files", {})
    present = set(store.files(*found.folder)) - {"manifest.json"}
    unexpected = sorted(p for p in present - set(listed) if p.endswith(".parquet"))
    if unexpected:
        raise IntegrityError(f"{where} holds part files its manifest does not list: {unexpected}; refusing to read it")
    for relative, expected in listed.items():
        if relative not in present:
            raise IntegrityError(f"{where} is incomplete: {relative} is missing; refusing to read it")
        digest, size = _sha256(store, *found.folder, relative)
        if size != expected["bytes"] or digest != expected["sha256"]:
            raise IntegrityError(f"{where} is damaged: {relative} does not match its checksum; refusing to read it")


def _sha256(store: Store, *parts: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with store.fs.open_input_stream(store.path(*parts)) as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def read_verified(found: DatasetVersion, root: str | Path | Store | None = None) -> pa.Table:
    """All rows of a version, after its checksums are verified."""
    store = _open(root)
    verify(store, found)
    tables = [pq.read_table(store.path(*found.folder, part), filesystem=store.fs) for part in found.parts]
    return found.exact(pa.concat_tables(tables))


def load_published(
    name: str, version: str = "latest", *, kind: str | None = None, root: str | Path | None = None
) -> pd.DataFrame:
    """A published dataset as a DataFrame with the input's types; its checksums are verified first.

    >>> from pipelines import load_published
    >>> frame = load_published("adult")  # doctest: +SKIP
    """
    from synth.schema import table_to_frame

    store = _open(root)
    return table_to_frame(read_verified(find_version(name, version, kind=kind, root=store), store))


def pull(
    name: str,
    version: str = "latest",
    *,
    kind: str | None = None,
    output: Path | BinaryIO | None = None,
    root: str | Path | None = None,
) -> tuple[DatasetVersion, str]:
    """Verify a version; with ``output``, write its rows there as one Parquet file (a row group at a time).

    A path is written whole or not at all (a hidden partial file renamed into place), and must be a regular file
    or not exist yet: a FIFO or a device is refused, never replaced. A binary stream (stdout) is written as it goes.
    Returns the version and where its data now is: ``output``, ``-`` for a stream, or the verified version's folder.
    """
    store = _open(root)
    found = find_version(name, version, kind=kind, root=store)
    if isinstance(output, Path) and (output.exists() or output.is_symlink()) and not output.is_file():
        raise DataError(f"{output} exists and is not a regular file; pull writes a Parquet file (or - for stdout)")
    verify(store, found)
    if output is None:
        return found, store.show(*found.folder)
    if not isinstance(output, Path):
        _write_rows(store, found, pa.PythonFile(output, mode="w"))
        return found, "-"
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.{secrets.token_hex(4)}.partial")
    try:
        with on_interrupt(lambda: partial.unlink(missing_ok=True)):
            _write_rows(store, found, partial.as_posix())
            os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return found, str(output)


def _write_rows(store: Store, found: DatasetVersion, sink: str | pa.NativeFile) -> None:
    """Every row of a verified version into one Parquet file, one row group in memory at a time."""
    writer: pq.ParquetWriter | None = None
    try:
        for part in found.parts:
            source = pq.ParquetFile(store.path(*found.folder, part), filesystem=store.fs)
            for group in range(source.num_row_groups):
                table = found.exact(source.read_row_group(group))
                writer = writer or pq.ParquetWriter(sink, table.schema)
                writer.write_table(table)
        if writer is None and found.parts:  # a version without row groups still makes a readable file
            first = store.path(*found.folder, found.parts[0])
            writer = pq.ParquetWriter(sink, found.arrow_schema or pq.read_schema(first, filesystem=store.fs))
    finally:
        if writer is not None:
            writer.close()
