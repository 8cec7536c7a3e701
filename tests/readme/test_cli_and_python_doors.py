"""The README's command-line and Python doors, run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.readme.conftest import block, commands


def test_command_line_and_python_doors(sandbox: tuple[Path, dict[str, str]]) -> None:
    folder, env = sandbox
    for command in commands("cli"):
        done = subprocess.run(command, shell=True, cwd=folder, env=env, capture_output=True, text=True, timeout=400)
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        if command.startswith("synth list --quarantine"):
            assert "nothing quarantined" in done.stderr
        elif command.startswith("synth list"):
            assert re.search(r"adult-quick\s+v1\s+synthetic\s+10,000", done.stdout), done.stdout
    assert (folder / "adult-synthetic.parquet").is_file()
    script = folder / "door.py"
    script.write_text(block("python"))
    done = subprocess.run([sys.executable, str(script)], cwd=folder, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[:2] == ["(10000,", "15)"] and "int64" in done.stdout
