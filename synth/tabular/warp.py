"""A monotone map of a column's values onto a standard normal through their quantiles, and back.

A numeric column's non-spike values are warped before its mixture is fitted, and generated values are unwarped
after decoding, so every generated value lands where real values lie: heaps too small to be spikes, gaps and long
tails come back from one smooth normal output, where a Gaussian mixture of the values themselves smooths over them
(and a gradient-boosting detector splits on exactly those).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

__all__ = ["EDGE", "QuantileWarp"]

#: Real rows per interval between knots at least, so a small column gets a coarse map, not one knot per row.
ROWS_PER_KNOT = 20
MAX_KNOTS = 257
#: Cumulative shares are kept within [EDGE, 1 - EDGE] before the normal's inverse, so scores stay within +-4.75:
#: only the few values at the real extremes are pulled in, and the codec clips its scalar within 4 sigmas anyway.
EDGE = 1e-6
_LIMIT = float(ndtri(1.0 - EDGE)) - 1e-9


@dataclass(frozen=True, slots=True)
class QuantileWarp:
    """Knots ``values`` (distinct, ascending) with the span of cumulative shares each holds, ``low`` to ``high``.

    A value held by a run of quantiles (a heap) spans the shares of that run; between knots the map is linear.
    """

    values: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> QuantileWarp:
        """Knots at evenly spaced quantiles of ``values``, one per ``ROWS_PER_KNOT`` rows (2 to ``MAX_KNOTS``)."""
        intervals = max(1, min(MAX_KNOTS - 1, len(values) // ROWS_PER_KNOT))
        shares = np.linspace(0.0, 1.0, intervals + 1)
        quantiles = np.quantile(values, shares)
        knots, first = np.unique(quantiles, return_index=True)
        last = np.r_[first[1:] - 1, len(quantiles) - 1]
        return cls(knots, shares[first], shares[last])

    def forward(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Normal scores of ``values``; a value at a knot draws its share at random within the knot's span, so a
        heap becomes a smooth stretch of the normal rather than a spike in it."""
        draw = rng.random(len(values))
        shares = self._shares(values, lambda at: self.low[at] + draw * (self.high[at] - self.low[at]))
        return ndtri(np.clip(shares, EDGE, 1.0 - EDGE))

    def inverse(self, scores: np.ndarray) -> np.ndarray:
        """Values of normal ``scores``: the map run backwards, each knot's span landing on the knot's value, and a
        score at or beyond ``forward``'s limit on the first or last knot."""
        shares = np.where(np.abs(scores) >= _LIMIT, (scores > 0).astype(np.float64), ndtr(scores))
        return np.interp(shares, np.ravel(np.column_stack([self.low, self.high])), np.repeat(self.values, 2))

    def shares(self, values: np.ndarray) -> np.ndarray:
        """Cumulative shares of ``values``, a value at a knot at the middle of the knot's span."""
        return self._shares(values, lambda at: (self.low[at] + self.high[at]) / 2)

    def share_between(self, low: float, high: float) -> float:
        """The share of values in [low, high], a knot at either end counted whole."""
        ends = np.array([low, high], dtype=np.float64)
        shares = self._shares(ends, lambda at: np.where(np.arange(2) == 0, self.low[at], self.high[at]))
        return float(max(shares[1] - shares[0], 0.0))

    def _shares(self, values: np.ndarray, on_knot: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Cumulative shares of ``values``: linear between knots, ``on_knot(at)`` for a value at knot ``at``, 0 below
        the first knot and 1 above the last."""
        at = np.clip(np.searchsorted(self.values, values), 0, len(self.values) - 1)
        shares = on_knot(at)
        if len(self.values) > 1:
            right = np.maximum(at, 1)
            left_value, right_value = self.values[right - 1], self.values[right]
            fraction = np.clip((values - left_value) / (right_value - left_value), 0.0, 1.0)
            between = self.high[right - 1] + fraction * (self.low[right] - self.high[right - 1])
            shares = np.where(self.values[at] == values, shares, between)
        return np.where(values < self.values[0], 0.0, np.where(values > self.values[-1], 1.0, shares))

    def to_dict(self) -> dict[str, Any]:
        return {"values": self.values.tolist(), "low": self.low.tolist(), "high": self.high.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuantileWarp:
        return cls(*(np.asarray(data[key], dtype=np.float64) for key in ("values", "low", "high")))
