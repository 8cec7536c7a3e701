"""The work folder's trained models, kept by key: sealed with checksums once saved, verified before each reuse.

A model that fails its checksums (truncated, replaced, saved without a seal) is never loaded: its folder is set
aside beside the others (``<key>.damaged-<stamp>``) and the run trains afresh, saying so in its log and manifest.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from pipelines.sources import file_sha256

__all__ = ["CHECKSUMS", "check_cached", "seal"]

CHECKSUMS = "checksums.json"


def _files(folder: Path, parts: tuple[str, ...]) -> list[Path]:
    return sorted(path for part in parts for path in (folder / part).rglob("*") if path.is_file())


def seal(folder: Path, parts: tuple[str, ...] = ("model",)) -> None:
    """Record the sha256 and size of every file in the saved ``parts`` of a model folder."""
    files = {
        path.relative_to(folder).as_posix(): {"sha256": file_sha256(path), "bytes": path.stat().st_size}
        for path in _files(folder, parts)
    }
    staging = folder / f".{CHECKSUMS}.partial"
    staging.write_text(json.dumps({"parts": list(parts), "files": files}, indent=1), encoding="utf-8")
    staging.replace(folder / CHECKSUMS)


def _problem(folder: Path, parts: tuple[str, ...]) -> str | None:
    """What is wrong with a saved model folder, or None when every file matches its seal."""
    try:
        sealed = json.loads((folder / CHECKSUMS).read_text(encoding="utf-8"))
        listed = sealed["files"]
    except FileNotFoundError:
        return f"it has no {CHECKSUMS} (saved by an older version, or the save was cut short)"
    except (OSError, ValueError, KeyError, TypeError):
        return f"its {CHECKSUMS} cannot be read"
    if tuple(sealed.get("parts", ())) != parts:
        return f"it holds {sealed.get('parts')}, not {list(parts)}"
    present = {path.relative_to(folder).as_posix(): path for path in _files(folder, parts)}
    if set(present) != set(listed):
        return f"its files differ from the sealed list ({sorted(set(present) ^ set(listed))[:3]})"
    for name, path in present.items():
        if path.stat().st_size != listed[name]["bytes"] or file_sha256(path) != listed[name]["sha256"]:
            return f"{name} does not match its checksum"
    return None


def check_cached(folder: Path, parts: tuple[str, ...] = ("model",)) -> tuple[bool, str | None]:
    """(whether a sealed, intact model can be reused, why a damaged one was set aside).

    A folder holding only training checkpoints (an interrupted run) is neither: training resumes from them.
    """
    if not (folder / "model" / "model.json").is_file():
        return False, None
    problem = _problem(folder, parts)
    if problem is None:
        return True, None
    aside = folder.with_name(f"{folder.name}.damaged-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}")
    folder.rename(aside)
    return False, f"the cached model was not reused: {problem}; it was set aside at {aside}"
