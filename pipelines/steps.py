"""The pipeline's steps as plain functions: each reads and writes files and returns a small reference."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.config import GenerateConfig, ModelConfig, PipelineConfig, PrivacyConfig, SplitConfig
from pipelines.errors import ConfigError, ContractViolation, DataError, GateFailed
from pipelines.model_cache import check_cached, seal
from pipelines.publish import missing_folders, remove_if_empty, to_arrow, version_numbers
from pipelines.refs import ModelRef, ReportRef, SourceRef, SplitRef, TableRef
from pipelines.sources import file_sha256, read_source
from pipelines.store import Store
from synth import Schema, SynthError, TabularSynthesizer, infer_schema
from synth.schema import table_to_frame
from synth.tabular.synthesizer import MIN_ROWS
from synth.tabular.training import ProgressCallback
from validators.bounds import Bound
from validators.evaluate import MIN_ROWS as MIN_MEASURED_ROWS
from validators.report import Report

__all__ = [
    "TABLE_BATCH",
    "batch_seed",
    "check_input_contract",
    "check_model",
    "check_synthetic_contract",
    "code_version",
    "contract_failure",
    "describe_source",
    "estimator_params",
    "filter_summary",
    "gate_bounds",
    "gate_failure",
    "generate_part",
    "load_source",
    "measure",
    "measure_report",
    "metrics_summary",
    "model_key",
    "part_plan",
    "privacy_spent",
    "read_table",
    "sample_parts",
    "split_source",
    "split_table",
    "train_model",
    "write_report",
]

log = logging.getLogger(__name__)

#: Rows generated and held at once (one Parquet row group) unless ``generate.batch_rows`` says otherwise.
TABLE_BATCH = 100_000
INPUT_CONTRACT = "input-contract.json"
SYNTHETIC_CONTRACT = "synthetic-contract.json"


def check_model(model: ModelConfig, privacy: PrivacyConfig | None = None) -> None:
    """Refuse model settings the synthesizer would refuse, before any data is read or written."""
    try:
        TabularSynthesizer(**estimator_params(model, privacy)).validate_params()
    except SynthError as exc:
        raise ConfigError(f"model: {exc}") from exc


def load_source(config: PipelineConfig, run_dir: Path) -> SourceRef:
    """Read and check the real data: readable, not empty, target present, every column modellable. An image set is
    written into ``run_dir`` as the canonical image table (``pipelines.images``)."""
    check_locations(config)
    if config.model.kind == "image":
        from pipelines.images import image_frame, load_image_source

        if config.target is not None:
            raise ConfigError("target is for tables; an image set's label column is its target")
        source, table = load_image_source(config, run_dir)
        check_input_contract(config, image_frame(table))
        return source
    check_model(config.model, config.privacy)
    table = read_source(config.source)
    if config.target is not None and config.target not in table.column_names:
        raise DataError(f"target column '{config.target}' is not in {config.source}; columns are {table.column_names}")
    if table.num_rows < 2 * MIN_ROWS:
        raise DataError(
            f"{config.source} has {table.num_rows} row(s); need at least {2 * MIN_ROWS} to train and hold some out"
        )
    check_sizes(config, table.num_rows)
    check_input_contract(config, table_to_frame(table))
    try:
        schema = infer_schema(table)
        if config.schema_:
            schema = schema.with_kinds(config.schema_)
    except SynthError as exc:
        raise DataError(f"{config.source}: {exc}") from exc
    for name in table.column_names:  # found here, the error names the user's file, not a split of it
        column = table.column(name)
        if pa.types.is_floating(column.type) and pc.any(pc.is_inf(column)).as_py():
            raise DataError(f"{config.source}: column '{name}' holds infinite values; replace them or drop those rows")
    ref = TableRef(path=str(config.source), sha256=file_sha256(config.source), rows=table.num_rows)
    return SourceRef(table=ref, schema_json=schema.to_json())


def check_locations(config: PipelineConfig) -> None:
    """The output root and the work folder must be folders this process can write, or creatable ones."""
    places = [("work_dir", config.work_dir)]
    if "://" not in config.output:
        places.append(("output", Path(config.output)))
    for key, place in places:
        existing = next(p for p in (place, *place.parents) if p.exists())
        if not existing.is_dir():
            what = "is" if existing == place else f"would be inside {existing}, which is"
            raise ConfigError(f"{key} {place} {what} a file, not a folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ConfigError(f"{key} {place}: {existing} is not writable by this user")


def check_sizes(config: PipelineConfig, rows: int) -> None:
    """The split and the generated set must be big enough to measure, known before any training starts."""
    holdout_rows = max(1, round(rows * config.split.holdout))
    if holdout_rows < MIN_MEASURED_ROWS:
        raise ConfigError(
            f"split.holdout {config.split.holdout:g} of {rows} rows holds out {holdout_rows}; the checks need at "
            f"least {MIN_MEASURED_ROWS} (split.holdout >= {MIN_MEASURED_ROWS / rows:.3g})"
        )
    if rows - holdout_rows < MIN_ROWS:
        raise ConfigError(
            f"split.holdout {config.split.holdout:g} of {rows} rows leaves {rows - holdout_rows} to train on; "
            f"the model needs at least {MIN_ROWS}"
        )
    generate = config.generate
    for key, value in (("generate.rows", generate.rows), ("generate.measure_rows", generate.measure_rows)):
        if value is not None and value < MIN_MEASURED_ROWS:
            raise ConfigError(f"{key} is {value}; the checks need at least {MIN_MEASURED_ROWS} synthetic rows")


def describe_source(source: SourceRef) -> str:
    """The inferred schema of a table, or what an image set holds, for people."""
    if json.loads(source.schema_json).get("kind") == "image":
        from pipelines.images import ImageMeta

        return ImageMeta.from_json(source.schema_json).describe()
    return Schema.from_json(source.schema_json).describe()


def check_input_contract(config: PipelineConfig, frame: pd.DataFrame) -> None:
    """A new real batch must keep the contract recorded with the dataset's last published version, if any."""
    store = Store.open(config.output)
    numbers = version_numbers(store, config.name)
    if not numbers or not store.exists(config.name, f"v{numbers[-1]}", INPUT_CONTRACT):
        return
    from validators.expectations import validate_contract

    contract = json.loads(store.read_bytes(config.name, f"v{numbers[-1]}", INPUT_CONTRACT))
    result = validate_contract(frame, contract)
    if not result.success:
        raise ContractViolation(
            f"{config.source} breaks the data contract of {config.name} v{numbers[-1]} "
            f"({len(result.failures)} of {result.evaluated} expectations failed): " + "; ".join(result.failures[:5])
        )


def _contract_frame(table: pa.Table, image: bool) -> pd.DataFrame:
    """What a contract checks: the table, or for an image set its labels and sizes (the pixels are measured)."""
    return table.drop_columns(["image"]).to_pandas() if image else table_to_frame(table)


def check_synthetic_contract(
    split: SplitRef, sample: TableRef, expected_rows: int, produced_rows: int, schema_json: str, run_dir: Path,
    model: ModelRef | None = None, *, private: bool = False,
) -> tuple[tuple[str, ...], dict[str, Path]]:  # fmt: skip
    """Validate the measured sample of the synthetic set against the contract built from the training rows, and
    the exact row count of the whole set; write both contracts, the result and GX's data docs into the run folder.
    With a tabular ``model`` the contract's ranges and category sets are the model's (see ``_limit_to_model``).
    Returns the broken expectations (none: it held) and the files.
    """
    from validators.expectations import build_contract, validate_contract

    image = json.loads(schema_json).get("kind") == "image"
    train = _contract_frame(read_table(split.train), image)
    schema = infer_schema(train) if image else Schema.from_json(schema_json)
    contract = build_contract(train, schema, kind="synthetic", rows=sample.rows)
    if model is not None:
        _limit_to_model(contract, model, schema, private=private)
    (run_dir / INPUT_CONTRACT).write_text(json.dumps(build_contract(train, schema, kind="input"), indent=2))
    (run_dir / SYNTHETIC_CONTRACT).write_text(json.dumps(contract, indent=2, default=str))
    result = validate_contract(_contract_frame(read_table(sample), image), contract, docs_dir=run_dir / "data-docs")
    (run_dir / "contract-result.json").write_text(json.dumps(result.raw, indent=2, default=str))
    files = {name: run_dir / name for name in (INPUT_CONTRACT, SYNTHETIC_CONTRACT, "contract-result.json")}
    files["data-docs"] = run_dir / "data-docs"
    broken = result.failures
    if produced_rows != expected_rows:
        broken = (f"the synthetic set has {produced_rows} rows; {expected_rows} were asked for", *broken)
    return broken, files


def _limit_to_model(contract: dict[str, Any], model: ModelRef, schema: Schema, *, private: bool) -> None:
    """The published contract allows what the model may emit (its protected, public or differentially private
    bounds, the categories it kept and what rare ones decode to), never the real extremes or rare values."""
    from synth.tabular.codecs import CategoricalCodec, NumericCodec

    codecs = dict(zip(schema.names, TabularSynthesizer.load(model.path).transformer_.codecs_, strict=True))
    if private:  # the real null shares are statistics the accountant never saw: no expectation may publish them
        contract["expectations"] = [
            e
            for e in contract["expectations"]
            if e["type"] != "expect_column_proportion_of_non_null_values_to_be_between"
        ]
    for expectation in contract["expectations"]:
        kwargs = expectation["kwargs"]
        codec = codecs.get(kwargs.get("column", ""))
        if expectation["type"] == "expect_column_values_to_be_between" and isinstance(codec, NumericCodec):
            kwargs["min_value"], kwargs["max_value"] = codec.low, codec.high
        elif expectation["type"] == "expect_column_values_to_be_in_set" and isinstance(codec, CategoricalCodec):
            kwargs["value_set"] = [value for value in (*codec.levels, *codec.pooled) if value is not None]


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
    table = read_table(source.table)
    train, holdout = split_table(table, split.holdout, split.seed)
    empty = [
        name
        for name in train.column_names
        if train.column(name).null_count == train.num_rows and table.column(name).null_count < table.num_rows
    ]
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


def code_version() -> str:
    """sha256 of the model code (every module of ``synth``) and the torch version: a change to either retrains."""
    import torch

    import synth

    digest = hashlib.sha256(torch.__version__.encode())
    package = Path(synth.__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def estimator_params(model: ModelConfig, privacy: PrivacyConfig | None = None) -> dict[str, Any]:
    """The synthesizer's keywords: the model section's, plus the privacy section's in privacy mode."""
    return {**model.estimator_params(), **(privacy.estimator_params() if privacy is not None else {})}


def model_key(split: SplitRef, schema_json: str, params: dict[str, Any]) -> str:
    """The trained model's identity: the training rows' bytes, the schema, the training settings, the code."""
    parts = {
        "train": split.train.sha256,
        "schema": schema_json,
        "model": params,
        "code": code_version(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def train_model(
    split: SplitRef,
    schema_json: str,
    model: ModelConfig,
    work_dir: Path,
    progress: ProgressCallback | None = None,
    privacy: PrivacyConfig | None = None,
) -> ModelRef:
    """Train, or reuse the model already trained on exactly these inputs (``work_dir/models/<key>``).

    Training checkpoints into the same folder every ``model.checkpoint_every`` epochs, so a run killed
    mid-training picks up from its last checkpoint when it is started again.
    """
    params = estimator_params(model, privacy)
    key = model_key(split, schema_json, params)
    folder = work_dir / "models" / key
    reusable, set_aside = check_cached(folder)
    if reusable:
        return reused_model(folder, key)
    synthesizer = TabularSynthesizer(**params)
    checkpoints = folder / "checkpoint"
    created = missing_folders(checkpoints)
    checkpoints.mkdir(parents=True, exist_ok=True)
    try:
        synthesizer.fit(
            table_to_frame(read_table(split.train)),
            Schema.from_json(schema_json),
            progress=progress,
            checkpoint_dir=checkpoints,
            checkpoint_every=model.checkpoint_every,
        )
    except SynthError as exc:
        remove_if_empty(created)
        raise DataError(f"cannot train on {split.train.path}: {exc}") from exc
    out = synthesizer.save(folder / "model")
    seal(folder)
    shutil.rmtree(checkpoints, ignore_errors=True)
    seconds = float(sum(s.seconds for s in synthesizer.history_))
    return ModelRef(path=str(out), seed=synthesizer.seed_, seconds=seconds, key=key, reused=False, set_aside=set_aside)


def reused_model(folder: Path, key: str) -> ModelRef:
    """The reference to a verified cached model."""
    saved = json.loads((folder / "model" / "model.json").read_text(encoding="utf-8"))
    seconds = float(sum(epoch["seconds"] for epoch in saved["history_"]))
    return ModelRef(path=str(folder / "model"), seed=saved["seed_"], seconds=seconds, key=key, reused=True)


def part_plan(rows: int, partitions: int) -> list[int]:
    """Rows per part file: ``rows`` spread as evenly as possible over at most ``partitions`` non-empty parts."""
    parts = min(partitions, rows)
    return [rows // parts + (1 if index < rows % parts else 0) for index in range(parts)]


def batch_seed(seed: int, part: int, batch: int) -> int:
    """Each batch's own seed, derived from the run's: the output depends on the config, never on worker timing."""
    return int(np.random.SeedSequence([seed, part, batch]).generate_state(2, dtype=np.uint32).view(np.uint64)[0] >> 1)


def generate_part(
    model: ModelRef, part: int, rows: int, first_row: int, generate: GenerateConfig, schema_json: str,
    run_dir: Path, split: SplitRef, privacy: PrivacyConfig | None = None,
) -> TableRef:  # fmt: skip
    """Write ``rows`` generated rows to one part file, ``generate.batch_rows`` at a time (one row group each).

    Identifiers are made away from the source's (train and holdout: no fake equals a rare real value); integer keys
    start past the real ones and number on through the parts (this part's first row is the set's ``first_row``).
    With ``privacy`` (privacy mode), rows that copy a training row or come closer to one than the configured
    percentile of holdout-to-train distances are dropped and replaced, so the part still has exactly ``rows`` rows;
    what was dropped is written beside the part (``<part>.filter.json``).
    """
    synthesizer = TabularSynthesizer.load(model.path)
    schema = Schema.from_json(schema_json)
    train, holdout = (table_to_frame(read_table(ref)) for ref in (split.train, split.holdout))
    synthesizer.avoid_values_of(train, pd.concat([train, holdout], ignore_index=True))
    arrow_schema = schema.arrow_schema()
    path = run_dir / f"synthetic-{part:05d}.parquet"
    flt = None if privacy is None else _privacy_filter(train, holdout, split, privacy, schema)
    reports = []
    batch_rows = generate.batch_rows or TABLE_BATCH
    with pq.ParquetWriter(path, arrow_schema.remove_metadata()) as writer:
        for batch, start in enumerate(range(0, rows, batch_rows)):
            n, seed = min(batch_rows, rows - start), batch_seed(generate.seed, part, batch)
            if flt is None:
                frame = synthesizer.sample(n, seed=seed)
            else:
                from validators.errors import PrivacyFilterError
                from validators.privacy_filter import filter_and_refill

                try:
                    frame, report = filter_and_refill(
                        lambda count, s: synthesizer.sample(count, seed=s), n, flt, seed=seed
                    )
                except PrivacyFilterError as exc:  # the model keeps reproducing training rows: nothing to publish
                    raise GateFailed(str(exc)) from exc
                reports.append(report)
            synthesizer.number_keys(frame, first_row + start)
            writer.write_table(to_arrow(frame, arrow_schema))
    if reports:
        path.with_suffix(".filter.json").write_text(json.dumps(reports), encoding="utf-8")
    return TableRef(path=str(path), sha256=file_sha256(path), rows=rows)


def _privacy_filter(
    train: pd.DataFrame, holdout: pd.DataFrame, split: SplitRef, privacy: PrivacyConfig, schema: Schema
) -> Any:
    from validators.privacy_filter import PrivacyFilter

    return PrivacyFilter().fit(train, holdout, schema=schema, percentile=privacy.filter_percentile, seed=split.seed)


def filter_summary(parts: list[TableRef]) -> dict[str, Any] | None:
    """What the privacy filter dropped over all parts (None when it did not run)."""
    reports = []
    for part in parts:
        found = Path(part.path).with_suffix(".filter.json")
        if found.is_file():
            reports += json.loads(found.read_text(encoding="utf-8"))
    if not reports:
        return None
    totals = {key: sum(int(r[key]) for r in reports) for key in ("asked", "drawn", "dropped", "exact_copies")}
    return {**totals, "line": reports[0]["line"], "percentile": reports[0]["percentile"]}


def sample_parts(parts: list[TableRef], rows: int, seed: int, path: Path) -> TableRef:
    """A seeded sample of ``rows`` rows from the part files (all of them when there are fewer), read a row group at
    a time so that measuring a large output never holds it whole."""
    total = sum(part.rows for part in parts)
    chosen = np.sort(np.random.default_rng(seed).choice(total, size=min(rows, total), replace=False))
    pieces, offset = [], 0
    for part in parts:
        if file_sha256(Path(part.path)) != part.sha256:
            raise DataError(f"{part.path} changed after it was written (checksum mismatch)")
        source = pq.ParquetFile(part.path)
        for group in range(source.num_row_groups):
            group_rows = source.metadata.row_group(group).num_rows
            lo, hi = np.searchsorted(chosen, [offset, offset + group_rows])
            if hi > lo:
                pieces.append(source.read_row_group(group).take(chosen[lo:hi] - offset))
            offset += group_rows
    return _write_table(pa.concat_tables(pieces), path)


def measure(
    split: SplitRef, sample: TableRef, produced_rows: int, schema_json: str, config: PipelineConfig, run_dir: Path,
    model: ModelRef | None = None,
) -> ReportRef:  # fmt: skip
    """Run the validator suite on the measured sample; the report says how many rows were made and measured, and in
    privacy mode the budget the model spent."""
    report = measure_report(split, sample, produced_rows, schema_json, config)
    if config.privacy is not None and model is not None:
        report = replace(report, context={**report.context, "privacy": privacy_spent(model)})
    return write_report(report, run_dir)


def privacy_spent(model: ModelRef) -> dict[str, Any] | None:
    """The accountant's figures a private model saved (None for a model trained without privacy)."""
    saved = json.loads((Path(model.path) / "model.json").read_text(encoding="utf-8"))
    spent: dict[str, Any] | None = saved.get("privacy_spent_")
    return spent


def measure_report(
    split: SplitRef, sample: TableRef, produced_rows: int, schema_json: str, config: PipelineConfig
) -> Report:
    """The tabular suite's report on the measured sample (privacy mode: with its stricter default levels)."""
    import validators

    report = validators.evaluate(
        table_to_frame(read_table(split.train)),
        table_to_frame(read_table(sample)),
        table_to_frame(read_table(split.holdout)),
        schema=Schema.from_json(schema_json),
        target=config.target,
        bounds=gate_bounds(config),
        enforce=config.gate.enforce,
        seed=split.seed,
        rare_min=rare_value_min(config),
    )
    return replace(report, context={**report.context, "synthetic_rows_produced": produced_rows})


def rare_value_min(config: PipelineConfig) -> int:
    """The k of the run's rare-value protection: the model's setting, else the synthesizer's default."""
    params = estimator_params(config.model, config.privacy)
    return int(params.get("rare_category_min", TabularSynthesizer().rare_category_min))


def gate_bounds(config: PipelineConfig) -> dict[str, Bound]:
    """The gate's levels: the config's overrides on the defaults, which are stricter in privacy mode."""
    from validators import PRIVACY_BOUNDS

    defaults = PRIVACY_BOUNDS if config.mode == "privacy" else {}
    return {**defaults, **config.gate.bounds(defaults)}


def write_report(report: Report, run_dir: Path, title: str = "Synthetic data quality report") -> ReportRef:
    """The report as JSON and HTML in the run folder, and the reference the later steps pass on."""
    json_path, html_path = run_dir / "report.json", run_dir / "report.html"
    json_path.write_text(report.to_json(), encoding="utf-8")
    html_path.write_text(report.to_html(title=title), encoding="utf-8")
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
