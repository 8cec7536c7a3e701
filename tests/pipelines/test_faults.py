"""Faults: a damaged model cache heals, a defect is one line and exit 3, and SIGTERM stops everything cleanly."""

from __future__ import annotations

import json
import os
import pickle
import signal
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.config import PipelineConfig
from pipelines.refs import SourceRef, SplitRef, TableRef
from pipelines.settings import Training
from pipelines.sources import file_sha256
from pipelines.training import train_table_model
from synth import infer_schema
from tests.conftest import run_until_checkpoint, synth_env


def _split(table: pa.Table, folder: Path) -> SplitRef:
    folder.mkdir(parents=True, exist_ok=True)
    refs = []
    for name, part in (("train", table.slice(0, 480)), ("holdout", table.slice(480))):
        path = folder / f"{name}.parquet"
        pq.write_table(part, path)
        refs.append(TableRef(path=str(path), sha256=file_sha256(path), rows=part.num_rows))
    return SplitRef(train=refs[0], holdout=refs[1], seed=0)


class _Payload:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch /tmp/synth-pickle-ran",))


@pytest.mark.parametrize("damage", ["truncated", "pickle payload", "no checksums"])
def test_a_damaged_cached_model_is_set_aside_and_retrained(adult_table: pa.Table, tmp_path: Path, damage: str) -> None:
    split = _split(adult_table, tmp_path / "split")
    source = SourceRef(split.train, infer_schema(pq.read_table(split.train.path)))
    model = {"epochs": 1, "seed": 0, "generator_dims": [16], "discriminator_dims": [16]}
    config = PipelineConfig.model_validate(
        {"name": "faults", "source": split.train.path, "model": model, "work_dir": str(tmp_path / "work")}
    )
    training = Training.of(config)
    first = train_table_model(split, source, training)
    again = train_table_model(split, source, training)
    assert again.reused and again.set_aside is None
    weights = Path(first.path) / "generator.pt"
    if damage == "truncated":
        weights.write_bytes(weights.read_bytes()[:100])
    elif damage == "pickle payload":
        weights.write_bytes(pickle.dumps(_Payload()))
    else:
        (Path(first.path).parent / "checksums.json").unlink()
    healed = train_table_model(split, source, training)
    assert not healed.reused and healed.key == first.key and healed.set_aside is not None
    assert "set aside at" in healed.set_aside
    aside = [p.name for p in (tmp_path / "work" / "models").iterdir() if ".damaged-" in p.name]
    assert len(aside) == 1 and aside[0].startswith(first.key)
    assert not Path("/tmp/synth-pickle-ran").exists()
    assert train_table_model(split, source, training).reused  # the retrained model is sealed


def test_an_unexpected_error_is_one_line_exit_3_and_a_log_file(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("division by zero\nsecond line")

    monkeypatch.setattr("pipelines.catalog.list_versions", broken)
    result = CliRunner().invoke(main, ["list"])
    assert result.exit_code == 3 and "Traceback" not in result.output
    [line] = result.output.splitlines()
    assert line.startswith("Error: internal error: ZeroDivisionError: division by zero (traceback in ")
    log = Path(line.rpartition("traceback in ")[2].rstrip(")"))
    assert "Traceback" in log.read_text() and "broken" in log.read_text()
    log.unlink()
    shown = CliRunner().invoke(main, ["--debug", "list"])
    assert shown.exit_code == 3 and "Traceback" in shown.output and "raise ZeroDivisionError" in shown.output


@pytest.mark.usefixtures("prefect_harness")  # the session's Prefect API, not a temporary server of its own
def test_an_error_inside_the_flow_prints_no_prefect_traceback(
    adult_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the model broke")

    monkeypatch.setattr("pipelines.tables.train_table_model", broken)
    config = tmp_path / "run.yaml"
    config.write_text(
        f"name: broken\nsource: {adult_file}\nmodel: {{epochs: 1}}\noutput: {tmp_path / 'out'}\n"
        f"work_dir: {tmp_path / 'work'}\n"
    )
    result = CliRunner().invoke(main, ["run", "--quiet", str(config)])
    captured = capfd.readouterr()
    assert result.exit_code == 3
    assert "Error: internal error: RuntimeError: the model broke (traceback in " in result.output
    assert "Traceback" not in result.output + captured.err + captured.out
    assert not (tmp_path / "out").exists()


def _session_processes(session: int) -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[3]) == session:  # state, parent, group, session
                found.append(Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:100])
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc")
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_a_quiet_run_and_its_prefect_server(adult_file: Path, tmp_path: Path, stop: int) -> None:
    config = tmp_path / "long.yaml"
    config.write_text(
        f"name: long\nsource: {adult_file}\n"
        "model: {epochs: 100000, batch_size: 100, seed: 0, generator_dims: [16], discriminator_dims: [16],"
        " checkpoint_every: 1}\n"
        f"output: {tmp_path / 'published'}\nwork_dir: {tmp_path / 'work'}\n"
        "schedule: {cron: '0 3 * * *'}\n"  # its check imports Prefect before the run starts: --quiet must still hold
    )
    run = run_until_checkpoint(
        ["run", "--quiet", str(config)], synth_env(tmp_path / "prefect-home"), tmp_path / "work", tmp_path / "run.log"
    )
    try:
        assert any("uvicorn" in p for p in _session_processes(run.pid))  # Prefect's temporary server is up
        run.send_signal(stop)  # to the run alone, as a CI timeout sends it
        assert run.wait(timeout=60) == 128 + stop, (tmp_path / "run.log").read_text()
        deadline = time.monotonic() + 10
        while _session_processes(run.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _session_processes(run.pid) == []
    finally:
        if run.poll() is None or _session_processes(run.pid):
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    output = (tmp_path / "run.log").read_text()
    assert f"Error: interrupted by {signal.Signals(stop).name}" in output and "Traceback" not in output
    assert "| INFO" not in output
    assert not (tmp_path / "published").exists()
    manifests = json.dumps([str(p) for p in tmp_path.rglob("manifest.json")])
    assert manifests == "[]"
    assert list((tmp_path / "tmp").glob("synth-check-*")) == []  # the data check's scratch folder goes too
