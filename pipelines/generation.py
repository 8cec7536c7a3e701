"""Generation: the rows asked for spread over part files, each written a row group per batch from its own seed, with
identifiers made away from the real ones and, in privacy mode, rows too close to a training row replaced."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pipelines.config import GenerateConfig, PrivacyConfig
from pipelines.errors import GateFailed
from pipelines.publish import to_arrow
from pipelines.refs import ModelRef, SourceRef, SplitRef, TableRef
from pipelines.sources import derived, file_sha256, read_table
from synth import Schema, TabularSynthesizer
from synth.schema import table_to_frame

__all__ = ["TABLE_BATCH", "batch_seed", "filter_summary", "generate_table_part", "part_plan", "real_frames"]

#: Rows generated and held at once (one Parquet row group) unless ``generate.batch_rows`` says otherwise.
TABLE_BATCH = 100_000


def part_plan(rows: int, partitions: int) -> list[int]:
    """Rows per part file: ``rows`` spread as evenly as possible over at most ``partitions`` non-empty parts."""
    parts = min(partitions, rows)
    return [rows // parts + (1 if index < rows % parts else 0) for index in range(parts)]


def batch_seed(seed: int, part: int, batch: int) -> int:
    """Each batch's own seed, derived from the run's: the output depends on the config, never on worker timing."""
    return int(np.random.SeedSequence([seed, part, batch]).generate_state(2, dtype=np.uint32).view(np.uint64)[0] >> 1)


def real_frames(split: SplitRef) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training rows and the holdout as frames, built once per run and process."""

    def both() -> tuple[pd.DataFrame, pd.DataFrame]:
        return table_to_frame(read_table(split.train)), table_to_frame(read_table(split.holdout))

    return derived(("frames", split), both)


def generate_table_part(
    model: ModelRef, part: int, rows: int, first_row: int, generate: GenerateConfig, source: SourceRef,
    run_dir: Path, split: SplitRef, privacy: PrivacyConfig | None = None,
) -> TableRef:  # fmt: skip
    """Write ``rows`` generated rows to one part file, ``generate.batch_rows`` at a time (one row group each).

    Identifiers are made away from the source's (train and holdout: no fake equals a rare real value); integer keys
    start past the real ones and number on through the parts (this part's first row is the set's ``first_row``).
    With ``privacy`` (privacy mode), rows that copy a training row or come closer to one than the configured
    percentile of holdout-to-train distances are dropped and replaced, so the part still has exactly ``rows`` rows;
    what was dropped is written beside the part (``<part>.filter.json``).
    """
    schema = source.schema
    assert isinstance(schema, Schema)
    synthesizer = TabularSynthesizer.load(model.path)
    train, holdout = real_frames(split)
    synthesizer.avoid_values_of(train, pd.concat([train, holdout], ignore_index=True))
    arrow_schema = schema.arrow_schema()
    path = run_dir / f"synthetic-{part:05d}.parquet"
    flt = None if privacy is None else _privacy_filter(split, privacy.filter_percentile, schema)
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


def _privacy_filter(split: SplitRef, percentile: float, schema: Schema) -> Any:
    """The filter fitted on the real rows, once per run and process (every part uses the same)."""
    from validators.privacy_filter import PrivacyFilter

    def fit() -> PrivacyFilter:
        train, holdout = real_frames(split)
        return PrivacyFilter().fit(train, holdout, schema=schema, percentile=percentile, seed=split.seed)

    return derived(("privacy-filter", split, percentile), fit)


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
