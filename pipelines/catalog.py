"""The catalog of published datasets: list them, find a version, verify its checksums, read or pull it."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.errors import IntegrityError, NotFound
from pipelines.publish import QUARANTINE, VERSION, version_numbers
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


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    """One published (or quarantined) version, as its manifest describes it."""

    name: str
    version: str
    folder: tuple[str, ...]  # below the store's root
    manifest: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind", "synthetic"))

    @property
    def rows(self) -> int:
        return int(self.manifest["rows"])

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


def _read_manifest(store: Store, folder: tuple[str, ...]) -> dict[str, Any] | None:
    """The manifest of a version folder, or None while it is missing (a move still under way on an object store)."""
    if not store.exists(*folder, "manifest.json"):
        return None
    manifest: dict[str, Any] = json.loads(store.read_bytes(*folder, "manifest.json"))
    return manifest


def list_versions(root: str | Path | Store | None = None, name: str | None = None) -> list[DatasetVersion]:
    """Every published version under ``root`` (default ``$SYNTH_ROOT`` or data/published), by name then number."""
    store = _open(root)
    out = []
    for dataset in [name] if name is not None else _dataset_names(store):
        for number in version_numbers(store, dataset):
            folder = (dataset, f"v{number}")
            manifest = _read_manifest(store, folder)
            if manifest is not None:
                out.append(DatasetVersion(dataset, f"v{number}", folder, manifest))
    return out


def list_quarantined(root: str | Path | Store | None = None, name: str | None = None) -> list[DatasetVersion]:
    """Candidates kept back because their gate or contract failed, oldest first."""
    store = _open(root)
    out = []
    for dataset in [name] if name is not None else _dataset_names(store, (QUARANTINE,)):
        for entry in _dataset_names(store, (QUARANTINE, dataset)):
            folder = (QUARANTINE, dataset, entry)
            manifest = _read_manifest(store, folder)
            if manifest is not None:
                out.append(DatasetVersion(dataset, entry, folder, manifest))
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
    matching = [v for v in available if kind is None or v.kind == kind]
    if not matching:
        kinds = sorted({v.kind for v in available})
        raise NotFound(f"{name} has no {kind} version; its versions are of kind {', '.join(kinds)}")
    if version == "latest":
        return matching[-1]
    wanted = version if version.startswith("v") else f"v{version}"
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
    output: Path | None = None,
    root: str | Path | None = None,
) -> tuple[DatasetVersion, str]:
    """Verify a version; with ``output``, write its rows there as one Parquet file (a row group at a time).

    Returns the version and where its data now is: ``output``, or the verified version's folder.
    """
    store = _open(root)
    found = find_version(name, version, kind=kind, root=store)
    verify(store, found)
    if output is None:
        return found, store.show(*found.folder)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.{secrets.token_hex(4)}.partial")
    writer: pq.ParquetWriter | None = None
    try:
        for part in found.parts:
            source = pq.ParquetFile(store.path(*found.folder, part), filesystem=store.fs)
            for group in range(source.num_row_groups):
                table = found.exact(source.read_row_group(group))
                writer = writer or pq.ParquetWriter(partial, table.schema)
                writer.write_table(table)
        if writer is not None:
            writer.close()
            writer = None
        os.replace(partial, output)
    finally:
        if writer is not None:
            writer.close()
        partial.unlink(missing_ok=True)
    return found, str(output)
