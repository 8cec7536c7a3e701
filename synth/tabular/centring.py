"""Numbers a category places (a stop's latitude within its neighbourhood): modelled as their place within its level.

Real tables hold numbers that a category all but fixes: the latitude and longitude of a police stop within its
neighbourhood, an interest rate within its loan grade, a price within its product line. A GAN has to learn a narrow
range of the number for each of up to hundreds of levels, and in a short fit it draws the number too widely: a
generated row holds one neighbourhood's name with a point of the next, and a detector splits on the pair.
``find_centrings`` looks for numbers whose spread the levels of one categorical column explain nearly all of; the
transformer then models each as its place within its row's level (``Centring.of``: the number less its level's mean,
over its level's standard deviation), and decoding puts it back within the generated row's level
(``Centring.resolve``). The GAN then learns a number whose spread is alike in every level, and the level it draws
places it. Only each level's mean and standard deviation are stored, over ``MIN_LEVEL_ROWS`` rows or more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from synth.schema import Schema
from synth.tabular.codecs import NumericCodec, factorized, floats
from synth.tabular.mixture import all_spikes

__all__ = ["MAX_LEVELS", "MAX_SPREAD_LEFT", "MIN_COVERED_SHARE", "MIN_LEVEL_ROWS", "Centring", "find_centrings"]

#: A key has at most this many levels...
MAX_LEVELS = 1_000
#: ...a level's mean and spread are stored only when at least this many rows (and ``rare_category_min``) hold it...
MIN_LEVEL_ROWS = 10
#: ...and the levels stored must cover at least this share of the rows holding the number.
MIN_COVERED_SHARE = 0.9
#: A number is centred when its key's levels leave at most this share of its variance (between its 0.1 % and 99.9 %
#: quantiles, so that a few extremes do not decide).
MAX_SPREAD_LEFT = 0.1
_MIN_ROWS = 100  # a number held by fewer rows is not centred
_SCREEN_ROWS = 20_000  # keys are screened on this many rows spread over the table before the whole table is read
_CHUNK = 256  # numbers screened at once
_KEY_KINDS = ("categorical", "boolean")
_NUMBER_KINDS = ("integer", "continuous")


@dataclass(frozen=True, slots=True)
class Centring:
    """``column``'s rows of ``key`` level ``levels[i]`` (None: null) have mean ``means[i]`` and standard deviation
    ``stds[i]``; rows of any other level are read against ``mean`` and ``std``, the column's own."""

    column: str
    key: str
    levels: tuple[Any, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]
    mean: float
    std: float

    def _level_stats(self, key: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Each row's level mean and standard deviation."""
        codes, uniques = factorized(key)
        positions = pd.Index(list(self.levels), dtype=object).get_indexer(pd.Index(uniques, dtype=object))[codes]
        means = np.append(np.asarray(self.means, dtype=np.float64), self.mean)[positions]
        stds = np.append(np.asarray(self.stds, dtype=np.float64), self.std)[positions]
        return means, stds

    def of(self, frame: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
        """The column as its place within its row's level: null where it is null; in a level of one value (which it
        gives whatever its place) a place drawn from the other rows', so that those rows add no spike at any place."""
        values = floats(frame[self.column])
        means, stds = self._level_stats(frame[self.key])
        places = np.full(len(values), np.nan)
        spread = np.isfinite(values) & (stds > 0)
        places[spread] = (values[spread] - means[spread]) / stds[spread]
        fixed = np.isfinite(values) & (stds == 0)
        if fixed.any():
            places[fixed] = rng.choice(places[spread], size=int(fixed.sum())) if spread.any() else 0.0
        return pd.Series(places, index=frame.index, name=self.column)

    def resolve(self, places: np.ndarray, key: pd.Series, codec: NumericCodec) -> np.ndarray:
        """The column's values from generated ``places`` and its key's generated values, as the column comes out
        (``codec``: the column's own, whose range and grid they are put in)."""
        means, stds = self._level_stats(key)
        return codec.emitted(means + stds * places)

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column, "key": self.key, "levels": list(self.levels), "means": list(self.means),
            "stds": list(self.stds), "mean": self.mean, "std": self.std,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Centring:
        return cls(
            data["column"], data["key"], tuple(data["levels"]), tuple(float(m) for m in data["means"]),
            tuple(float(s) for s in data["stds"]), float(data["mean"]), float(data["std"]),
        )  # fmt: skip


def find_centrings(
    frame: pd.DataFrame, schema: Schema, rare_min: int, fixed: frozenset[str] = frozenset()
) -> list[Centring]:
    """Each number of ``frame`` (not one whose codec keeps every value exact, ``all_spikes``) that
    a categorical or boolean column's levels leave at most ``MAX_SPREAD_LEFT`` of its variance, centred on the key
    that leaves the least. Columns in ``fixed`` (those the transformer writes after decoding, or encodes otherwise)
    are neither numbers nor keys. Only the screened rows of every column are held at once."""
    min_rows = max(rare_min, MIN_LEVEL_ROWS)
    screen = np.unique(np.linspace(0, len(frame) - 1, min(_SCREEN_ROWS, len(frame))).round().astype(np.int64))
    keys: dict[str, np.ndarray] = {}  # each key's codes on the screened rows
    for spec in schema:
        if spec.kind in _KEY_KINDS and spec.name not in fixed:
            codes, uniques = factorized(frame[spec.name])
            if 2 <= len(uniques) <= MAX_LEVELS and np.sum(np.bincount(codes) >= min_rows) >= 2:
                keys[spec.name] = codes[screen]
    numbers: dict[str, np.ndarray] = {}  # each number's screened values, within its quantiles
    for spec in schema if keys else ():
        if spec.kind in _NUMBER_KINDS and spec.name not in fixed:
            values = floats(frame[spec.name])
            if np.isfinite(values).sum() >= _MIN_ROWS and not all_spikes(values[np.isfinite(values)]):
                numbers[spec.name] = _within_quantiles(values)[screen].astype(np.float32)
    if not numbers:
        return []
    left = _spread_left(list(keys.values()), list(numbers.values()))
    names = list(keys)
    found: list[Centring] = []
    for column, name in enumerate(numbers):
        best: tuple[float, Centring] | None = None
        for key in (names[k] for k in np.flatnonzero(left[:, column] <= MAX_SPREAD_LEFT)):
            centring = _centring(name, key, floats(frame[name]), factorized(frame[key]), min_rows)
            if centring is not None and (best is None or centring[0] < best[0]):
                best = centring
        if best is not None:
            found.append(best[1])
    return found


def _within_quantiles(values: np.ndarray) -> np.ndarray:
    """``values`` clipped to their 0.1 % and 99.9 % quantiles, so that a few extremes do not decide a spread."""
    return np.clip(values, *np.nanquantile(values, [0.001, 0.999]))


def _spread_left(keys: list[np.ndarray], numbers: list[np.ndarray]) -> np.ndarray:
    """(keys, numbers): the share of each number's variance left within the levels of each key (``keys``: codes per
    row; 1 - eta squared), over the rows holding the number. Levels' sums are sparse products, ``_CHUNK`` numbers at a
    time, so a wide table is screened at once in bounded memory."""
    left = np.ones((len(keys), len(numbers)))
    rows = np.arange(len(keys[0]))
    levels = [sparse.csr_matrix((np.ones(len(rows)), (codes, rows))) for codes in keys]
    for start in range(0, len(numbers), _CHUNK):
        block = np.column_stack(numbers[start : start + _CHUNK]).astype(np.float64)
        present = np.isfinite(block)
        held = present.sum(axis=0)
        means = np.where(present, block, 0.0).sum(axis=0) / np.maximum(held, 1)
        deviations = np.where(present, block - means, 0.0)
        total = (deviations**2).sum(axis=0)
        for k, level in enumerate(levels):
            sums, counts = level @ deviations, level @ present.astype(np.float64)
            between = np.divide(sums**2, counts, out=np.zeros_like(sums), where=counts > 0).sum(axis=0)
            left[k, start : start + _CHUNK] = np.where(total > 0, 1.0 - between / np.maximum(total, 1e-300), 1.0)
    return left


def _centring(
    column: str, key: str, values: np.ndarray, factors: tuple[np.ndarray, list[Any]], min_rows: int
) -> tuple[float, Centring] | None:
    """(the share of variance it leaves, the centring of ``column`` on ``key``'s levels held by ``min_rows`` rows or
    more) over the whole table, when those levels cover ``MIN_COVERED_SHARE`` of the rows holding the number and it
    leaves at most ``MAX_SPREAD_LEFT``; else None. Rows of the levels not stored count as read against the whole
    column's mean."""
    codes, uniques = factors
    present = np.isfinite(values)
    codes, values, clipped = codes[present], values[present], _within_quantiles(values)[present]
    counts = np.bincount(codes, minlength=len(uniques))
    kept = np.flatnonzero(counts >= min_rows)
    stored = np.isin(codes, kept)
    if len(kept) < 2 or stored.mean() < MIN_COVERED_SHARE:
        return None
    deviations = clipped - clipped.mean()
    sums, squares = (np.bincount(codes, weights, minlength=len(uniques)) for weights in (deviations, deviations**2))
    within = float(np.sum(squares[kept] - sums[kept] ** 2 / counts[kept]))
    left = (within + float(np.sum(deviations[~stored] ** 2))) / float(np.sum(deviations**2))
    if left > MAX_SPREAD_LEFT:
        return None
    mean = float(values.mean())
    level_means, level_stds = _level_moments(values - mean, codes, counts, kept)
    return left, Centring(
        column,
        key,
        tuple(uniques[k] for k in kept),
        tuple(float(m) + mean for m in level_means),
        tuple(float(s) for s in level_stds),
        mean,
        float(values.std()),
    )


def _level_moments(
    deviations: np.ndarray, codes: np.ndarray, counts: np.ndarray, kept: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The mean and standard deviation of ``deviations`` (from the column's mean, so that a narrow spread far from 0
    keeps its digits) in each level of ``kept``."""
    sums = np.bincount(codes, deviations, minlength=len(counts))[kept]
    squares = np.bincount(codes, deviations**2, minlength=len(counts))[kept]
    means = sums / counts[kept]
    return means, np.sqrt(np.maximum(squares / counts[kept] - means**2, 0.0))
