"""Columns that are null together (a grade a pupil never sat, a survey section skipped): kept together at decode.

Real tables leave whole blocks of columns empty at once: a pupil who joined in second grade has no kindergarten class
type, school, teacher or scores; a respondent routed past a section answers none of it. A GAN decides each column's
null on its own, so a share of its rows hold a block partly filled, which no real row does and a detector finds.
``find_null_blocks`` groups the columns whose nulls agree in nearly every real row; after decoding,
``NullBlock.apply`` makes each generated row's block all null or all present, as most of its columns were drawn: a
column drawn present in a null block is emptied, and one drawn null in a present block takes the value of another
generated row whose block is present (so no real value is written).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth.schema import Schema

__all__ = ["MIN_AGREEMENT", "NullBlock", "find_null_blocks"]

#: Columns are null together when their nulls agree in at least this share of the rows...
MIN_AGREEMENT = 0.99
#: ...and each is null in at least this share of them (and present in as many).
MIN_NULL_SHARE = 0.01
_SCREEN_ROWS = 5_000  # most pairs of columns are ruled out on this many rows before the whole table is read
_KINDS = ("categorical", "boolean", "integer", "continuous", "datetime")


@dataclass(frozen=True, slots=True)
class NullBlock:
    """``columns`` are null together in nearly every real row."""

    columns: tuple[str, ...]

    def apply(self, frame: pd.DataFrame, rng: np.random.Generator) -> dict[str, pd.Series]:
        """The block's columns with each row's block all null or all present, as most of its columns are (on a tie,
        as the first column is). A value filled in comes from a generated row whose block came out whole and, for
        every column but the first, that holds the same first column's value where one does."""
        nulls = frame[list(self.columns)].isna().to_numpy()
        share = nulls.mean(axis=1)
        null = (share > 0.5) | ((share == 0.5) & nulls[:, 0])
        donors = np.flatnonzero(~null & ~nulls.any(axis=1))
        out = {name: frame[name].copy() for name in self.columns}
        for j, name in enumerate(self.columns):
            emptied = null & ~nulls[:, j]
            if emptied.any():
                out[name][emptied] = None
            filled = np.flatnonzero(~null & nulls[:, j])
            if len(filled) and len(donors):
                chosen = _matching(out[self.columns[0]], filled, donors, rng) if j else rng.choice(donors, len(filled))
                out[name].iloc[filled] = frame[name].iloc[chosen].to_numpy()
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"columns": list(self.columns)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NullBlock:
        return cls(tuple(data["columns"]))


def find_null_blocks(frame: pd.DataFrame, schema: Schema, fixed: frozenset[str] = frozenset()) -> list[NullBlock]:
    """The blocks of ``frame``'s columns that are null together, each a column and the later ones whose nulls agree
    with its own; columns in ``fixed`` (those the transformer writes otherwise) join none."""
    nulls = {
        spec.name: mask
        for spec in schema
        if spec.kind in _KINDS
        and spec.name not in fixed
        and MIN_NULL_SHARE <= (mask := frame[spec.name].isna().to_numpy()).mean() <= 1 - MIN_NULL_SHARE
    }
    blocks: list[NullBlock] = []
    taken: set[str] = set()
    for name, mask in nulls.items():
        if name in taken:
            continue
        block = [name] + [
            other
            for other, others in nulls.items()
            if other not in taken
            and other != name
            and _agree(mask[:_SCREEN_ROWS], others[:_SCREEN_ROWS])
            and _agree(mask, others)
        ]
        if len(block) > 1:
            blocks.append(NullBlock(tuple(block)))
            taken.update(block)
    return blocks


def _matching(first: pd.Series, rows: np.ndarray, donors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A donor for each of ``rows``: one holding the same ``first`` value where a donor does, else any."""
    codes = pd.factorize(first, use_na_sentinel=False)[0]
    chosen = rng.choice(donors, len(rows))
    by_code = pd.Series(donors).groupby(codes[donors]).indices
    for code, positions in pd.Series(np.arange(len(rows))).groupby(codes[rows]).indices.items():
        if code in by_code:
            chosen[positions] = donors[by_code[code]][rng.integers(len(by_code[code]), size=len(positions))]
    return chosen


def _agree(left: np.ndarray, right: np.ndarray) -> bool:
    return bool(np.mean(left == right) >= MIN_AGREEMENT)
