"""The README's doors are run as written. Blocks are found by the `<!-- door: NAME -->` comment above them and run in
a sandbox folder laid out like the repository (configs/ and data/adult/), with its own PREFECT_HOME and catalog.
Each door has a test file of its own, so the two slow ones go to different test workers."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def block(door: str) -> str:
    match = re.search(rf"<!-- door: {door} -->\s*```\w+\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert match, f"README has no block marked door: {door}"
    return match.group(1)


def commands(door: str) -> list[str]:
    """The block's shell lines, without their trailing comments."""
    return [line.split("  #")[0].strip() for line in block(door).splitlines() if line.strip()]


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "adult").symlink_to(ROOT / "data" / "adult")
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "PREFECT_HOME": str(tmp_path / ".prefect"),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    for name in ("PREFECT_API_URL", "SYNTH_ROOT"):
        env.pop(name, None)
    return tmp_path, env
