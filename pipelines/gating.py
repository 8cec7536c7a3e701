"""`synth gate`: read real, synthetic and holdout files, check they can be compared, and run the validator suite."""

from __future__ import annotations

from pathlib import Path

from pipelines.config import load_gate_config
from pipelines.errors import DataError
from pipelines.sources import read_source
from pipelines.splitting import split_table
from synth import SynthError, infer_schema
from synth.schema import table_to_frame
from validators import MetricInputError, Report, evaluate

__all__ = ["run_gate"]


def run_gate(
    real_path: Path,
    synthetic_path: Path,
    holdout_path: Path | None,
    target: str | None,
    config_path: Path | None,
    seed: int,
    rare_min: int = 5,
) -> Report:
    """The report for one synthetic file; bad input raises DataError or ConfigError naming the problem."""
    gate = load_gate_config(config_path) if config_path is not None else None
    real = read_source(real_path)
    synthetic = table_to_frame(read_source(synthetic_path))
    if holdout_path is not None:
        train, holdout = table_to_frame(real), table_to_frame(read_source(holdout_path))
    else:
        train, holdout = (table_to_frame(part) for part in split_table(real, 0.2, seed))
    try:
        schema = infer_schema(train)
        return evaluate(
            train, synthetic, holdout, schema=schema, target=target, seed=seed, rare_min=rare_min,
            bounds=gate.bounds() if gate else None, enforce=gate.enforce if gate else True,
        )  # fmt: skip
    except (SynthError, MetricInputError) as exc:
        raise DataError(str(exc)) from exc
