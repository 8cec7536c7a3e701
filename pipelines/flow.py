"""The Prefect flow ``synthesize``: a task per step, from real data to a published (or quarantined) Parquet dataset."""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from prefect import Task, flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.states import Failed, State
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from pipelines import images, steps
from pipelines.augment import Augmented, augment, measure_augmented
from pipelines.config import PipelineConfig, RunnerConfig
from pipelines.errors import GateFailed, PublishError
from pipelines.interrupts import reclaim_signals
from pipelines.publish import PublishedVersion, missing_folders, prune, publish_version, quarantine, remove_if_empty
from pipelines.refs import ModelRef, ReportRef, SourceRef, SplitRef, TableRef
from pipelines.store import Store
from synth import EpochStats, ImageEpochStats, Schema
from synth.rebalance import SYNTHETIC_FLAG
from synth.versions import package_versions

__all__ = ["RunResult", "generate", "synthesize", "task_runner"]


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a finished run produced."""

    name: str
    verdict: str
    published: PublishedVersion
    model_reused: bool
    metrics: dict[str, dict[str, object]]


@contextmanager
def _timed(step: str) -> Iterator[None]:
    """Log how long a step took: the run's log tells where its time went."""
    started = time.perf_counter()
    yield
    get_run_logger().info("%s took %.1f s", step, time.perf_counter() - started)


def _transient(task: Task[Any, Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Retry I/O that may succeed a moment later (a busy disk or object store), never bad input."""
    error = state.result(raise_on_failure=False)
    return isinstance(error, OSError) or (isinstance(error, PublishError) and isinstance(error.__cause__, OSError))


_IO_RETRIES: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": _transient,
}


@task(name="load-source", cache_policy=NO_CACHE, **_IO_RETRIES)
def load_source_task(config: PipelineConfig, run_dir: Path) -> SourceRef:
    with _timed("load-source"):
        source = steps.load_source(config, run_dir)
        get_run_logger().info("inferred schema:\n%s", steps.describe_source(source))
    return source


@task(name="split", cache_policy=NO_CACHE)
def split_task(source: SourceRef, config: PipelineConfig, run_dir: Path) -> SplitRef:
    with _timed("split"):
        split = steps.split_source(source, config.split, run_dir)
        get_run_logger().info(
            "split seed %d: %d train rows, %d holdout rows", split.seed, split.train.rows, split.holdout.rows
        )
    return split


@task(name="train", cache_policy=NO_CACHE)
def train_task(split: SplitRef, source: SourceRef, config: PipelineConfig, show_progress: bool) -> ModelRef:
    """Train, or reuse the model trained on the same data, schema, settings and code (``steps.model_key``)."""
    logger = get_run_logger()
    bar = _progress_bar(config.model.epochs) if show_progress else None
    seen: list[int] = []

    def report(stats: EpochStats | ImageEpochStats) -> None:
        if bar is not None and bar.n == 0 and stats.epoch > 1:
            bar.update(stats.epoch - 1)
        if not seen and stats.epoch > 1:
            logger.info(
                "resuming from epoch %d of %d (the last checkpoint of an interrupted run)",
                stats.epoch - 1,
                stats.epochs,
            )
        seen.append(stats.epoch)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(D=f"{stats.discriminator_loss:.3f}", G=f"{stats.generator_loss:.3f}")
        if stats.epoch == stats.epochs or stats.epoch % max(1, stats.epochs // 10) == 0:
            losses = ", ".join(
                f"{name.removesuffix('_loss').replace('discriminator', 'critic')} {getattr(stats, name):.4f}"
                for name in stats.__slots__
                if name.endswith("_loss")
            )
            probe = getattr(stats, "probe_score", None)
            scored = f", probe score {probe:.4f}" if probe is not None else ""
            logger.info("epoch %d/%d: %s%s (%.2f s)", stats.epoch, stats.epochs, losses, scored, stats.seconds)

    with _timed("train"):
        try:
            if config.model.kind == "image":
                model = images.train_image_model(
                    split, source.schema_json, config.model, config.work_dir, progress=report
                )
            else:
                model = steps.train_model(
                    split, source.schema_json, config.model, config.work_dir, progress=report, privacy=config.privacy
                )
        finally:
            if bar is not None:
                bar.close()
        if model.reused:
            logger.info("reusing model %s: trained before on exactly these inputs (%s)", model.key, model.path)
        if model.set_aside:
            logger.warning("%s", model.set_aside)
    history = json.loads((Path(model.path) / "model.json").read_text(encoding="utf-8"))["history_"]
    create_table_artifact(
        [
            {key: round(value, 5) if isinstance(value, float) else value for key, value in epoch.items()}
            for epoch in history
        ],
        key=f"{config.name}-training-curve",
        description=f"Losses per epoch of model {model.key}" + (" (reused)" if model.reused else ""),
    )
    return model


def _progress_bar(epochs: int | None) -> Any:
    from tqdm import tqdm

    return tqdm(total=epochs, desc="training", unit="epoch", file=sys.stderr, disable=not sys.stderr.isatty())


@task(name="generate-part", cache_policy=NO_CACHE)
def generate_part_task(
    model: ModelRef, part: int, rows: int, first_row: int, config: PipelineConfig, split: SplitRef, schema_json: str,
    run_dir: Path,
) -> TableRef:  # fmt: skip
    with _timed(f"generate-part {part}"):
        if config.model.kind == "image":
            table = images.generate_image_part(model, part, rows, config.generate, schema_json, run_dir)
        else:
            privacy = config.privacy
            table = steps.generate_part(
                model, part, rows, first_row, config.generate, schema_json, run_dir, split, privacy
            )
        get_run_logger().info("part %d: %d rows", part, rows)
    return table


def task_runner(runner: RunnerConfig) -> Any:
    """The configured task runner: a thread pool here, or Dask (a LocalCluster, or the scheduler at ``address``)."""
    if runner.kind == "thread":
        return ThreadPoolTaskRunner(max_workers=runner.workers)
    from prefect_dask import DaskTaskRunner

    if runner.address is not None:
        return DaskTaskRunner(address=runner.address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": runner.workers, "threads_per_worker": 1, "processes": True})


@flow(name="generate", log_prints=False)
def generate(
    model: ModelRef, config: PipelineConfig, rows: int, source: SourceRef, split: SplitRef, run_dir: Path
) -> list[TableRef]:
    """Generate ``rows`` rows as part files, one task per part, on the flow's task runner (threads or Dask)."""
    plan = steps.part_plan(rows, config.generate.partitions)
    futures = [
        generate_part_task.submit(
            model, index, part_rows, sum(plan[:index]), config, split, source.schema_json, run_dir
        )
        for index, part_rows in enumerate(plan)
    ]
    return [future.result() for future in futures]


@task(name="augment", cache_policy=NO_CACHE)
def augment_task(
    model: ModelRef, split: SplitRef, source: SourceRef, config: PipelineConfig, run_dir: Path
) -> Augmented:
    """The real training rows plus exactly the synthetic rows the configured class balance needs."""
    with _timed("augment"):
        augmented = augment(model, split, config, source.schema_json, run_dir)
        get_run_logger().info(
            "augmented %d real rows with %d synthetic rows: %s", split.train.rows, augmented.added.rows, augmented.plan
        )
    return augmented


@task(name="measure", cache_policy=NO_CACHE)
def measure_task(
    split: SplitRef, parts: list[TableRef], source: SourceRef, model: ModelRef, config: PipelineConfig, run_dir: Path,
    augmented: Augmented | None = None,
) -> tuple[TableRef, ReportRef]:  # fmt: skip
    """Measure a seeded sample of the generated rows (``generate.measure_rows``), read a row group at a time."""
    logger = get_run_logger()
    with _timed("measure"):
        produced = sum(part.rows for part in parts)
        sample = steps.sample_parts(parts, config.generate.measure_rows, split.seed, run_dir / "measured.parquet")
        logger.info("measuring a seeded sample of %d of %d generated rows", sample.rows, produced)
        if augmented is not None:
            report = measure_augmented(split, augmented, sample, model, config, source.schema_json, run_dir)
        elif config.model.kind == "image":
            report = images.measure_images(split, sample, produced, model, config, source.schema_json, run_dir)
        else:
            report = steps.measure(split, sample, produced, source.schema_json, config, run_dir, model)
        logger.info("gate verdict: %s", report.verdict)
    return sample, report


def _report_artifact(
    config: PipelineConfig,
    report: ReportRef,
    rows: tuple[int, int],
    manifest: dict[str, Any],
    kept: PublishedVersion,
    where: str,
) -> None:
    """The quality summary in Prefect's UI: verdict, every check against its real reference, a link to the report."""
    location = f"{kept.path}/report.html"
    link = Path(location).as_uri() if Path(location).is_absolute() else location
    summary = steps.metrics_summary(report)
    lines = [
        f"# {config.name} {kept.version}: {report.verdict} ({where})",
        "",
        f"Measured a seeded sample of {rows[0]:,} of {rows[1]:,} generated rows; model {manifest['model']['id']}"
        + (" (reused)" if manifest["model"]["reused"] else "")
        + ".",
        f"Full report: [{location}]({link})",
        "",
        "| check | value | real holdout | status |",
        "|---|---|---|---|",
    ]
    for metric, figures in summary.items():
        value, reference = figures["value"], figures["reference"]
        shown = [f"{x:.4f}" if isinstance(x, int | float) else "n/a" for x in (value, reference)]
        lines.append(f"| {metric} | {shown[0]} | {shown[1]} | {figures['status']} |")
    lines += ["", *(f"- fail: {line}" for line in report.failures), *(f"- warn: {line}" for line in report.warnings)]
    create_markdown_artifact(
        "\n".join(lines), key=f"{config.name}-quality-report", description=f"Quality report of {config.name}"
    )


@task(name="gate", cache_policy=NO_CACHE)
def gate_task(report: ReportRef) -> str | None:
    """Why publishing must stop, or None; the flow turns a reason into a Failed run."""
    logger = get_run_logger()
    failure = steps.gate_failure(report)
    if failure is None:
        for failure_line in report.failures:
            logger.warning("gate not enforced, publishing anyway: %s", failure_line)
        for warning in report.warnings:
            logger.warning("gate warning: %s", warning)
    return failure


@task(name="contract", cache_policy=NO_CACHE)
def contract_task(
    split: SplitRef, sample: TableRef, rows: tuple[int, int], config: PipelineConfig, source: SourceRef,
    model: ModelRef, run_dir: Path,
) -> tuple[tuple[str, ...], dict[str, Path]]:  # fmt: skip
    """Validate the measured sample against the Great Expectations contract built from the training rows, and the
    row count: ``rows`` is (asked for, produced)."""
    with _timed("contract"):
        broken, files = steps.check_synthetic_contract(
            split, sample, rows[0], rows[1], source.schema_json, run_dir,
            None if config.model.kind == "image" else model, private=config.privacy is not None,
        )  # fmt: skip
        get_run_logger().info("data contract: %s", "held" if not broken else "broken")
    return broken, files


def _manifest(
    config: PipelineConfig,
    source: SourceRef,
    split: SplitRef,
    model: ModelRef,
    report: ReportRef,
    measured_rows: int,
    contract_broken: tuple[str, ...],
    extra: dict[str, Any],
) -> dict[str, Any]:
    if config.model.kind == "image":
        meta = images.ImageMeta.from_json(source.schema_json)
        described: Any = json.loads(meta.to_json())
        arrow_schema = meta.arrow_schema()
    else:
        schema = Schema.from_json(source.schema_json)
        described, arrow_schema = schema.to_dict()["columns"], schema.arrow_schema()
    if config.mode == "augmentation":
        arrow_schema = arrow_schema.append(pa.field(SYNTHETIC_FLAG, pa.bool_()))
    arrow_schema_b64 = base64.b64encode(arrow_schema.serialize().to_pybytes()).decode("ascii")
    return {
        "kind": "augmented" if config.mode == "augmentation" else "synthetic",
        "mode": config.mode,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "schema": described,
        "arrow_schema_b64": arrow_schema_b64,
        "source": {"path": str(config.source), "sha256": source.table.sha256, "rows": source.table.rows},
        "config": config.model_dump(mode="json", by_alias=True),
        "config_hash": config.digest(),
        "model": {
            "id": model.key,
            "reused": model.reused,
            "training_seconds": round(model.seconds, 2),
            **({"damaged_cache_set_aside": model.set_aside} if model.set_aside else {}),
        },
        "seeds": {"split": split.seed, "model": model.seed, "generate": config.generate.seed, "metrics": split.seed},
        "versions": package_versions(),
        "measured_rows": measured_rows,
        "metrics": steps.metrics_summary(report),
        "gate": {"verdict": report.verdict, "failures": list(report.failures), "warnings": list(report.warnings)},
        "contract": {"held": not contract_broken, "broken": list(contract_broken)},
        **extra,
    }


def _mode_details(
    config: PipelineConfig, model: ModelRef, parts: list[TableRef], augmented: Augmented | None
) -> dict[str, Any]:
    """The manifest's privacy block (budget spent, what the filter dropped) or augmentation block (rows added)."""
    if config.privacy is not None:
        spent = steps.privacy_spent(model)
        return {"privacy": {**(spent or {}), "filter": steps.filter_summary(parts),
                            "rare_category_min": config.privacy.rare_category_min}}  # fmt: skip
    if augmented is not None:
        settings = config.augmentation_settings()
        return {
            "augmentation": {
                "label": config.label_column(),
                "balance": settings.balance,
                "real_rows": augmented.table.rows - augmented.added.rows,
                "synthetic_rows": augmented.added.rows,
                "added_per_class": augmented.plan,
                "flag_column": "is_synthetic",
            }
        }
    return {}


def _attachments(report: ReportRef, contract_files: dict[str, Path]) -> tuple[dict[str, str], dict[str, Path]]:
    texts = {
        "report.html": Path(report.html_path).read_text(encoding="utf-8"),
        "report.json": Path(report.json_path).read_text(encoding="utf-8"),
    }
    texts |= {name: path.read_text(encoding="utf-8") for name, path in contract_files.items() if path.is_file()}
    return texts, {name: path for name, path in contract_files.items() if path.is_dir()}


@task(name="publish", cache_policy=NO_CACHE, **_IO_RETRIES)
def publish_task(
    parts: list[TableRef],
    manifest: dict[str, Any],
    report: ReportRef,
    contract_files: dict[str, Path],
    config: PipelineConfig,
) -> PublishedVersion:
    with _timed("publish"):
        store = Store.open(config.output)
        texts, folders = _attachments(report, contract_files)
        paths = [Path(part.path) for part in parts]
        rows = sum(part.rows for part in parts)
        published = publish_version(store, config.name, paths, {"rows": rows, **manifest}, texts, folders)
        get_run_logger().info("published %s %s at %s", published.name, published.version, published.path)
        if config.publish.keep is not None:
            for removed in prune(store, config.name, config.publish.keep):
                get_run_logger().info("retention (keep %d): removed %s", config.publish.keep, removed)
    return published


@task(name="quarantine", cache_policy=NO_CACHE, **_IO_RETRIES)
def quarantine_task(
    parts: list[TableRef],
    manifest: dict[str, Any],
    report: ReportRef,
    contract_files: dict[str, Path],
    config: PipelineConfig,
    reason: str,
) -> PublishedVersion:
    """Keep the candidate that failed, with its report, outside the catalog for inspection."""
    store = Store.open(config.output)
    texts, folders = _attachments(report, contract_files)
    rows = sum(part.rows for part in parts)
    full = {"rows": rows, **manifest, "quarantined": {"reason": reason}}
    kept = quarantine(store, config.name, [Path(part.path) for part in parts], full, texts, folders)
    get_run_logger().error("nothing published; the candidate and its report are in quarantine at %s", kept.path)
    return kept


@flow(name="synthesize", log_prints=False)
def synthesize(config: PipelineConfig, show_progress: bool = False) -> RunResult:
    """Real data -> schema (and the last version's input contract) -> split -> train (or reuse) -> generate in
    parts -> measure a seeded sample -> gate -> synthetic contract -> publish, or quarantine.

    Bad input stops the run before anything is written. A failed, enforced gate or a broken contract publishes
    nothing: the candidate and its report go to quarantine and the run ends Failed with the failing checks.
    The run's working folder is removed at the end; trained models stay under ``work_dir/models`` for reuse.
    """
    reclaim_signals()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = config.work_dir / "runs" / f"{config.name}-{stamp}-{secrets.token_hex(3)}"
    created = missing_folders(run_dir)
    run_dir.mkdir(parents=True)
    try:
        source = load_source_task(config, run_dir)
        split = split_task(source, config, run_dir)
        model = train_task(split, source, config, show_progress)
        augmented = None
        if config.mode == "augmentation":
            augmented = augment_task(model, split, source, config, run_dir)
            parts, generated, asked = [augmented.table], [augmented.added], sum(augmented.plan.values())
        else:
            asked = config.generate.rows or split.train.rows
            parts = generated = generate.with_options(task_runner=task_runner(config.runner))(
                model, config, asked, source, split, run_dir
            )
        produced = sum(part.rows for part in generated)
        sample, report = measure_task(split, generated, source, model, config, run_dir, augmented)
        failure = gate_task(report)
        broken, contract_files = contract_task(split, sample, (asked, produced), config, source, model, run_dir)
        failure = failure or steps.contract_failure(broken, config.gate.enforce)
        details = _mode_details(config, model, parts, augmented)
        manifest = _manifest(config, source, split, model, report, sample.rows, broken, details)
        if failure is not None:
            kept = quarantine_task(parts, manifest, report, contract_files, config, failure)
            _report_artifact(config, report, (sample.rows, produced), manifest, kept, "quarantined")
            message = f"{failure}; candidate quarantined at {kept.path}"
            # Returned, not raised: the run ends Failed with a readable message and no traceback in the log.
            return Failed(message=message, data=GateFailed(message))  # type: ignore[return-value]
        published = publish_task(parts, manifest, report, contract_files, config)
        _report_artifact(config, report, (sample.rows, produced), manifest, published, "published")
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
        remove_if_empty(created)
    return RunResult(config.name, report.verdict, published, model.reused, json.loads(json.dumps(manifest["metrics"])))
