"""Numbers that are a formula of another number (a log, a rescaling, a unit change): found at fit, kept at decode.

Real tables carry derived numbers: log income beside income, a score on its raw and its reported scale, days beside
months. A GAN draws both from the same noise, so a generated row is off the formula's curve by a little, and a
detector finds every such row (on sampleSelection/RandHIE, ``linc = log1p(income)`` alone moved detection by 0.01).
``find_formulas`` looks for numbers that equal ``a * f(x) + b`` of one other number ``x`` in every real row, with
``f`` the identity, log, log1p, exp or ``log(max(x, 1))``, and null exactly where ``x`` is null or ``f`` undefined
(log of 0);
``Formula.apply`` writes the number from ``x`` after decoding. Only ``f``, ``a`` and ``b`` are stored, never a value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth.schema import Schema
from synth.tabular.codecs import floats

__all__ = ["FUNCTIONS", "MIN_ROWS", "Formula", "evaluate", "find_formulas", "formula_through"]

#: The functions a formula applies to its source before scaling and shifting it.
FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda values: values,
    "log": np.log,
    "log1p": np.log1p,
    "exp": np.exp,
    "log_max1": lambda values: np.log(np.maximum(values, 1.0)),  # log(max(x, 1)): 0, not null, for nothing spent
}
#: A formula must hold on at least this many rows holding both numbers...
MIN_ROWS = 100
#: ...each within this share of the number's size (1 + |value|): float32 storage keeps about 7 digits.
_TOLERANCE = 1e-6
_SCREEN_ROWS = 5_000  # most pairs of columns are ruled out on this many rows before the whole table is read
_QUICK_ROWS = 64  # and before that, every pair at once on this many of them (``_may_fit``)
_KINDS = ("integer", "continuous")


@dataclass(frozen=True, slots=True)
class Formula:
    """``column`` = ``scale * function(source) + shift`` in every real row; null where that is undefined."""

    column: str
    source: str
    function: str
    scale: float
    shift: float

    def apply(self, source: pd.Series) -> np.ndarray:
        """The column's values (float64, NaN for null) from ``source``'s."""
        return evaluate((self.function, self.scale, self.shift), floats(source))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Formula:
        return cls(**data)


def find_formulas(frame: pd.DataFrame, schema: Schema, fixed: frozenset[str] = frozenset()) -> list[Formula]:
    """Each number that a formula of an earlier number gives in every row of ``frame``, with the first formula that
    holds (sources in table order, functions in ``FUNCTIONS``' order). A number written this way is no source, so
    of two numbers that give each other the first in the table is written from. Columns in ``fixed`` (those the
    transformer writes or reads otherwise) are not written."""
    if len(frame) < MIN_ROWS:  # no formula can hold over enough rows
        return []
    numbers = {spec.name: floats(frame[spec.name]) for spec in schema if spec.kind in _KINDS}
    quick = np.unique(np.linspace(0, min(len(frame), _SCREEN_ROWS) - 1, _QUICK_ROWS).round().astype(np.int64))
    screens: dict[tuple[str, str], np.ndarray] = {}  # each source's functions on the first rows, worked out once
    on_quick = np.empty((len(quick), len(numbers) * len(FUNCTIONS)))  # the same on the quick rows, in that order
    found: list[Formula] = []
    for name, values in numbers.items():
        formula = None
        if name not in fixed and len(np.unique(values[np.isfinite(values)][:_SCREEN_ROWS])) >= 3:
            keys = list(screens)
            formula = next(
                (
                    f
                    for k in np.flatnonzero(_may_fit(values[quick], on_quick[:, : len(keys)]))
                    if (f := _formula(name, values, keys[k][0], screens[keys[k]], keys[k][1], numbers[keys[k][0]]))
                ),
                None,
            )
        if formula is None:
            for function in FUNCTIONS:
                on_quick[:, len(screens)] = _evaluate(function, values[quick])
                screens[name, function] = _evaluate(function, values[:_SCREEN_ROWS])
        else:
            found.append(formula)
    return found


def formula_through(inputs: np.ndarray, values: np.ndarray) -> tuple[str, float, float] | None:
    """(function, scale, shift) of the first formula in ``FUNCTIONS``' order that gives every one of ``values`` from
    its input (a lookup's recorded pairs), or None."""
    for function in FUNCTIONS:
        fitted = _fit(values, _evaluate(function, inputs))
        if fitted is not None:
            return function, *fitted
    return None


def evaluate(formula: tuple[str, float, float], inputs: np.ndarray) -> np.ndarray:
    """``scale * function(inputs) + shift``; NaN where the function is undefined."""
    function, scale, shift = formula
    return _evaluate(function, inputs) * scale + shift


def _may_fit(values: np.ndarray, transformed: np.ndarray) -> np.ndarray:
    """Which columns of ``transformed`` (rows, columns) ``values`` may be a formula of, by these rows alone: null where
    each is undefined, and their least-squares line within ``sqrt(rows)`` times the tolerance (when a line holds
    within the tolerance on every row, the least-squares line of any rows holds within that). So every pair is tried
    at once before a pair is read at length."""
    defined = np.isfinite(values)
    same = np.all(np.isfinite(transformed) == defined[:, None], axis=0)
    weights = defined.astype(np.float64)[:, None]
    y, x = np.where(defined, values, 0.0)[:, None], np.nan_to_num(transformed, nan=0.0, posinf=0.0, neginf=0.0)
    count = weights.sum()
    if count < 3:
        return same
    with np.errstate(all="ignore"):
        x_spread = (x - (weights * x).sum(axis=0) / count) * weights
        y_spread = (y - (weights * y).sum() / count) * weights
        variance = (x_spread**2).sum(axis=0)
        scale = np.where(variance > 0, (x_spread * y_spread).sum(axis=0) / variance, 0.0)
        gap = np.abs(y_spread - scale * x_spread).max(axis=0)
        limit = np.sqrt(count) * _TOLERANCE * (1.0 + np.abs(values[defined]).max()) * (1.0 + 1e-6)
        return same & ~(gap > limit)  # a gap that overflows to NaN rules nothing out


def _formula(
    column: str, values: np.ndarray, source: str, screen: np.ndarray, function: str, inputs: np.ndarray
) -> Formula | None:
    """``column = a * function(source) + b`` when it holds on the first rows (``screen``: the function of the
    source's first rows), then on every row."""
    fitted = _fit(values[:_SCREEN_ROWS], screen)
    if fitted is None:
        return None
    scale, shift = fitted
    if not _holds(values, _evaluate(function, inputs) * scale + shift):
        return None
    return Formula(column, source, function, scale, shift)


def _fit(values: np.ndarray, transformed: np.ndarray) -> tuple[float, float] | None:
    """The least-squares (a, b) of ``values`` on ``transformed`` when the formula holds on these rows, else None."""
    defined = np.isfinite(transformed)
    if not np.array_equal(defined, np.isfinite(values)) or defined.sum() < 3:
        return None
    x, y = transformed[defined], values[defined]
    spread = x - x.mean()
    with np.errstate(all="ignore"):  # exp of a large number squares past float64
        variance = float(spread @ spread)
        scale = float(spread @ (y - y.mean())) / variance if 0.0 < variance < np.inf else 0.0
    shift = float(y.mean() - scale * x.mean())
    if scale == 0.0 or not np.isfinite(scale) or not _close(values, transformed * scale + shift):
        return None
    return scale, shift


def _holds(values: np.ndarray, predicted: np.ndarray) -> bool:
    """Whether ``values`` are null exactly where ``predicted`` is, and close to it in ``MIN_ROWS`` rows or more."""
    defined = np.isfinite(predicted)
    return np.array_equal(defined, np.isfinite(values)) and defined.sum() >= MIN_ROWS and _close(values, predicted)


def _close(values: np.ndarray, predicted: np.ndarray) -> bool:
    """Whether ``values`` are within the tolerance of ``predicted`` wherever both are defined."""
    defined = np.isfinite(predicted) & np.isfinite(values)
    gap = np.abs(values[defined] - predicted[defined])
    return bool(np.all(gap <= _TOLERANCE * (1.0 + np.abs(values[defined]))))


def _evaluate(function: str, inputs: np.ndarray) -> np.ndarray:
    """``function`` of ``inputs``, NaN where it is undefined or infinite (log of 0, exp past float64)."""
    with np.errstate(all="ignore"):
        out = FUNCTIONS[function](inputs)
    return np.where(np.isfinite(out), out, np.nan)
