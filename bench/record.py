"""One JSON line per measurement, the same fields in every benchmark, so results compare across machines and commits."""

from __future__ import annotations

import json
import resource
import subprocess
from pathlib import Path
from typing import Any

from synth.versions import package_versions

ROOT = Path(__file__).resolve().parents[1]


def peak_mem_mb() -> float:
    """This process's peak resident memory."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def git_sha() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
    except OSError:
        return "unknown"


def emit(name: str, device: str, rows: int, seconds: float, **extra: Any) -> None:
    """Print one measurement: name, device, rows, seconds, peak_mem_mb, what else was measured, versions, git_sha."""
    record = {
        "name": name,
        "device": device,
        "rows": rows,
        "seconds": round(seconds, 4),
        "peak_mem_mb": round(peak_mem_mb(), 1),
        **extra,
        "versions": package_versions(),
        "git_sha": git_sha(),
    }
    print(json.dumps(record), flush=True)
