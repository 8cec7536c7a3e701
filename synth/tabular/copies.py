"""Columns that repeat an earlier column in most rows (a pupil's school in the next grade), kept at that rate.

Panel tables hold the same measure once per wave, and most rows repeat it: a pupil stays in one school, a household
in one state. A GAN that draws each wave's value on its own makes them agree far less often than real rows do (on
AER/STAR, 14 % of generated pupils kept their school from one grade to the next, against 96 % of real ones), and a
detector sees it in every row. ``find_copies`` records, per column, the earlier column it repeats most often and the
share of real rows (both present) that repeat it; ``Copy.apply`` makes generated rows repeat it at that share,
choosing among the rows that do not yet the ones whose values are closest (numbers) or at random (categories).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from synth.schema import ColumnSpec, Schema
from synth.tabular.codecs import NUMERIC_CODEC_KINDS, as_python, factorized, floats, object_values

__all__ = ["MIN_AGREEMENT", "MIN_REPEAT_SHARE", "Copy", "find_copies"]

#: A column is recorded as repeating another when at least this share of the rows holding both repeat it...
MIN_REPEAT_SHARE = 0.5
#: ...and it closes at least this share of the gap between chance (columns drawn independently, with their own
#: shares) and always (Cohen's kappa): two rare flags agree in most rows by chance alone...
MIN_AGREEMENT = 0.5
#: ...over at least this many rows.
MIN_ROWS = 100
_SCREEN_ROWS = 5_000  # most pairs of columns are ruled out on this many rows before the whole table is read
#: Values counted with dense matrix products when screening (the most common ones: a table of flags is all 0 and 1);
#: the rest are counted sparsely.
_DENSE_VALUES = 8
_KINDS = ("categorical", "boolean", "integer", "continuous")


@dataclass(frozen=True, slots=True)
class Copy:
    """``column`` equals ``source`` in ``share`` of the real rows where both are present."""

    column: str
    source: str
    share: float
    numeric: bool

    def apply(self, source: pd.Series, column: pd.Series, rng: np.random.Generator, allowed: np.ndarray) -> np.ndarray:
        """``column``'s values (object), with ``source``'s written into just enough of the rows holding both that
        ``share`` of them repeat it; only into rows where ``allowed`` (the source's value is one ``column`` may hold:
        a level it keeps, a number within its range, never one of its rare values)."""
        out = object_values(column)
        left, right = _comparable(source, self.numeric), _comparable(column, self.numeric)
        if not self.numeric:
            left, right = _in_codes_of(left, right)
        both = (source.notna() & column.notna()).to_numpy()
        unequal = both & (left != right)
        differ = np.flatnonzero(unequal & allowed)
        held = int(both.sum())
        wanted = round(self.share * held) - (held - int(unequal.sum()))
        if wanted <= 0 or not len(differ):
            return out
        if self.numeric:  # the closest first: the rows the generator nearly made repeat
            gap = np.abs(floats(source)[differ] - floats(column)[differ])
            chosen = differ[np.argsort(gap, kind="stable")[:wanted]]
        else:
            chosen = rng.choice(differ, size=min(wanted, len(differ)), replace=False)
        out[chosen] = as_python(source.iloc[chosen]).to_numpy(dtype=object)
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Copy:
        return cls(**data)


def find_copies(frame: pd.DataFrame, schema: Schema, skip: frozenset[str] = frozenset()) -> list[Copy]:
    """For each column, the earlier column of the same kind (so the same values) that it repeats in the largest
    share of the rows holding both, when that share and its agreement beyond chance are high. Columns in ``skip``
    (those written from another's value) neither repeat nor are repeated."""
    specs = [spec for spec in schema if spec.kind in _KINDS and spec.name not in skip]
    values = {spec.name: _comparable(frame[spec.name], spec.kind in NUMERIC_CODEC_KINDS) for spec in specs}
    present = {spec.name: frame[spec.name].notna().to_numpy() for spec in specs}
    screened = _screened(frame.iloc[:_SCREEN_ROWS], specs)
    found: list[Copy] = []
    for position, spec in enumerate(specs):
        numeric = spec.kind in NUMERIC_CODEC_KINDS
        best: Copy | None = None
        for earlier in (specs[index] for index in screened.get(position, ())):
            left, right = values[earlier.name], values[spec.name]
            if not numeric:
                left, right = _in_codes_of(left, right)
            pair = (left, right, present[earlier.name] & present[spec.name])
            if _repeat_share(*(part[:_SCREEN_ROWS] for part in pair)) is None:
                continue
            share = _repeat_share(*pair)
            if share is not None and (best is None or share > best.share):
                best = Copy(spec.name, earlier.name, share, numeric)
        if best is not None:
            found.append(best)
    return found


def _screened(head: pd.DataFrame, specs: list[ColumnSpec]) -> dict[int, np.ndarray]:
    """For each column (its position in ``specs``), the earlier columns of its kind it may repeat by ``head`` (the
    screening rows): every pair of a kind is counted at once with matrix products, so a table of 1,500 columns (a
    million pairs) is screened in seconds. Rows held and agreeing are exact; chance is exact or, where a column has
    nulls, a lower bound (so agreement beyond it is never understated)."""
    candidates: dict[int, np.ndarray] = {}
    for kind in dict.fromkeys(spec.kind for spec in specs):
        positions = np.array([n for n, spec in enumerate(specs) if spec.kind == kind])
        codes = _shared_codes(head, [specs[n].name for n in positions], kind in NUMERIC_CODEC_KINDS)
        held, agree, chance = _pair_counts(codes)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = agree / held
            beyond_chance = share - chance >= MIN_AGREEMENT * (1.0 - chance) - 1e-9
        ok = (held >= MIN_ROWS) & (share >= MIN_REPEAT_SHARE - 1e-9) & beyond_chance
        for column in range(1, len(positions)):
            earlier = np.flatnonzero(ok[:column, column])
            if len(earlier):
                candidates[int(positions[column])] = positions[earlier]
    return candidates


def _shared_codes(head: pd.DataFrame, names: list[str], numeric: bool) -> np.ndarray:
    """(rows, columns) codes of ``head``'s values, one code per distinct value across the columns, -1 for null."""
    if numeric:
        cells = np.column_stack([floats(head[name]) for name in names])
        missing = np.isnan(cells)
        _, codes = np.unique(np.where(missing, 0.0, cells), return_inverse=True)
    else:
        cells = np.column_stack([as_python(head[name]).to_numpy(dtype=object) for name in names])
        missing = head[names].isna().to_numpy()
        codes, _ = pd.factorize(cells.ravel())
    return np.where(missing, -1, codes.reshape(cells.shape)).astype(np.int64)


def _pair_counts(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every pair of columns of ``codes``, over the rows holding both: their count, the rows where the two agree,
    and the chance of agreeing (columns drawn independently with their own shares of each value). The most common
    values (``_DENSE_VALUES``) are counted with dense products, the rest sparsely; the rest's chance is counted only
    for columns with no null (exactly), so elsewhere chance is a lower bound."""
    present = codes >= 0
    indicators = present.astype(np.float32)
    held = _product(indicators, indicators)
    counts = np.bincount(codes[present], minlength=int(codes.max(initial=-1)) + 1)
    dense = np.argsort(-counts, kind="stable")[:_DENSE_VALUES]
    dense = dense[counts[dense] > 0]
    agree = np.zeros_like(held)
    chance = np.zeros_like(held)
    for value in dense:
        holds = (codes == value).astype(np.float32)
        agree += _product(holds, holds)
        among = _product(holds, indicators)  # [i, j]: rows where i holds the value and j is present
        chance += among * among.T
    rest = present & ~np.isin(codes, dense)
    row, column = np.nonzero(rest)
    _, key = np.unique(row * len(counts) + codes[row, column], return_inverse=True)
    cells = sparse.csr_matrix((np.ones(len(key)), (column, key)), shape=(codes.shape[1], int(key.max(initial=-1)) + 1))
    agree += (cells @ cells.T).toarray()
    complete = present.all(axis=0)
    values = sparse.csr_matrix(
        (
            np.ones(int(rest[:, complete].sum())),
            (np.nonzero(rest[:, complete])[1], codes[:, complete][rest[:, complete]]),
        ),
        shape=(int(complete.sum()), len(counts)),
    )
    both_complete = np.ix_(complete, complete)
    chance[both_complete] += (values @ values.T).toarray()
    with np.errstate(divide="ignore", invalid="ignore"):
        return held, agree, np.nan_to_num(chance / (held * held))


def _product(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """[i, j]: rows where column i of ``left`` and column j of ``right`` are both set."""
    return (left.T @ right).astype(np.float64)


def _repeat_share(source: np.ndarray, column: np.ndarray, both: np.ndarray) -> float | None:
    """The share of the rows holding both that repeat ``source`` in ``column``, when it counts (see the module's
    constants); else None."""
    if both.sum() < MIN_ROWS:
        return None
    left, right = pd.Series(source[both]), pd.Series(column[both])
    share = float((left.to_numpy() == right.to_numpy()).mean())
    if share < MIN_REPEAT_SHARE:
        return None
    chance = float((left.value_counts(normalize=True) * right.value_counts(normalize=True)).sum())
    return share if share - chance >= MIN_AGREEMENT * (1.0 - chance) else None


def _comparable(series: pd.Series, numeric: bool) -> Any:
    """What two columns are compared by: numbers as float64, categories as codes and their values (``factorized``),
    never a Python object per row."""
    return floats(series) if numeric else factorized(series)


def _in_codes_of(
    source: tuple[np.ndarray, list[Any]], column: tuple[np.ndarray, list[Any]]
) -> tuple[np.ndarray, np.ndarray]:
    """Two factorized columns as codes of one space: the source's, where a value it never holds is -1."""
    (codes, known), (other, levels) = source, column
    return codes, pd.Index(known, dtype=object).get_indexer(pd.Index(levels, dtype=object))[other]
