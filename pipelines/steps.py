"""The pipeline's steps as plain functions: each reads and writes files and returns a small reference."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.config import GenerateConfig, ModelConfig, PipelineConfig, SplitConfig
from pipelines.errors import ConfigError, ContractViolation, DataError
from pipelines.publish import latest_version, write_parquet
from pipelines.refs import ModelRef, ReportRef, SourceRef, SplitRef, TableRef
from pipelines.sources import file_sha256, read_source
from synth import Schema, SynthError, TabularSynthesizer, infer_schema
from synth.schema import table_to_frame
from synth.tabular.synthesizer import MIN_ROWS
from synth.tabular.training import ProgressCallback

__all__ = [
    "check_input_contract",
    "check_model",
    "check_synthetic_contract",
    "contract_failure",
    "gate_failure",
    "load_source",
    "measure",
    "metrics_summary",
    "read_table",
    "sample_model",
    "split_source",
    "split_table",
    "train_model",
]

log = logging.getLogger(__name__)

INPUT_CONTRACT = "input-contract.json"
SYNTHETIC_CONTRACT = "synthetic-contract.json"


def check_model(model: ModelConfig) -> None:
    """Refuse model settings the synthesizer would refuse, before any data is read or written."""
    try:
        TabularSynthesizer(**model.estimator_params()).validate_params()
    except SynthError as exc:
        raise ConfigError(f"model: {exc}") from exc


def load_source(config: PipelineConfig) -> SourceRef:
    """Read and check the real data: readable, not empty, target present, every column modellable."""
    check_model(config.model)
    table = read_source(config.source)
    if config.target is not None and config.target not in table.column_names:
        raise DataError(f"target column '{config.target}' is not in {config.source}; columns are {table.column_names}")
    if table.num_rows < 2 * MIN_ROWS:
        raise DataError(
            f"{config.source} has {table.num_rows} row(s); need at least {2 * MIN_ROWS} to train and hold some out"
        )
    check_input_contract(config, table)
    try:
        schema = infer_schema(table)
        if config.schema_:
            schema = schema.with_kinds(config.schema_)
    except SynthError as exc:
        raise DataError(f"{config.source}: {exc}") from exc
    ref = TableRef(path=str(config.source), sha256=file_sha256(config.source), rows=table.num_rows)
    return SourceRef(table=ref, schema_json=schema.to_json())


def check_input_contract(config: PipelineConfig, table: pa.Table) -> None:
    """A new real batch must keep the contract recorded with the dataset's last published version, if any."""
    previous = latest_version(config.output, config.name)
    if previous is None or not (previous / INPUT_CONTRACT).is_file():
        return
    from validators.expectations import validate_contract

    contract = json.loads((previous / INPUT_CONTRACT).read_text(encoding="utf-8"))
    result = validate_contract(table_to_frame(table), contract)
    if not result.success:
        raise ContractViolation(
            f"{config.source} breaks the data contract of {config.name} {previous.name} "
            f"({len(result.failures)} of {result.evaluated} expectations failed): " + "; ".join(result.failures[:5])
        )


def check_synthetic_contract(
    split: SplitRef, synthetic: TableRef, schema_json: str, run_dir: Path
) -> tuple[tuple[str, ...], dict[str, Path]]:
    """Validate the synthetic set against the contract built from the training rows; write both contracts, the
    result and GX's data docs into the run folder. Returns the broken expectations (none: it held) and the files.
    """
    from validators.expectations import build_contract, validate_contract

    schema = Schema.from_json(schema_json)
    train = table_to_frame(read_table(split.train))
    contract = build_contract(train, schema, kind="synthetic", rows=synthetic.rows)
    (run_dir / INPUT_CONTRACT).write_text(json.dumps(build_contract(train, schema, kind="input"), indent=2))
    (run_dir / SYNTHETIC_CONTRACT).write_text(json.dumps(contract, indent=2, default=str))
    result = validate_contract(table_to_frame(read_table(synthetic)), contract, docs_dir=run_dir / "data-docs")
    (run_dir / "contract-result.json").write_text(json.dumps(result.raw, indent=2, default=str))
    files = {name: run_dir / name for name in (INPUT_CONTRACT, SYNTHETIC_CONTRACT, "contract-result.json")}
    files["data-docs"] = run_dir / "data-docs"
    return result.failures, files


def contract_failure(broken: tuple[str, ...], enforce: bool) -> str | None:
    """Why publishing must stop (an enforced contract broke), or None."""
    if not broken or not enforce:
        return None
    return f"synthetic set breaks its data contract ({len(broken)} expectations), nothing published: " + "; ".join(
        broken[:5]
    )


def _write_table(table: pa.Table, path: Path) -> TableRef:
    pq.write_table(table, path)
    return TableRef(path=str(path), sha256=file_sha256(path), rows=table.num_rows)


def read_table(ref: TableRef) -> pa.Table:
    """Read a table a step wrote, refusing one whose bytes changed since."""
    path = Path(ref.path)
    if not path.is_file():
        raise DataError(f"{path} is gone; was the run folder removed?")
    if file_sha256(path) != ref.sha256:
        raise DataError(f"{path} changed after it was written (checksum mismatch)")
    return read_source(path)


def split_table(table: pa.Table, holdout_share: float, seed: int) -> tuple[pa.Table, pa.Table]:
    """(train, holdout) rows drawn by ``seed``, each in the source's order; Arrow keeps every type as it was."""
    order = np.random.default_rng(seed).permutation(table.num_rows)
    n_holdout = max(1, round(table.num_rows * holdout_share))
    return table.take(np.sort(order[n_holdout:])), table.take(np.sort(order[:n_holdout]))


def split_source(source: SourceRef, split: SplitConfig, run_dir: Path) -> SplitRef:
    """Split once by a recorded seed into train (all the generator sees) and holdout (never seen by it)."""
    train, holdout = split_table(read_table(source.table), split.holdout, split.seed)
    empty = [name for name in train.column_names if train.column(name).null_count == train.num_rows]
    if empty:
        raise DataError(
            f"column(s) {empty} have no values in the training split (seed {split.seed}); "
            "the source has too few non-null values in them to train on"
        )
    return SplitRef(
        train=_write_table(train, run_dir / "train.parquet"),
        holdout=_write_table(holdout, run_dir / "holdout.parquet"),
        seed=split.seed,
    )


def train_model(
    split: SplitRef, schema_json: str, model: ModelConfig, run_dir: Path, progress: ProgressCallback | None = None
) -> ModelRef:
    schema = Schema.from_json(schema_json)
    synthesizer = TabularSynthesizer(**model.estimator_params())
    try:
        synthesizer.fit(table_to_frame(read_table(split.train)), schema, progress=progress)
    except SynthError as exc:
        raise DataError(f"cannot train on {split.train.path}: {exc}") from exc
    out = synthesizer.save(run_dir / "model")
    seconds = float(sum(s.seconds for s in synthesizer.history_))
    return ModelRef(path=str(out), seed=synthesizer.seed_, seconds=seconds)


def sample_model(
    model: ModelRef, generate: GenerateConfig, default_rows: int, schema_json: str, run_dir: Path
) -> TableRef:
    synthesizer = TabularSynthesizer.load(model.path)
    frame = synthesizer.sample(generate.rows or default_rows, seed=generate.seed)
    path = run_dir / "synthetic.parquet"
    write_parquet(frame, Schema.from_json(schema_json).arrow_schema(), path)
    return TableRef(path=str(path), sha256=file_sha256(path), rows=len(frame))


def measure(split: SplitRef, synthetic: TableRef, schema_json: str, config: PipelineConfig, run_dir: Path) -> ReportRef:
    import validators

    schema = Schema.from_json(schema_json)
    report = validators.evaluate(
        table_to_frame(read_table(split.train)),
        table_to_frame(read_table(synthetic)),
        table_to_frame(read_table(split.holdout)),
        schema=schema,
        target=config.target,
        bounds=config.gate.bounds(),
        enforce=config.gate.enforce,
        seed=split.seed,
    )
    json_path, html_path = run_dir / "report.json", run_dir / "report.html"
    json_path.write_text(report.to_json(), encoding="utf-8")
    html_path.write_text(report.to_html(), encoding="utf-8")
    verdict = report.verdict
    return ReportRef(str(json_path), str(html_path), verdict.status, verdict.failures, verdict.warnings)


def gate_failure(report: ReportRef) -> str | None:
    """Why publishing must stop (an enforced gate failed), or None when it may go on."""
    if report.verdict != "failed":
        return None
    return "gate failed, nothing published: " + "; ".join(report.failures) + f" (report: {report.html_path})"


def metrics_summary(report: ReportRef) -> dict[str, Any]:
    data = json.loads(Path(report.json_path).read_text(encoding="utf-8"))
    return {
        m["name"]: {"value": m["value"], "reference": m["reference"], "status": m["status"]} for m in data["metrics"]
    }
