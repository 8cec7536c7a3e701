"""What a gate's levels are calibrated on: how far a real sample's figure strays by chance, and a structureless set.

Every relative bound sits at least a few standard errors from the real holdout's figure (``Bound.levels``), so
gating real data passes on any table, whatever its size; the standard errors come from these functions. The
independent-columns baseline (each column shuffled on its own) is the set with perfect columns and no relations
between them: pair trends and detection must keep a share of the way from it to the real holdout.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = [
    "PAIR_NOISE_FACTOR",
    "SHAPE_NOISE_FACTOR",
    "auc_noise",
    "deficit_noise",
    "independent_columns",
    "mean_noise",
    "share_noise",
]


def share_noise(share: float, n_value: int, n_reference: int) -> float:
    """Standard error of the difference between two shares measured on ``n_value`` and ``n_reference`` rows, when
    both are draws of the same ``share`` (binomial)."""
    p = min(max(share, 1.0 / max(n_value + n_reference, 1)), 1.0 - 1.0 / max(n_value + n_reference, 1))
    return math.sqrt(p * (1.0 - p) * (1.0 / max(n_value, 1) + 1.0 / max(n_reference, 1)))


def auc_noise(n_a: int, n_b: int) -> float:
    """Standard error of a ROC AUC near 0.5 between ``n_a`` and ``n_b`` scores (the Mann-Whitney variance)."""
    return math.sqrt((n_a + n_b + 1) / (12.0 * max(n_a, 1) * max(n_b, 1)))


def mean_noise(values_a: np.ndarray, values_b: np.ndarray) -> float:
    """Standard error of the difference between the means of two samples."""
    if len(values_a) < 2 or len(values_b) < 2:
        return 0.0
    return math.sqrt(float(np.var(values_a, ddof=1)) / len(values_a) + float(np.var(values_b, ddof=1)) / len(values_b))


#: One standard error of chance as a share of a similarity score's shortfall from 1, per metric. bench/gate_noise.py
#: measured the spread of score(A) - score(B) for disjoint real samples A, B over the shortfall: 0.12-0.46 for
#: column shapes and 0.05-0.15 for pair trends (Adult and a six-column table, 60 to 5,000 rows); these sit above.
SHAPE_NOISE_FACTOR = 0.5
PAIR_NOISE_FACTOR = 0.2


def deficit_noise(reference: float, factor: float) -> float:
    """A similarity score's chance spread, from the real holdout's own shortfall from a perfect 1.

    Two real samples fall short of 1 only by sampling noise, so that shortfall sets the noise's scale; ``factor``
    (``SHAPE_NOISE_FACTOR``, ``PAIR_NOISE_FACTOR``) is the measured share of it one standard error takes.
    """
    return max(0.0, 1.0 - reference) * factor


def independent_columns(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Every column permuted on its own: the same marginals, no relation between columns."""
    return pd.DataFrame(
        {name: frame[name].iloc[rng.permutation(len(frame))].reset_index(drop=True) for name in frame.columns}
    )
