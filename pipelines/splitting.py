"""The split: the source's rows drawn once, by a recorded seed, into training rows and a holdout the model never
sees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from pipelines.config import SplitConfig
from pipelines.refs import SourceRef, SplitRef
from pipelines.sources import read_table, write_table

__all__ = ["split_source", "split_table"]


def split_table(table: pa.Table, holdout_share: float, seed: int) -> tuple[pa.Table, pa.Table]:
    """(train, holdout) rows drawn by ``seed``, each in the source's order; Arrow keeps every type as it was."""
    order = np.random.default_rng(seed).permutation(table.num_rows)
    n_holdout = max(1, round(table.num_rows * holdout_share))
    return table.take(np.sort(order[n_holdout:])), table.take(np.sort(order[:n_holdout]))


def split_source(source: SourceRef, split: SplitConfig, run_dir: Path) -> SplitRef:
    """Split once by a recorded seed into train (all the generator sees) and holdout (never seen by it).

    A sparse column whose few values all land in the holdout is named in ``unseen``: nothing of it can be learned,
    so it comes out entirely null, as a column null in the whole source does.
    """
    table = read_table(source.table)
    train, holdout = split_table(table, split.holdout, split.seed)
    unseen = tuple(
        name
        for name in train.column_names
        if train.column(name).null_count == train.num_rows and table.column(name).null_count < table.num_rows
    )
    return SplitRef(
        train=write_table(train, run_dir / "train.parquet"),
        holdout=write_table(holdout, run_dir / "holdout.parquet"),
        seed=split.seed,
        unseen=unseen,
    )
