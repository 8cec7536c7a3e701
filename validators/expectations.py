"""The data contract: a Great Expectations suite built in code from the real training data, and its validation.

Two contracts come from one table: ``input`` (what a later real batch must keep: columns and order, types,
non-null columns, ids unique where the real ones are, a minimum row count) and ``synthetic`` (what a generated set
must satisfy on top: null shares, numeric ranges, category sets, the exact row count). GX is imported only here, and
only when used.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from synth.schema import Schema

__all__ = ["ContractResult", "build_contract", "validate_contract"]

log = logging.getLogger(__name__)

_NULL_SHARE_TOLERANCE = 0.05
_MAX_CATEGORY_SET = 1000


@dataclass(frozen=True, slots=True)
class ContractResult:
    """The outcome of validating one table: ``failures`` names each broken expectation and what GX observed."""

    success: bool
    evaluated: int
    failures: tuple[str, ...]
    raw: dict[str, Any]


def build_contract(
    train: pd.DataFrame,
    schema: Schema,
    *,
    kind: Literal["input", "synthetic"],
    rows: int | None = None,
    min_rows: int = 20,
    widen_ranges: float = 0.0,
    min_category_count: int = 1,
) -> dict[str, Any]:
    """The suite as JSON-ready data: ``{"name", "expectations": [{"type", "kwargs"}, ...]}``.

    ``widen_ranges`` stretches numeric ranges by that share of their span and ``min_category_count`` leaves out
    categories seen fewer times, so a contract need not disclose exact extremes or rare values (privacy mode).
    """
    schema = schema.with_empty_as_constant(train)  # no values to bound or list
    names = schema.names
    expectations: list[dict[str, Any]] = [
        {"type": "expect_table_columns_to_match_ordered_list", "kwargs": {"column_list": names}},
    ]
    observed_types = _observed_types(train)
    for column in schema:
        name = column.name
        if name in observed_types:  # GX reports no type for a column without values
            expectations.append(
                {
                    "type": "expect_column_values_to_be_of_type",
                    "kwargs": {"column": name, "type_": observed_types[name]},
                }
            )
        if not column.nullable:
            expectations.append({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": name}})
        if column.kind == "id" and (kind == "synthetic" or train[name].dropna().is_unique):
            # generated keys are always fresh and distinct; real ones only where the real rows never repeat one
            expectations.append({"type": "expect_column_values_to_be_unique", "kwargs": {"column": name}})
        if kind == "synthetic":
            expectations += _value_expectations(train[name], column.kind, column.nullable, widen_ranges,
                                                min_category_count)  # fmt: skip
    if kind == "synthetic" and rows is not None:
        expectations.append(
            {"type": "expect_table_row_count_to_equal", "kwargs": {"value": int(rows)}},
        )
    else:
        expectations.append({"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": min_rows}})
    return {"name": f"{kind}-contract", "expectations": expectations}


def _value_expectations(
    series: pd.Series, kind: str, nullable: bool, widen: float, min_count: int
) -> list[dict[str, Any]]:
    name = str(series.name)
    out: list[dict[str, Any]] = []
    if nullable:
        share = float(series.notna().mean())
        low, high = max(0.0, share - _NULL_SHARE_TOLERANCE), min(1.0, share + _NULL_SHARE_TOLERANCE)
        out.append({"type": "expect_column_proportion_of_non_null_values_to_be_between",
                    "kwargs": {"column": name, "min_value": round(low, 4), "max_value": round(high, 4)}})  # fmt: skip
    if kind in ("continuous", "integer"):
        values = pd.to_numeric(series.dropna()).to_numpy(dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        margin = (high - low) * widen
        out.append({"type": "expect_column_values_to_be_between",
                    "kwargs": {"column": name, "min_value": low - margin, "max_value": high + margin}})  # fmt: skip
    elif kind in ("categorical", "boolean"):
        counts = series.dropna().astype(object).value_counts()
        if len(counts) <= _MAX_CATEGORY_SET:
            kept = [_plain(v) for v, n in counts.items() if n >= min_count]
            out.append({"type": "expect_column_values_to_be_in_set", "kwargs": {"column": name, "value_set": kept}})
    return out


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _gx() -> Any:
    """Great Expectations, imported on first use (it takes seconds) and kept offline and quiet."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    return gx


def _observed_types(frame: pd.DataFrame) -> dict[str, str]:
    """The type name GX itself reports for each column (it differs from str(dtype) for categories and nullables)."""
    probe = {"name": "probe", "expectations": [
        {"type": "expect_column_values_to_be_of_type", "kwargs": {"column": str(c), "type_": "__probe__"}}
        for c in frame.columns
    ]}  # fmt: skip
    raw = _run(frame, probe, docs_dir=None)
    return {
        r["expectation_config"]["kwargs"]["column"]: str(r["result"]["observed_value"])
        for r in raw["results"]
        if "observed_value" in r["result"]
    }


def validate_contract(frame: pd.DataFrame, contract: dict[str, Any], *, docs_dir: Path | None = None) -> ContractResult:
    """Validate a table; with ``docs_dir``, GX's data docs for the run are written there (absolute path)."""
    raw = _run(frame, contract, docs_dir)
    failures = tuple(
        f"{r['expectation_config']['type']}({_describe(r['expectation_config']['kwargs'])}): "
        f"observed {_observed(r['result'])}"
        for r in raw["results"]
        if not r["success"]
    )
    return ContractResult(bool(raw["success"]), len(raw["results"]), failures, raw)


def _describe(kwargs: dict[str, Any]) -> str:
    shown = {k: v for k, v in kwargs.items() if k not in ("batch_id", "value_set", "column_list")}
    return ", ".join(f"{k}={v!r}" for k, v in shown.items())


def _observed(result: dict[str, Any]) -> str:
    if not result:
        return "nothing (is the column missing?)"
    if "observed_value" in result:
        return repr(result["observed_value"])
    if "partial_unexpected_list" in result:
        return f"{result.get('unexpected_count', '?')} unexpected, e.g. {result['partial_unexpected_list'][:3]}"
    return json.dumps(result, default=str)[:200]


def _run(frame: pd.DataFrame, contract: dict[str, Any], docs_dir: Path | None) -> dict[str, Any]:
    gx = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.registry import get_expectation_impl

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas("data").add_dataframe_asset("table").add_batch_definition_whole_dataframe("all")
    )
    # Given whole: add_expectation compares each new expectation with every one before it (minutes at 789 columns).
    expectations = [get_expectation_impl(item["type"])(**item["kwargs"]) for item in contract["expectations"]]
    suite = gx.ExpectationSuite(name=contract["name"], expectations=expectations)
    if len(suite.expectations) != len(expectations):  # the constructor logs and drops what it cannot take
        raise ValueError(f"GX took {len(suite.expectations)} of the contract's {len(expectations)} expectations")
    suite = context.suites.add(suite)
    definition = context.validation_definitions.add(gx.ValidationDefinition(name="contract", data=batch, suite=suite))
    if docs_dir is None:
        result = definition.run(batch_parameters={"dataframe": frame})
    else:
        context.add_data_docs_site(
            site_name="contract",
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir.resolve()),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name="contract", validation_definitions=[definition],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=["contract"])],
        ))  # fmt: skip
        outcome = checkpoint.run(batch_parameters={"dataframe": frame})
        result = next(iter(outcome.run_results.values()))
    described: dict[str, Any] = result.describe_dict() if hasattr(result, "describe_dict") else result.to_json_dict()
    return {"success": result.success, "results": [r.to_json_dict() for r in result.results], "summary": described}
