"""Publishing: a dataset version staged in a hidden folder, checksummed, then moved into place under a claimed number.

Layout under a root (see ``pipelines.store``)::

    <name>/v<N>/                       a published version: part-*.parquet, manifest.json, report.html, ...
    .quarantine/<name>/<stamp>-<id>/   a candidate whose gate or contract failed, with the same files
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.errors import NotFound, PublishError
from pipelines.sources import file_sha256
from pipelines.store import DELETING, STALE_S, Store, owner_alive, owner_tag

__all__ = [
    "NAME_MAX_LENGTH",
    "NAME_PATTERN",
    "QUARANTINE",
    "PublishedVersion",
    "check_dataset_name",
    "missing_folders",
    "prune",
    "publish_version",
    "quarantine",
    "remove_if_empty",
    "sweep_dead_publishers",
    "to_arrow",
    "version_numbers",
    "write_parquet",
]

QUARANTINE = ".quarantine"
#: A dataset's name: a folder name on every filesystem and object store, never a path.
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
NAME_MAX_LENGTH = 64
STAGING = ".staging-"
VERSION = re.compile(r"^v(\d+)$")


def check_dataset_name(name: str) -> None:
    """The one rule for names, in configs and on the command line; a name can never reach outside the root."""
    if re.fullmatch(NAME_PATTERN, name) is None or len(name) > NAME_MAX_LENGTH:
        raise NotFound(
            f"'{name}' is not a dataset name: lower-case letters, digits, '-' and '_', starting with a letter or "
            f"digit, at most {NAME_MAX_LENGTH} characters"
        )


@dataclass(frozen=True, slots=True)
class PublishedVersion:
    name: str
    version: str
    path: str


def to_arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """The frame with the input's exact Arrow types (ints stay ints, dictionaries stay dictionaries)."""
    try:
        table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise PublishError(f"generated data does not fit the input's Arrow schema: {exc}") from exc
    return table.replace_schema_metadata(None)


def write_parquet(frame: pd.DataFrame, schema: pa.Schema, path: Path) -> None:
    pq.write_table(to_arrow(frame, schema), path)


def publish_version(
    store: Store,
    name: str,
    parts: list[Path],
    manifest: dict[str, Any],
    attachments: dict[str, str],
    folders: dict[str, Path] | None = None,
) -> PublishedVersion:
    """Publish the Parquet ``parts`` as the next version of ``name``; never replaces an existing version.

    ``attachments`` are text files (report.html, report.json) and ``folders`` whole folders (data docs) that go
    beside the data and into the manifest's checksums.
    """
    created = not store.exists(name)
    try:
        sweep_dead_publishers(store, name)
        staging, files = _stage(store, (name,), parts, attachments, folders or {})
        try:
            version = _move_under_next_number(store, name, staging, manifest, files)
        finally:
            store.delete_dir(*staging)
    except OSError as exc:
        raise PublishError(f"could not publish {name} under {store.show()}: {exc}") from exc
    finally:
        if created:
            with contextlib.suppress(OSError):
                store.remove_if_empty(name)  # a failed first publish leaves no empty dataset folder behind
    return PublishedVersion(name=name, version=version, path=store.show(name, version))


def quarantine(
    store: Store,
    name: str,
    parts: list[Path],
    manifest: dict[str, Any],
    attachments: dict[str, str],
    folders: dict[str, Path] | None = None,
) -> PublishedVersion:
    """Keep a candidate that must not be published where ``synth list --quarantine`` finds it, outside the catalog."""
    entry = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"
    try:
        sweep_dead_publishers(store, QUARANTINE, name)
        staging, files = _stage(store, (QUARANTINE, name), parts, attachments, folders or {})
        try:
            _write_manifest(store, staging, {"name": name, "version": entry, **manifest}, files)
            store.move_dir(staging, (QUARANTINE, name, entry))
        finally:
            store.delete_dir(*staging)
    except OSError as exc:
        raise PublishError(f"could not quarantine {name} under {store.show()}: {exc}") from exc
    return PublishedVersion(name=name, version=entry, path=store.show(QUARANTINE, name, entry))


def _stage(
    store: Store, parent: tuple[str, ...], parts: list[Path], attachments: dict[str, str], folders: dict[str, Path]
) -> tuple[tuple[str, ...], dict[str, dict[str, Any]]]:
    """Copy everything into a hidden staging folder; return it and each file's checksum and size."""
    staging = (*parent, f"{STAGING}{owner_tag()}-{secrets.token_hex(6)}")
    store.make_dir(*staging)
    try:
        files: dict[str, dict[str, Any]] = {}
        for index, part in enumerate(parts):
            target = f"part-{index:05d}.parquet"
            store.upload(part, *staging, target)
            files[target] = {"sha256": file_sha256(part), "bytes": part.stat().st_size}
        for filename, text in attachments.items():
            data = text.encode("utf-8")
            store.write_bytes(data, *staging, filename)
            files[filename] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        for folder_name, source in folders.items():
            store.upload(source, *staging, folder_name)
            for path in sorted(p for p in source.rglob("*") if p.is_file()):
                key = f"{folder_name}/{path.relative_to(source).as_posix()}"
                files[key] = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
    except BaseException:
        store.delete_dir(*staging)
        raise
    return staging, dict(sorted(files.items()))


def sweep_dead_publishers(store: Store, *parent: str) -> list[str]:
    """Remove what killed publishers left in a folder: staging folders whose process is gone (or older than a day)
    and folders that were being deleted. Returns their names."""
    removed = []
    for info in store.children(*parent):
        entry = info.base_name
        if entry.startswith(STAGING):
            owner = entry[len(STAGING) :].rpartition("-")[0]
            if owner_alive(owner) and store.age_s(*parent, entry) <= STALE_S:
                continue
        elif not entry.startswith(DELETING):
            continue
        with contextlib.suppress(OSError):
            store.delete_dir(*parent, entry)
            removed.append(entry)
    return removed


def _write_manifest(
    store: Store, folder: tuple[str, ...], manifest: dict[str, Any], files: dict[str, dict[str, Any]]
) -> None:
    full = {**manifest, "files": files}
    store.write_bytes(json.dumps(full, indent=2, default=str).encode("utf-8"), *folder, "manifest.json")


def _move_under_next_number(
    store: Store, name: str, staging: tuple[str, ...], manifest: dict[str, Any], files: dict[str, dict[str, Any]]
) -> str:
    """Claim the next free version number, so two publishers never pick the same one, and move into it."""
    for _ in range(1000):
        number = max(version_numbers(store, name), default=0) + 1
        version = f"v{number}"
        with store.claim(name, f".claim-{version}") as held:
            if not held or store.exists(name, version):  # a rival holds it, or finished after we listed
                continue
            _write_manifest(store, staging, {"name": name, "version": version, **manifest}, files)
            store.move_dir(staging, (name, version))
            return version
    raise PublishError(f"could not claim a version number for {name} under {store.show()}")


def version_numbers(store: Store, name: str) -> list[int]:
    """The published version numbers of ``name``, ascending."""
    return sorted(int(m.group(1)) for info in store.children(name) if (m := VERSION.match(info.base_name)))


def prune(store: Store, name: str, keep: int) -> list[str]:
    """Remove all but the newest ``keep`` versions of ``name`` (and of its quarantined candidates); return them.

    Each goes out of sight by a rename before it is deleted, so a reader never finds half a version.
    """
    removed = []
    for number in version_numbers(store, name)[:-keep]:
        store.discard_dir(name, f"v{number}")
        removed.append(f"v{number}")
    candidates = [info.base_name for info in store.children(QUARANTINE, name) if not info.base_name.startswith(".")]
    for entry in candidates[:-keep]:
        store.discard_dir(QUARANTINE, name, entry)
        removed.append(f"{QUARANTINE}/{name}/{entry}")
    return removed


def missing_folders(path: Path) -> list[Path]:
    """``path`` and its parents that do not exist yet, nearest first: what a ``mkdir(parents=True)`` will create."""
    return [p for p in (path, *path.parents) if not p.exists()]


def remove_if_empty(folders: list[Path]) -> None:
    """Remove local folders (nearest first) that are still empty, so a failure leaves no empty folders it made."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()
