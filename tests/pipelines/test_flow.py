"""The Prefect flow end to end on a small Adult sample, through the test harness: publishing, model reuse,
quarantine, partitioned generation on threads and on Dask."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pipelines.catalog import list_quarantined, list_versions, read_verified
from pipelines.cli import main
from pipelines.config import PipelineConfig, load_config
from pipelines.errors import DataError, PublishError
from pipelines.sources import file_sha256

pytestmark = pytest.mark.usefixtures("prefect_harness")

TINY_MODEL = "model: {epochs: 2, batch_size: 100, seed: 0, generator_dims: [32, 32], discriminator_dims: [32, 32]}"


def _config_file(tmp_path: Path, source: Path, gate: str = "gate: {enforce: true}", extra: str = "") -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(
        f"name: adult-small\nsource: {source}\ntarget: income\n{TINY_MODEL}\n"
        f"generate: {{rows: 700, seed: 1, partitions: 2, batch_rows: 200}}\noutput: {tmp_path / 'published'}\n"
        f"work_dir: {tmp_path / 'work'}\n{gate}\n{extra}"
    )
    return path


def _config(tmp_path: Path, source: Path, gate: str = "gate: {enforce: true}", extra: str = "") -> PipelineConfig:
    return load_config(_config_file(tmp_path, source, gate, extra))


def test_flow_publishes_then_reuses_the_model_until_data_or_settings_change(tmp_path: Path, adult_file: Path) -> None:
    from pipelines.flow import synthesize

    # A 2-epoch model cannot pass the gate; not enforcing it publishes the set with the failures as warnings.
    config = _config(tmp_path, adult_file, "gate: {enforce: false}")
    result = synthesize(config)
    assert result.published.version == "v1" and not result.model_reused
    folder = Path(result.published.path)
    manifest = json.loads((folder / "manifest.json").read_text())
    parts = [folder / "part-00000.parquet", folder / "part-00001.parquet"]
    assert [pq.read_metadata(p).num_rows for p in parts] == [350, 350] and manifest["rows"] == 700
    assert [pq.read_metadata(p).num_row_groups for p in parts] == [2, 2]  # 200 rows in memory at a time
    assert pq.read_schema(parts[0]).remove_metadata() == pq.read_schema(adult_file).remove_metadata()
    assert manifest["source"]["sha256"] == file_sha256(adult_file)
    assert manifest["config_hash"] == config.digest() and manifest["measured_rows"] == 700
    assert manifest["seeds"] == {"split": 0, "model": 0, "generate": 1, "metrics": 0}
    assert {"column_shapes", "detection_auc", "utility_ratio", "prdc_coverage", "mia_auc"} <= set(manifest["metrics"])
    assert manifest["gate"]["verdict"] == "warned" and manifest["gate"]["failures"]
    assert {"torch", "pandas", "pyarrow", "synth-pipeline"} <= set(manifest["versions"])
    for name, entry in manifest["files"].items():
        assert file_sha256(folder / name) == entry["sha256"]
    assert "Verdict" in (folder / "report.html").read_text()
    assert json.loads((folder / "report.json").read_text())["context"]["synthetic_rows_produced"] == 700
    for name in ("input-contract.json", "synthetic-contract.json", "contract-result.json", "data-docs/index.html"):
        assert (folder / name).is_file() and name in manifest["files"]
    assert manifest["contract"]["held"] == (not manifest["contract"]["broken"])
    assert not list((tmp_path / "work" / "runs").glob("*"))  # the run's working files are gone
    model_id = manifest["model"]["id"]
    assert sorted(p.name for p in (tmp_path / "work" / "models" / model_id).iterdir()) == ["checksums.json", "model"]

    # Nothing the model depends on changed: it is reused, and Dask's workers write the parts threads wrote.
    again = synthesize(_config(tmp_path, adult_file, "gate: {enforce: false}", "runner: {kind: dask, workers: 2}"))
    assert again.published.version == "v2" and again.model_reused
    second = Path(again.published.path)
    assert json.loads((second / "manifest.json").read_text())["model"] == {**manifest["model"], "reused": True}
    assert [file_sha256(second / part.name) for part in parts] == [file_sha256(part) for part in parts]

    longer = synthesize(
        _config(tmp_path, adult_file, "gate: {enforce: false}").model_copy(
            update={"model": config.model.model_copy(update={"epochs": 3})}
        )
    )
    assert not longer.model_reused
    fewer_rows = tmp_path / "fewer.parquet"
    pq.write_table(pq.read_table(adult_file).slice(0, 590), fewer_rows)
    other_data = synthesize(config.model_copy(update={"source": fewer_rows}))
    assert not other_data.model_reused
    ids = {
        json.loads((Path(r.published.path) / "manifest.json").read_text())["model"]["id"]
        for r in (result, longer, other_data)
    }
    assert len(ids) == 3


def test_a_drifted_batch_breaks_the_last_versions_contract(tmp_path: Path, adult_file: Path) -> None:
    from pipelines.flow import synthesize

    synthesize(_config(tmp_path, adult_file, "gate: {enforce: false}"))
    drifted = tmp_path / "drifted.parquet"
    pq.write_table(pq.read_table(adult_file).drop_columns(["hours_per_week"]), drifted)
    config_path = tmp_path / "drift.yaml"
    config_path.write_text(
        f"name: adult-small\nsource: {drifted}\n{TINY_MODEL}\noutput: {tmp_path / 'published'}\n"
        f"work_dir: {tmp_path / 'drift-work'}\n"
    )
    result = CliRunner().invoke(main, ["run", "--quiet", str(config_path)])
    assert result.exit_code == 2
    assert "breaks the data contract of adult-small v1" in result.output
    assert "expect_table_columns_to_match_ordered_list" in result.output
    assert not (tmp_path / "drift-work").exists()  # stopped before training


def test_a_failed_gate_quarantines_the_candidate_and_exits_1_unless_not_enforced(
    tmp_path: Path, adult_file: Path
) -> None:
    strict = "column_shapes: {fail: 1.0, relative: false}"
    config_path = _config_file(tmp_path, adult_file, f"gate: {{enforce: true, {strict}}}")
    failed = CliRunner().invoke(main, ["run", "--quiet", str(config_path)])
    assert failed.exit_code == 1, failed.output
    assert "gate failed, nothing published: column_shapes" in failed.output and "quarantined at" in failed.output
    root = tmp_path / "published"
    assert list_versions(root) == []
    (held,) = list_quarantined(root, "adult-small")
    assert held.verdict == "failed" and "column_shapes" in held.manifest["quarantined"]["reason"]
    assert read_verified(held, root).num_rows == 700
    assert (
        json.loads((root / ".quarantine" / "adult-small" / held.version / "report.json").read_text())["verdict"]
        == "failed"
    )
    listed = CliRunner().invoke(main, ["list", "--quarantine", "--root", str(root)])
    assert listed.exit_code == 0 and held.version in listed.output and "gate failed" in listed.output

    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        key = ArtifactFilter(key=ArtifactFilterKey(any_=["adult-small-quality-report"]))
        (artifact,) = client.read_artifacts(artifact_filter=key, sort=ArtifactSort.CREATED_DESC, limit=1)
    assert f"adult-small {held.version}: failed (quarantined)" in str(artifact.data)
    assert "| column_shapes |" in str(artifact.data) and "- fail: column_shapes" in str(artifact.data)

    # The same failures with the gate not enforced: exit 0, the verdict "warned", the set published.
    _config_file(tmp_path, adult_file, f"gate: {{enforce: false, {strict}}}")
    warned = CliRunner().invoke(main, ["run", "--quiet", str(config_path)])
    assert warned.exit_code == 0, warned.output
    assert "verdict: warned" in warned.output and "model:     reused" in warned.output
    assert [version.version for version in list_versions(root)] == ["v1"]


def test_publishing_retries_io_errors_but_not_bad_input(
    tmp_path: Path, adult_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines import flow

    real_publish, calls = flow.publish_version, []

    def flaky(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("the object store hiccuped")
        return real_publish(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(flow, "publish_version", flaky)
    result = flow.synthesize(_config(tmp_path, adult_file, "gate: {enforce: false}"))
    assert len(calls) == 2 and result.published.version == "v1"

    def transient(error: Exception) -> bool:
        from prefect.states import Failed

        return flow._transient(flow.publish_task, None, Failed(data=error))  # type: ignore[arg-type]

    assert transient(OSError("busy")) and not transient(PublishError("does not fit the schema"))
    assert not transient(DataError("bad input"))


def test_a_column_whose_values_all_fall_in_the_holdout_comes_out_null(tmp_path: Path) -> None:
    """Two values in 100 rows can both be drawn into the holdout: the run publishes that column entirely null, with
    its type, and its manifest names it, rather than refusing the table."""
    import pyarrow as pa

    from pipelines.flow import synthesize
    from pipelines.splitting import split_table

    rows, index = 100, pa.table({"i": range(100)})
    seed = next(s for s in range(1000) if {3, 17} <= set(split_table(index, 0.2, s)[1].column("i").to_pylist()))
    source = tmp_path / "sparse.parquet"
    pq.write_table(
        pa.table({
            "x": [float(i % 13) for i in range(rows)],
            "kind": [["a", "b", "c"][i % 3] for i in range(rows)],
            "score": pa.array([i / 2 if i in (3, 17) else None for i in range(rows)], type=pa.float32()),
        }),
        source,
    )  # fmt: skip
    path = tmp_path / "run.yaml"
    path.write_text(
        f"name: sparse\nsource: {source}\n{TINY_MODEL}\nsplit: {{seed: {seed}}}\ngenerate: {{rows: 40, seed: 1}}\n"
        f"output: {tmp_path / 'published'}\nwork_dir: {tmp_path / 'work'}\ngate: {{enforce: false}}\n"
    )
    result = synthesize(load_config(path))
    published = pq.read_table(Path(result.published.path) / "part-00000.parquet")
    assert published.num_rows == 40 and published.column("score").null_count == 40
    assert published.schema.field("score").type == pa.float32()
    assert published.column("x").null_count == 0
    manifest = json.loads((Path(result.published.path) / "manifest.json").read_text())
    assert manifest["columns_without_training_values"] == ["score"]
