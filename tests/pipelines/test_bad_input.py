"""Every bad input gets one readable line from the CLI, exit code 2, no traceback and no output left behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pipelines.cli import main


def _config(tmp_path: Path, source: Path, extra: str = "") -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(
        f"name: t\nsource: {source}\nmodel: {{epochs: 1}}\noutput: {tmp_path / 'published'}\n"
        f"work_dir: {tmp_path / 'runs'}\n{extra}"
    )
    return path


def _empty_parquet(path: Path) -> Path:
    pq.write_table(pa.table({"a": pa.array([], type=pa.int64())}), path)
    return path


def _repeated_header(path: Path) -> Path:
    path.write_text("a,b,a\n" + "1,x,2\n" * 50)
    return path


def _single_row(path: Path) -> Path:
    pq.write_table(pa.table({"a": [1], "b": ["x"]}), path)
    return path


def _excel(path: Path) -> Path:
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    return path


def _corrupt_parquet(path: Path) -> Path:
    path.write_bytes(b"PAR1" + b"\x00garbage" * 20)
    return path


def _latin1_csv(path: Path) -> Path:
    path.write_bytes("name,city\nJos\xe9,M\xe1laga\n".encode("latin-1") * 30)
    return path


def _truncated_parquet(path: Path) -> Path:
    pq.write_table(pa.table({"a": list(range(1000))}), path)
    path.write_bytes(path.read_bytes()[:200])
    return path


CASES: list[tuple[str, str, Callable[[Path], Path], str]] = [
    ("empty table", "empty.parquet", _empty_parquet, "has no rows"),
    ("repeated header", "twice.csv", _repeated_header, "has repeated column name(s) ['a']"),
    ("single row", "one.parquet", _single_row, "has 1 row(s); need at least 20"),
    ("unknown file type", "data.xlsx", _excel, "unsupported file type '.xlsx'"),
    ("path that does not exist", "missing.parquet", lambda p: p, "source file not found"),
    ("corrupt Parquet", "bad.parquet", _corrupt_parquet, "could not read Parquet file"),
    ("truncated Parquet", "cut.parquet", _truncated_parquet, "could not read Parquet file"),
    ("non-UTF-8 CSV", "latin.csv", _latin1_csv, "is not UTF-8 text (byte 0xe9 at offset 13)"),
]


@pytest.mark.parametrize(("case", "filename", "make", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_source_is_one_clear_line(
    tmp_path: Path, case: str, filename: str, make: Callable[[Path], Path], message: str
) -> None:
    source = make(tmp_path / filename)
    result = CliRunner().invoke(main, ["run", str(_config(tmp_path, source))])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert result.output.startswith("Error: ") and "Traceback" not in result.output
    assert not (tmp_path / "published").exists() and not (tmp_path / "runs").exists()


def test_missing_target_column(tmp_path: Path, adult_file: Path) -> None:
    result = CliRunner().invoke(main, ["run", str(_config(tmp_path, adult_file, "target: salary\n"))])
    assert result.exit_code == 2
    assert "target column 'salary' is not in" in result.output
    assert not (tmp_path / "published").exists() and not (tmp_path / "runs").exists()


def test_a_target_no_model_predicts_is_refused_before_training(tmp_path: Path) -> None:
    """A case number (an identifier) as the target: refused at once, naming the column and its kind, where the
    utility check could only fail the gate after training."""
    rows = 200
    frame = pd.DataFrame({"case": [f"C-{i:05d}" for i in range(rows)], "age": np.arange(rows) % 70 + 18})
    source = tmp_path / "cases.parquet"
    frame.to_parquet(source)
    result = CliRunner().invoke(main, ["run", str(_config(tmp_path, source, "target: case\n"))])
    assert result.exit_code == 2, result.output
    assert "target column 'case' is code, which the utility check cannot predict" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "published").exists() and not (tmp_path / "runs").exists()


def test_config_typo(tmp_path: Path, adult_file: Path) -> None:
    result = CliRunner().invoke(main, ["run", str(_config(tmp_path, adult_file, "genrate: {rows: 5}\n"))])
    assert result.exit_code == 2
    assert "unknown key 'genrate'; did you mean 'generate'?" in result.output
    assert "Traceback" not in result.output


def test_schema_command_shows_kinds(adult_file: Path) -> None:
    result = CliRunner().invoke(main, ["schema", str(adult_file)])
    assert result.exit_code == 0
    assert "workclass       categorical  yes" in result.output


def test_help_lists_exit_codes() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "Exit codes:" in result.output
    assert all(code in result.output for code in ("1  gate failed", "2  bad input", "3  internal error", "143"))


def test_device_that_is_not_here_is_a_config_error(tmp_path: Path, adult_file: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    config = _config(tmp_path, adult_file)
    config.write_text(config.read_text().replace("model: {epochs: 1}", "model: {epochs: 1, device: cuda}"))
    result = CliRunner().invoke(main, ["run", str(config)])
    assert result.exit_code == 2
    assert "bad value for 'model.device': device 'cuda' was asked for but CUDA is not available here" in result.output
    assert not (tmp_path / "runs").exists()


def _infinite(path: Path) -> Path:
    pq.write_table(pa.table({"a": [1.0, float("inf")] * 75, "b": ["x", "y", "z"] * 50}), path)
    return path


CONFIG_CASES: list[tuple[str, str, str]] = [
    ("bool for an int", "model: {epochs: true}", "bad value for 'model.epochs': epochs must be an int >= 1, got True"),
    ("string for an int", "model: {epochs: 1, seed: '3'}", "bad value for 'model.seed': seed must be None or an int"),
    ("string for a number", "split: {holdout: '0.2'}", "bad value for 'split.holdout': Input should be a valid"),
    ("holdout too small to measure", "split: {holdout: 0.0001}", "split.holdout 0.0001 of 600 rows holds out 1"),
    ("holdout leaves nothing to train", "split: {holdout: 0.99}", "leaves 6 to train on; the model needs"),
    ("too few rows to measure", "generate: {rows: 5}", "generate.rows is 5; the checks need at least 20"),
    ("broken YAML", "model: {epochs: 3\n", "is not valid YAML: expected ',' or '}', but got '<stream end>' at line"),
]


@pytest.mark.parametrize(("case", "extra", "message"), CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_a_bad_config_fails_in_one_line_before_training(
    tmp_path: Path, adult_file: Path, case: str, extra: str, message: str
) -> None:
    config = _config(tmp_path, adult_file)
    text = config.read_text()
    key = extra.partition(":")[0]
    kept = "".join(line + "\n" for line in text.splitlines() if not line.startswith(f"{key}:"))
    config.write_text(kept + extra + "\n")
    result = CliRunner().invoke(main, ["run", str(config)])
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "published").exists() and not (tmp_path / "runs").exists()


def test_output_locations_are_checked_before_training(tmp_path: Path, adult_file: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    for extra, message in (
        (f"output: {tmp_path / 'a-file'}", "is a file, not a folder"),
        (f"output: {tmp_path / 'a-file' / 'below'}", "which is a file, not a folder"),
        (f"work_dir: {tmp_path / 'a-file'}", "work_dir"),
    ):
        config = _config(tmp_path, adult_file)
        key = extra.partition(":")[0]
        kept = [line for line in config.read_text().splitlines() if not line.startswith(f"{key}:")]
        config.write_text("\n".join([*kept, extra]) + "\n")
        result = CliRunner().invoke(main, ["run", str(config)])
        assert result.exit_code == 2 and message in result.output, result.output


def test_infinite_values_are_named_in_the_users_file(tmp_path: Path) -> None:
    source = _infinite(tmp_path / "inf.parquet")
    result = CliRunner().invoke(main, ["run", str(_config(tmp_path, source))])
    assert result.exit_code == 2
    assert f"Error: {source}: column 'a' holds infinite values" in result.output
