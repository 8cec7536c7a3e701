"""Sampling conditions: checked against the fitted model, one anchored in the conditional vector, the rest met by
drawing batches and keeping the rows that satisfy them, with a bounded number of tries.

A condition is ``{column: value}`` on a categorical, boolean or constant column (at most three of them), and/or
``{column: (low, high)}``, an inclusive range on one continuous, integer or datetime column.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from synth.errors import ConditionError, ConditionShortfall
from synth.schema import Schema
from synth.tabular.codecs import (
    NUMERIC_CODEC_KINDS,
    CategoricalCodec,
    ConstantCodec,
    NumericCodec,
    _datetime_us,
    _timestamp_us,
)
from synth.tabular.transformer import TableTransformer

__all__ = ["MAX_VALUE_CONDITIONS", "ConditionPlan", "RangeCondition", "ValueCondition", "resolve_conditions"]

log = logging.getLogger(__name__)

#: At most this many categorical (or boolean, or constant) columns in one set of conditions.
MAX_VALUE_CONDITIONS = 3
_MIN_BATCH_ROWS = 500
_MAX_BATCH_ROWS = 100_000
_OVERDRAW = 1.2  # draw 20 % more than the acceptance estimate says, so one batch usually suffices


@dataclass(frozen=True, slots=True)
class ValueCondition:
    """``column == value`` (``value`` None or NaN: the column is null).

    ``slot`` is the value's global slot in the conditional vector (None for a constant column, which has none);
    ``share`` the value's share of the real training rows, as the model saw them (an acceptance estimate);
    ``derived``: the column is written from another column's value (``TableTransformer.derive``), so the slot alone
    does not fix it and generated rows are checked.
    """

    column: str
    value: Any
    slot: int | None
    share: float
    is_null: bool
    constant: bool = False
    derived: bool = False

    def matches(self, frame: pd.DataFrame) -> np.ndarray:
        series = frame[self.column]
        if self.is_null:
            return series.isna().to_numpy(dtype=bool)
        if self.constant:  # a constant column holds its one value or a null
            return series.notna().to_numpy(dtype=bool)
        return (series.notna() & (series.astype(object) == self.value)).to_numpy(dtype=bool)

    def describe(self) -> str:
        return f"{self.column} = {self.value!r}"


@dataclass(frozen=True, slots=True)
class RangeCondition:
    """``low <= column <= high``, both inclusive; nulls never match. Datetimes are compared as int64 microseconds
    since the epoch (UTC for zone-aware columns), numbers as float64.
    """

    column: str
    low: float | int
    high: float | int
    is_datetime: bool
    share: float

    def matches(self, frame: pd.DataFrame) -> np.ndarray:
        values, null = _numbers(frame[self.column], self.is_datetime)
        if self.is_datetime:
            return ~null & (values >= int(self.low)) & (values <= int(self.high))
        with np.errstate(invalid="ignore"):
            return ~null & (values >= self.low) & (values <= self.high)

    def describe(self) -> str:
        if self.is_datetime:
            return f"{_stamp(self.low)} <= {self.column} <= {_stamp(self.high)}"
        return f"{self.low:g} <= {self.column} <= {self.high:g}"


@dataclass(frozen=True, slots=True)
class ConditionPlan:
    """Resolved conditions. ``single``: at most one value condition, on a column no other column fixes, and no
    range: the exact path by construction (the generator is conditioned on the value's slot and the column is
    written with the value).
    """

    values: tuple[ValueCondition, ...]
    range: RangeCondition | None

    @property
    def single(self) -> bool:
        return self.range is None and len(self.values) <= 1 and not any(c.derived for c in self.values)

    @property
    def anchor(self) -> ValueCondition | None:
        """The rarest value condition that has a slot: fed to the generator's conditional vector (the others are
        met by keeping matching rows, so the rarest one costs the fewest draws).
        """
        slotted = [c for c in self.values if c.slot is not None]
        return min(slotted, key=lambda c: c.share) if slotted else None

    @property
    def fixed(self) -> tuple[str, int | None, Any] | None:
        """(column, slot, value) the generator is conditioned on and the column written with; None: unconditioned."""
        if self.single:
            return (self.values[0].column, self.values[0].slot, self.values[0].value) if self.values else None
        anchor = self.anchor
        return None if anchor is None else (anchor.column, anchor.slot, anchor.value)

    @property
    def filters(self) -> list[ValueCondition | RangeCondition]:
        """The conditions met by keeping matching rows: all but the anchor."""
        anchor = self.anchor
        rest: list[ValueCondition | RangeCondition] = [c for c in self.values if c is not anchor]
        return rest + ([self.range] if self.range is not None else [])

    def acceptance_estimate(self) -> float:
        """Share of generated rows expected to match, taking the filtered conditions as independent."""
        return float(max(math.prod(c.share for c in self.filters), 1e-6))

    def matches(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows that satisfy every condition (the anchor's too, so a returned frame is verified in full)."""
        mask = np.ones(len(frame), dtype=bool)
        for condition in self.all:
            mask &= condition.matches(frame)
        return mask

    @property
    def all(self) -> list[ValueCondition | RangeCondition]:
        return [*self.values, *([self.range] if self.range is not None else [])]

    def describe(self) -> str:
        return ", ".join(c.describe() for c in self.all)


@dataclass(slots=True)
class SearchStats:
    """What the targeted sampling did: rows found of those requested, batches drawn, rows generated."""

    requested: int
    found: int = 0
    tries: int = 0
    generated: int = 0

    @property
    def acceptance_rate(self) -> float:
        return self.found / self.generated if self.generated else 0.0

    def shortfall(self, rows: pd.DataFrame, plan: ConditionPlan) -> ConditionShortfall:
        message = (
            f"found {self.found} of {self.requested} rows matching {plan.describe()} after {self.tries} tries "
            f"({self.generated} rows generated, measured acceptance rate {self.acceptance_rate:.3%}); "
            "raise max_tries, relax the conditions, or use the partial rows in the error's .rows"
        )
        return ConditionShortfall(
            message,
            rows=rows,
            requested=self.requested,
            found=self.found,
            tries=self.tries,
            generated=self.generated,
            acceptance_rate=self.acceptance_rate,
        )


def sample_matching(
    draw: Callable[[int], pd.DataFrame], plan: ConditionPlan, n: int, max_tries: int
) -> tuple[pd.DataFrame, SearchStats]:
    """Up to ``n`` rows satisfying every condition, from at most ``max_tries`` batches of ``draw(size)``.

    Each batch is sized by the acceptance rate measured so far (the plan's estimate before the first), so that it
    should complete the request; fewer than ``n`` rows come back when the tries run out.
    """
    stats = SearchStats(requested=n)
    kept: list[pd.DataFrame] = []
    rate = plan.acceptance_estimate()
    first = draw(0)
    while stats.found < n and stats.tries < max_tries:
        size = int(min(max(math.ceil((n - stats.found) / rate * _OVERDRAW), _MIN_BATCH_ROWS), _MAX_BATCH_ROWS))
        batch = draw(size)
        mask = plan.matches(batch)
        stats.tries += 1
        stats.generated += size
        stats.found += int(mask.sum())
        if mask.any():
            kept.append(batch[mask])
        rate = stats.acceptance_rate if stats.found else min(rate, 0.5 / stats.generated)
        log.debug("try %d: %d rows drawn, %d of %d found", stats.tries, size, stats.found, n)
    log.info(
        "conditions %s: %d of %d rows after %d tries (acceptance %.3g)",
        plan.describe(), min(stats.found, n), n, stats.tries, stats.acceptance_rate,
    )  # fmt: skip
    rows = pd.concat(kept, ignore_index=True).iloc[:n] if kept else first
    stats.found = min(stats.found, n)
    return _restore_dtypes(rows.reset_index(drop=True), first), stats


def _restore_dtypes(rows: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """Batches whose categorical dtypes differ concatenate to object: bring those columns back to a category."""
    for column in rows.columns:
        if rows[column].dtype != like[column].dtype and isinstance(like[column].dtype, pd.CategoricalDtype):
            rows[column] = rows[column].astype("category")
    return rows


def resolve_conditions(
    conditions: Mapping[str, Any], schema: Schema, transformer: TableTransformer, counts: list[int]
) -> ConditionPlan:
    """Check conditions against the fitted model; ``counts`` are the real rows per global slot.

    Raises ConditionError naming the column, the bad value and what is allowed.
    """
    if not isinstance(conditions, Mapping):
        raise ConditionError(f"conditions must be a mapping of column to value, got {type(conditions).__name__}")
    discrete = transformer.discrete_columns()
    names = [name for name, _, _ in discrete]
    values: list[ValueCondition] = []
    ranges: list[RangeCondition] = []
    for column, wanted in conditions.items():
        if column not in schema.names:
            raise ConditionError(f"unknown column {column!r} in conditions; columns are {schema.names}")
        kind = schema[column].kind
        codec = transformer.codecs_[schema.names.index(column)]
        if isinstance(wanted, tuple | list):
            if kind not in NUMERIC_CODEC_KINDS:
                raise ConditionError(
                    f"column {column!r} is {kind}; a (low, high) range needs a continuous, integer or datetime "
                    f"column, give {column!r} one value"
                )
            assert isinstance(codec, NumericCodec)
            ranges.append(_range_condition(column, wanted, codec))
        elif column in names:
            position = names.index(column)
            condition = _value_condition(column, wanted, discrete, position, counts)
            values.append(replace(condition, derived=column in transformer.dependents))
        elif kind == "constant":
            assert isinstance(codec, ConstantCodec)
            values.append(_constant_condition(column, _plain(wanted), codec))
        elif kind in NUMERIC_CODEC_KINDS:
            raise ConditionError(
                f"column {column!r} is {kind}; conditions take categorical or boolean columns {names} one value each, "
                f"and a numeric column a (low, high) range, e.g. {{{column!r}: (low, high)}}"
            )
        else:
            raise ConditionError(
                f"column {column!r} is {kind}; conditions take categorical or boolean columns {names} "
                "or a (low, high) range on one continuous, integer or datetime column"
            )
    if len(values) > MAX_VALUE_CONDITIONS:
        raise ConditionError(
            f"conditions take at most {MAX_VALUE_CONDITIONS} categorical columns at once, got "
            f"{len(values)}: {[c.column for c in values]}"
        )
    if len(ranges) > 1:
        raise ConditionError(f"conditions take a range on one column only, got ranges on {[c.column for c in ranges]}")
    return ConditionPlan(tuple(values), ranges[0] if ranges else None)


def _value_condition(
    column: str, wanted: Any, discrete: list[tuple[str, int, CategoricalCodec]], position: int, counts: list[int]
) -> ValueCondition:
    codec = discrete[position][2]
    value = _plain(wanted)
    local = codec.index_of(value)
    if local is None:
        shown = list(codec.levels[:20])
        raise ConditionError(
            f"value {wanted!r} never comes out of column {column!r}: the training rows do not hold it, or fewer than "
            f"rare_category_min rows do; values that come out include {shown}"
        )
    offset = sum(c.width for _, _, c in discrete[:position])
    column_counts = np.asarray(counts[offset : offset + codec.width], dtype=np.float64)
    share = float(column_counts[local] / column_counts.sum()) if column_counts.sum() > 0 else 1.0
    if local == codec.other_index:  # a pooled rare value: its own share of the pooled slot
        pooled = [None if _is_null(v) else v for v in codec.pooled]
        share *= codec.pooled_weights[pooled.index(None if _is_null(value) else value)]
    return ValueCondition(column, value, offset + local, share, _is_null(value))


def _constant_condition(column: str, value: Any, codec: ConstantCodec) -> ValueCondition:
    if value == codec.value:
        return ValueCondition(column, value, None, 1.0 - codec.null_share, False, constant=True)
    if value is None and codec.null_share > 0:
        return ValueCondition(column, value, None, codec.null_share, True, constant=True)
    raise ConditionError(f"value {value!r} never appears in column {column!r}; its only value is {codec.value!r}")


def _range_condition(column: str, wanted: tuple[Any, ...] | list[Any], codec: NumericCodec) -> RangeCondition:
    if len(wanted) != 2:
        raise ConditionError(f"a range on {column!r} is (low, high), got {len(wanted)} items: {wanted!r}")
    is_datetime = codec.kind == "datetime"
    low, high = (_bound(column, b, is_datetime) for b in wanted)
    if low > high:
        raise ConditionError(f"the range on {column!r} is inverted: low {wanted[0]!r} > high {wanted[1]!r}")
    if codec.kind == "integer" and math.ceil(low) > math.floor(high):
        raise ConditionError(f"the range on {column!r} holds no integer: {wanted!r}")
    on_grid = math.ceil(low / codec.step - 1e-9) <= math.floor(high / codec.step + 1e-9) if codec.step else True
    if codec.kind == "continuous" and not on_grid:
        raise ConditionError(
            f"the range on {column!r} holds no value the column can take: its values are multiples of "
            f"{codec.step:g}, and {wanted!r} holds none"
        )
    if codec.kind == "continuous" and not codec.step and low == high:
        raise ConditionError(f"the range on {column!r} is empty: low == high == {wanted[0]!r}; give low < high")
    real_low, real_high = codec.low + codec.origin, codec.high + codec.origin
    if high < real_low or low > real_high:
        shown = (_stamp(real_low), _stamp(real_high)) if is_datetime else (real_low, real_high)
        raise ConditionError(
            f"the range {wanted!r} on {column!r} lies outside the real data's range [{shown[0]}, {shown[1]}]"
        )
    share = _mixture_mass(codec, low - codec.origin, high - codec.origin)
    return RangeCondition(column, low, high, is_datetime, share)


def _bound(column: str, bound: Any, is_datetime: bool) -> float | int:
    """A range end as a number: datetimes as microseconds since the epoch (zone-aware ones in UTC)."""
    if is_datetime:
        try:
            stamp = pd.Timestamp(bound)
        except (TypeError, ValueError) as exc:
            raise ConditionError(f"range end {bound!r} on datetime column {column!r} is not a timestamp") from exc
        if pd.isna(stamp):
            raise ConditionError(f"range end {bound!r} on {column!r} is null; give a timestamp")
        return _timestamp_us(stamp)
    bound = _plain(bound)
    if isinstance(bound, bool) or not isinstance(bound, int | float) or not math.isfinite(bound):
        raise ConditionError(f"range end {bound!r} on {column!r} must be a finite number")
    return float(bound)


def _mixture_mass(codec: NumericCodec, low: float, high: float) -> float:
    """The modelled share of values in [low, high] (in the codec's space): its spikes', and its mixture's (through
    the warp the mixture models, when the codec has one)."""
    if codec.step:  # values on a grid: a value rounds into the range from half a step outside it
        low, high = low - codec.step / 2, high + codec.step / 2
    mass = 0.0
    if codec.warp is not None:  # the mixture modes model warped values: their share is the warp's own
        mixture = sum(m.weight for m in codec.modes if m.std > 0)
        mass += mixture * codec.warp.share_between(low, high)
    for mode in codec.modes:
        if mode.std == 0:
            mass += mode.weight * float(low <= mode.mean <= high)
        elif codec.warp is None:
            z_low, z_high = ((x - mode.mean) / (mode.std * math.sqrt(2)) for x in (low, high))
            mass += mode.weight * 0.5 * (math.erf(z_high) - math.erf(z_low))
    total = sum(m.weight for m in codec.modes) or 1.0
    return float(min(max(mass / total, 1e-6), 1.0))


def _numbers(series: pd.Series, is_datetime: bool) -> tuple[np.ndarray, np.ndarray]:
    """Values (int64 microseconds for datetimes, float64 otherwise) and the null mask."""
    null = series.isna().to_numpy(dtype=bool)
    if is_datetime:
        return _datetime_us(series), null
    return pd.to_numeric(series).to_numpy(dtype=np.float64, na_value=np.nan), null


def _stamp(microseconds: float) -> pd.Timestamp:
    """A range end held as microseconds since the epoch, as a timestamp to show."""
    return pd.Timestamp(int(microseconds), unit="us")


def _plain(value: Any) -> Any:
    """numpy scalars as Python ones, so they compare equal to the JSON-stored levels."""
    return value.item() if isinstance(value, np.generic) else value


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT
