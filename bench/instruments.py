"""The strong quality instruments a reviewer measures synthetic tables with, shared by the benches.

- column shapes and pair trends: this project's SDMetrics-equivalent metrics (tests/validators/
  test_sdmetrics_agreement.py holds them to SDMetrics' figures) on the full sets, over every modelled column and
  every pair (a seeded sample of 5,000 pairs on tables wider than 100 columns);
- detection: scikit-learn's histogram gradient boosting with native categorical features, 5-fold, on the full sets
  at equal sizes (all training rows against as many synthetic rows), stronger than the gate's, which compares
  holdout-sized samples;
- TSTR: the gate's utility model trained on the synthetic rows and tested on half of the real holdout (ROC AUC for a
  class target, Spearman's rank correlation for a number), beside TRTR, the same model trained on the real rows.

The real holdout is scored as a synthetic set too: its detection is the training rows against the holdout at the
holdout's size, the reference every synthetic set is read against.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth.schema import Schema, parse_text_dates
from validators.detection import separability
from validators.fidelity import column_shapes, modelled_columns, pair_trends
from validators.utility import utility

__all__ = ["detection", "score"]


def _equal_sizes(train: pd.DataFrame, other: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both sets cut to the smaller one's size by a seeded draw (no cut when they are equal)."""
    n = min(len(train), len(other))
    rng = np.random.default_rng(seed)

    def cut(frame: pd.DataFrame) -> pd.DataFrame:
        if len(frame) == n:
            return frame.reset_index(drop=True)
        return frame.iloc[np.sort(rng.choice(len(frame), size=n, replace=False))].reset_index(drop=True)

    return cut(train), cut(other)


def detection(train: pd.DataFrame, other: pd.DataFrame, schema: Schema, seed: int = 0) -> float:
    """The full-set detector's ROC AUC of the real ``train`` rows against ``other``, both at the smaller size."""
    real, fake = _equal_sizes(*(parse_text_dates(frame, schema) for frame in (train, other)), seed)
    return separability(real, fake, modelled_columns(schema), seed)


def score(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, schema: Schema, target: str, seed: int = 0
) -> dict[str, Any]:
    """The strong figures of ``synthetic`` against the real ``train`` rows (``holdout`` tests TSTR and TRTR)."""
    train, synthetic, holdout = (parse_text_dates(frame, schema) for frame in (train, synthetic, holdout))
    details = utility(train, synthetic, holdout, schema=schema, target=target, seed=seed).details
    key = "roc_auc" if details.get("task") == "classification" else "rank_correlation"
    return {
        "column_shapes": column_shapes(train, synthetic, holdout, schema=schema).value,
        "pair_trends": pair_trends(train, synthetic, holdout, schema=schema, seed=seed).value,
        "detection": detection(train, synthetic, schema, seed),
        "tstr": details["tstr"][key] if "tstr" in details else None,
        "trtr": details["trtr"][key] if "trtr" in details else None,
        "tstr_score": key,
        "detection_rows": min(len(train), len(synthetic)),
    }
