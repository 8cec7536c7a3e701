"""The Prefect flow ``synthesize``: a task per step, from real data to a published (or quarantined) Parquet dataset."""

from __future__ import annotations

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

from prefect import Task, flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from pipelines.augment import augment, measure_augmented
from pipelines.config import GenerateConfig, PipelineConfig, PrivacyConfig, RunnerConfig, SplitConfig
from pipelines.contracts import check_synthetic_contract, contract_failure
from pipelines.errors import GateFailed, PublishError
from pipelines.generation import part_plan
from pipelines.interrupts import reclaim_signals
from pipelines.kinds import KindName, kind_of
from pipelines.manifest import attachments, build_manifest, mode_details, report_artifact, training_artifact
from pipelines.measuring import gate_failure, sample_parts
from pipelines.publish import PublishedVersion, missing_folders, prune, publish_version, quarantine, remove_if_empty
from pipelines.refs import Augmented, ModelRef, ReportRef, SourceRef, SplitRef, TableRef
from pipelines.settings import Augmenting, Intake, Measuring, Publishing, Training
from pipelines.sources import forget_tables
from pipelines.splitting import split_source
from pipelines.store import Store
from synth import EpochStats, ImageEpochStats

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
def load_source_task(kind: KindName, intake: Intake, run_dir: Path) -> SourceRef:
    with _timed("load-source"):
        source = kind_of(kind).load(intake, run_dir)
        get_run_logger().info("inferred schema:\n%s", source.schema.describe())
    return source


@task(name="split", cache_policy=NO_CACHE)
def split_task(source: SourceRef, settings: SplitConfig, run_dir: Path) -> SplitRef:
    with _timed("split"):
        split = split_source(source, settings, run_dir)
        get_run_logger().info(
            "split seed %d: %d train rows, %d holdout rows", split.seed, split.train.rows, split.holdout.rows
        )
        if split.unseen:
            get_run_logger().warning(
                "column(s) %s have no values in the training split (seed %d): they come out entirely null",
                list(split.unseen),
                split.seed,
            )
    return split


@task(name="train", cache_policy=NO_CACHE)
def train_task(kind: KindName, split: SplitRef, source: SourceRef, training: Training, show_progress: bool) -> ModelRef:
    """Train, or reuse the model trained on the same data, schema, settings and code (``training.model_key``)."""
    logger = get_run_logger()
    bar = _progress_bar(training.model.estimator_params().get("epochs")) if show_progress else None
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
            model = kind_of(kind).train(split, source, training, report)
        finally:
            if bar is not None:
                bar.close()
        if model.reused:
            logger.info("reusing model %s: trained before on exactly these inputs (%s)", model.key, model.path)
        if model.set_aside:
            logger.warning("%s", model.set_aside)
    return model


def _progress_bar(epochs: int | None) -> Any:
    from tqdm import tqdm

    return tqdm(total=epochs, desc="training", unit="epoch", file=sys.stderr, disable=not sys.stderr.isatty())


@task(name="generate-part", cache_policy=NO_CACHE)
def generate_part_task(
    kind: KindName, model: ModelRef, part: int, rows: int, first_row: int, settings: GenerateConfig,
    privacy: PrivacyConfig | None, split: SplitRef, source: SourceRef, run_dir: Path,
) -> TableRef:  # fmt: skip
    with _timed(f"generate-part {part}"):
        table = kind_of(kind).generate_part(model, part, rows, first_row, settings, privacy, split, source, run_dir)
        get_run_logger().info("part %d: %d rows", part, rows)
    return table


def task_runner(runner: RunnerConfig) -> Any:
    """The configured task runner: a thread pool here, or Dask (a LocalCluster, or the scheduler at ``address``)."""
    if runner.kind == "thread":
        return ThreadPoolTaskRunner(max_workers=runner.workers)
    from prefect_dask.task_runners import DaskTaskRunner

    if runner.address is not None:
        return DaskTaskRunner(address=runner.address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": runner.workers, "threads_per_worker": 1, "processes": True})


@flow(name="generate", log_prints=False)
def generate(
    kind: KindName, model: ModelRef, settings: GenerateConfig, privacy: PrivacyConfig | None, rows: int,
    source: SourceRef, split: SplitRef, run_dir: Path,
) -> list[TableRef]:  # fmt: skip
    """Generate ``rows`` rows as part files, one task per part, on the flow's task runner (threads or Dask)."""
    plan = part_plan(rows, settings.partitions)
    futures = [
        generate_part_task.submit(
            kind, model, index, part_rows, sum(plan[:index]), settings, privacy, split, source, run_dir
        )
        for index, part_rows in enumerate(plan)
    ]
    return [future.result() for future in futures]


@task(name="augment", cache_policy=NO_CACHE)
def augment_task(
    kind: KindName, model: ModelRef, split: SplitRef, source: SourceRef, augmenting: Augmenting, run_dir: Path
) -> Augmented:
    """The real training rows plus exactly the synthetic rows the configured class balance needs."""
    with _timed("augment"):
        augmented = augment(kind_of(kind), model, split, augmenting, source, run_dir)
        get_run_logger().info(
            "augmented %d real rows with %d synthetic rows: %s", split.train.rows, augmented.added.rows, augmented.plan
        )
    return augmented


@task(name="measure", cache_policy=NO_CACHE)
def measure_task(
    kind: KindName, split: SplitRef, parts: list[TableRef], source: SourceRef, model: ModelRef, measure_rows: int,
    measuring: Measuring, run_dir: Path, augmented: tuple[Augmented, Augmenting] | None = None,
) -> tuple[TableRef, ReportRef]:  # fmt: skip
    """Measure a seeded sample of ``measure_rows`` generated rows, read a row group at a time (in augmentation
    mode: of the rows added, with the augmentation's settings)."""
    logger = get_run_logger()
    with _timed("measure"):
        produced = sum(part.rows for part in parts)
        sample = sample_parts(parts, measure_rows, split.seed, run_dir / "measured.parquet")
        logger.info("measuring a seeded sample of %d of %d generated rows", sample.rows, produced)
        if augmented is not None:
            added, augmenting = augmented
            report = measure_augmented(
                kind_of(kind), split, added, sample, model, measuring, augmenting, source, run_dir
            )
        else:
            report = kind_of(kind).measure(split, sample, produced, model, measuring, source, run_dir)
        logger.info("gate verdict: %s", report.verdict)
    return sample, report


@task(name="gate", cache_policy=NO_CACHE)
def gate_task(report: ReportRef) -> str | None:
    """Why publishing must stop, or None; the flow turns a reason into a Failed run."""
    logger = get_run_logger()
    failure = gate_failure(report)
    if failure is None:
        for failure_line in report.failures:
            logger.warning("gate not enforced, publishing anyway: %s", failure_line)
        for warning in report.warnings:
            logger.warning("gate warning: %s", warning)
    return failure


@task(name="contract", cache_policy=NO_CACHE)
def contract_task(
    kind: KindName, split: SplitRef, sample: TableRef, rows: tuple[int, int], private: bool, source: SourceRef,
    model: ModelRef, run_dir: Path,
) -> tuple[tuple[str, ...], dict[str, Path]]:  # fmt: skip
    """Validate the measured sample against the Great Expectations contract built from the training rows, and the
    row count: ``rows`` is (asked for, produced); ``private``: a privacy-mode model's contract."""
    with _timed("contract"):
        view = kind_of(kind).contract_view(split, sample, source, model)
        broken, files = check_synthetic_contract(view, rows[0], rows[1], run_dir, private=private)
        get_run_logger().info("data contract: %s", "held" if not broken else "broken")
    return broken, files


@task(name="publish", cache_policy=NO_CACHE, **_IO_RETRIES)
def publish_task(
    parts: list[TableRef],
    manifest: dict[str, Any],
    report: ReportRef,
    contract_files: dict[str, Path],
    publishing: Publishing,
) -> PublishedVersion:
    with _timed("publish"):
        store = Store.open(publishing.output)
        texts, folders = attachments(report, contract_files)
        paths = [Path(part.path) for part in parts]
        rows = sum(part.rows for part in parts)
        published = publish_version(store, publishing.name, paths, {"rows": rows, **manifest}, texts, folders)
        get_run_logger().info("published %s %s at %s", published.name, published.version, published.path)
        if publishing.keep is not None:
            for removed in prune(store, publishing.name, publishing.keep):
                get_run_logger().info("retention (keep %d): removed %s", publishing.keep, removed)
    return published


@task(name="quarantine", cache_policy=NO_CACHE, **_IO_RETRIES)
def quarantine_task(
    parts: list[TableRef],
    manifest: dict[str, Any],
    report: ReportRef,
    contract_files: dict[str, Path],
    publishing: Publishing,
    reason: str,
) -> PublishedVersion:
    """Keep the candidate that failed, with its report, outside the catalog for inspection."""
    store = Store.open(publishing.output)
    texts, folders = attachments(report, contract_files)
    rows = sum(part.rows for part in parts)
    full = {"rows": rows, **manifest, "quarantined": {"reason": reason}}
    kept = quarantine(store, publishing.name, [Path(part.path) for part in parts], full, texts, folders)
    get_run_logger().error("nothing published; the candidate and its report are in quarantine at %s", kept.path)
    return kept


@flow(name="synthesize", log_prints=False)
def synthesize(config: PipelineConfig, show_progress: bool = False, source: SourceRef | None = None) -> RunResult:
    """Real data -> schema (and the last version's input contract) -> split -> train (or reuse) -> generate in
    parts -> measure a seeded sample -> gate -> synthetic contract -> publish, or quarantine.

    ``source``: the data as a caller already read and checked it (``synth run`` does, before Prefect starts); the
    run then neither reads it again nor infers its schema twice.

    Bad input stops the run before anything is written. A failed, enforced gate or a broken contract publishes
    nothing: the candidate and its report go to quarantine and the run ends Failed with the failing checks.
    The run's working folder is removed at the end; trained models stay under ``work_dir/models`` for reuse.
    """
    reclaim_signals()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = config.work_dir / "runs" / f"{config.name}-{stamp}-{secrets.token_hex(3)}"
    created = missing_folders(run_dir)
    run_dir.mkdir(parents=True)
    kind, measuring, publishing = config.model.kind, Measuring.of(config), Publishing.of(config)
    augmenting = Augmenting.of(config)
    try:
        source = source or load_source_task(kind, Intake.of(config), run_dir)
        split = split_task(source, config.split, run_dir)
        model = train_task(kind, split, source, Training.of(config), show_progress)
        training_artifact(config.name, model)
        augmented = None
        if config.mode == "augmentation":
            augmented = augment_task(kind, model, split, source, augmenting, run_dir)
            parts, generated, asked = [augmented.table], [augmented.added], sum(augmented.plan.values())
        else:
            asked = config.generate.rows or split.train.rows
            parts = generated = generate.with_options(task_runner=task_runner(config.runner))(
                kind, model, config.generate, config.privacy, asked, source, split, run_dir
            )
        produced = sum(part.rows for part in generated)
        sample, report = measure_task(
            kind, split, generated, source, model, config.generate.measure_rows, measuring, run_dir,
            None if augmented is None else (augmented, augmenting),
        )  # fmt: skip
        failure = gate_task(report)
        broken, contract_files = contract_task(
            kind, split, sample, (asked, produced), measuring.private, source, model, run_dir
        )
        failure = failure or contract_failure(broken, measuring.enforce)
        details = mode_details(config, model, parts, augmented)
        manifest = build_manifest(kind_of(kind), config, source, split, model, report, sample.rows, broken, details)
        if failure is not None:
            kept = quarantine_task(parts, manifest, report, contract_files, publishing, failure)
            report_artifact(config.name, report, (sample.rows, produced), manifest, kept, "quarantined")
            message = f"{failure}; candidate quarantined at {kept.path}"
            # Returned, not raised: the run ends Failed with a readable message and no traceback in the log.
            return Failed(message=message, data=GateFailed(message))  # type: ignore[return-value]
        published = publish_task(parts, manifest, report, contract_files, publishing)
        report_artifact(config.name, report, (sample.rows, produced), manifest, published, "published")
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
        remove_if_empty(created)
        forget_tables()
    return RunResult(config.name, report.verdict, published, model.reused, json.loads(json.dumps(manifest["metrics"])))
