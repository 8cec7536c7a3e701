"""Publishing: a dataset version written to a hidden staging folder, checksummed, then renamed into place."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.errors import PublishError
from pipelines.sources import file_sha256

__all__ = [
    "PublishedVersion",
    "latest_version",
    "missing_folders",
    "publish_version",
    "remove_if_empty",
    "write_parquet",
]

_VERSION = re.compile(r"^v(\d+)$")
_RESERVED = re.compile(r"^\.reserved-v(\d+)$")


@dataclass(frozen=True, slots=True)
class PublishedVersion:
    name: str
    version: str
    path: str


def write_parquet(frame: pd.DataFrame, schema: pa.Schema, path: Path) -> None:
    """Write with the input's exact Arrow types (ints stay ints, dictionaries stay dictionaries)."""
    try:
        table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise PublishError(f"generated data does not fit the input's Arrow schema: {exc}") from exc
    pq.write_table(table.replace_schema_metadata(None), path)


def publish_version(
    root: Path,
    name: str,
    frame: pd.DataFrame,
    schema: pa.Schema,
    manifest: dict[str, Any],
    attachments: dict[str, str],
    folders: dict[str, Path] | None = None,
) -> PublishedVersion:
    """Publish ``frame`` as the next version of ``name`` under ``root``; never overwrites an existing version.

    ``attachments`` are extra text files (report.html, report.json) and ``folders`` whole folders (data docs) that
    go beside the data and into the checksums.
    """
    dataset_dir = root / name
    created = missing_folders(dataset_dir)
    dataset_dir.mkdir(parents=True, exist_ok=True)
    staging = dataset_dir / f".staging-{secrets.token_hex(6)}"
    staging.mkdir()
    reservation: Path | None = None
    try:
        part = staging / "part-00000.parquet"
        write_parquet(frame, schema, part)
        for filename, text in attachments.items():
            (staging / filename).write_text(text, encoding="utf-8")
        for folder_name, source in (folders or {}).items():
            shutil.copytree(source, staging / folder_name)
        files = {
            p.relative_to(staging).as_posix(): {"sha256": file_sha256(p), "bytes": p.stat().st_size}
            for p in sorted(staging.rglob("*"))
            if p.is_file()
        }
        version, reservation = _reserve_version(dataset_dir)
        full_manifest = {"name": name, "version": version, "rows": len(frame), "files": files, **manifest}
        (staging / "manifest.json").write_text(json.dumps(full_manifest, indent=2, default=str), encoding="utf-8")
        final = dataset_dir / version
        os.rename(staging, final)  # atomic; fails rather than replace an existing non-empty version
    except OSError as exc:
        raise PublishError(f"could not publish {name} under {root}: {exc}") from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        if reservation is not None:
            reservation.unlink(missing_ok=True)
        remove_if_empty(created)  # a failed first publish leaves no empty dataset folder behind
    return PublishedVersion(name=name, version=version, path=str(final))


def missing_folders(path: Path) -> list[Path]:
    """``path`` and its parents that do not exist yet, nearest first: what a ``mkdir(parents=True)`` will create."""
    return [p for p in (path, *path.parents) if not p.exists()]


def remove_if_empty(folders: list[Path]) -> None:
    """Remove folders (nearest first) that are still empty, so a failure leaves no empty folders it made."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


def latest_version(root: Path, name: str) -> Path | None:
    """The folder of the newest published version of ``name``, or None."""
    dataset_dir = root / name
    if not dataset_dir.is_dir():
        return None
    numbers = [int(m.group(1)) for p in dataset_dir.iterdir() if (m := _VERSION.match(p.name))]
    return dataset_dir / f"v{max(numbers)}" if numbers else None


def _reserve_version(dataset_dir: Path) -> tuple[str, Path]:
    """Claim the next version number with an exclusive create, so two publishers never pick the same one."""
    for _ in range(1000):
        taken = [0]
        for entry in dataset_dir.iterdir():
            match = _VERSION.match(entry.name) or _RESERVED.match(entry.name)
            if match:
                taken.append(int(match.group(1)))
        number = max(taken) + 1
        reservation = dataset_dir / f".reserved-v{number}"
        try:
            os.close(os.open(reservation, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            continue
        if (dataset_dir / f"v{number}").exists():  # its publisher finished and released the claim after we listed
            reservation.unlink(missing_ok=True)
            continue
        return f"v{number}", reservation
    raise PublishError(f"could not reserve a version number in {dataset_dir}")
