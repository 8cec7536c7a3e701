"""The README's three doors, run as written: the Prefect deployment (a real server on loopback), the command line
and Python. Blocks are found by the `<!-- door: NAME -->` comment above them and run in a sandbox folder laid out
like the repository (configs/, and data/adult/ with the first 3,000 rows of Adult's training file), with its own
PREFECT_HOME and catalog."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _block(door: str) -> str:
    match = re.search(rf"<!-- door: {door} -->\s*```\w+\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert match, f"README has no block marked door: {door}"
    return match.group(1)


def _commands(door: str) -> list[str]:
    """The block's shell lines, without their trailing comments."""
    return [line.split("  #")[0].strip() for line in _block(door).splitlines() if line.strip()]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "configs", folder / "configs")
    # Adult's first 3,000 rows: the doors run as written, on a table small enough to train and measure in seconds.
    (folder / "data" / "adult").mkdir(parents=True)
    adult = pq.read_table(ROOT / "data" / "adult" / "adult_train.parquet")
    pq.write_table(adult.slice(0, 3000), folder / "data" / "adult" / "adult_train.parquet")
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "PREFECT_HOME": str(folder / ".prefect"),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    for name in ("PREFECT_API_URL", "SYNTH_ROOT"):
        env.pop(name, None)
    return folder, env


def test_command_line_and_python_doors(sandbox: tuple[Path, dict[str, str]]) -> None:
    folder, env = sandbox
    for command in _commands("cli"):
        done = subprocess.run(command, shell=True, cwd=folder, env=env, capture_output=True, text=True, timeout=400)
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        if command.startswith("synth list --quarantine"):
            assert "nothing quarantined" in done.stderr
        elif command.startswith("synth list"):
            assert re.search(r"adult-quick\s+v1\s+synthetic\s+10,000", done.stdout), done.stdout
    assert (folder / "adult-synthetic.parquet").is_file()
    script = folder / "door.py"
    script.write_text(_block("python"))
    done = subprocess.run([sys.executable, str(script)], cwd=folder, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[:2] == ["(10000,", "15)"] and "int64" in done.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group (the server's uvicorn, the runner's flow-run processes), then SIGKILL."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _wait_for(what: str, probe: Any, timeout: float, logs: list[Path]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = probe()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(1)
    shown = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in logs if log.exists())
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{shown}")


@pytest.fixture
def background(sandbox: tuple[Path, dict[str, str]]) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes started in the background, stopped by their process ids however the test ends."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in reversed(started):
        _stop(process)


def test_prefect_deployment_door(sandbox: tuple[Path, dict[str, str]], background: list[Any]) -> None:
    """Start a server on a free loopback port, serve the config, trigger a run by hand, check what it published."""
    folder, base_env = sandbox
    port = _free_port()
    env = {**base_env, "PREFECT_RUNNER_POLL_FREQUENCY": "2"}  # a triggered run starts within 2 s instead of 10
    server_cmd, serve_cmd, run_cmd = (command.replace("4200", str(port)) for command in _commands("prefect"))
    api = f"http://127.0.0.1:{port}/api"
    logs = [folder / "server.log", folder / "serve.log"]
    versions_before = len(list((folder / "data" / "published" / "adult-quick").glob("v*")))

    for command, log in ((server_cmd, logs[0]), (serve_cmd, logs[1])):
        with log.open("wb") as out:
            background.append(
                subprocess.Popen(
                    command,
                    shell=True,
                    cwd=folder,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        if command is server_cmd:
            _wait_for("the Prefect server", lambda: httpx.get(f"{api}/health", timeout=5).status_code == 200, 180, logs)
    with httpx.Client(base_url=api, timeout=30) as client:  # closed, so no socket outlives the test

        def deployment() -> dict[str, Any] | None:
            response = client.get("/deployments/name/synthesize/adult-quick")
            return response.json() if response.status_code == 200 else None

        found = _wait_for("the deployment to be served", deployment, 120, logs)
        assert set(found["tags"]) == {"synth", "demo"} and "03:00 UTC" in found["description"]
        (schedule,) = found["schedules"]
        assert schedule["schedule"]["cron"] == "0 3 * * *" and schedule["active"]

        done = subprocess.run(run_cmd, shell=True, cwd=folder, env=env, capture_output=True, text=True, timeout=400)
        assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
        runs = client.post("/flow_runs/filter", json={"flow_runs": {"deployment_id": {"any_": [found["id"]]}}}).json()
        (run,) = [r for r in runs if r["state"]["type"] in TERMINAL]
        assert run["state"]["type"] == "COMPLETED", run["state"]["message"]
        versions = sorted((folder / "data" / "published" / "adult-quick").glob("v*"))
        assert len(versions) == versions_before + 1 and (versions[-1] / "manifest.json").is_file()
        artifacts = client.post("/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [run["id"]]}}}).json()
        kinds = {a["key"]: a["type"] for a in artifacts}
        assert kinds == {"adult-quick-quality-report": "markdown", "adult-quick-training-curve": "table"}
        report = next(a for a in artifacts if a["type"] == "markdown")["data"]
        assert "| column_shapes |" in report and "report.html" in report
