"""Measuring: a seeded sample of the generated rows scored by the validator suite against the real rows and the
holdout, the report written, and the gate's verdict read from it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.errors import DataError
from pipelines.refs import ModelRef, ReportRef, SourceRef, SplitRef, TableRef
from pipelines.settings import Measuring
from pipelines.sources import file_sha256, read_table, write_table
from synth import Schema
from synth.schema import table_to_frame
from validators.report import Report

__all__ = [
    "gate_failure",
    "measure_table",
    "sample_parts",
    "table_report",
    "write_report",
]


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
    return write_table(pa.concat_tables(pieces), path)


def measure_table(
    split: SplitRef, sample: TableRef, produced_rows: int, source: SourceRef, measuring: Measuring, run_dir: Path,
    model: ModelRef,
) -> ReportRef:  # fmt: skip
    """Run the validator suite on the measured sample; the report says how many rows were made and measured, and in
    privacy mode the budget the model spent."""
    assert isinstance(source.schema, Schema)
    report = table_report(split, sample, produced_rows, source.schema, measuring)
    if measuring.private:
        report = replace(report, context={**report.context, "privacy": model.privacy_spent})
    return write_report(report, run_dir)


def table_report(split: SplitRef, sample: TableRef, produced_rows: int, schema: Schema, measuring: Measuring) -> Report:
    """The tabular suite's report on the measured sample (privacy mode: with its stricter default levels)."""
    import validators

    report = validators.evaluate(
        table_to_frame(read_table(split.train)),
        table_to_frame(read_table(sample)),
        table_to_frame(read_table(split.holdout)),
        schema=schema,
        target=measuring.target,
        bounds=dict(measuring.bounds),
        enforce=measuring.enforce,
        seed=split.seed,
        rare_min=measuring.rare_min,
    )
    return replace(report, context={**report.context, "synthetic_rows_produced": produced_rows})


def write_report(report: Report, run_dir: Path, title: str = "Synthetic data quality report") -> ReportRef:
    """The report as JSON and HTML in the run folder, and the reference the later steps pass on (with each check's
    value, real reference and status, as the manifest and the command line show them)."""
    json_path, html_path = run_dir / "report.json", run_dir / "report.html"
    json_path.write_text(report.to_json(), encoding="utf-8")
    html_path.write_text(report.to_html(title=title), encoding="utf-8")
    verdict = report.verdict
    metrics = {
        m["name"]: {"value": m["value"], "reference": m["reference"], "status": m["status"]}
        for m in report.to_dict()["metrics"]
    }
    return ReportRef(str(json_path), str(html_path), verdict.status, verdict.failures, verdict.warnings, metrics)


def gate_failure(report: ReportRef) -> str | None:
    """Why publishing must stop (an enforced gate failed), or None when it may go on."""
    if report.verdict != "failed":
        return None
    return "gate failed, nothing published: " + "; ".join(report.failures) + f" (report: {report.html_path})"
