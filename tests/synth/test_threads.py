"""Torch's CPU threads: each live run takes its share of the usable cores and gives them back when it ends; OpenMP
sleeps while it waits only on a busy machine."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from synth import threads
from synth.threads import BUSY_CORES, CpuShare, busy_cores, choose_wait_policy, usable_cores, wait_policy


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


def test_openmp_sleeps_only_when_other_work_keeps_a_core_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    assert wait_policy(0.0) is None and wait_policy(BUSY_CORES - 0.01) is None  # an idle machine: OpenMP's own spin
    assert wait_policy(BUSY_CORES) == wait_policy(8.0) == "PASSIVE"
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)  # restored after the test, whatever choose_wait_policy sets
    monkeypatch.setattr(os, "getloadavg", lambda: (1.5, 0.5, 0.5), raising=False)  # a busy spell that has just ended
    monkeypatch.setattr(threads, "busy_cores", lambda: 0.0)
    choose_wait_policy()
    assert "OMP_WAIT_POLICY" not in os.environ  # what the machine does now wins over the trailing load average
    monkeypatch.setattr(threads, "busy_cores", lambda: 1.0)
    choose_wait_policy()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_without_proc_stat_the_load_average_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.setattr(threads, "_PROC_STAT", Path("/nonexistent/stat"))
    assert busy_cores(0.0) is None
    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 0.5, 0.5), raising=False)
    choose_wait_policy()
    assert "OMP_WAIT_POLICY" not in os.environ
    monkeypatch.setattr(os, "getloadavg", lambda: (1.5, 0.5, 0.5), raising=False)
    choose_wait_policy()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_busy_cores_counts_the_machine_s_busy_share_of_its_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter([(1_000, 10_000), (1_150, 10_200)])  # 150 of 200 ticks busy over the window
    monkeypatch.setattr(threads, "_cpu_ticks", lambda: next(ticks))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert busy_cores(0.1) == pytest.approx(1.5, abs=0.1)  # less this process's own use: next to none asleep


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="reads /proc/stat (Linux)")
def test_a_process_spinning_on_a_core_counts_as_busy() -> None:
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        busy = busy_cores(0.3)
        assert busy is not None and busy >= BUSY_CORES
    finally:
        spinner.kill()
        spinner.wait()


def test_the_environment_s_wait_policy_wins_and_sharing_off_leaves_it_unset() -> None:
    code = "import os, synth; print(os.environ.get('OMP_WAIT_POLICY'))"

    def policy(**env: str) -> str:
        ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PATH": "", **env})
        return ran.stdout.strip()

    assert policy(OMP_WAIT_POLICY="ACTIVE") == "ACTIVE"
    assert policy(SYNTH_CPU_SHARE="off") == "None"
