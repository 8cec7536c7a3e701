"""The Prefect flow ``synthesize``: one task per step, from real data to a published Parquet dataset."""

from __future__ import annotations

import json
import secrets
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed

from pipelines import steps
from pipelines.config import PipelineConfig
from pipelines.errors import GateFailed
from pipelines.publish import PublishedVersion, missing_folders, publish_version, remove_if_empty
from pipelines.refs import ModelRef, ReportRef, SourceRef, SplitRef, TableRef
from synth import EpochStats, Schema
from synth.schema import table_to_frame
from synth.tabular.synthesizer import package_versions

__all__ = ["RunResult", "synthesize"]


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a finished run produced."""

    name: str
    verdict: str
    published: PublishedVersion
    run_dir: str
    metrics: dict[str, dict[str, object]]


def _timed(step: str, started: float) -> None:
    get_run_logger().info("%s took %.1f s", step, time.perf_counter() - started)


@task(name="load-source", cache_policy=NO_CACHE)
def load_source_task(config: PipelineConfig) -> SourceRef:
    started = time.perf_counter()
    source = steps.load_source(config)
    get_run_logger().info("inferred schema:\n%s", Schema.from_json(source.schema_json).describe())
    _timed("load-source", started)
    return source


@task(name="split", cache_policy=NO_CACHE)
def split_task(source: SourceRef, config: PipelineConfig, run_dir: Path) -> SplitRef:
    started = time.perf_counter()
    split = steps.split_source(source, config.split, run_dir)
    get_run_logger().info(
        "split seed %d: %d train rows, %d holdout rows", split.seed, split.train.rows, split.holdout.rows
    )
    _timed("split", started)
    return split


@task(name="train", cache_policy=NO_CACHE)
def train_task(
    split: SplitRef, source: SourceRef, config: PipelineConfig, run_dir: Path, show_progress: bool
) -> ModelRef:
    started = time.perf_counter()
    logger = get_run_logger()
    epochs = config.model.epochs
    bar = _progress_bar(epochs) if show_progress else None

    def report(stats: EpochStats) -> None:
        if bar is not None:
            bar.update(1)
            bar.set_postfix(D=f"{stats.discriminator_loss:.3f}", G=f"{stats.generator_loss:.3f}")
        if stats.epoch == stats.epochs or stats.epoch % max(1, stats.epochs // 10) == 0:
            logger.info(
                "epoch %d/%d: critic %.4f, generator %.4f, condition %.4f (%.2f s)",
                stats.epoch,
                stats.epochs,
                stats.discriminator_loss,
                stats.generator_loss,
                stats.condition_loss,
                stats.seconds,
            )

    try:
        model = steps.train_model(split, source.schema_json, config.model, run_dir, progress=report)
    finally:
        if bar is not None:
            bar.close()
    _timed("train", started)
    return model


def _progress_bar(epochs: int | None) -> Any:
    from tqdm import tqdm

    return tqdm(total=epochs, desc="training", unit="epoch", file=sys.stderr, disable=not sys.stderr.isatty())


@task(name="sample", cache_policy=NO_CACHE)
def sample_task(model: ModelRef, split: SplitRef, source: SourceRef, config: PipelineConfig, run_dir: Path) -> TableRef:
    started = time.perf_counter()
    table = steps.sample_model(model, config.generate, split.train.rows, source.schema_json, run_dir)
    get_run_logger().info("generated %d rows with seed %d", table.rows, config.generate.seed)
    _timed("sample", started)
    return table


@task(name="measure", cache_policy=NO_CACHE)
def measure_task(
    split: SplitRef, synthetic: TableRef, source: SourceRef, config: PipelineConfig, run_dir: Path
) -> ReportRef:
    started = time.perf_counter()
    report = steps.measure(split, synthetic, source.schema_json, config, run_dir)
    get_run_logger().info("report: %s", report.html_path)
    _timed("measure", started)
    return report


@task(name="gate", cache_policy=NO_CACHE)
def gate_task(report: ReportRef) -> str | None:
    """Why publishing must stop, or None; the flow turns a reason into a Failed run."""
    logger = get_run_logger()
    logger.info("gate verdict: %s", report.verdict)
    failure = steps.gate_failure(report)
    if failure is None:
        for failure_line in report.failures:
            logger.warning("gate not enforced, publishing anyway: %s", failure_line)
        for warning in report.warnings:
            logger.warning("gate warning: %s", warning)
    return failure


@task(name="contract", cache_policy=NO_CACHE)
def contract_task(
    split: SplitRef, synthetic: TableRef, source: SourceRef, run_dir: Path
) -> tuple[str | None, dict[str, Path]]:
    """Validate the synthetic set against the Great Expectations contract built from the training rows."""
    started = time.perf_counter()
    failure, files = steps.check_synthetic_contract(split, synthetic, source.schema_json, run_dir)
    get_run_logger().info("data contract: %s", "held" if failure is None else "broken")
    _timed("contract", started)
    return failure, files


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(
    synthetic: TableRef,
    source: SourceRef,
    split: SplitRef,
    model: ModelRef,
    report: ReportRef,
    contract_broken: tuple[str, ...],
    contract_files: dict[str, Path],
    config: PipelineConfig,
) -> PublishedVersion:
    started = time.perf_counter()
    schema = Schema.from_json(source.schema_json)
    frame = table_to_frame(steps.read_table(synthetic))
    manifest = {
        "kind": "synthetic",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "schema": schema.to_dict()["columns"],
        "source": {"path": source.table.path, "sha256": source.table.sha256, "rows": source.table.rows},
        "config": config.model_dump(mode="json", by_alias=True),
        "config_hash": config.digest(),
        "model": {"path": model.path, "training_seconds": round(model.seconds, 2)},
        "seeds": {"split": split.seed, "model": model.seed, "generate": config.generate.seed, "metrics": split.seed},
        "versions": package_versions(),
        "metrics": steps.metrics_summary(report),
        "gate": {"verdict": report.verdict, "failures": list(report.failures), "warnings": list(report.warnings)},
        "contract": {"held": not contract_broken, "broken": list(contract_broken)},
    }
    attachments = {
        "report.html": Path(report.html_path).read_text(encoding="utf-8"),
        "report.json": Path(report.json_path).read_text(encoding="utf-8"),
    }
    attachments |= {name: path.read_text(encoding="utf-8") for name, path in contract_files.items() if path.is_file()}
    folders = {name: path for name, path in contract_files.items() if path.is_dir()}
    published = publish_version(
        config.output, config.name, frame, schema.arrow_schema(), manifest, attachments, folders
    )
    get_run_logger().info("published %s %s at %s", published.name, published.version, published.path)
    _timed("publish", started)
    return published


@flow(name="synthesize", log_prints=False)
def synthesize(config: PipelineConfig, show_progress: bool = False) -> RunResult:
    """Real data -> schema (and the last version's input contract) -> split -> train -> sample -> measure -> gate ->
    synthetic contract -> publish.

    Bad input stops the run before anything is written. A failed, enforced gate or a broken contract publishes
    nothing and keeps the run folder (with the report) for inspection; any other failure removes the run folder.
    """
    source = load_source_task(config)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = config.work_dir / f"{config.name}-{stamp}-{secrets.token_hex(3)}"
    created = missing_folders(config.work_dir)
    run_dir.mkdir(parents=True)
    try:
        split = split_task(source, config, run_dir)
        model = train_task(split, source, config, run_dir, show_progress)
        synthetic = sample_task(model, split, source, config, run_dir)
        report = measure_task(split, synthetic, source, config, run_dir)
        failure = gate_task(report)
        if failure is None:
            broken, contract_files = contract_task(split, synthetic, source, run_dir)
            failure = steps.contract_failure(broken, config.gate.enforce)
        if failure is not None:
            # Returned, not raised: the run ends Failed with a readable message and no traceback in the log.
            return Failed(message=failure, data=GateFailed(failure))  # type: ignore[return-value]
        published = publish_task(synthetic, source, split, model, report, broken, contract_files, config)
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        remove_if_empty(created)
        raise
    metrics = json.loads(json.dumps(steps.metrics_summary(report)))
    return RunResult(config.name, report.verdict, published, str(run_dir), metrics)
