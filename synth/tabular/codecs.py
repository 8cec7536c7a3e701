"""One codec per column kind: fit JSON-ready stats, encode a column into network space, decode it back."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from synth.errors import SchemaError
from synth.schema import ColumnSpec
from synth.tabular.fakes import DEFAULT_LOCALE, FakeMaker, fit_maker, maker_from_dict
from synth.tabular.mixture import Mode, exact_spikes, fit_mixture, mode_posteriors
from synth.tabular.warp import EDGE, QuantileWarp

__all__ = [
    "OTHER_LABEL",
    "Codec",
    "CriticView",
    "FakeCodec",
    "IdCodec",
    "Span",
    "as_python",
    "codec_from_dict",
    "factorized",
    "fit_codec",
    "floats",
    "id_codec",
    "is_integer_id",
    "number_values",
    "object_values",
    "rare_replacement",
]

#: What the rows of a text column's dropped (rare or undisclosed) categories decode to.
OTHER_LABEL = "other"

_SCALE = 4.0  # a value is stored as (x - mean) / (4 * std) so the bulk of a mode stays inside tanh's range
#: Pilot rows on a column's mixture modes that ``NumericCodec.calibrate`` needs: ten knots of 20 rows.
CALIBRATION_MIN_ROWS = 200
_DATETIME_UNITS_US = (86_400 * 10**6, 10**6, 10**3, 1)
#: The column kinds a NumericCodec encodes.
NUMERIC_CODEC_KINDS = ("continuous", "integer", "datetime")
#: Spikes (exact values held by many rows, each a one-hot slot) per numeric column, and the slots a table's numeric
#: columns share: Adult's six keep all theirs, plyr/baseball's twenty keep 16 each.
MAX_SPIKES, MIN_SPIKES, SPIKE_SLOTS = 64, 8, 320
_MAX_DECIMALS = 6  # a float column whose values all have at most this many decimals is decoded onto that grid
_ARROW_FLOATS: dict[str, type[np.floating[Any]]] = {"halffloat": np.float16, "float": np.float32}


@dataclass(frozen=True, slots=True)
class Span:
    """A slice of the encoded row produced by one output head."""

    width: int
    activation: Literal["tanh", "softmax"]


@dataclass(frozen=True, slots=True)
class CriticView:
    """A numeric column's values as normal scores of its distribution, per mode: a spike's score, or for another
    mode its mean and scale in warp scores (``mean + scale * scalar`` is an encoded value's warp score) and the score
    at each warp score of a grid, between which the map is linear."""

    spike_scores: np.ndarray
    means: np.ndarray
    scales: np.ndarray
    grid_scores: np.ndarray


class Codec(ABC):
    """Encoder/decoder of one column. Subclasses hold only JSON-ready state."""

    spans: tuple[Span, ...] = ()

    def encode(self, series: pd.Series, rng: np.random.Generator) -> np.ndarray:
        """The column in network space; columns that are not modelled take no width."""
        return np.zeros((len(series), 0), dtype=np.float32)

    @abstractmethod
    def decode(self, block: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Column values from generated span values: (rows, spans), a tanh head's value or a one-hot head's slot."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """The codec's state as JSON-ready data (read back by ``codec_from_dict``)."""

    @property
    def width(self) -> int:
        return sum(s.width for s in self.spans)


def _datetime_us(series: pd.Series) -> np.ndarray:
    """Timestamps (or dates) as int64 microseconds since the epoch, UTC; nulls as 0. Microseconds reach 290,000 years
    either way, so a date of 9999-12-31 (a common "no end" value) or of the 12th century fits, where nanoseconds end
    in 1677 and 2262."""
    stamps = pd.to_datetime(series)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    us = stamps.astype("datetime64[us]").to_numpy().astype("int64")
    return np.where(series.isna().to_numpy(), 0, us)


def _timestamp_us(stamp: pd.Timestamp) -> int:
    """One timestamp as int64 microseconds since the epoch (a zone-aware one in UTC): an int, since float64 would round
    microseconds far from 1970."""
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return int(stamp.to_datetime64().astype("datetime64[us]").astype(np.int64))


class NumericCodec(Codec):
    """Mode-specific normalisation: a scalar in [-1, 1] plus a one-hot mode, and a null flag if the column has nulls.

    Spikes (modes of ``std == 0``) are exact values. With a ``warp``, the other modes are a mixture of the warped
    values (``QuantileWarp``: normal scores through the real values' quantiles), and decoded values are unwarped; the
    private path, whose modes come from noisy statistics, has none. ``generated_warp`` (set by ``calibrate`` after
    training) is the same map fitted on the generator's own scores: decoding runs a generated score through it
    before unwarping, so the column's values come out in the real values' shares, where a generator's scores within
    each mode are narrower than the real ones.

    Datetimes are modelled as microseconds after ``origin`` (their minimum), so float64 keeps their resolution;
    decoded values are rounded to ``step`` (1 for integers, the column's own unit for datetimes, and for a float
    column the finest decimal its values use, when they use at most six: counts held as floats because they have
    nulls come out whole, prices keep their cents; 0 for any other float column). With ``clip``
    (the private path's bounds, which real values may exceed) values are clipped to [low, high] before encoding.
    """

    def __init__(
        self,
        kind: str,
        modes: list[Mode],
        low: float,
        high: float,
        nullable: bool,
        step: float,
        origin: int = 0,
        clip: bool = False,
        warp: QuantileWarp | None = None,
        generated_warp: QuantileWarp | None = None,
    ) -> None:
        self.kind, self.modes, self.low, self.high = kind, modes, low, high
        self.nullable, self.step, self.origin, self.clip = nullable, step, origin, clip
        self.warp, self.generated_warp = warp, generated_warp
        self._spikes = np.array([m.mean for m in modes if m.std == 0])
        spans = [Span(1, "tanh"), Span(len(modes), "softmax")]
        if nullable:
            spans.append(Span(2, "softmax"))
        self.spans = tuple(spans)

    @classmethod
    def fit(
        cls, series: pd.Series, spec: ColumnSpec, rng: np.random.Generator, rare_min: int = 1,
        max_spikes: int = MAX_SPIKES,
    ) -> NumericCodec:  # fmt: skip
        """With ``rare_min`` > 1 the decoded range ends at the ``rare_min``-th smallest and largest values, so an
        extreme held by fewer rows never comes out. ``max_spikes``: the exact values the column may keep as spikes
        (``spike_cap``)."""
        null = series.isna().to_numpy()
        step, origin = 0.0, 0
        if spec.kind == "datetime":
            us = _datetime_us(series)[~null]
            step = float(next(u for u in _DATETIME_UNITS_US if (us % u == 0).all()))
            origin = int(us.min())
        elif spec.kind == "integer":
            step = 1.0
        else:
            stored = _ARROW_FLOATS.get(spec.arrow_type, np.float64)
            step = decimal_step(series.to_numpy(dtype=np.float64, na_value=np.nan)[~null], stored)
        codec = cls(spec.kind, [], 0.0, 0.0, bool(null.any()), step, origin)
        present = codec._values(series)[~null]
        if not np.isfinite(present).all():
            raise SchemaError(f"column '{spec.name}' holds infinite values; replace them or drop those rows")
        ranked = np.sort(present)
        k = min(max(rare_min, 1), (len(ranked) + 1) // 2)
        low, high = float(ranked[k - 1]), float(ranked[-k])
        modes = exact_spikes(present, max_spikes=max_spikes)
        rest = present[~np.isin(present, [m.mean for m in modes])]
        warp = None
        if len(rest):
            warp = QuantileWarp.fit(np.clip(rest, low, high))
            modes += fit_mixture(warp.forward(rest, rng), rng, weight=len(rest) / len(present))
        return cls(spec.kind, modes, low, high, bool(null.any()), step, origin, warp=warp)

    def critic_view(self, grid: np.ndarray) -> CriticView | None:
        """How a critic reads an encoded value whole: as its normal score in the column's distribution, spikes
        included (``CriticView``). None for a codec with a mixture but no warp (the private path's), whose modes lie
        in no standard space."""
        means = np.array([m.mean for m in self.modes])
        stds = np.array([m.std for m in self.modes])
        spikes = stds == 0
        if self.warp is None and not spikes.all():
            return None
        weights = np.array([m.weight for m in self.modes])
        spike_values, spike_weights = means[spikes], weights[spikes] / weights.sum()
        rest_weight = 1.0 - spike_weights.sum()

        def scores(values: np.ndarray, rest_shares: np.ndarray) -> np.ndarray:
            """Normal scores of ``values``, given the share of the non-spike values below each; a spike counts half
            at its own value."""
            below = (spike_values < values[:, None]) + 0.5 * (spike_values == values[:, None])
            return ndtri(np.clip(rest_weight * rest_shares + below @ spike_weights, EDGE, 1.0 - EDGE))

        spike_scores = np.zeros(len(means))
        below = np.zeros(int(spikes.sum())) if self.warp is None else self.warp.shares(means[spikes])
        spike_scores[spikes] = scores(means[spikes], below)
        if self.warp is None:
            return CriticView(spike_scores, np.zeros(len(means)), np.zeros(len(means)), np.zeros(len(grid)))
        return CriticView(
            spike_scores,
            np.where(spikes, 0.0, means),
            np.where(spikes, 0.0, _SCALE * stds),
            scores(self.warp.inverse(grid), ndtr(grid)),
        )

    def _values(self, series: pd.Series) -> np.ndarray:
        """Values as float64 in the codec's space (datetimes: microseconds after origin); nulls as NaN."""
        if self.kind == "datetime":
            values = (_datetime_us(series) - self.origin).astype(np.float64)
            return np.where(series.isna().to_numpy(), np.nan, values)
        return series.to_numpy(dtype=np.float64, na_value=np.nan)

    def space_values(self, series: pd.Series) -> np.ndarray:
        """The values ``encode`` reads: in the codec's space, clipped to its range; NaN for null."""
        values = self._values(series)
        return np.clip(values, self.low, self.high) if self.clip else values  # NaN (null) stays NaN

    def encode(self, series: pd.Series, rng: np.random.Generator, filled: np.ndarray | None = None) -> np.ndarray:
        """``filled``: a value in the codec's space for every row (``space_values`` with its nulls filled, by
        ``synth.tabular.imputation``), encoded in the null rows' value slots; without it they hold the first mode's
        mean. The null flag says null either way."""
        values = self.space_values(series)
        null = np.isnan(values)
        stand_in = null if filled is None else np.zeros(len(values), dtype=bool)  # slots set to the first mode below
        present = np.where(null, self.low if filled is None else filled, values)
        if self.warp is None:
            post = mode_posteriors(present, self.modes)
        else:  # spikes hold their values; the other modes are judged on the warped values
            rest = ~np.isin(present, self._spikes)
            present[rest] = self.warp.forward(present[rest], rng)
            mixture = [Mode(np.nan, 0.0, 0.0) if m.std == 0 else m for m in self.modes]  # a spike no value hits
            post = np.empty((len(present), len(self.modes)))
            post[~rest] = mode_posteriors(present[~rest], self.modes)
            post[rest] = mode_posteriors(present[rest], mixture)
        post[post.sum(axis=1) == 0, 0] = 1.0  # outside every mode (cannot happen on the fitted data)
        cum = np.cumsum(post / post.sum(axis=1, keepdims=True), axis=1)
        chosen = np.minimum((cum < rng.random((len(values), 1))).sum(axis=1), len(self.modes) - 1)
        chosen[stand_in] = 0
        means = np.array([m.mean for m in self.modes])[chosen]
        stds = np.array([m.std for m in self.modes])[chosen]
        scalar = np.where(stds > 0, (present - means) / (_SCALE * np.where(stds > 0, stds, 1.0)), 0.0)
        scalar[stand_in] = 0.0
        out = np.zeros((len(values), self.width), dtype=np.float32)
        out[:, 0] = np.clip(scalar, -0.99, 0.99)
        out[np.arange(len(values)), 1 + chosen] = 1.0
        if self.nullable:
            out[np.arange(len(values)), 1 + len(self.modes) + null.astype(int)] = 1.0  # [present, null]
        return out

    def calibrate(self, block: np.ndarray) -> None:
        """Fit ``generated_warp`` on a fitted generator's pilot span values ``block``: the scores of its rows that are
        neither null nor on a spike. It stays None without a warp or with fewer than ``CALIBRATION_MIN_ROWS`` such
        rows."""
        if self.warp is None:
            return
        scores, mixture = self._scores(block)
        drawn = scores[mixture & ~self._null(block)]
        self.generated_warp = QuantileWarp.fit(drawn) if len(drawn) >= CALIBRATION_MIN_ROWS else None

    def _scores(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's value in the mixture's space (a spike's own value), and whether it is on a mixture mode."""
        chosen = block[:, 1].astype(np.int64)
        means = np.array([m.mean for m in self.modes])[chosen]
        stds = np.array([m.std for m in self.modes])[chosen]
        return means + block[:, 0].astype(np.float64) * _SCALE * stds, stds > 0

    def _null(self, block: np.ndarray) -> np.ndarray:
        return block[:, 2] == 1 if self.nullable else np.zeros(len(block), dtype=bool)  # slots [present, null]

    def decode(self, block: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Floats with NaN for nulls; datetimes as int64 microseconds with NaT's value for nulls."""
        values, mixture = self._scores(block)
        if self.warp is not None:
            scores = values[mixture]
            if self.generated_warp is not None:
                scores = self.generated_warp.forward(scores, rng)
            values[mixture] = self.warp.inverse(scores)
        values = self.emitted(values)
        null = self._null(block)
        if self.kind == "datetime":
            us = self.origin + values.astype(np.int64)
            return np.where(null, np.iinfo(np.int64).min, us)
        return np.where(null, np.nan, values)

    def emitted(self, values: np.ndarray) -> np.ndarray:
        """``values`` as the column comes out: within its range (which leaves out its rare extremes), on its grid."""
        return self.rounded(np.clip(values, self.low, self.high))

    def rounded(self, values: np.ndarray) -> np.ndarray:
        """``values`` on the column's grid of ``step`` (unchanged when it has none)."""
        if 0 < self.step < 1:  # divided by an exact power of ten, so 23 / 100 is the double nearest 0.23
            per_unit = round(1 / self.step)
            return np.round(values * per_unit) / per_unit
        if self.step:
            return np.round(values / self.step) * self.step
        return values

    def to_dict(self) -> dict[str, Any]:
        return {
            "codec": "numeric",
            "kind": self.kind,
            "modes": [[m.mean, m.std, m.weight] for m in self.modes],
            "low": self.low,
            "high": self.high,
            "nullable": self.nullable,
            "step": self.step,
            "origin": self.origin,
            "clip": self.clip,
            "warp": None if self.warp is None else self.warp.to_dict(),
            "generated_warp": None if self.generated_warp is None else self.generated_warp.to_dict(),
        }


def decimal_step(values: np.ndarray, stored: type[np.floating[Any]] = np.float64) -> float:
    """10 ** -d for the fewest decimals d (at most six) that every value has, to the precision of the type the
    values were ``stored`` in (0.23 held as float32 is 0.2300000042 in float64), else 0 (no grid)."""
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return 0.0
    tolerance = 4 * float(np.finfo(stored).eps)
    for decimals in range(_MAX_DECIMALS + 1):
        scaled = finite * 10.0**decimals
        if np.all(np.abs(scaled - np.round(scaled)) <= tolerance * np.maximum(1.0, np.abs(scaled))):
            return 10.0**-decimals
    return 0.0


class CategoricalCodec(Codec):
    """One-hot over the most frequent levels (nulls are a level); rarer levels share one pooled slot.

    With ``rare_min`` > 1, levels seen fewer times are not kept at all: their rows go to the pooled slot, whose
    generated rows decode (in proportion to those rows) to ``rare_replacement`` instead, never to a rare level.
    ``fallback``: the slot that values outside the levels are read as when there is no pooled slot (a private codec
    whose public category list left no room for other values); None for every other codec.
    """

    def __init__(
        self, levels: list[Any], pooled: list[Any], pooled_weights: list[float], fallback: int | None = None
    ) -> None:
        self.levels, self.pooled, self.pooled_weights, self.fallback = levels, pooled, pooled_weights, fallback
        self.spans = (Span(len(levels) + (1 if pooled else 0), "softmax"),)

    @classmethod
    def fit(
        cls,
        series: pd.Series,
        max_categories: int,
        max_pooled: int = 10_000,
        *,
        spec: ColumnSpec | None = None,
        rare_min: int = 1,
    ) -> CategoricalCodec:
        counts = as_python(series).value_counts(dropna=False, sort=True)
        values = [None if _is_null(v) else v for v in counts.index.tolist()]
        freqs = counts.to_numpy()
        rare = np.array([v is not None and f < rare_min for v, f in zip(values, freqs, strict=True)], dtype=bool)
        if rare.any():
            if spec is None:
                raise ValueError("rare_min > 1 needs the column's spec (to choose what rare rows decode to)")
            kept = [v for v, r in zip(values, rare, strict=True) if not r]
            replacement = rare_replacement(spec, kept)
            codec, _ = cls.with_pooled_slot(
                kept, freqs[~rare].tolist(), float(freqs[rare].sum()), replacement, max_categories, max_pooled
            )
            return codec
        if len(values) <= max_categories:
            return cls(values, [], [])
        keep = max_categories - 1
        rest = freqs[keep : keep + max_pooled].astype(np.float64)
        return cls(values[:keep], values[keep : keep + max_pooled], (rest / rest.sum()).tolist())

    @classmethod
    def with_pooled_slot(
        cls,
        levels: list[Any],
        counts: list[float],
        other_count: float,
        replacement: Any,
        max_categories: int,
        max_pooled: int = 10_000,
    ) -> tuple[CategoricalCodec, list[float]]:
        """A codec that always has a pooled slot, and its slot counts.

        The most frequent ``max_categories - 1`` levels get their own slot; the pooled slot holds the other levels
        and ``other_count`` rows of dropped categories, which decode to ``replacement``.
        """
        order = np.argsort(-np.asarray(counts, dtype=np.float64), kind="stable")
        levels = [levels[i] for i in order]
        ranked = [float(counts[i]) for i in order]
        keep = max_categories - 1
        pooled, weights = levels[keep : keep + max_pooled], ranked[keep : keep + max_pooled]
        if replacement in pooled:
            weights[pooled.index(replacement)] += other_count
        else:
            pooled.append(replacement)
            weights.append(other_count)
        total = sum(weights)
        shares = [w / total for w in weights] if total > 0 else [float(v == replacement) for v in pooled]
        slot_counts = [*ranked[:keep], sum(ranked[keep:]) + other_count]
        return cls(levels[:keep], pooled, shares), slot_counts

    @property
    def other_index(self) -> int | None:
        return len(self.levels) if self.pooled else None

    def index_of(self, value: Any) -> int | None:
        """Slot of a value (its own, or the pooled one); None if the value was never seen."""
        value = None if _is_null(value) else value
        if value in self.levels:
            return self.levels.index(value)
        if value in self.pooled:
            return self.other_index
        return None

    def codes(self, series: pd.Series) -> np.ndarray:
        """Slot index of every row."""
        known = pd.Index([v for v in self.levels if v is not None], dtype=object)
        positions = known.get_indexer(pd.Index(as_python(series)))
        slot_of_known = np.array([self.levels.index(v) for v in known] + [-1], dtype=np.int64)
        slots = slot_of_known[positions]  # position -1 (null or pooled) maps to the sentinel -1
        null = series.isna().to_numpy()
        if None in self.levels:
            slots[null] = self.levels.index(None)
        elif None in self.pooled:
            slots[null] = len(self.levels)
        if self.pooled:
            slots[(slots == -1) & ~null] = len(self.levels)
        elif self.fallback is not None:
            slots[slots == -1] = self.fallback
        return slots

    def encode(self, series: pd.Series, rng: np.random.Generator) -> np.ndarray:
        out = np.zeros((len(series), self.width), dtype=np.float32)
        out[np.arange(len(series)), self.codes(series)] = 1.0
        return out

    def value_table(self) -> np.ndarray:
        """Every value the column decodes to, the slots' levels first, then the pooled ones."""
        table = np.empty(len(self.levels) + len(self.pooled), dtype=object)
        table[:] = [*self.levels, *self.pooled]
        return table

    def positions(self, block: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Each generated row's position in ``value_table``; a pooled slot draws a pooled level by frequency."""
        positions = block[:, 0].astype(np.int64)
        pooled = positions >= len(self.levels)
        n_pooled = int(pooled.sum())
        if n_pooled:
            positions[pooled] = len(self.levels) + rng.choice(len(self.pooled), size=n_pooled, p=self.pooled_weights)
        return positions

    def decode(self, block: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.value_table()[self.positions(block, rng)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "codec": "categorical",
            "levels": self.levels,
            "pooled": self.pooled,
            "pooled_weights": self.pooled_weights,
            "fallback": self.fallback,
        }


class ConstantCodec(Codec):
    """A column with one value (and perhaps nulls): nothing to learn beyond the value and the null share."""

    def __init__(self, value: Any, null_share: float, is_datetime: bool) -> None:
        self.value, self.null_share, self.is_datetime = value, null_share, is_datetime

    @classmethod
    def fit(cls, series: pd.Series, spec: ColumnSpec) -> ConstantCodec:
        present = series.dropna()
        if len(present) == 0:  # an all-null column stays all null
            return cls(None, 1.0, False)
        value = present.iloc[0]
        is_datetime = spec.kind == "datetime" or isinstance(value, pd.Timestamp)
        stored = pd.Timestamp(value).isoformat() if is_datetime else as_python(pd.Series([value])).iloc[0]
        if isinstance(stored, np.generic):  # pandas may keep a numpy scalar; JSON takes Python's
            stored = stored.item()
        return cls(stored, float(series.isna().mean()), is_datetime)

    def decode(self, block: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        value = pd.Timestamp(self.value) if self.is_datetime else self.value
        values = np.empty(len(block), dtype=object)
        values[:] = [value] * len(block)
        if self.null_share:
            values[rng.random(len(block)) < self.null_share] = None
        return values

    def to_dict(self) -> dict[str, Any]:
        return {
            "codec": "constant",
            "value": self.value,
            "null_share": self.null_share,
            "is_datetime": self.is_datetime,
        }


class IdCodec(Codec):
    """Integer keys are never modelled: fresh ones are made, 1..n (the synthesizer moves them past the real ones
    when it has those at hand). ``max_id`` is the largest value the column's integer type holds; ``null_share`` of
    the rows come out null, as in the real column (a key that repeats may be missing, where a unique one never is)."""

    def __init__(self, max_id: int, null_share: float = 0.0) -> None:
        self.max_id, self.null_share = max_id, null_share

    def decode(self, block: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n = len(block)
        if n > self.max_id:
            raise SchemaError(f"an id column of this integer type holds at most {self.max_id} ids; {n} were asked")
        keys = np.arange(1, n + 1, dtype=np.int64)
        if not self.null_share:
            return keys
        return np.where(rng.random(n) < self.null_share, np.nan, keys)

    def to_dict(self) -> dict[str, Any]:
        return {"codec": "id", "max_id": self.max_id, "null_share": self.null_share}


class FakeCodec(Codec):
    """Identifier columns other than integer keys: fake values of the column's kind, never learned."""

    def __init__(self, maker: FakeMaker) -> None:
        self.maker = maker

    def decode(self, block: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.maker.make(len(block), rng)

    def to_dict(self) -> dict[str, Any]:
        return {"codec": "fake", **self.maker.to_dict()}


def is_integer_id(spec: ColumnSpec) -> bool:
    return spec.kind == "id" and spec.arrow_type.startswith(("int", "uint"))


def id_codec(spec: ColumnSpec, null_share: float = 0.0) -> IdCodec:
    return IdCodec(int(np.iinfo(np.dtype(spec.arrow_type)).max), null_share)


def spike_cap(numeric_columns: int) -> int:
    """The spikes each numeric column may keep when a table has ``numeric_columns`` of them: they share
    ``SPIKE_SLOTS`` (between ``MIN_SPIKES`` and ``MAX_SPIKES`` each), so the encoded width, and with it the cost of
    an epoch, grows with the columns by tens of slots each and not by ``MAX_SPIKES``."""
    return max(MIN_SPIKES, min(MAX_SPIKES, SPIKE_SLOTS // max(numeric_columns, 1)))


def fit_codec(
    series: pd.Series,
    spec: ColumnSpec,
    rng: np.random.Generator,
    *,
    max_categories: int,
    rare_min: int = 1,
    locale: str = DEFAULT_LOCALE,
    max_spikes: int = MAX_SPIKES,
) -> Codec:
    """The codec for a column's kind, fitted on its values; categories seen under ``rare_min`` times are dropped,
    and so are numeric extremes held by fewer rows."""
    if spec.kind in NUMERIC_CODEC_KINDS:
        return NumericCodec.fit(series, spec, rng, rare_min, max_spikes)
    if spec.kind in ("categorical", "boolean"):
        return CategoricalCodec.fit(series, max_categories, spec=spec, rare_min=rare_min)
    if spec.kind == "constant" and 0 < int(series.notna().sum()) < rare_min:
        if spec.nullable:  # the value itself is rare: the column comes out entirely null
            return ConstantCodec(None, 1.0, False)
        raise SchemaError(
            f"constant column '{spec.name}' holds its value fewer than rare_category_min={rare_min} times, so it "
            "may not be emitted: drop the column or lower rare_category_min"
        )
    if spec.kind == "constant":
        return ConstantCodec.fit(series, spec)
    if is_integer_id(spec):
        return id_codec(spec, float(series.isna().mean()))
    return FakeCodec(fit_maker(spec.kind, series, locale=locale, rare_min=rare_min, column=spec.name))


def codec_from_dict(data: dict[str, Any]) -> Codec:
    """Rebuild a codec from its JSON form."""
    kind = data["codec"]
    if kind == "numeric":
        modes = [Mode(*m) for m in data["modes"]]
        return NumericCodec(
            data["kind"],
            modes,
            data["low"],
            data["high"],
            data["nullable"],
            data["step"],
            data["origin"],
            data["clip"],
            None if data["warp"] is None else QuantileWarp.from_dict(data["warp"]),
            None if data["generated_warp"] is None else QuantileWarp.from_dict(data["generated_warp"]),
        )
    if kind == "categorical":
        return CategoricalCodec(data["levels"], data["pooled"], data["pooled_weights"], data["fallback"])
    if kind == "constant":
        return ConstantCodec(data["value"], data["null_share"], data["is_datetime"])
    if kind == "id":
        return IdCodec(data["max_id"], data["null_share"])
    if kind == "fake":
        return FakeCodec(maker_from_dict(data))
    raise ValueError(f"unknown codec '{kind}'")


def rare_replacement(spec: ColumnSpec, levels: list[Any]) -> Any:
    """What rows of dropped (rare or undisclosed) categories decode to, so that such a category never appears.

    The text ``OTHER_LABEL`` in a text column (in a pandas ``category`` column only when it declares that
    category); otherwise null when the column is nullable; otherwise the most frequent kept level (``levels`` are
    ranked by count). A column with none of these options is a SchemaError.
    """
    labels = [v for v in levels if v is not None]
    if spec.pandas_dtype == "category":
        text = spec.categories is not None and OTHER_LABEL in spec.categories
    else:
        text = (
            spec.kind == "categorical"
            and pd.api.types.is_string_dtype(pd.api.types.pandas_dtype(spec.pandas_dtype))
            and all(isinstance(v, str) for v in labels)
        )
    if text:
        return OTHER_LABEL
    if spec.nullable:
        return None
    if labels:
        return labels[0]
    raise SchemaError(
        f"column '{spec.name}' has no category frequent enough to be emitted and is neither text nor nullable: "
        "lower rare_category_min, give its categories in public_metadata, or drop the column"
    )


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT


def as_python(series: pd.Series) -> pd.Series:
    """Values as plain Python scalars (str, int, float, bool) so levels survive a JSON round trip."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype(object).map(lambda v: None if _is_null(v) else bool(v))
    if pd.api.types.is_integer_dtype(series.dtype):
        return series.astype(object).map(lambda v: None if _is_null(v) else int(v))
    return series.astype(object)


def factorized(series: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """(a code per row, each code's value as a Python scalar, None for null): only the distinct values are converted,
    so a 300,000-row column costs one vectorised pass and four bytes a row."""
    codes, uniques = pd.factorize(series, use_na_sentinel=False)
    values = as_python(pd.Series(np.asarray(uniques, dtype=object) if len(uniques) else [], dtype=series.dtype))
    return codes.astype(np.int32), [None if _is_null(v) else v for v in values]


def floats(series: pd.Series) -> np.ndarray:
    """A numeric column as float64, NaN for null."""
    return pd.to_numeric(series).to_numpy(dtype=np.float64, na_value=np.nan)


def object_values(series: pd.Series) -> np.ndarray:
    """A column's values as a new object array, None for null: what a relation writes its values into."""
    out = series.astype(object).to_numpy(copy=True)
    out[series.isna().to_numpy()] = None
    return out


def number_values(series: pd.Series) -> np.ndarray:
    """A numeric column as float64, or a datetime column as microseconds since the epoch; NaN for null."""
    if pd.api.types.is_numeric_dtype(series.dtype):
        return floats(series)
    return np.where(series.isna().to_numpy(), np.nan, _datetime_us(series).astype(np.float64))
