"""The run's first step: the locations, sizes and model settings checked, the real data read, checked and described
before anything is trained or written."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.contracts import check_input_contract
from pipelines.errors import ConfigError, DataError
from pipelines.refs import SourceRef
from pipelines.settings import Intake
from pipelines.sources import read_checked
from pipelines.training import check_model
from synth import SynthError, infer_schema
from synth.schema import table_to_frame
from synth.tabular.synthesizer import MIN_ROWS
from validators.evaluate import MIN_ROWS as MIN_MEASURED_ROWS
from validators.utility import TARGET_KINDS

__all__ = ["check_locations", "check_sizes", "load_table_source"]


def load_table_source(intake: Intake) -> SourceRef:
    """Read and check a table: readable, not empty, target present, every column modellable, the last published
    version's input contract kept."""
    check_locations(intake)
    check_model(intake.model, intake.privacy)
    ref, table = read_checked(intake.source)
    if intake.target is not None and intake.target not in table.column_names:
        raise DataError(f"target column '{intake.target}' is not in {intake.source}; columns are {table.column_names}")
    if table.num_rows < 2 * MIN_ROWS:
        raise DataError(
            f"{intake.source} has {table.num_rows} row(s); need at least {2 * MIN_ROWS} to train and hold some out"
        )
    check_sizes(intake, table.num_rows)
    check_input_contract(intake, table_to_frame(table))
    try:
        schema = infer_schema(table)
        if intake.schema_overrides:
            schema = schema.with_kinds(intake.schema_overrides)
    except SynthError as exc:
        raise DataError(f"{intake.source}: {exc}") from exc
    if intake.target is not None and schema[intake.target].kind not in TARGET_KINDS:
        raise DataError(
            f"{intake.source}: target column '{intake.target}' is {schema[intake.target].kind}, which the utility "
            f"check cannot predict; choose another target, or give the column its kind under 'schema:' if that is "
            f"not what it holds"
        )
    for name in table.column_names:  # found here, the error names the user's file, not a split of it
        column = table.column(name)
        if pa.types.is_floating(column.type) and pc.any(pc.is_inf(column)).as_py():
            raise DataError(f"{intake.source}: column '{name}' holds infinite values; replace them or drop those rows")
    return SourceRef(table=ref, schema=schema)


def check_locations(intake: Intake) -> None:
    """The output root and the work folder must be folders this process can write, or creatable ones."""
    places = [("work_dir", intake.work_dir)]
    if "://" not in intake.output:
        places.append(("output", Path(intake.output)))
    for key, place in places:
        existing = next(p for p in (place, *place.parents) if p.exists())
        if not existing.is_dir():
            what = "is" if existing == place else f"would be inside {existing}, which is"
            raise ConfigError(f"{key} {place} {what} a file, not a folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ConfigError(f"{key} {place}: {existing} is not writable by this user")


def check_sizes(intake: Intake, rows: int) -> None:
    """The split and the generated set must be big enough to measure, known before any training starts."""
    holdout_rows = max(1, round(rows * intake.split.holdout))
    if holdout_rows < MIN_MEASURED_ROWS:
        raise ConfigError(
            f"split.holdout {intake.split.holdout:g} of {rows} rows holds out {holdout_rows}; the checks need at "
            f"least {MIN_MEASURED_ROWS} (split.holdout >= {MIN_MEASURED_ROWS / rows:.3g})"
        )
    if rows - holdout_rows < MIN_ROWS:
        raise ConfigError(
            f"split.holdout {intake.split.holdout:g} of {rows} rows leaves {rows - holdout_rows} to train on; "
            f"the model needs at least {MIN_ROWS}"
        )
    generate = intake.generate
    for key, value in (("generate.rows", generate.rows), ("generate.measure_rows", generate.measure_rows)):
        if value is not None and value < MIN_MEASURED_ROWS:
            raise ConfigError(f"{key} is {value}; the checks need at least {MIN_MEASURED_ROWS} synthetic rows")
