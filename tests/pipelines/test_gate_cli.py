"""`synth gate` as a CI step: a table on stdout, exit 0 on pass or warn, 1 on fail, 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pipelines.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    table = pq.read_table(ROOT / "data" / "adult" / "adult_train.parquet")
    rows = np.sort(np.random.default_rng(0).permutation(table.num_rows)[:6000])
    table = table.take(rows)
    folder = tmp_path_factory.mktemp("gate")
    parts = {"train": table.slice(0, 4000), "holdout": table.slice(4000, 1000), "other": table.slice(5000, 1000)}
    parts["copies"] = parts["train"].slice(0, 1000)
    parts["renamed"] = parts["other"].rename_columns(["years", *parts["other"].column_names[1:]])
    parts["empty"] = parts["other"].slice(0, 0)
    paths = {}
    for name, part in parts.items():
        paths[name] = folder / f"{name}.parquet"
        pq.write_table(part, paths[name])
    return paths


def _gate(files: dict[str, Path], synthetic: str, *extra: str) -> tuple[int, str]:
    args = ["gate", "--real", str(files["train"]), "--holdout", str(files["holdout"]), "--synthetic"]
    result = CliRunner().invoke(main, [*args, str(files[synthetic]), *extra])
    return result.exit_code, result.output


def test_real_rows_pass_and_reports_are_written(files: dict[str, Path], tmp_path: Path) -> None:
    html, js = tmp_path / "out.html", tmp_path / "out.json"
    code, output = _gate(
        files, "other", "--target", "income", "--report", str(html), "--json", str(js), "--rare-min", "1"
    )
    assert code == 0, output
    assert "verdict: passed" in output and "utility_ratio" in output
    assert html.read_text().startswith("<!doctype html>")
    assert json.loads(js.read_text())["verdict"] == "passed"


def test_copies_fail_with_exit_1(files: dict[str, Path]) -> None:
    code, output = _gate(files, "copies")
    assert code == 1
    assert "verdict: failed" in output and "exact_copy_rate" in output


def test_bounds_from_a_config_file(files: dict[str, Path], tmp_path: Path) -> None:
    config = tmp_path / "gates.yaml"
    config.write_text("gate:\n  enforce: false\n")
    code, output = _gate(files, "copies", "--config", str(config))
    assert code == 0 and "verdict: warned" in output
    config.write_text("gate:\n  column_shape: 0.9\n")
    code, output = _gate(files, "other", "--config", str(config))
    assert code == 2 and "unknown key 'column_shape'; did you mean 'column_shapes'?" in output


@pytest.mark.parametrize(
    ("synthetic", "extra", "message"),
    [
        ("renamed", (), "missing ['age'], unexpected ['years']"),
        ("empty", (), "has no rows"),
        ("other", ("--target", "salary"), "target column 'salary' is not in both tables"),
    ],
)
def test_bad_input_exits_2(files: dict[str, Path], synthetic: str, extra: tuple[str, ...], message: str) -> None:
    code, output = _gate(files, synthetic, *extra)
    assert code == 2
    assert message in output and "Traceback" not in output


def test_small_holdout_and_missing_file_exit_2(files: dict[str, Path], tmp_path: Path) -> None:
    small = tmp_path / "small.parquet"
    pq.write_table(pa.Table.from_batches(pq.read_table(files["holdout"]).slice(0, 10).to_batches()), small)
    result = CliRunner().invoke(
        main, ["gate", "--real", str(files["train"]), "--holdout", str(small), "--synthetic", str(files["other"])]
    )
    assert result.exit_code == 2 and "the holdout has 10 rows" in result.output
    result = CliRunner().invoke(main, ["gate", "--real", str(tmp_path / "nope.csv"), "--synthetic", str(small)])
    assert result.exit_code == 2 and "source file not found" in result.output
