"""Values for a nullable number's null rows, drawn from its link to the row's other columns, for encoding only.

A number's null rows carry no value, so an encoded row held a fixed stand-in there, and the critic could judge how
two numbers vary together only on the rows where both are present: a quarter of them when each is null in half. Two
numbers that correlate 0.75 came out at 0.52 to 0.56 after a 40-s fit. Filled with values drawn from the other
columns, every row carries the link, the critic reads it on every row and the generator learns it about as fast as
in a table without nulls (0.73 to 0.74); the null flag still decides which rows come out null, so no filled value is
ever written out.

The draws are Gaussian-copula regressions: each number becomes its normal score among its present values,
scikit-learn's ``IterativeImputer`` draws each null score from a Bayesian ridge regression on the other scores and
the categories' indicators (with its posterior's noise, so the filled values spread as real ones do), and each drawn
score becomes the real value at that quantile. A filled value is therefore always one of the column's real values.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri
from sklearn.experimental import enable_iterative_imputer  # noqa: F401  (makes IterativeImputer importable)
from sklearn.impute import IterativeImputer

__all__ = ["fill_nulls"]

#: The regressions are fitted on at most this many rows, then draw for every row, this many rows at a time: time and
#: memory stay bounded on a 300,000-row table.
FIT_ROWS = 20_000
#: Each regression reads at most this many other columns (drawn by their correlation with it), so a table of
#: hundreds of columns costs as many small regressions, not hundreds of wide ones.
PREDICTORS = 30
#: Indicators of each category column's most frequent codes that the draws read.
INDICATORS = 10
#: Rounds over the nullable numbers (the imputer's ``max_iter``), fewer on a table of many: at most ``REGRESSIONS``
#: regressions in all, so a table of 700 nullable numbers costs about as much as one of 200.
ROUNDS = 5
REGRESSIONS = 1_000


def fill_nulls(
    columns: dict[str, np.ndarray], rng: np.random.Generator, categories: list[np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """For each of ``columns`` (float64 values, NaN for null) with nulls and at least two present values: its values
    with every null filled, drawn given the row's other numbers and the indicators of its categories (``categories``:
    each category column's codes, 0 and up, one per row). ``rng`` is only drawn from when a column is filled, so a
    table without nullable numbers encodes as it did."""
    usable = {name: values for name, values in columns.items() if np.count_nonzero(~np.isnan(values)) >= 2}
    nullable = [name for name, values in usable.items() if np.isnan(values).any()]
    if not nullable:
        return {}
    names = list(usable)
    scores = np.column_stack([_normal_scores(usable[name]) for name in names])
    slots = [
        (codes, slot)
        for codes in categories or []
        for slot in np.argsort(-np.bincount(codes), kind="stable")[:INDICATORS]
    ]

    def features(rows: np.ndarray | slice) -> np.ndarray:
        return np.column_stack([scores[rows], *[codes[rows] == slot for codes, slot in slots]]).astype(np.float64)

    seed = int(rng.integers(2**31 - 1))
    width = len(names) + len(slots)
    if width == 1:  # nothing else to draw from: the column's own distribution
        drawn = np.where(np.isnan(scores), np.random.default_rng(seed).standard_normal(scores.shape), scores)
    else:
        imputer = IterativeImputer(
            sample_posterior=True,
            max_iter=max(1, min(ROUNDS, REGRESSIONS // len(nullable))),
            n_nearest_features=min(PREDICTORS, width - 1),
            skip_complete=True,
            keep_empty_features=True,  # a number no fitted row holds keeps its place (filled at its median)
            random_state=seed,
        )
        imputer.fit(features(np.random.default_rng(seed).permutation(len(scores))[:FIT_ROWS]))
        drawn = np.empty_like(scores)
        for at in range(0, len(scores), FIT_ROWS):
            drawn[at : at + FIT_ROWS] = imputer.transform(features(slice(at, at + FIT_ROWS)))[:, : len(names)]
    return {name: _from_scores(usable[name], drawn[:, names.index(name)]) for name in nullable}


def _normal_scores(values: np.ndarray) -> np.ndarray:
    """Each present value's normal score among the present ones (ties share their mean rank); NaN where null."""
    present = ~np.isnan(values)
    kept = values[present]
    _, inverse, counts = np.unique(kept, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    ranks = ((ends - counts + ends + 1) / 2)[inverse]  # a value's ties hold ranks end - count + 1 to end
    out = np.full(len(values), np.nan)
    out[present] = ndtri((ranks - 0.5) / len(kept))
    return out


def _from_scores(values: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``values`` with each null replaced by the present value at its drawn score's quantile."""
    null = np.isnan(values)
    present = np.sort(values[~null])
    at = np.minimum((ndtr(scores[null]) * len(present)).astype(np.int64), len(present) - 1)
    out = values.copy()
    out[null] = present[at]
    return out
