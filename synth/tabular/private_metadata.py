"""The private path's preprocessing: every column's codec from public metadata or from noisy, accounted statistics.

With ``epsilon`` set nothing that reads the training rows may leak around the accountant, so no codec is
fitted on the rows as the ordinary path does (no Gaussian mixture, no real minimum or maximum, no real category
list). Each column's codec comes from the ``public_metadata`` given for it, or else from a noisy statistic paid out
of the metadata budget. Every such statistic is one query; the queries share the budget equally and compose by
basic composition (their epsilons and deltas add up):

- continuous, integer and datetime columns: bounds. Public ``{"min", "max"}`` are used verbatim. Otherwise a Laplace-
  noised histogram over fixed bins (signed powers of two; 365-day bins for datetimes) is thresholded so that an empty
  bin passes with probability below ``_FALSE_BIN``, and the bounds are the outer edges of the lowest and highest bins
  that pass: pure epsilon-DP, no delta. The columns whose histogram passed no bin (sparse or spread-out ones) share a
  reserve (half the metadata budget at most, taken from DP-SGD's part and spent only then) for a second, coarser
  histogram (``_coarse_bins``; 8-year bins for datetimes). A datetime column still without a range is assumed to lie
  in ``_ASSUMED_DATES``, a small integer type in its type's range (public, read from no row); any other column left
  makes fit raise one SchemaError naming all of them. ``privacy_spent_["bounds"]`` says which way each column's range
  was found. Values are then encoded min-max style on a fixed grid of ``_GRID_MODES`` modes inside the bounds (no
  data-fitted mixture) and clipped to them, so no real extreme value can come back (integers with at most
  ``_MAX_VALUE_MODES`` possible values get one mode per value); when the same noisy histogram says at least
  ``_SPIKE_SHARE`` of the rows are exactly zero, zero gets an exact mode of its own (free: post-processing). Datetimes
  are rounded to their Arrow unit (the rows' own coarser resolution is not looked for, as that would read them).
- categorical and boolean columns: Laplace-noised counts for the conditional sampler. Public ``{"categories"}``
  fix the levels; otherwise the levels are the stability-based histogram's: a seen value is disclosed only when its
  noisy count reaches ``1 + ln(1 / (2 delta_q)) / epsilon_q``, which makes disclosing the list (epsilon_q,
  delta_q)-DP. Levels whose noisy count is under ``rare_category_min`` are dropped too (for public levels only when
  it is above 1). A private codec has a pooled slot: rows of dropped or undisclosed values go there, and its
  generated rows decode to ``codecs.rare_replacement`` (``"other"`` in a text column, else null when the column is
  nullable, else the most frequent kept level), never to a dropped value. The one exception is a public list that
  keeps every level: its values outside the list are a noisy count of their own, and when that count is under
  ``ln(1 / (2 _FALSE_SLOT)) / epsilon_q`` (an empty cell passes with chance ``_FALSE_SLOT``) there is no pooled
  slot, so ``other`` is never emitted; such values are read as the most frequent level.
- constant columns: the value (public, or disclosed by the same threshold; a nullable column whose value is not
  disclosed comes out all null) and a noisy null share.
- identifier columns: nothing is read (fresh keys and fakes are made; code shapes are a fixed generic one).

Taken as public, as in Opacus (whose sample rate is set from it): the row count. Also the schema: column names,
kinds, nullability and dtypes (with a pandas ``category`` dtype's declared categories). Build the schema from
public information, or pass one, where those must stay private. Noise is drawn with numpy (no secure mode).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth.errors import ParameterError, SchemaError
from synth.schema import ColumnSpec, Schema
from synth.tabular.codecs import (
    NUMERIC_CODEC_KINDS,
    CategoricalCodec,
    Codec,
    ConstantCodec,
    FakeCodec,
    NumericCodec,
    _datetime_us,
    _is_null,
    _timestamp_us,
    as_python,
    id_codec,
    is_integer_id,
    rare_replacement,
)
from synth.tabular.fakes import fit_maker
from synth.tabular.mixture import Mode

__all__ = ["MetadataSpend", "check_public_metadata", "check_public_metadata_shape", "private_codecs"]

_DISCRETE_KINDS = ("categorical", "boolean")
_GRID_MODES = 32  # fixed modes of a private numeric column: equal-width slices of its bounds
_MIN_EXP, _MAX_EXP = -30, 64  # the bounds histogram's bins cover magnitudes 2**-30 .. 2**64 (and zero)
_COARSE_SCALES = 16  # the second, coarse histogram's bins: magnitudes in powers of 16 up to 16**16 = 2**64
_YEAR_US = 365 * 86_400 * 10**6
#: The span a private datetime column's bounds histogram covers (microseconds since the epoch): the years pandas'
#: nanosecond timestamps reach, 1677 to 2262. Dates outside it count in its first or last bin.
_DATE_SPAN_US = (pd.Timestamp.min.value // 1_000 + 1, pd.Timestamp.max.value // 1_000)
#: The range a datetime column whose range the budget cannot tell is assumed to lie in (public: read from no row).
_ASSUMED_DATES = ("1900-01-01", "2100-01-01")
_FALSE_BIN = 1e-3  # chance that some empty bin passes the bounds threshold
_FALSE_SLOT = 1e-3  # chance that a public list's empty outside cell still gets a slot
_MAX_VALUE_MODES = 128  # integer columns with at most this many possible values get one mode per value
_SPIKE_SHARE = 0.05  # a noisy share of exact zeros above this gets its own exact mode (a spike, as in fit_modes)
_UNITS_US = (("timestamp[s", 1e6), ("timestamp[ms", 1e3))  # a column stored in a unit coarser than 1 us


@dataclass(frozen=True, slots=True)
class MetadataSpend:
    """What the preprocessing spent: (epsilon, delta) by basic composition over ``queries`` noisy statistics."""

    epsilon: float
    delta: float
    queries: int
    bounds: dict[str, str]  # how each numeric column's range was found (public, noisy, shared budget, assumed)


def check_public_metadata_shape(public: Any) -> None:
    """ParameterError unless ``public`` is None or {column: {"min", "max"}} / {column: {"categories": [...]}}."""
    if public is None:
        return
    example = '{"age": {"min": 17, "max": 90}, "sex": {"categories": ["Female", "Male"]}}'
    if not isinstance(public, Mapping):
        raise ParameterError(f"public_metadata must be None or a mapping like {example}, got {public!r}")
    for column, entry in public.items():
        if not isinstance(column, str) or not isinstance(entry, Mapping):
            raise ParameterError(f"public_metadata must map column names to mappings like {example}, got {public!r}")
        keys = set(entry)
        if keys == {"categories"}:
            categories = entry["categories"]
            scalars = isinstance(categories, list | tuple) and all(
                v is None or isinstance(v, str | int | float | bool) for v in categories
            )
            if not scalars or not categories or len(set(map(repr, categories))) != len(categories):
                raise ParameterError(
                    f"public_metadata['{column}']['categories'] must be a non-empty list of distinct strings, numbers "
                    f"or booleans, got {categories!r}"
                )
        elif keys != {"min", "max"}:
            raise ParameterError(
                f"public_metadata['{column}'] must have the keys min and max, or categories; got {sorted(keys)}"
            )
    try:
        json.dumps(public)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"public_metadata must be JSON-able (datetimes as ISO strings): {exc}") from exc


def check_public_metadata(public: Mapping[str, Mapping[str, Any]] | None, schema: Schema) -> None:
    """SchemaError for an entry that names no column of ``schema`` or does not fit its column's kind."""
    if not public:
        return
    unknown = sorted(set(public) - set(schema.names))
    if unknown:
        raise SchemaError(f"public_metadata names unknown column(s) {unknown}; columns are {schema.names}")
    for column, entry in public.items():
        spec = schema[column]
        if spec.kind in NUMERIC_CODEC_KINDS:
            if "min" not in entry:
                raise SchemaError(f"public_metadata['{column}'] must give min and max: '{column}' is {spec.kind}")
            low, high = _public_bounds(spec, entry)
            if not low <= high:
                raise SchemaError(f"public_metadata['{column}'] has min {entry['min']!r} > max {entry['max']!r}")
        elif spec.kind in _DISCRETE_KINDS or spec.kind == "constant":
            if "categories" not in entry:
                raise SchemaError(f"public_metadata['{column}'] must give categories: '{column}' is {spec.kind}")
            if spec.kind == "constant" and len(entry["categories"]) != 1:
                raise SchemaError(f"public_metadata['{column}'] must give the one category of constant '{column}'")
        else:
            raise SchemaError(f"public_metadata['{column}']: '{column}' is an id column, which is never modelled")


def private_codecs(
    frame: pd.DataFrame,
    schema: Schema,
    *,
    public: Mapping[str, Mapping[str, Any]] | None,
    epsilon: float,
    delta: float,
    rare_min: int,
    max_categories: int,
    locale: str,
    reserve: float,
    rng: np.random.Generator,
) -> tuple[list[Codec], dict[str, list[int]], MetadataSpend]:
    """Codecs for every column, noisy slot counts of the discrete ones, and what it spent of (epsilon, delta).

    ``reserve``: the epsilon the numeric columns whose range the first histogram misses share, spent only then.
    """
    public = public or {}
    queries = [c.name for c in schema if c.kind in (*_DISCRETE_KINDS, "constant")]
    queries += [c.name for c in schema if c.kind in NUMERIC_CODEC_KINDS and c.name not in public]
    disclosing = [c.name for c in schema if c.kind in (*_DISCRETE_KINDS, "constant") and c.name not in public]
    eps_q = epsilon / len(queries) if queries else math.inf
    delta_q = delta / len(disclosing) if disclosing else 0.0
    threshold = 1 + math.log(1 / (2 * delta_q)) / eps_q if disclosing else math.inf
    codecs: list[Codec] = []
    counts: dict[str, list[int]] = {}
    private_numeric = [c for c in schema if c.kind in NUMERIC_CODEC_KINDS and c.name not in public]
    bounds, bounds_epsilon = _private_bounds(frame, private_numeric, eps_q, reserve, rng)
    for spec in schema:
        series, entry = frame[spec.name], public.get(spec.name)
        if spec.kind in NUMERIC_CODEC_KINDS:
            found = bounds.get(spec.name) or (*_public_bounds(spec, entry), 0.0, "public")  # type: ignore[arg-type]
            codecs.append(_numeric_codec(spec, found, len(series)))
        elif spec.kind in _DISCRETE_KINDS:
            cats = None if entry is None else list(entry["categories"])
            codec, slot_counts = _categorical_codec(series, spec, cats, eps_q, threshold, rare_min, max_categories, rng)
            codecs.append(codec)
            counts[spec.name] = slot_counts
        elif spec.kind == "constant":
            value = None if entry is None else list(entry["categories"])
            codecs.append(_constant_codec(series, spec, value, eps_q, max(threshold, rare_min), rng))
        elif is_integer_id(spec):
            codecs.append(id_codec(spec))
        else:  # identifiers: fakes whose shapes come from nothing of the data
            codecs.append(FakeCodec(fit_maker(spec.kind, None, locale=locale, rare_min=rare_min, column=spec.name)))
    discrete_epsilon = eps_q * (len(queries) - len(private_numeric)) if queries else 0.0
    how = {name: found[3] for name, found in bounds.items()} | {c.name: "public" for c in schema if c.name in public
                                                               and c.kind in NUMERIC_CODEC_KINDS}  # fmt: skip
    spent = MetadataSpend(discrete_epsilon + bounds_epsilon, delta if disclosing else 0.0, len(queries), how)
    return codecs, counts, spent


def _numeric_codec(spec: ColumnSpec, bounds: tuple[float, float, float, str], rows: int) -> NumericCodec:
    """A fixed-grid, clipping codec inside the column's bounds (datetimes: microseconds after the lower one)."""
    low, high, zeros, _ = bounds
    zeros /= rows  # the row count is public
    step, origin = (1.0 if spec.kind == "integer" else 0.0), 0
    if spec.kind == "datetime":
        step = next((us for prefix, us in _UNITS_US if spec.arrow_type.startswith(prefix)), 1.0)
        step = 86_400e6 if spec.arrow_type.startswith("date") else step
        origin = int(low // step * step)
        low, high = 0.0, float(high - origin)
    modes = _grid_modes(low, high, step if spec.kind == "integer" else 0.0)
    if zeros >= _SPIKE_SHARE and low <= 0.0 <= high and low < high:
        modes = [Mode(0.0, 0.0, zeros), *(Mode(m.mean, m.std, m.weight * (1 - zeros)) for m in modes)]
    return NumericCodec(spec.kind, modes, low, high, spec.nullable, step, origin, clip=True)


def _present_values(series: pd.Series, spec: ColumnSpec) -> np.ndarray:
    """Non-null values as numbers (datetimes: microseconds since the epoch); SchemaError for infinite ones."""
    null = series.isna().to_numpy()
    if spec.kind == "datetime":
        return _datetime_us(series)[~null]
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)[~null]
    if not np.isfinite(values).all():
        raise SchemaError(f"column '{spec.name}' holds infinite values; replace them or drop those rows")
    return values


def _private_bounds(
    frame: pd.DataFrame, columns: list[ColumnSpec], epsilon: float, reserve: float, rng: np.random.Generator
) -> tuple[dict[str, tuple[float, float, float, str]], float]:
    """(low, high, noisy count of zeros, how) for each column, and the epsilon spent on them.

    Each column's histogram has ``epsilon``. The columns whose histogram found no range (sparse or spread-out ones)
    share ``reserve`` for a second, coarser one. A datetime column still without a range takes ``_ASSUMED_DATES``,
    an integer column of at most 16 bits its type's range (both public, no budget); any other column left is named,
    with the rest, in one SchemaError.
    """
    found: dict[str, tuple[float, float, float, str]] = {}
    values = {spec.name: _present_values(frame[spec.name], spec) for spec in columns}
    for spec in columns:
        first = _noisy_bounds(values[spec.name], epsilon, rng, datetime=spec.kind == "datetime", coarse=False)
        if first is not None:
            found[spec.name] = (*first, "noisy")
    missing = [spec for spec in columns if spec.name not in found]
    unresolved = []
    for spec in missing:
        share = reserve / len(missing)
        second = _noisy_bounds(values[spec.name], share, rng, datetime=spec.kind == "datetime", coarse=True)
        assumed = _assumed_bounds(spec)
        if second is not None:
            found[spec.name] = (*second, "noisy, shared budget")
        elif assumed is not None:
            found[spec.name] = (*assumed, 0.0, "assumed from the column's type")
        else:
            unresolved.append(spec.name)
    if unresolved:
        example = ", ".join(f"'{name}': {{'min': ..., 'max': ...}}" for name in unresolved[:2])
        raise SchemaError(
            f"the metadata budget (epsilon {epsilon:.3g} a column, and {reserve:.3g} shared among those it missed) is "
            f"too small to estimate the range of {len(unresolved)} numeric column(s) privately: {unresolved}; give "
            f"their bounds in public_metadata ({{{example}}}), or raise epsilon or metadata_share"
        )
    return found, epsilon * len(columns) + (reserve if missing else 0.0)


def _assumed_bounds(spec: ColumnSpec) -> tuple[float, float] | None:
    """A public range read from the column's type alone: dates between ``_ASSUMED_DATES``; small integer types'."""
    if spec.kind == "datetime":
        return tuple(float(_timestamp_us(pd.Timestamp(stamp))) for stamp in _ASSUMED_DATES)  # type: ignore[return-value]
    if spec.arrow_type in ("int8", "int16", "uint8", "uint16"):
        info = np.iinfo(np.dtype(spec.arrow_type))
        return float(info.min), float(info.max)
    return None


def _public_bounds(spec: ColumnSpec, entry: Mapping[str, Any]) -> tuple[float, float]:
    """Public min and max as numbers (datetimes: microseconds since the epoch, UTC)."""
    try:
        if spec.kind == "datetime":
            return tuple(float(_timestamp_us(pd.Timestamp(entry[key]))) for key in ("min", "max"))  # type: ignore[return-value]
        if any(isinstance(entry[key], bool) for key in ("min", "max")):
            raise TypeError("booleans are not bounds")
        low, high = float(entry["min"]), float(entry["max"])
    except (TypeError, ValueError) as exc:
        raise SchemaError(
            f"public_metadata['{spec.name}'] min/max must be {'timestamps' if spec.kind == 'datetime' else 'numbers'}"
            f" for {spec.kind} column '{spec.name}', got {entry['min']!r}, {entry['max']!r}"
        ) from exc
    if not (math.isfinite(low) and math.isfinite(high)):
        raise SchemaError(f"public_metadata['{spec.name}'] bounds must be finite, got {low}, {high}")
    return low, high


def _noisy_bounds(
    values: np.ndarray, epsilon: float, rng: np.random.Generator, *, datetime: bool, coarse: bool
) -> tuple[float, float, float] | None:
    """Outer edges of the lowest and highest bins whose Laplace-noised count passes the no-false-bin threshold, and
    the noisy count of exact zeros (0 for datetimes and coarse bins); None when no bin passes (the budget cannot
    tell). ``coarse``: 8-year bins for datetimes, ``_coarse_bins`` for numbers."""
    if datetime:
        index, edges = _datetime_bins(values, 8 if coarse else 1)
    else:
        index, edges = _coarse_bins(values) if coarse else _log_bins(values)
    noisy = np.bincount(index, minlength=len(edges)) + rng.laplace(0.0, 1.0 / epsilon, len(edges))
    threshold = math.log(len(edges) / (2 * _FALSE_BIN)) / epsilon
    passed = np.flatnonzero(noisy > threshold)
    if len(passed) == 0:
        return None
    zeros = 0.0 if datetime or coarse else float(max(noisy[len(edges) // 2], 0.0))
    return float(edges[passed[0], 0]), float(edges[passed[-1], 1]), zeros


def _log_bins(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bin of each value and (low, high) edges: negative powers of two, then exact zero, then positive ones."""
    exps = np.arange(_MIN_EXP, _MAX_EXP, dtype=np.float64)
    positive = np.stack([2.0**exps, 2.0 ** (exps + 1)], axis=1)
    edges = np.concatenate([-positive[::-1, ::-1], [[0.0, 0.0]], positive])
    zero = len(exps)
    magnitude = np.abs(values)
    exp = np.floor(np.log2(np.where(magnitude > 0, magnitude, 1.0)))
    k = np.clip(exp, _MIN_EXP, _MAX_EXP - 1).astype(np.int64) - _MIN_EXP
    index = np.where(magnitude < 2.0**_MIN_EXP, zero, np.where(values > 0, zero + 1 + k, zero - 1 - k))
    return index.astype(np.int64), edges


def _coarse_bins(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bin of each value and edges, few and wide for sparse columns: [0, 1) and [-1, 0), then magnitudes in powers of
    16 ([1, 16), [16, 256), ... up to 2**64) on either side."""
    magnitude = np.abs(values)
    scale = np.clip(np.floor(np.log2(np.maximum(magnitude, 1.0)) / 4), 0, _COARSE_SCALES - 1).astype(np.int64)
    scale = np.where(magnitude < 1.0, -1, scale) + 1  # 0: below 1; 1..: [16**(s-1), 16**s)
    positive = np.array([[0.0, 1.0], *([16.0 ** (i - 1), 16.0**i] for i in range(1, _COARSE_SCALES + 1))])
    edges = np.concatenate([-positive[::-1, ::-1], positive])
    index = np.where(values >= 0, _COARSE_SCALES + 1 + scale, _COARSE_SCALES - scale)
    return index.astype(np.int64), edges


def _datetime_bins(us: np.ndarray, years: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin of each timestamp (int64 microseconds) and edges: bins of ``years`` x 365 days over ``_DATE_SPAN_US``."""
    width = years * _YEAR_US
    start, end = _DATE_SPAN_US
    first, last = start // width, end // width
    starts = np.arange(first, last + 1, dtype=np.int64) * width
    low = np.maximum(starts, start).astype(np.float64)
    high = np.minimum(starts + width, end).astype(np.float64)
    return (np.clip(us, start, end) // width - first).astype(np.int64), np.stack([low, high], axis=1)


def _grid_modes(low: float, high: float, step: float) -> list[Mode]:
    """Equal-width modes tiling [low, high]: a value sits at most half a slice from its mode's mean, so a decoded
    value can overshoot the bounds and be clipped onto them (a spike at a bound, e.g. zeros, stays reachable).

    Integers with at most ``_MAX_VALUE_MODES`` possible values get one mode per value instead, so that a frequent
    value (e.g. 40 hours a week) is as easy for the generator to hit exactly as a category.
    """
    if high <= low:
        return [Mode(low, 0.0, 1.0)]
    if step == 1.0 and high - low + 1 <= _MAX_VALUE_MODES:
        count = int(high - low) + 1
        return [Mode(low + i, 0.25, 1.0 / count) for i in range(count)]
    width = (high - low) / _GRID_MODES
    return [Mode(low + (i + 0.5) * width, width / 4, 1.0 / _GRID_MODES) for i in range(_GRID_MODES)]


def _categorical_codec(
    series: pd.Series,
    spec: ColumnSpec,
    categories: list[Any] | None,
    epsilon: float,
    threshold: float,
    rare_min: int,
    max_categories: int,
    rng: np.random.Generator,
) -> tuple[CategoricalCodec, list[int]]:
    """Levels (public, or disclosed by the noisy-count threshold), their noisy counts, and the pooled slot."""
    observed = as_python(series).value_counts(dropna=False, sort=True)
    true = {None if _is_null(v) else v: int(c) for v, c in observed.items()}
    cells = list(categories) if categories is not None else [v for v in true if v is not None]
    if spec.nullable and None not in cells:
        cells.append(None)
    noisy = np.array([true.get(c, 0) for c in cells], dtype=np.float64) + rng.laplace(0, 1 / epsilon, len(cells))
    if categories is not None:
        keep = np.array([rare_min <= 1 or c is None or x >= rare_min for c, x in zip(cells, noisy, strict=True)])
        outside = len(series) - sum(true.get(c, 0) for c in cells)  # values the public list lacks: their own cell
        other = outside + float(rng.laplace(0, 1 / epsilon)) + float(np.clip(noisy[~keep], 0, None).sum())
        if keep.all() and len(cells) <= max_categories and other < math.log(1 / (2 * _FALSE_SLOT)) / epsilon:
            return _closed_codec(cells, noisy)
    else:
        need = max(threshold, rare_min)
        keep = np.array([c is None or x >= need for c, x in zip(cells, noisy, strict=True)], dtype=bool)
        other = len(series) - float(np.clip(noisy[keep], 0, None).sum())
    kept = [c for c, k in zip(cells, keep, strict=True) if k]
    ranked = sorted(zip(kept, noisy[keep].tolist(), strict=True), key=lambda pair: -pair[1])
    replacement = rare_replacement(spec, [c for c, _ in ranked])
    codec, slot_counts = CategoricalCodec.with_pooled_slot(
        kept, np.clip(noisy[keep], 0, None).tolist(), max(other, 0.0), replacement, max_categories
    )
    return codec, [max(1, round(c)) for c in slot_counts]  # every slot stays drawable


def _closed_codec(cells: list[Any], noisy: np.ndarray) -> tuple[CategoricalCodec, list[int]]:
    """A codec of exactly the public levels, ranked by noisy count, and the slot counts: no slot for other values.

    The noisy count of values outside the list said there are none worth a slot; any there are (as many as that
    count's noise hides) are read as the most frequent non-null level, so a model never emits ``other`` here.
    """
    order = np.argsort(-noisy, kind="stable")
    levels = [cells[i] for i in order]
    fallback = next((i for i, level in enumerate(levels) if level is not None), 0)
    counts = [max(1, round(float(noisy[i]))) for i in order]  # every slot stays drawable
    return CategoricalCodec(levels, [], [], fallback=fallback), counts


def _constant_codec(
    series: pd.Series,
    spec: ColumnSpec,
    categories: list[Any] | None,
    epsilon: float,
    need: float,
    rng: np.random.Generator,
) -> ConstantCodec:
    """The value (public, or the seen value with the largest noisy count when that reaches ``need``: the same
    stability-based disclosure as categories, robust to a neighbour adding a different value) and a noisy null
    share."""
    present = series.dropna()
    seen = as_python(present).value_counts(sort=True) if categories is None else pd.Series(dtype=np.int64)
    noisy = np.array([len(series) - len(present), *seen.to_numpy()]) + rng.laplace(0, 1 / epsilon, 1 + len(seen))
    if categories is None:
        best = int(np.argmax(noisy[1:])) if len(seen) else -1
        if (best < 0 or noisy[1 + best] < need) and spec.nullable:
            return ConstantCodec(None, 1.0, False)  # a value too rare to disclose: the column comes out all null
        if best < 0 or noisy[1 + best] < need:
            raise SchemaError(
                f"constant column '{spec.name}' is too small to disclose its value privately: give it in "
                f"public_metadata ({{'{spec.name}': {{'categories': [value]}}}}) or drop the column"
            )
        value = present[as_python(present) == seen.index[best]].iloc[:1]
    else:
        value = pd.Series(categories)
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            value = pd.Series(pd.to_datetime(value))
    base = ConstantCodec.fit(value, spec)
    share = float(np.clip(noisy[0] / len(series), 0.0, 1.0)) if spec.nullable else 0.0
    return ConstantCodec(base.value, share, base.is_datetime)
