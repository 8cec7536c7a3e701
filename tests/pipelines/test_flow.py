"""The Prefect flow end to end on a small Adult sample, through the test harness."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.config import PipelineConfig, load_config
from pipelines.errors import GateFailed
from pipelines.sources import file_sha256

pytestmark = pytest.mark.usefixtures("prefect_harness")

TINY_MODEL = "model: {epochs: 2, batch_size: 100, seed: 0, generator_dims: [32, 32], discriminator_dims: [32, 32]}"


def _config(tmp_path: Path, source: Path, gate: str = "gate: {enforce: true}") -> PipelineConfig:
    path = tmp_path / "run.yaml"
    path.write_text(
        f"name: adult-small\nsource: {source}\ntarget: income\n{TINY_MODEL}\n"
        f"generate: {{rows: 700, seed: 1}}\noutput: {tmp_path / 'published'}\nwork_dir: {tmp_path / 'runs'}\n{gate}\n"
    )
    return load_config(path)


def test_flow_publishes_a_lossless_versioned_dataset(tmp_path: Path, adult_file: Path) -> None:
    from pipelines.flow import synthesize

    # A 2-epoch model cannot pass the gate; not enforcing it publishes the set with the failures as warnings.
    config = _config(tmp_path, adult_file, "gate: {enforce: false}")
    result = synthesize(config)
    assert result.published is not None and result.published.version == "v1"
    folder = Path(result.published.path)
    data = pq.read_table(folder / "part-00000.parquet")
    assert data.num_rows == 700
    assert data.schema.remove_metadata() == pq.read_schema(adult_file).remove_metadata()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["source"]["sha256"] == file_sha256(adult_file)
    assert manifest["config_hash"] == config.digest()
    assert manifest["seeds"] == {"split": 0, "model": 0, "generate": 1, "metrics": 0}
    assert {"column_shapes", "detection_auc", "utility_ratio", "prdc_coverage", "mia_auc"} <= set(manifest["metrics"])
    assert manifest["gate"]["verdict"] == "warned" and manifest["gate"]["failures"]
    assert {"torch", "pandas", "pyarrow", "synth-pipeline"} <= set(manifest["versions"])
    for name, entry in manifest["files"].items():
        assert file_sha256(folder / name) == entry["sha256"]
    assert "Verdict" in (folder / "report.html").read_text()

    for name in ("input-contract.json", "synthetic-contract.json", "contract-result.json", "data-docs/index.html"):
        assert (folder / name).is_file() and name in manifest["files"]
    assert "held" in manifest["contract"]

    again = synthesize(config)
    assert again.published is not None and again.published.version == "v2"
    assert pq.read_table(folder / "part-00000.parquet").equals(data)  # v1 untouched


def test_a_drifted_batch_breaks_the_last_versions_contract(tmp_path: Path, adult_file: Path) -> None:
    from pipelines.flow import synthesize

    synthesize(_config(tmp_path, adult_file, "gate: {enforce: false}"))
    drifted = tmp_path / "drifted.parquet"
    pq.write_table(pq.read_table(adult_file).drop_columns(["hours_per_week"]), drifted)
    config_path = tmp_path / "drift.yaml"
    config_path.write_text(
        f"name: adult-small\nsource: {drifted}\n{TINY_MODEL}\noutput: {tmp_path / 'published'}\n"
        f"work_dir: {tmp_path / 'drift-runs'}\n"
    )
    result = CliRunner().invoke(main, ["run", "--quiet", str(config_path)])
    assert result.exit_code == 2
    assert "breaks the data contract of adult-small v1" in result.output
    assert "expect_table_columns_to_match_ordered_list" in result.output
    assert not (tmp_path / "drift-runs").exists()  # stopped before training


def test_failed_gate_publishes_nothing_and_keeps_the_report(tmp_path: Path, adult_file: Path) -> None:
    from pipelines.flow import synthesize

    config = _config(tmp_path, adult_file, "gate: {enforce: true, column_shapes: 1.0}")
    with pytest.raises(GateFailed, match=r"column_shapes = .* is below its fail threshold 1\.0000"):
        synthesize(config)
    assert not (tmp_path / "published" / "adult-small").exists() or not any(
        p.name.startswith("v") for p in (tmp_path / "published" / "adult-small").iterdir()
    )
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert json.loads((run_dir / "report.json").read_text())["verdict"] == "failed"


def test_cli_gate_exit_codes(tmp_path: Path, adult_file: Path) -> None:
    """Exit 1 with the failing checks when an enforced gate fails; 0 and 'warned' when it is not enforced."""
    config_path = tmp_path / "cli.yaml"
    body = (
        f"name: cli\nsource: {adult_file}\n{TINY_MODEL}\ngenerate: {{rows: 300}}\n"
        f"output: {tmp_path / 'published'}\nwork_dir: {tmp_path / 'runs'}\n"
    )
    config_path.write_text(body + "gate: {enforce: true, column_shapes: 1.0}\n")
    failed = CliRunner().invoke(main, ["run", "--quiet", str(config_path)])
    assert failed.exit_code == 1
    assert "gate failed, nothing published: column_shapes" in failed.output
    config_path.write_text(body + "gate: {enforce: false, column_shapes: 1.0}\n")
    warned = CliRunner().invoke(main, ["run", "--quiet", str(config_path)])
    assert warned.exit_code == 0, warned.output
    assert "verdict: warned" in warned.output
    assert (tmp_path / "published" / "cli" / "v1" / "part-00000.parquet").is_file()
