"""Columns the rows of one group share (a class's teacher, a route's carriers), kept to the combinations real
groups hold.

Rows often come in groups the table has no column for: the pupils of one class, the flights of one route. A group's
own columns (the teacher's experience, degree and career ladder) take one value across it, so within the values of
the few columns that mark the group (the school and the class type) they take one or two values. A GAN that draws
every column from the same noise invents combinations no real group has: on AER/STAR, 11 experience values per
school and class type in its rows against 1.4 in real ones, and a detector sees it. ``find_groups`` finds such
columns and the one or two columns (the key) that mark their groups; after decoding, ``Group.apply`` rewrites each
generated row whose members' combination is not one that real rows of its key hold, with one that they do, drawn by
how many real rows hold each.

A group records only the combinations ``rare_category_min`` real rows or more hold, so it writes no rare
combination, and a row whose key no recorded combination holds is left as generated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth.schema import Schema
from synth.tabular.codecs import factorized

__all__ = ["Group", "find_groups"]

_KINDS = ("categorical", "boolean", "integer", "continuous")
#: A column with more distinct values than this is neither a key nor a member.
_MAX_VALUES = 1_000
#: A key marks groups of at least this many rows on average (a key of nearly one row per value fixes anything)...
_MIN_GROUP_ROWS = 10
#: ...and in the rows a larger table's search reads, at least this many (its groups hold fewer of them there).
_SEARCH_MIN_GROUP_ROWS = 3
#: A member takes at most this many values per key value on average...
_MAX_VALUES_PER_KEY = 2.0
#: ...and at most this share of the values it would take per key value were it drawn regardless of the key.
_MAX_VALUES_SHARE = 1 / 3
#: A two-column key is tried for a member that one of its columns alone keeps to at most this share of chance's values.
_LOOSE_VALUES_SHARE = 0.75
#: A column joins a group's members when it takes one value in nearly every combination of key and members: at most
#: this many values per combination on average, and at most this share of the values chance would give.
_JOIN_VALUES_PER_COMBINATION = 1.1
_JOIN_VALUES_SHARE = 0.5
#: Groups are searched on tables of at most this many columns that may be keys or members, on this many rows.
_MAX_COLUMNS = 100
_SEARCH_ROWS = 20_000
#: A group is kept when the combinations held by ``rare_category_min`` rows or more cover at least this share of the
#: rows holding its key and members, and they number at most ``_MAX_COMBINATIONS``.
_MIN_COVERED_SHARE = 0.8
_MAX_COMBINATIONS = 20_000


@dataclass(frozen=True, slots=True)
class Group:
    """Real rows whose ``key`` columns hold ``combinations[i][:len(key)]`` hold ``combinations[i][len(key):]`` in
    ``members`` ``counts[i]`` times (combinations held by fewer than ``rare_category_min`` rows left out)."""

    key: tuple[str, ...]
    members: tuple[str, ...]
    combinations: tuple[tuple[Any, ...], ...]
    counts: tuple[int, ...]

    def apply(self, frame: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Each member's values (object): in every row whose key and members are all present, whose key a recorded
        combination holds and whose members are not one of that key's recorded combinations, one of them, drawn by
        its count."""
        columns = [*self.key, *self.members]
        n_key = len(self.key)
        recorded = np.asarray(self.combinations, dtype=object).reshape(len(self.combinations), len(columns))
        codes = np.empty((len(frame), len(columns)), dtype=np.int64)
        known = np.empty((len(recorded), len(columns)), dtype=np.int64)
        for j, name in enumerate(columns):
            levels = pd.Index(pd.unique(recorded[:, j]), dtype=object)
            row_codes, uniques = factorized(frame[name])
            present = np.array([value is not None for value in uniques], dtype=bool)[row_codes]
            codes[:, j] = np.where(present, levels.get_indexer(pd.Index(uniques, dtype=object))[row_codes], -2)
            known[:, j] = levels.get_indexer(pd.Index(recorded[:, j], dtype=object))
        out = {name: _objects(frame[name]) for name in self.members}
        rows = np.flatnonzero((codes != -2).all(axis=1))  # key and members present
        key_ids, n_keys = _ids(np.vstack([known[:, :n_key], codes[rows, :n_key]]))
        whole_ids, _ = _ids(np.vstack([known, codes[rows]]))
        recorded_keys, row_keys = key_ids[: len(known)], key_ids[len(known) :]
        recorded_whole, row_whole = whole_ids[: len(known)], whole_ids[len(known) :]
        unheld = np.isin(row_keys, recorded_keys) & ~np.isin(row_whole, recorded_whole)  # a value never recorded: -1
        chosen = rows[unheld]
        if not len(chosen):
            return out
        order = np.argsort(recorded_keys, kind="stable")  # each key's combinations next to each other
        weights = np.cumsum(np.asarray(self.counts, dtype=np.float64)[order])
        first = np.searchsorted(recorded_keys[order], np.arange(n_keys), side="left")
        last = np.searchsorted(recorded_keys[order], np.arange(n_keys), side="right")
        row_key = row_keys[unheld]
        low = np.where(first[row_key] > 0, weights[first[row_key] - 1], 0.0)
        high = weights[last[row_key] - 1]
        drawn = np.searchsorted(weights, low + rng.random(len(chosen)) * (high - low), side="right")
        picked = order[np.minimum(drawn, last[row_key] - 1)]
        for j, name in enumerate(self.members):
            out[name][chosen] = recorded[picked, n_key + j]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": list(self.key),
            "members": list(self.members),
            "combinations": [list(c) for c in self.combinations],
            "counts": list(self.counts),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Group:
        return cls(
            tuple(data["key"]),
            tuple(data["members"]),
            tuple(tuple(c) for c in data["combinations"]),
            tuple(data["counts"]),
        )


def find_groups(frame: pd.DataFrame, schema: Schema, rare_min: int, skip: frozenset[str] = frozenset()) -> list[Group]:
    """The groups of ``frame``: for each member, the key of one or two columns within whose values it takes the
    fewest values against chance (members taken from the strongest; a member is never a key); then each group's
    members joined by the columns that take one value per combination of its key and members. ``skip``: columns
    another relation writes or reads, never members.

    The search reads ``_SEARCH_ROWS`` rows spread over the table; what it finds is checked and recorded on every row.
    A two-column key is tried for a member that one of its columns alone already keeps to few values.
    """
    searched, min_rows = frame, _MIN_GROUP_ROWS
    if len(frame) > _SEARCH_ROWS:
        searched = frame.iloc[np.linspace(0, len(frame) - 1, _SEARCH_ROWS).round().astype(np.int64)]
        min_rows = _SEARCH_MIN_GROUP_ROWS
    factors = _factors(searched, schema)
    if not 0 < len(factors) <= _MAX_COLUMNS:
        return []
    names = list(factors)
    found: list[tuple[float, tuple[str, ...], str]] = []
    loose: dict[str, list[tuple[str, int]]] = {}  # key column -> (member, its pairs of values) to try in pairs
    for key_column in names:
        groups = _grouping([key_column], factors, min_rows)
        if groups is None:
            continue
        for member in names:
            if member != key_column and member not in skip:
                ratio, pairs, keys = _measured(groups, *factors[member])
                if ratio <= _LOOSE_VALUES_SHARE:
                    loose.setdefault(key_column, []).append((member, pairs))
                if ratio <= _MAX_VALUES_SHARE and pairs <= _MAX_VALUES_PER_KEY * keys:
                    found.append((ratio, (key_column,), member))
    for key_column, candidates in loose.items():
        for other in names:
            key = tuple(sorted((key_column, other), key=names.index))
            groups = None if other == key_column else _grouping(list(key), factors, min_rows)
            if groups is None:
                continue
            keys = int(groups.max()) + 1
            for member, single_pairs in candidates:  # a finer key holds at least the pairs the coarser one does
                if member != other and single_pairs <= _MAX_VALUES_PER_KEY * keys:
                    ratio, pairs, _ = _measured(groups, *factors[member])
                    if ratio <= _MAX_VALUES_SHARE and pairs <= _MAX_VALUES_PER_KEY * keys:
                        found.append((ratio, key, member))
    members: dict[str, tuple[str, ...]] = {}
    key_columns: set[str] = set()
    for _, key, member in sorted(found, key=lambda f: f[0]):
        if member not in members and member not in key_columns and not set(key) & set(members):
            members[member] = key
            key_columns |= set(key)
    by_key: dict[tuple[str, ...], list[str]] = {}
    for member, key in members.items():
        by_key.setdefault(key, []).append(member)
    taken = set(members) | key_columns | skip
    everywhere = _factors(frame, schema, [name for key, group in by_key.items() for name in (*key, *group)])
    joins = (_JOIN_VALUES_SHARE, _JOIN_VALUES_PER_COMBINATION)
    out = []
    for key, group_members in by_key.items():
        kept = [  # the search read a spread of rows: each member is checked on every row
            m
            for m in group_members
            if _keeps(list(key), m, everywhere, _MIN_GROUP_ROWS, _MAX_VALUES_SHARE, _MAX_VALUES_PER_KEY)
        ]
        if not kept:
            continue
        for name in names:  # the columns each combination of key and members fixes (the teacher's degree)
            if name in taken or not _keeps([*key, *kept], name, factors, min_rows, *joins):
                continue
            everywhere |= _factors(frame, schema, [name])
            if _keeps([*key, *kept], name, everywhere, _MIN_GROUP_ROWS, *joins):
                kept.append(name)
                taken.add(name)
        group = _recorded(frame, key, tuple(kept), rare_min)
        if group is not None:
            out.append(group)
    return out


def _factors(
    frame: pd.DataFrame, schema: Schema, names: list[str] | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(a code per row, each value's share) of the columns that may be a key or a member (``names`` only, if given)."""
    factors = {}
    for spec in schema:
        if spec.kind in _KINDS and (names is None or spec.name in names):
            codes, uniques = factorized(frame[spec.name])
            if 2 <= len(uniques) <= _MAX_VALUES:
                factors[spec.name] = (codes.astype(np.int64), np.bincount(codes) / len(codes))
    return factors


def _grouping(
    columns: list[str], factors: dict[str, tuple[np.ndarray, np.ndarray]], min_rows: int
) -> np.ndarray | None:
    """A group code per row for each combination of ``columns``' values, or None when the combinations hold fewer
    than ``min_rows`` rows each on average."""
    groups = np.zeros(len(factors[columns[0]][0]), dtype=np.int64)
    for name in columns:
        codes, shares = factors[name]
        groups = pd.factorize(groups * len(shares) + codes)[0].astype(np.int64)
    return groups if len(groups) >= min_rows * (int(groups.max(initial=0)) + 1) else None


def _measured(groups: np.ndarray, codes: np.ndarray, shares: np.ndarray) -> tuple[float, int, int]:
    """(the (group, value) pairs the rows hold over those chance would give, those pairs, the groups): a group of n
    rows holds a value of share p by chance with 1 - (1 - p) ** n."""
    sizes = np.bincount(groups)
    pairs = len(pd.unique(groups * len(shares) + codes))
    counts, tally = np.unique(sizes, return_counts=True)
    chance = float((1.0 - np.power.outer(1.0 - shares, counts.astype(np.float64))).sum(axis=0) @ tally)
    return pairs / chance, pairs, len(sizes)


def _keeps(
    columns: list[str],
    name: str,
    factors: dict[str, tuple[np.ndarray, np.ndarray]],
    min_rows: int,
    most_share: float,
    most_per_group: float,
) -> bool:
    """Whether ``name`` takes at most ``most_per_group`` values per combination of ``columns`` on average, and at most
    ``most_share`` of the values chance gives (False when a column has too many values or the combinations too few
    rows)."""
    groups = _grouping(columns, factors, min_rows) if {name, *columns} <= set(factors) else None
    if groups is None:
        return False
    ratio, pairs, combinations = _measured(groups, *factors[name])
    return ratio <= most_share and pairs <= most_per_group * combinations


def _recorded(frame: pd.DataFrame, key: tuple[str, ...], members: tuple[str, ...], rare_min: int) -> Group | None:
    """The group with its combinations held by ``rare_min`` rows or more, if they cover ``_MIN_COVERED_SHARE`` of
    the rows holding the key and members."""
    columns = [*key, *members]
    complete = frame[columns].dropna()
    counts = complete.groupby(columns, observed=True, sort=True).size()
    kept = counts[counts >= rare_min]
    if not len(complete) or kept.sum() < _MIN_COVERED_SHARE * len(complete) or len(kept) > _MAX_COMBINATIONS:
        return None
    index = kept.index.to_frame(index=False)
    values = [_objects(index[name].astype(frame[name].dtype)) for name in columns]
    combos = tuple(tuple(value[i] for value in values) for i in range(len(kept)))
    return Group(key, members, combos, tuple(int(c) for c in kept.to_numpy()))


def _objects(series: pd.Series) -> np.ndarray:
    """A column's values as Python scalars (object), None for null."""
    codes, uniques = factorized(series)
    table = np.empty(len(uniques), dtype=object)
    table[:] = uniques
    return table[codes]


def _ids(codes: np.ndarray) -> tuple[np.ndarray, int]:
    """A dense id per row of ``codes`` (rows, columns), equal rows sharing one, and how many there are."""
    ids = np.zeros(len(codes), dtype=np.int64)
    for column in codes.T:
        ids = pd.factorize(ids * (int(column.max(initial=0)) + 3) + column + 2)[0].astype(np.int64)
    return ids, int(ids.max(initial=-1)) + 1
