"""Columns fixed by the band another number falls in (a site by its postcode range, a year by the date, an age
group by the age): found at fit, kept at decode.

Real tables carry columns that cut a number into ranges: an age group beside the age, a spending flag beside the
spending, a site that is the leading digit of the postcode, a year beside the date. A lookup of each value
(``synth/tabular/dependencies.py``) keeps such a column only where the generator draws a number a real row holds,
and a continuous number or a date rarely is one, so generated rows put a postcode of site 2 in site 5, and a
detector splits on the number and finds them. ``find_bands`` finds each column whose levels, with the rows sorted by
the number, each take one run of the number's values that no other level's run overlaps; ``Band.apply`` writes the
level from the number after decoding. Only the levels and the cuts between their runs (midway between the last value
of one run and the first of the next, so no cut is a real value) are stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth.schema import Schema
from synth.tabular.codecs import factorized, number_values, object_values

__all__ = ["Band", "find_bands"]

_SOURCE_KINDS = ("integer", "continuous", "datetime")
_COLUMN_KINDS = ("categorical", "boolean", "integer")
#: A banded column takes at most this many levels...
_MAX_LEVELS = 100
#: ...and its source at least this many times as many distinct values (else a lookup of each value keeps it).
_VALUES_PER_LEVEL = 3
#: Bands are looked for where the number is present in at least this many rows.
MIN_ROWS = 100
#: Pairs are ruled out on this many rows spread over the table before the whole table is read.
_SCREEN_ROWS = 5_000


@dataclass(frozen=True, slots=True)
class Band:
    """Real rows whose ``source`` lies between ``cuts[i - 1]`` and ``cuts[i]`` hold ``levels[i]`` in ``column``
    (``levels[0]`` below the first cut, the last level above the last); ``source`` in microseconds when a date."""

    column: str
    source: str
    cuts: tuple[float, ...]
    levels: tuple[Any, ...]

    def apply(self, source: pd.Series, column: pd.Series) -> np.ndarray:
        """``column``'s values (object), with the level of ``source``'s band written wherever ``source`` is present."""
        out = object_values(column)
        numbers = number_values(source)
        present = np.isfinite(numbers)
        levels = np.empty(len(self.levels), dtype=object)
        levels[:] = list(self.levels)
        out[present] = levels[np.searchsorted(np.asarray(self.cuts), numbers[present], side="right")]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "source": self.source, "cuts": list(self.cuts), "levels": list(self.levels)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Band:
        return cls(data["column"], data["source"], tuple(data["cuts"]), tuple(data["levels"]))


def find_bands(frame: pd.DataFrame, schema: Schema, rare_min: int, skip: frozenset[str] = frozenset()) -> list[Band]:
    """Each column not in ``skip`` (the columns the transformer writes or reads otherwise) that the band of one number
    fixes in every real row where the number is present (a null is a level like any other), with the first such
    number in the table; a banded column is no number's source. Every level written holds ``rare_min`` rows or more."""
    if len(frame) < MIN_ROWS:
        return []
    screen = np.unique(np.linspace(0, len(frame) - 1, min(len(frame), _SCREEN_ROWS)).round().astype(np.int64))
    sources = {spec.name: number_values(frame[spec.name]) for spec in schema if spec.kind in _SOURCE_KINDS}
    sources = {name: values for name, values in sources.items() if _distinct(values[screen]) >= 2 * _VALUES_PER_LEVEL}
    columns = {
        spec.name: factorized(frame[spec.name])
        for spec in schema
        if spec.kind in _COLUMN_KINDS and spec.name not in skip
    }
    columns = {name: factor for name, factor in columns.items() if 2 <= len(factor[1]) <= _MAX_LEVELS}
    if not sources or not columns:
        return []
    passed = _screened(sources, columns, screen)
    orders: dict[str, np.ndarray] = {}  # each source's sort over every row, made once a pair passes the screen
    found: list[Band] = []
    for k, (name, (codes, uniques)) in enumerate(columns.items()):
        if name in {band.source for band in found}:
            continue
        banded = {band.column for band in found}
        for source, values in sources.items():
            if source == name or source in banded or not passed[source][k]:
                continue
            if source not in orders:
                orders[source] = np.argsort(values, kind="stable")
            band = _band(name, source, uniques, *_sorted(codes, values, orders[source]), rare_min)
            if band is not None:
                found.append(band)
                break
    return found


def _screened(
    sources: dict[str, np.ndarray], columns: dict[str, tuple[np.ndarray, list[Any]]], screen: np.ndarray
) -> dict[str, np.ndarray]:
    """For each source, which columns may be its bands by the screen's rows alone: along them, sorted by the source,
    a column whose levels each come in one run changes level fewer times than it has levels. One comparison of the
    columns' codes a source, so a table of a thousand columns is screened at once."""
    codes = np.column_stack([factor[0][screen] for factor in columns.values()])
    levels = np.array([len(factor[1]) for factor in columns.values()])
    passed = {}
    for source, values in sources.items():
        on_screen = values[screen]
        rows = np.argsort(on_screen, kind="stable")
        block = codes[rows[np.isfinite(on_screen[rows])]]
        passed[source] = 1 + np.count_nonzero(block[1:] != block[:-1], axis=0) <= levels
    return passed


def _distinct(values: np.ndarray) -> int:
    return len(np.unique(values[np.isfinite(values)]))


def _sorted(codes: np.ndarray, values: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The codes and the values of the rows in ``order`` whose number is present."""
    rows = order[np.isfinite(values[order])]
    return codes[rows], values[rows]


def _one_run_each(codes: np.ndarray, values: np.ndarray) -> bool:
    """Whether, along these rows (sorted by ``values``), each code comes in one run and two runs share no value."""
    change = np.flatnonzero(codes[1:] != codes[:-1])
    starts = codes[np.r_[0, change + 1]]
    return len(np.unique(starts)) == len(starts) and not np.any(values[change] == values[change + 1])


def _band(
    column: str, source: str, uniques: list[Any], sorted_codes: np.ndarray, sorted_values: np.ndarray, rare_min: int
) -> Band | None:
    """``column`` as bands of ``source`` when every row keeps them, over ``MIN_ROWS`` rows and three distinct values
    a level or more; a band of fewer than ``rare_min`` rows joins its smaller neighbour (so its level is never
    written), and None when fewer than two bands are left."""
    if len(sorted_codes) < MIN_ROWS or not _one_run_each(sorted_codes, sorted_values):
        return None
    if _distinct(sorted_values) < _VALUES_PER_LEVEL * len(uniques):  # a lookup of each value keeps it
        return None
    change = np.flatnonzero(sorted_codes[1:] != sorted_codes[:-1])
    cuts = list((sorted_values[change] + sorted_values[change + 1]) / 2)
    levels = [uniques[code] for code in sorted_codes[np.r_[0, change + 1]]]
    counts = list(np.diff(np.r_[0, change + 1, len(sorted_codes)]))
    while len(counts) > 1 and min(counts) < rare_min:
        rare = int(np.argmin(counts))
        joins_left = rare > 0 and (rare == len(counts) - 1 or counts[rare - 1] <= counts[rare + 1])
        into = rare - 1 if joins_left else rare + 1
        counts[into] += counts[rare]
        del counts[rare], levels[rare], cuts[min(rare, into)]
    if len(levels) < 2:
        return None
    return Band(column, source, tuple(float(cut) for cut in cuts), tuple(levels))
