"""Torch's CPU threads: each live run takes its share of the usable cores, and gives them back when it ends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from synth.threads import CpuShare, usable_cores


def test_one_run_takes_every_usable_core_and_restores_the_count(tmp_path: Path) -> None:
    before = torch.get_num_threads()
    with CpuShare(tmp_path) as share:
        assert share.threads == usable_cores() == torch.get_num_threads()
        assert share.live_runs() == 1
    assert torch.get_num_threads() == before
    assert list(tmp_path.iterdir()) == []  # the registration is gone


def test_a_second_live_run_halves_the_threads_and_a_dead_one_counts_for_nothing(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / f"{sleeper.pid}-0").touch()  # another process training at the same time
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        (tmp_path / f"{int(dead.stdout)}-0").touch()  # what a killed run leaves behind
        with CpuShare(tmp_path) as share:
            assert share.live_runs() == 2
            assert share.threads == max(1, usable_cores() // 2)
            sleeper.kill()
            sleeper.wait()
            assert share.refresh() == usable_cores()  # the other run ended: its cores come back
        assert list(tmp_path.iterdir()) == []  # stale entries are swept, ours removed
    finally:
        sleeper.kill()


def test_omp_num_threads_caps_the_share(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert usable_cores() == 1


def test_sharing_off_leaves_torch_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTH_CPU_SHARE", "off")
    before = torch.get_num_threads()
    with CpuShare(tmp_path) as share:
        assert share.refresh() == before
    assert list(tmp_path.iterdir()) == [] and torch.get_num_threads() == before


def test_synth_asks_openmp_to_sleep_unless_told_otherwise() -> None:
    code = "import os, synth; print(os.environ.get('OMP_WAIT_POLICY'))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "PASSIVE"
    env = {"OMP_WAIT_POLICY": "ACTIVE", "PATH": ""}
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert ran.stdout.strip() == "ACTIVE"
