"""A `synth run` killed mid-training (SIGKILL, as a preempted machine would) resumes from its last checkpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from synth.tabular.checkpoint import CHECKPOINT_FILE

BIN = Path(sys.executable).parent


def test_a_killed_run_resumes_from_its_last_checkpoint(tmp_path: Path, adult_file: Path) -> None:
    config = tmp_path / "resume.yaml"
    config.write_text(
        f"name: resume\nsource: {adult_file}\n"
        "model: {epochs: 150, batch_size: 100, seed: 0, generator_dims: [16], discriminator_dims: [16],"
        " checkpoint_every: 5}\n"
        f"generate: {{rows: 200}}\ngate: {{enforce: false}}\noutput: {tmp_path / 'published'}\n"
        f"work_dir: {tmp_path / 'work'}\n"
    )
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "DO_NOT_TRACK": "1"}
    env.pop("PREFECT_API_URL", None)
    with (tmp_path / "first.log").open("wb") as log:
        first = subprocess.Popen(
            [str(BIN / "synth"), "run", str(config)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        # the renamed checkpoint, never the temporary file it is written to (a kill mid-write leaves nothing to resume)
        while not list((tmp_path / "work" / "models").glob(f"*/checkpoint/{CHECKPOINT_FILE}")):
            assert first.poll() is None, (tmp_path / "first.log").read_text()
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.05)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the run and its temporary Prefect server, with no chance to clean up
        first.wait()
    assert not (tmp_path / "published" / "resume").exists()

    second = subprocess.run(
        [str(BIN / "synth"), "run", str(config)], env=env, capture_output=True, text=True, timeout=400
    )
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming from epoch" in second.stderr + second.stdout
    assert (tmp_path / "published" / "resume" / "v1" / "manifest.json").is_file()
    assert not list((tmp_path / "work" / "models").glob("*/checkpoint"))  # removed once training finished
