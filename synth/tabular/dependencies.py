"""Columns whose value another column fixes (a team's league, a school's district): found at fit, kept at decode.

A GAN draws every column from the same noise, so a column that every real row holds as a function of another
(``team -> lg``) comes out contradicting it in a share of the generated rows, and a detector picks out each such
row. ``find_dependencies`` looks for these exact dependencies among the columns with few values; after decoding,
``Dependency.apply`` writes the dependent column from its determinant's value wherever real rows fixed it.

A dependency records only the determinant's values that ``rare_category_min`` real rows or more hold, so no rare value
is stored, and each dependent value it writes is held by as many rows; a value held by fewer rows leaves the
dependent as generated. A number fixed by a number (a log of an offer) whose recorded pairs a formula of
``synth/tabular/formulas.py`` gives also keeps that formula (``between``), and writes it where the generator drew a
value between the real ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from synth.schema import Schema
from synth.tabular.codecs import factorized, floats, object_values
from synth.tabular.formulas import evaluate, formula_through

__all__ = ["MAX_CHANCE", "MAX_VALUES", "MIN_COVERED_SHARE", "MIN_FORMULA_KEYS", "Dependency", "find_dependencies"]

#: Kinds a determinant or a dependent may be (a code stored as float, with nulls, is continuous to pandas).
_KINDS = ("categorical", "boolean", "integer", "continuous")
#: A column with more distinct values than this fixes no other, nor is it fixed (it is nearly an identifier).
MAX_VALUES = 1_000
#: A dependency is kept when the determinant's values held by ``rare_category_min`` rows or more (the only ones it
#: records) cover at least this share of the rows...
MIN_COVERED_SHARE = 0.9
#: ...and the chance that columns drawn independently, with their own shares, would show it is below this.
MAX_CHANCE = 1e-9
#: A number's lookup keeps the formula its recorded pairs fit only from this many pairs on (a line through a few
#: points fits by chance).
MIN_FORMULA_KEYS = 10
_SCREEN_ROWS = 5_000  # most pairs of columns are ruled out on this many rows before the whole table is read
_QUICK_ROWS = 64  # and before that, every pair at once on a few of those (``_may_fix``)


@dataclass(frozen=True, slots=True)
class Dependency:
    """``column`` takes ``values[i]`` in every real row whose ``source`` holds ``keys[i]`` (None: null); where a
    present source holds no key, ``between`` (function, scale, shift: see ``synth.tabular.formulas``), when a formula
    gives every recorded pair, gives the column."""

    column: str
    source: str
    keys: tuple[Any, ...]
    values: tuple[Any, ...]
    between: tuple[str, float, float] | None = None

    def apply(self, source: pd.Series, column: pd.Series) -> np.ndarray:
        """``column``'s values (object), with the dependent value written wherever ``source`` holds a key, and the
        formula's wherever ``between`` gives one for a present source that holds none."""
        out = object_values(column)
        codes, uniques = factorized(source)
        positions = pd.Index(list(self.keys), dtype=object).get_indexer(pd.Index(uniques, dtype=object))[codes]
        found = positions >= 0
        table = np.empty(len(self.values), dtype=object)
        table[:] = list(self.values)
        out[found] = table[positions[found]]
        if self.between is not None:
            given = evaluate(self.between, floats(source))
            between = ~found & np.isfinite(given)
            out[between] = given[between]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column, "source": self.source, "keys": list(self.keys), "values": list(self.values),
            "between": None if self.between is None else list(self.between),
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Dependency:
        between = data["between"]
        return cls(
            data["column"], data["source"], tuple(data["keys"]), tuple(data["values"]),
            None if between is None else (str(between[0]), float(between[1]), float(between[2])),
        )  # fmt: skip


def find_dependencies(frame: pd.DataFrame, schema: Schema, rare_min: int) -> list[Dependency]:
    """The exact dependencies of ``frame``'s columns, each dependent fixed by one determinant that no other column
    fixes.

    Columns are taken from the most distinct values to the fewest, so a determinant comes before what it fixes;
    a column is fixed by the coarsest earlier determinant that fixes it (a detailed code's major group, not a
    finer code's), and two columns that fix each other keep the first in the table.
    """
    factors: dict[str, tuple[np.ndarray, list[Any]]] = {}
    for spec in schema:
        if spec.kind not in _KINDS:
            continue
        codes, uniques = factorized(frame[spec.name])
        if 2 <= len(uniques) <= MAX_VALUES:
            factors[spec.name] = (codes, uniques)
    order = sorted(factors, key=lambda name: -len(factors[name][1]))  # stable: table order among equals
    position = {name: n for n, name in enumerate(factors)}
    screen = np.column_stack([codes[:_SCREEN_ROWS] for codes, _ in factors.values()]) if factors else None
    determinants: list[str] = []
    found: list[Dependency] = []
    for name in order:
        candidates = sorted(determinants, key=lambda d: len(factors[d][1]))
        if candidates and screen is not None:
            fixing = _may_fix(screen, position[name], [position[d] for d in candidates])
            candidates = [d for d, may in zip(candidates, fixing, strict=True) if may]
        dependency = next(
            (d for d in (_dependency(name, s, factors, rare_min) for s in candidates) if d),
            None,
        )
        if dependency is not None:
            found.append(_with_formula(dependency, schema))
        elif _covers(factors[name][0], rare_min):
            determinants.append(name)
    return found


def _dependency(
    column: str, source: str, factors: dict[str, tuple[np.ndarray, list[Any]]], min_rows: int
) -> Dependency | None:
    """``source -> column`` when every row's ``source`` value fixes its ``column`` value, the values held by
    ``min_rows`` rows or more cover ``MIN_COVERED_SHARE`` of the rows, and chance explains it less than
    ``MAX_CHANCE``; else None."""
    (a, a_values), (b, b_values) = factors[source], factors[column]
    if not _fixes(a[:_SCREEN_ROWS], b[:_SCREEN_ROWS], len(b_values)) or not _fixes(a, b, len(b_values)):
        return None
    if not _covers(a, min_rows):
        return None
    counts = np.bincount(a, minlength=len(a_values))
    kept = np.flatnonzero(counts >= min_rows)
    if _log_chance(counts, np.bincount(b, minlength=len(b_values)) / len(b)) > np.log(MAX_CHANCE):
        return None
    row_of = np.zeros(len(a_values), dtype=np.int64)
    row_of[a] = np.arange(len(a))  # a row holding each value: any will do, the value fixes the column's
    return Dependency(
        column,
        source,
        tuple(a_values[k] for k in kept),
        tuple(b_values[b[row_of[k]]] for k in kept),
    )


def _with_formula(dependency: Dependency, schema: Schema) -> Dependency:
    """``dependency`` with ``between`` set when it fixes a float number by a number and a formula gives each of its
    ``MIN_FORMULA_KEYS`` or more recorded pairs (a null source stays a lookup)."""
    column, source = schema[dependency.column], schema[dependency.source]
    if column.kind != "continuous" or source.kind not in ("integer", "continuous"):
        return dependency
    pairs = [(key, value) for key, value in zip(dependency.keys, dependency.values, strict=True) if key is not None]
    if len(pairs) < MIN_FORMULA_KEYS:
        return dependency
    keys, values = (np.array([pair[n] for pair in pairs], dtype=np.float64) for n in (0, 1))
    return replace(dependency, between=formula_through(keys, values))


def _may_fix(screen: np.ndarray, column: int, sources: list[int]) -> np.ndarray:
    """Which ``sources`` (columns of ``screen``, codes of the first rows) may fix ``column``: each source value meets
    one of its values on ``_QUICK_ROWS`` rows spread evenly and as many where it is not its most common value (where a
    rare flag differs). Every source is tried at once, before a pair is read at length."""
    values = screen[:, column].astype(np.int64)
    spread = np.linspace(0, len(screen) - 1, min(_QUICK_ROWS, len(screen))).round().astype(np.int64)
    uncommon = np.flatnonzero(values != np.bincount(values).argmax())[:_QUICK_ROWS]
    rows = np.union1d(spread, uncommon)
    given = screen[np.ix_(rows, np.asarray(sources, dtype=np.int64))].astype(np.int64)
    pairs = given * (int(values.max()) + 1) + values[rows, None]
    return _distinct(pairs) == _distinct(given)


def _distinct(columns: np.ndarray) -> np.ndarray:
    """The number of distinct values in each column."""
    ordered = np.sort(columns, axis=0)
    return 1 + (np.diff(ordered, axis=0) != 0).sum(axis=0)


def _covers(codes: np.ndarray, min_rows: int) -> bool:
    """Whether a column may fix others: at least two of its values are held by ``min_rows`` rows or more, and those
    cover ``MIN_COVERED_SHARE`` of the rows (a dependency records only them). A column of mostly distinct numbers
    fixes everything, trivially, and records nothing: ruling it out first spares a wide table of measurements a
    search over every pair."""
    counts = np.bincount(codes)
    kept = counts[counts >= min_rows]
    return len(kept) >= 2 and kept.sum() >= MIN_COVERED_SHARE * len(codes)


def _log_chance(group_rows: np.ndarray, shares: np.ndarray) -> float:
    """The log of the chance that every group of rows holds one value, were values drawn with ``shares`` regardless
    of the group (a group of n rows: the sum over values of share ** n)."""
    sizes, groups = np.unique(group_rows[group_rows > 1], return_counts=True)
    terms = np.multiply.outer(np.log(shares), sizes.astype(np.float64))  # log(share ** n), per value and size
    top = terms.max(axis=0)
    log_same = top + np.log(np.exp(terms - top).sum(axis=0))
    return float((groups * log_same).sum())


def _fixes(a: np.ndarray, b: np.ndarray, b_size: int) -> bool:
    """Whether each code of ``a`` meets exactly one code of ``b``."""
    pairs = np.unique(a * b_size + b)
    return len(pairs) == len(np.unique(pairs // b_size))
