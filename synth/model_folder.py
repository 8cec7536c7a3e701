"""Model folders written whole or not at all (a save goes to a staging folder that then replaces the old one), and
what to tell a user whose save has another format."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["format_problem", "replacing_folder"]


@contextmanager
def replacing_folder(path: str | Path) -> Iterator[Path]:
    """A staging folder to write a save into; when the block ends without an error it takes ``path``'s place.

    The old save stays whole until the new one is complete; if writing fails, the old one is left (or put back)
    and no staging folder remains.
    """
    target = Path(path)
    staging = target.with_name(f".{target.name}.saving-{secrets.token_hex(4)}")
    retired = target.with_name(f".{target.name}.old-{secrets.token_hex(4)}")
    staging.mkdir(parents=True)
    try:
        yield staging
        if target.exists():
            target.rename(retired)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
        if retired.exists() and not target.exists():
            retired.rename(target)  # the new save failed: put the old one back
    shutil.rmtree(retired, ignore_errors=True)


def format_problem(folder: Path, found: Any, expected: int, what: str = "model") -> str | None:
    """Why a save of format ``found`` cannot be read by code that reads format ``expected``, and what to do about
    it; None when it can."""
    if found == expected:
        return None
    if isinstance(found, int) and not isinstance(found, bool) and found > expected:
        return (
            f"{folder} was saved in {what} format {found} by a newer synth-pipeline; this one reads format {expected}: "
            "upgrade synth-pipeline to load it"
        )
    return (
        f"{folder} was saved in {what} format {found} by an older synth-pipeline; this one reads format {expected}: "
        "fit the model again"
    )
