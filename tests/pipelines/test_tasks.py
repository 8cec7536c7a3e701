"""Each flow task's body on its own (``task.fn``), outside a flow run: what it returns, what it writes, and that the
typed references one task returns are what the next one takes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from prefect.logging import disable_run_logger

from pipelines import flow
from pipelines.config import PipelineConfig
from pipelines.refs import ModelRef, ReportRef, SourceRef, SplitRef, TableRef
from pipelines.settings import Augmenting, Intake, Measuring, Publishing, Training
from pipelines.sources import forget_tables
from synth import Schema

TABLE = "tabular"
MODEL = {"epochs": 2, "batch_size": 100, "seed": 0, "generator_dims": [32], "discriminator_dims": [32]}


def _config(folder: Path, source: Path, **extra: Any) -> PipelineConfig:
    return PipelineConfig.model_validate(
        {
            "name": "tasks", "source": str(source), "target": "income", "model": MODEL,
            "generate": {"rows": 120, "seed": 1}, "output": str(folder / "published"),
            "work_dir": str(folder / "work"), "gate": {"enforce": True}, **extra,
        }
    )  # fmt: skip


@dataclass(frozen=True)
class Chain:
    config: PipelineConfig
    run_dir: Path
    source: SourceRef
    split: SplitRef
    model: ModelRef
    part: TableRef


@pytest.fixture(scope="module")
def chain(adult_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    """load-source -> split -> train -> one generated part, each task called as a plain function."""
    folder = tmp_path_factory.mktemp("tasks")
    config, run_dir = _config(folder, adult_file), folder / "run"
    run_dir.mkdir()
    with disable_run_logger():
        source = flow.load_source_task.fn(TABLE, Intake.of(config), run_dir)
        split = flow.split_task.fn(source, config.split, run_dir)
        model = flow.train_task.fn(TABLE, split, source, Training.of(config), False)
        part = flow.generate_part_task.fn(TABLE, model, 0, 120, 0, config.generate, None, split, source, run_dir)
    yield Chain(config, run_dir, source, split, model, part)
    forget_tables()


def _measure(chain: Chain) -> tuple[TableRef, ReportRef]:
    return flow.measure_task.fn(
        TABLE, chain.split, [chain.part], chain.source, chain.model, 1000, Measuring.of(chain.config), chain.run_dir
    )


def test_load_source_returns_the_parsed_schema_and_the_file_hash(chain: Chain, adult_file: Path) -> None:
    assert isinstance(chain.source.schema, Schema)
    assert chain.source.schema.names == pq.read_schema(adult_file).names
    assert chain.source.table.path == str(adult_file) and chain.source.table.rows == 600


def test_split_writes_disjoint_parts_that_add_up(chain: Chain) -> None:
    train, holdout = (pq.read_table(ref.path) for ref in (chain.split.train, chain.split.holdout))
    assert (train.num_rows, holdout.num_rows) == (480, 120) == (chain.split.train.rows, chain.split.holdout.rows)
    assert train.schema.remove_metadata() == holdout.schema.remove_metadata()


def test_train_returns_the_history_and_reuses_the_model_on_a_second_call(chain: Chain) -> None:
    assert not chain.model.reused and [epoch["epoch"] for epoch in chain.model.history] == [1, 2]
    assert chain.model.seconds == pytest.approx(sum(epoch["seconds"] for epoch in chain.model.history))
    with disable_run_logger():
        again = flow.train_task.fn(TABLE, chain.split, chain.source, Training.of(chain.config), False)
    assert again.reused and again.key == chain.model.key and again.history == chain.model.history


def test_a_generated_part_has_the_rows_asked_for_in_the_source_types(chain: Chain, adult_file: Path) -> None:
    assert chain.part.rows == 120 == pq.read_metadata(chain.part.path).num_rows
    assert pq.read_schema(chain.part.path).remove_metadata() == pq.read_schema(adult_file).remove_metadata()


def test_measure_and_gate_carry_the_figures_the_manifest_shows(chain: Chain) -> None:
    with disable_run_logger():
        sample, report = _measure(chain)
        failure = flow.gate_task.fn(report)
    assert sample.rows == 120
    written = json.loads(Path(report.json_path).read_text())
    assert report.verdict == written["verdict"]
    assert report.metrics == {
        m["name"]: {k: m[k] for k in ("value", "reference", "status")} for m in written["metrics"]
    }
    assert (failure is None) == (report.verdict != "failed")  # the gate is enforced here
    if failure is not None:
        assert failure.startswith("gate failed, nothing published: ")


def test_the_contract_counts_rows_and_writes_its_files(chain: Chain) -> None:
    with disable_run_logger():
        sample, _ = _measure(chain)
        broken, files = flow.contract_task.fn(TABLE, chain.split, sample, (121, 120), False, chain.source,
                                              chain.model, chain.run_dir)  # fmt: skip
    assert broken[0] == "the synthetic set has 120 rows; 121 were asked for"
    assert {"input-contract.json", "synthetic-contract.json", "contract-result.json", "data-docs"} == set(files)
    assert all(path.exists() for path in files.values())


def test_publish_and_quarantine_write_the_parts_and_the_manifest(chain: Chain) -> None:
    with disable_run_logger():
        sample, report = _measure(chain)
        _, files = flow.contract_task.fn(TABLE, chain.split, sample, (120, 120), False, chain.source, chain.model,
                                         chain.run_dir)  # fmt: skip
        manifest = {"checked": True}
        publishing = Publishing.of(chain.config)
        published = flow.publish_task.fn([chain.part], manifest, report, files, publishing)
        kept = flow.quarantine_task.fn([chain.part], manifest, report, files, publishing, "a reason")
    for place in (published, kept):
        folder = Path(place.path)
        assert pq.read_metadata(folder / "part-00000.parquet").num_rows == 120
        written = json.loads((folder / "manifest.json").read_text())
        assert written["rows"] == 120 and written["checked"]
        assert (folder / "report.html").is_file() and (folder / "data-docs").is_dir()
    assert published.version == "v1"
    assert json.loads((Path(kept.path) / "manifest.json").read_text())["quarantined"] == {"reason": "a reason"}


def test_augment_adds_exactly_the_planned_rows(chain: Chain, adult_file: Path) -> None:
    config = chain.config.model_copy(update={"mode": "augmentation"})
    with disable_run_logger():
        augmented = flow.augment_task.fn(
            TABLE, chain.model, chain.split, chain.source, Augmenting.of(config), chain.run_dir
        )
    table = pq.read_table(augmented.table.path)
    flags = table["is_synthetic"].to_pylist()
    assert flags.count(False) == chain.split.train.rows and flags.count(True) == augmented.added.rows
    assert augmented.added.rows == sum(augmented.plan.values()) > 0
    labels = table["income"].to_pylist()
    counts = {label: labels.count(label) for label in set(labels)}
    assert len(set(counts.values())) == 1  # uniform: every class as large as the largest


def test_the_gate_names_every_failure_and_the_report() -> None:
    failing = ReportRef("r.json", "r.html", "failed", ("x below y", "z above w"))
    with disable_run_logger():
        assert flow.gate_task.fn(failing) == "gate failed, nothing published: x below y; z above w (report: r.html)"
        assert flow.gate_task.fn(ReportRef("r.json", "r.html", "warned", (), ("x near y",))) is None
