"""Numbers another number bounds (hits within at-bats, a cost within the total): modelled as their share of it.

Counts and amounts often sit under another column in every real row: hits never exceed at-bats, doubles never
exceed hits, one kind of spending never exceeds all of it. A GAN that draws both from the same noise breaks the bound
in a share of its rows, and smears the ratio between them (a batting average), which a detector reads off the pair.
``find_shares`` looks for numbers that lie between 0 and another number in every real row; the transformer then
models each such number as its share of the bound (``Share.of``, in [0, 1]), and decoding multiplies the share back
(``Share.resolve``), so every generated row keeps the bound and the ratio is a column the GAN learns like any other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth.schema import Schema
from synth.tabular.codecs import NumericCodec, floats

__all__ = ["MIN_BREAK_SHARE", "MIN_ROWS", "Share", "find_shares", "resolution_order"]

#: A bound is kept only where it is not one by chance: the column's values shuffled across the rows must break it in
#: at least this share of them (a count of hundreds is "bounded" by a count of thousands in every row anyway)...
MIN_BREAK_SHARE = 0.01
#: ...and at least this many rows hold a positive bound.
MIN_ROWS = 100
_SCREEN_ROWS = 5_000  # most pairs of columns are ruled out on this many rows before the whole table is read
_QUICK_ROWS = 64  # and before that, every pair at once on a few of those (``_bounds_on``)
_KINDS = ("integer", "continuous")


@dataclass(frozen=True, slots=True)
class Share:
    """``column`` lies in [0, ``bound``] in every real row, and is null wherever ``bound`` is."""

    column: str
    bound: str

    def of(self, frame: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
        """The column as its share of the bound: null where it is null; where the bound is 0 (so the column is 0 too,
        whatever its share) a share drawn from the other rows', so that those rows add no spike at any value."""
        values, bound = floats(frame[self.column]), floats(frame[self.bound])
        shares = np.full(len(values), np.nan)
        positive = np.isfinite(values) & (bound > 0)
        shares[positive] = values[positive] / bound[positive]
        zero = np.isfinite(values) & (bound == 0)
        if zero.any():
            shares[zero] = rng.choice(shares[positive], size=int(zero.sum())) if positive.any() else 0.0
        return pd.Series(shares, index=frame.index, name=self.column)

    def resolve(self, shares: np.ndarray, bound: np.ndarray, codec: NumericCodec) -> np.ndarray:
        """The column's values from generated ``shares`` and its bound's generated values: on the column's grid,
        within its range (``codec``: the column's own), and never above the bound."""
        cap = np.floor(bound / codec.step + 1e-9) * codec.step if codec.step else bound  # the bound, on the grid
        values = np.clip(codec.rounded(np.clip(shares, 0.0, 1.0) * bound), codec.low, codec.high)
        return np.minimum(values, cap)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Share:
        return cls(**data)


def find_shares(frame: pd.DataFrame, schema: Schema, fixed: frozenset[str] = frozenset()) -> list[Share]:
    """Each number of ``frame`` that another number bounds in every row, with the tightest bound (the largest mean
    share). Columns in ``fixed`` (those the transformer writes after decoding) neither take a bound nor give one."""
    numbers = {spec.name: floats(frame[spec.name]) for spec in schema if spec.kind in _KINDS and spec.name not in fixed}
    rng = np.random.default_rng(0)  # the shuffle that tells a bound from chance: fixed, so a fit repeats
    if not numbers:
        return []
    names = list(numbers)
    screen = np.column_stack([values[:_SCREEN_ROWS] for values in numbers.values()])
    found: list[Share] = []
    for position, (name, values) in enumerate(numbers.items()):
        present = np.isfinite(values)
        if not present.any() or values[present].min() < 0:
            continue
        tightest: tuple[float, str] | None = None
        for bound in (names[i] for i in np.flatnonzero(_bounds_on(screen, position))):
            limits = numbers[bound]
            if bound == name or not _bounds(values[:_SCREEN_ROWS], limits[:_SCREEN_ROWS]):
                continue
            mean = _mean_share(values, limits, rng)
            if mean is not None and (tightest is None or mean > tightest[0]):
                tightest = (mean, bound)
        if tightest is not None:
            found.append(Share(name, tightest[1]))
    return found


def _bounds_on(screen: np.ndarray, column: int) -> np.ndarray:
    """Which columns of ``screen`` (rows, columns) bound ``column`` (as ``_bounds`` asks) on ``_QUICK_ROWS`` of its
    rows spread evenly and as many where ``column`` is above 0 (where a rare count meets its bound): every pair
    is tried on them at once, before a pair is read at length."""
    spread = np.linspace(0, len(screen) - 1, min(_QUICK_ROWS, len(screen))).round().astype(np.int64)
    with np.errstate(invalid="ignore"):
        positive = np.flatnonzero(screen[:, column] > 0)[:_QUICK_ROWS]
        rows = screen[np.union1d(spread, positive)]
        values = rows[:, column : column + 1]
        covers = np.isnan(values) | (rows >= values)
        return np.all(covers & ~(rows < 0), axis=0)


def _bounds(values: np.ndarray, bound: np.ndarray) -> bool:
    """Whether ``bound`` is present and at least ``values`` wherever they are, and never negative."""
    present = np.isfinite(values)
    with np.errstate(invalid="ignore"):
        covers = np.all(np.isfinite(bound[present])) and np.all(values[present] <= bound[present])
        return bool(covers and not np.any(bound < 0))


def _mean_share(values: np.ndarray, bound: np.ndarray, rng: np.random.Generator) -> float | None:
    """The mean share of ``bound`` that ``values`` take, when ``bound`` bounds them and not by chance (see the
    module's constants); else None."""
    if not _bounds(values, bound):
        return None
    present = np.isfinite(values)
    v, b = values[present], bound[present]
    positive = b > 0
    if np.array_equal(v, b) or positive.sum() < MIN_ROWS or np.mean(rng.permutation(v) > b) < MIN_BREAK_SHARE:
        return None
    return float(np.mean(v[positive] / b[positive]))


def resolution_order(shares: list[Share]) -> list[Share]:
    """``shares`` with each one after the share its bound is (hits after at-bats, doubles after hits). Bounds never
    form a cycle: columns that bound each other are equal, and equal columns are no share."""
    order: list[Share] = []
    waiting = list(shares)
    while waiting:
        pending = {s.column for s in waiting}
        ready = [s for s in waiting if s.bound not in pending]
        if not ready:
            raise AssertionError(f"bounds form a cycle: {waiting}")
        order += ready
        waiting = [s for s in waiting if s.bound in pending]
    return order
