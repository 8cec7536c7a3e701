"""evaluate(): the whole tabular suite on one synthetic table, on equal-size samples, with the gate's verdict."""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
import pandas as pd

from synth.schema import Schema, infer_schema, parse_text_dates
from validators.bounds import DEFAULT_BOUNDS, Bound
from validators.detection import detection_auc
from validators.diversity import category_coverage, prdc, range_coverage
from validators.errors import MetricInputError
from validators.fidelity import column_shapes, missing_values, pair_trends
from validators.gate import decide
from validators.leakage import distance_checks, exact_copy_rate
from validators.plots import build_figures
from validators.rare_values import rare_value_share
from validators.records import MetricResult
from validators.report import Report

__all__ = ["MIN_ROWS", "evaluate"]

#: The least rows a holdout or a synthetic table may have: below it, no share or classifier is worth reading.
MIN_ROWS = 20
_MAX_SAMPLE_ROWS = 10_000


def evaluate(
    real_train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    *,
    schema: Schema | None = None,
    target: str | None = None,
    bounds: Mapping[str, Bound] | None = None,
    enforce: bool = True,
    seed: int = 0,
    rare_min: int = 5,
) -> Report:
    """Measure ``synthetic`` against the real training rows, with the real holdout as every metric's reference.

    Metrics that compare shares see equal-size samples (the holdout's size, at most 10,000 rows) drawn with
    ``seed``; detection draws its own, of up to 50,000 rows a set. ``bounds`` override the default pass marks by
    metric name. ``rare_min``: the k of rare-value protection the synthetic set was made with (a real value held by
    fewer training rows must not come out; 1 checks nothing); the coverage checks leave out what it keeps out.
    """
    schema = schema if schema is not None else infer_schema(real_train)
    _check_inputs(real_train, synthetic, holdout, schema, target)
    schema = schema.with_empty_as_constant(real_train)  # a column the real rows hold no value of: nothing to compare
    real_train, synthetic, holdout = (parse_text_dates(frame, schema) for frame in (real_train, synthetic, holdout))
    marks = {**DEFAULT_BOUNDS, **(bounds or {})}
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    n = min(len(real_train), len(synthetic), len(holdout), _MAX_SAMPLE_ROWS)

    def sample(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.iloc[np.sort(rng.choice(len(frame), size=n, replace=False))].reset_index(drop=True)

    train_n, synthetic_n, holdout_n = sample(real_train), sample(synthetic), sample(holdout)
    equal = (train_n, synthetic_n, holdout_n)
    metrics: list[MetricResult] = [
        column_shapes(*equal, schema=schema, bound=marks["column_shapes"]),
        missing_values(*equal, schema=schema, bound=marks["missing_values"]),
        pair_trends(*equal, schema=schema, seed=seed, bound=marks["pair_trends"]),
        detection_auc(real_train, synthetic, holdout, schema=schema, seed=seed, bound=marks["detection_auc"]),
    ]
    if target is not None:
        from validators.utility import utility

        metrics.append(utility(real_train, synthetic, holdout, schema=schema, target=target, seed=seed,
                               rare_min=rare_min, bound=marks["utility_ratio"]))  # fmt: skip
    covered = (real_train, synthetic_n, holdout_n)  # the real categories and ranges from every training row
    metrics += [
        category_coverage(*covered, schema=schema, rare_min=rare_min, bound=marks["category_coverage"]),
        range_coverage(*covered, schema=schema, rare_min=rare_min, bound=marks["range_coverage"]),
        *prdc(*equal, schema=schema, seed=seed, bounds=marks),
        exact_copy_rate(real_train, synthetic_n, holdout_n, schema=schema, bound=marks["exact_copy_rate"]),
        *distance_checks(*equal, schema=schema, seed=seed, bounds=marks),
        rare_value_share(
            real_train, synthetic, holdout, schema=schema, rare_min=rare_min, bound=marks["rare_value_share"]
        ),
    ]
    figures = build_figures(train_n, synthetic_n, holdout_n, schema, metrics)
    context = {
        "train_rows": len(real_train),
        "synthetic_rows": len(synthetic),
        "holdout_rows": len(holdout),
        "sample_rows": n,
        "target": target,
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return Report(metrics=tuple(metrics), verdict=decide(metrics, enforce=enforce), context=context, figures=figures)


def _check_inputs(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, schema: Schema, target: str | None
) -> None:
    """Refuse inputs no metric can compare honestly: one clear error, never a silently skipped metric."""
    for label, frame in (("real", train), ("synthetic", synthetic), ("holdout", holdout)):
        if list(map(str, frame.columns)) != schema.names:
            missing = sorted(set(schema.names) - set(map(str, frame.columns)))
            extra = sorted(set(map(str, frame.columns)) - set(schema.names))
            raise MetricInputError(
                f"the {label} table's columns do not match the real data's: missing {missing}, unexpected {extra}"
                if missing or extra
                else f"the {label} table's columns are in another order than the real data's"
            )
    if len(synthetic) == 0:
        raise MetricInputError("the synthetic table has no rows")
    for label, frame in (("synthetic table", synthetic), ("holdout", holdout)):
        if len(frame) < MIN_ROWS:
            raise MetricInputError(f"the {label} has {len(frame)} rows; at least {MIN_ROWS} are needed")
    for name in schema.names:
        if train[name].isna().all():
            continue  # an all-null real column passes through as null: nothing to compare
        real_kind = _kind_of(train[name])
        for label, frame in (("synthetic", synthetic), ("holdout", holdout)):
            if frame[name].notna().any() and _kind_of(frame[name]) != real_kind:  # no values: nothing to mistype
                raise MetricInputError(
                    f"column '{name}' is {real_kind} in the real data but {_kind_of(frame[name])} in the {label} data"
                )
    if target is not None and target not in schema.names:
        raise MetricInputError(f"target column '{target}' is not in both tables; columns are {schema.names}")


def _kind_of(series: pd.Series) -> str:
    """A coarse type: what matters for comparing two columns."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    return "text"
