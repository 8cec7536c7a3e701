"""A `synth run` killed mid-training (SIGKILL, as a preempted machine would) resumes from its last checkpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_until_checkpoint, synth_env

BIN = Path(sys.executable).parent


@pytest.mark.usefixtures("prefect_harness")
def test_a_killed_run_resumes_from_its_last_checkpoint(tmp_path: Path, adult_file: Path) -> None:
    from prefect.settings import PREFECT_API_URL

    config = tmp_path / "resume.yaml"
    config.write_text(
        f"name: resume\nsource: {adult_file}\n"
        "model: {epochs: 60, batch_size: 100, seed: 0, generator_dims: [16], discriminator_dims: [16],"
        " checkpoint_every: 5}\n"
        f"generate: {{rows: 200}}\ngate: {{enforce: false}}\noutput: {tmp_path / 'published'}\n"
        f"work_dir: {tmp_path / 'work'}\n"
    )
    # Both runs report to the session's Prefect API: what is under test is the checkpoint, not a temporary server.
    env = {**synth_env(tmp_path / "prefect-home"), "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    first = run_until_checkpoint(["run", str(config)], env, tmp_path / "work", tmp_path / "first.log")
    os.killpg(first.pid, signal.SIGKILL)  # with no chance to clean up
    first.wait()
    assert not (tmp_path / "published" / "resume").exists()

    second = subprocess.run(
        [str(BIN / "synth"), "run", str(config)], env=env, capture_output=True, text=True, timeout=400
    )
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming from epoch" in second.stderr + second.stdout
    assert (tmp_path / "published" / "resume" / "v1" / "manifest.json").is_file()
    assert not list((tmp_path / "work" / "models").glob("*/checkpoint"))  # removed once training finished
