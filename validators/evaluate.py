"""evaluate(): every metric of the suite on one synthetic table, with the gate's verdict."""

from __future__ import annotations

import time

import pandas as pd

from synth.schema import Schema, infer_schema
from validators.fidelity import column_shapes, pair_trends
from validators.gate import Thresholds, decide
from validators.leakage import dcr_holdout_share, exact_copy_rate
from validators.report import Report

__all__ = ["evaluate"]


def evaluate(
    real_train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    *,
    schema: Schema | None = None,
    thresholds: Thresholds | None = None,
    enforce: bool = True,
    seed: int = 0,
) -> Report:
    """Measure ``synthetic`` against the real training rows, with the real holdout as every metric's reference."""
    schema = schema if schema is not None else infer_schema(real_train)
    thresholds = thresholds or Thresholds()
    started = time.perf_counter()
    metrics = (
        column_shapes(real_train, synthetic, holdout, schema=schema, threshold=thresholds.column_shapes),
        pair_trends(real_train, synthetic, holdout, schema=schema, threshold=thresholds.pair_trends),
        exact_copy_rate(real_train, synthetic, holdout, schema=schema, max_excess=thresholds.exact_copy_rate_excess),
        dcr_holdout_share(
            real_train, synthetic, holdout, schema=schema, seed=seed, threshold=thresholds.dcr_holdout_share
        ),
    )
    context = {
        "train_rows": len(real_train),
        "synthetic_rows": len(synthetic),
        "holdout_rows": len(holdout),
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return Report(metrics=metrics, verdict=decide(list(metrics), enforce=enforce), context=context)
