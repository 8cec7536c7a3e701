"""Rare real values in a synthetic table: per text or identifier column, the share of values that equal a real value
held by fewer than k training rows (a name, a case number, a category only a few people share).

Protected output scores 0 by construction: rare categories are pooled, identifiers are fakes redrawn away from real
values. Real rows hold their own rare values, so the real holdout's figure (the reference) is usually above 0: it
shows what publishing real rows would leak, and the level stays absolute.
"""

from __future__ import annotations

import re

import pandas as pd

from synth.schema import IDENTIFIER_KINDS, Schema
from validators.bounds import DEFAULT_BOUNDS, Bound
from validators.fidelity import check_columns
from validators.leakage import canonical_values
from validators.records import MetricResult, make_record

__all__ = ["mask", "rare_value_share"]

_KINDS = ("categorical", *IDENTIFIER_KINDS)
_SHOWN_COLUMNS = 5
_SHOWN_EXAMPLES = 3


def mask(value: str) -> str:
    """A value with every letter and digit after each word's first one starred: enough to recognise, not to read."""
    return re.sub(r"(?<=\w)\w", "*", value)


def _shares(
    train: pd.DataFrame, frame: pd.DataFrame, columns: list[str], rare_min: int
) -> dict[str, tuple[float, list[str]]]:
    """Per column: the share of the frame's non-null values that are rare real values, and a few of them."""
    out = {}
    for name in columns:
        real = canonical_values(train[name].dropna())
        counts = real.value_counts()
        rare = counts.index[counts < rare_min]
        values = canonical_values(frame[name].dropna())
        hits = values[values.isin(rare)]
        share = float(len(hits) / len(values)) if len(values) else 0.0
        out[name] = (share, hits.drop_duplicates().head(_SHOWN_EXAMPLES).tolist())
    return out


def rare_value_share(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, *, schema: Schema, rare_min: int,
    bound: Bound | None = None,
) -> MetricResult:  # fmt: skip
    """The worst column's share of values equal to a real training value held by fewer than ``rare_min`` rows.

    Columns: categorical ones and every identifier kind. ``rare_min`` 1 (protection off) makes no value rare.
    The details list the worst columns with their share, the holdout's, and a few masked example values.
    """
    check_columns(schema, train, synthetic, holdout)
    columns = [spec.name for spec in schema if spec.kind in _KINDS]
    found = _shares(train, synthetic, columns, rare_min)
    reference = _shares(train, holdout, columns, rare_min)
    worst = sorted(columns, key=lambda name: -found[name][0])
    details = {
        "rare_min": rare_min,
        "columns_checked": len(columns),
        "worst_columns": [
            {
                "column": name,
                "share": found[name][0],
                "holdout_share": reference[name][0],
                "examples": [mask(value) for value in found[name][1]],
            }
            for name in worst[:_SHOWN_COLUMNS]
            if found[name][0] > 0
        ],
    }
    value = max((found[name][0] for name in columns), default=0.0)
    reference_value = max((reference[name][0] for name in columns), default=0.0)
    return make_record(
        "rare_value_share", "leakage", value, reference_value, bound or DEFAULT_BOUNDS["rare_value_share"], details
    )
