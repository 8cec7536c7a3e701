"""What a run publishes beside its Parquet parts: the manifest (provenance, figures, verdict), the attached report
and contract files, and the quality summary shown in Prefect's UI."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipelines.config import PipelineConfig
from pipelines.generation import filter_summary
from pipelines.kinds import DataKind
from pipelines.publish import PublishedVersion
from pipelines.refs import Augmented, ModelRef, ReportRef, SourceRef, SplitRef, TableRef
from synth.rebalance import SYNTHETIC_FLAG
from synth.versions import package_versions

__all__ = ["attachments", "build_manifest", "mode_details", "report_artifact", "training_artifact"]


def build_manifest(
    kind: DataKind, config: PipelineConfig, source: SourceRef, split: SplitRef, model: ModelRef, report: ReportRef,
    measured_rows: int, contract_broken: tuple[str, ...], extra: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """The manifest: what was made, from what (source hash, config, seeds, versions), and how it measured."""
    arrow_schema = kind.arrow_schema(source)
    if config.mode == "augmentation":
        arrow_schema = arrow_schema.append(pa.field(SYNTHETIC_FLAG, pa.bool_()))
    arrow_schema_b64 = base64.b64encode(arrow_schema.serialize().to_pybytes()).decode("ascii")
    return {
        "kind": "augmented" if config.mode == "augmentation" else "synthetic",
        "mode": config.mode,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "schema": kind.described(source),
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
        **({"columns_without_training_values": list(split.unseen)} if split.unseen else {}),
        "seeds": {"split": split.seed, "model": model.seed, "generate": config.generate.seed, "metrics": split.seed},
        "versions": package_versions(),
        "measured_rows": measured_rows,
        "metrics": report.metrics,
        "gate": {"verdict": report.verdict, "failures": list(report.failures), "warnings": list(report.warnings)},
        "contract": {"held": not contract_broken, "broken": list(contract_broken)},
        **extra,
    }


def mode_details(
    config: PipelineConfig, model: ModelRef, parts: list[TableRef], augmented: Augmented | None
) -> dict[str, Any]:
    """The manifest's privacy block (budget spent, what the filter dropped) or augmentation block (rows added)."""
    if config.privacy is not None:
        return {"privacy": {**(model.privacy_spent or {}), "filter": filter_summary(parts),
                            "rare_category_min": config.privacy.estimator_params()["rare_category_min"]}}  # fmt: skip
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


def attachments(report: ReportRef, contract_files: dict[str, Path]) -> tuple[dict[str, str], dict[str, Path]]:
    """The texts (report, contracts) and folders (GX's data docs) published beside the parts."""
    texts = {
        "report.html": Path(report.html_path).read_text(encoding="utf-8"),
        "report.json": Path(report.json_path).read_text(encoding="utf-8"),
    }
    texts |= {name: path.read_text(encoding="utf-8") for name, path in contract_files.items() if path.is_file()}
    return texts, {name: path for name, path in contract_files.items() if path.is_dir()}


def report_artifact(
    name: str, report: ReportRef, rows: tuple[int, int], manifest: dict[str, Any],
    kept: PublishedVersion, where: str,
) -> None:  # fmt: skip
    """The quality summary in Prefect's UI: verdict, every check against its real reference, a link to the report."""
    from prefect.artifacts import create_markdown_artifact

    location = f"{kept.path}/report.html"
    link = Path(location).as_uri() if Path(location).is_absolute() else location
    lines = [
        f"# {name} {kept.version}: {report.verdict} ({where})",
        "",
        f"Measured a seeded sample of {rows[0]:,} of {rows[1]:,} generated rows; model {manifest['model']['id']}"
        + (" (reused)" if manifest["model"]["reused"] else "")
        + ".",
        f"Full report: [{location}]({link})",
        "",
        "| check | value | real holdout | status |",
        "|---|---|---|---|",
    ]
    for metric, figures in report.metrics.items():
        value, reference = figures["value"], figures["reference"]
        shown = [f"{x:.4f}" if isinstance(x, int | float) else "n/a" for x in (value, reference)]
        lines.append(f"| {metric} | {shown[0]} | {shown[1]} | {figures['status']} |")
    lines += ["", *(f"- fail: {line}" for line in report.failures), *(f"- warn: {line}" for line in report.warnings)]
    create_markdown_artifact("\n".join(lines), key=f"{name}-quality-report", description=f"Quality report of {name}")


def training_artifact(name: str, model: ModelRef) -> None:
    """The losses per epoch, as a table in Prefect's UI."""
    from prefect.artifacts import create_table_artifact

    create_table_artifact(
        [
            {key: round(value, 5) if isinstance(value, float) else value for key, value in epoch.items()}
            for epoch in model.history
        ],
        key=f"{name}-training-curve",
        description=f"Losses per epoch of model {model.key}" + (" (reused)" if model.reused else ""),
    )
