"""Numbers that are the sum of other numbers (a total of its kinds of spending): found at fit, written at decode.

Real tables carry totals beside their parts: all medical spending beside its outpatient, drug and inpatient spending,
the amount paid beside the principal, interest and fees paid. A GAN draws the total from the same noise as its parts,
so a generated row's parts add up to the total only roughly, and a detector reads the gap. ``find_totals`` looks for
numbers that equal the sum of two or more other numbers, none of them negative, in (nearly) every real row;
``Total.apply`` writes the total from its generated parts after decoding. Only the parts' names are stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth.schema import Schema
from synth.tabular.codecs import floats

__all__ = ["MAX_CANDIDATES", "MAX_NUMBERS", "MAX_OFF_SHARE", "MIN_ROWS", "Total", "find_totals"]

#: A total must hold over at least this many rows...
MIN_ROWS = 100
#: ...and in all of them but this share (float32 storage and a rare data-entry slip leave a row or two off).
MAX_OFF_SHARE = 0.001
#: A number with more candidate parts (numbers never above it) than this is not tried: its parts' fit would be
#: ambiguous and slow, and totals of more kinds than this are not what real tables hold.
MAX_CANDIDATES = 32
#: Tables with more candidate numbers than this are not searched: the screen compares every pair.
MAX_NUMBERS = 2_000
_TOLERANCE = 1e-6  # a row holds the sum within this share of the total's size (1 + |total|), or within its grid step
_SCREEN_ROWS = 5_000  # parts are fitted on this many rows before the whole table is read
_QUICK_ROWS = 64  # and before that, every pair is screened at once on this many of them
_ROUNDING = 0.05  # a fitted coefficient this close to 0 or 1 is read as 0 or 1; any other makes no total
_KINDS = ("integer", "continuous")


@dataclass(frozen=True, slots=True)
class Total:
    """``column`` = the sum of ``parts`` in (nearly) every real row."""

    column: str
    parts: tuple[str, ...]

    def apply(self, frame: pd.DataFrame) -> np.ndarray:
        """The column's values (float64) from its parts' values in ``frame``."""
        return np.sum([floats(frame[part]) for part in self.parts], axis=0)

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "parts": list(self.parts)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Total:
        return cls(data["column"], tuple(data["parts"]))


def find_totals(
    frame: pd.DataFrame, schema: Schema, steps: dict[str, float], fixed: frozenset[str] = frozenset()
) -> list[Total]:
    """Each number of ``frame`` that the sum of two or more others gives in all rows but ``MAX_OFF_SHARE`` of them,
    in table order. Candidates hold no null and no negative value and are not constant; a total holds three values or
    more on the first rows. A total is no part, so a total of totals is written from the first level's parts.
    ``steps``: each number's decimal grid step (0 for none), by which amounts rounded one by one may miss their
    total. Columns in ``fixed`` (those the transformer writes otherwise) are neither totals nor parts."""
    if len(frame) < MIN_ROWS:
        return []
    numbers: dict[str, np.ndarray] = {}
    for spec in schema:
        if spec.kind in _KINDS and spec.name not in fixed:
            values = floats(frame[spec.name])
            if np.all(np.isfinite(values)) and 0 <= values.min() < values.max():
                numbers[spec.name] = values
    if not 3 <= len(numbers) <= MAX_NUMBERS:
        return []
    names = list(numbers)
    coarsest = max([steps[name] for name in names if steps[name] < 1], default=0.0)  # the screen's slack
    screen = np.column_stack([values[:_SCREEN_ROWS] for values in numbers.values()])
    quick = screen[np.unique(np.linspace(0, len(screen) - 1, _QUICK_ROWS).round().astype(np.int64))]
    found: list[Total] = []
    for position, name in enumerate(names):
        if any(name in total.parts for total in found) or len(np.unique(screen[:, position])) < 3:
            continue
        totals = {total.column for total in found}
        top = quick[:, position : position + 1]
        below = np.flatnonzero(np.all(quick <= top + _tolerance(top, coarsest), axis=0))
        ceiling = screen[:, position] + _tolerance(screen[:, position], coarsest)
        candidates = [i for i in below if i != position and names[i] not in totals and np.all(screen[:, i] <= ceiling)]
        if 2 <= len(candidates) <= MAX_CANDIDATES:
            total = _total(name, numbers, [names[i] for i in candidates], steps)
            if total is not None:
                found.append(total)
    return found


def _total(name: str, numbers: dict[str, np.ndarray], candidates: list[str], steps: dict[str, float]) -> Total | None:
    """``name``'s total over the candidates whose least-squares coefficients on the first rows round to 1 (the rest
    rounding to 0), when at least two do and the sum then holds on the whole table."""
    values = numbers[name]
    parts_matrix = np.column_stack([numbers[c][:_SCREEN_ROWS] for c in candidates])
    gram = parts_matrix.T @ parts_matrix  # the normal equations: a small system, where a full SVD of the rows is slow
    coefficients = np.linalg.lstsq(gram, parts_matrix.T @ values[:_SCREEN_ROWS], rcond=None)[0]
    ones, zeros = np.abs(coefficients - 1) <= _ROUNDING, np.abs(coefficients) <= _ROUNDING
    if not np.all(ones | zeros) or ones.sum() < 2:
        return None
    parts = tuple(c for c, one in zip(candidates, ones, strict=True) if one)
    gap = np.abs(values - np.sum([numbers[p] for p in parts], axis=0))
    grid = max([steps[c] for c in (name, *parts) if steps[c] < 1], default=0.0)
    off = gap > _tolerance(values, grid)
    return Total(name, parts) if off.mean() <= MAX_OFF_SHARE and len(values) - off.sum() >= MIN_ROWS else None


def _tolerance(total: np.ndarray, grid: float) -> np.ndarray:
    """How far its parts' sum may miss ``total``: a millionth of its size, or ``grid``, the coarsest decimal grid
    below 1 among the numbers added (amounts rounded to the cent one by one add up to a total a cent off); whole
    numbers add up exactly."""
    return np.maximum(_TOLERANCE * (1.0 + np.abs(total)), grid)
