"""The table transformer: every column through its codec into one float matrix, and back into typed columns."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from synth.schema import ColumnSpec, Schema
from synth.tabular.annuities import Annuity, find_annuities
from synth.tabular.bands import Band, find_bands
from synth.tabular.centring import Centring, find_centrings
from synth.tabular.codecs import (
    NUMERIC_CODEC_KINDS,
    CategoricalCodec,
    Codec,
    NumericCodec,
    Span,
    as_python,
    codec_from_dict,
    fit_codec,
    floats,
    spike_cap,
)
from synth.tabular.copies import Copy, find_copies
from synth.tabular.dependencies import Dependency, find_dependencies
from synth.tabular.fakes import DEFAULT_LOCALE
from synth.tabular.formulas import Formula, find_formulas
from synth.tabular.groups import Group, find_groups
from synth.tabular.imputation import fill_nulls
from synth.tabular.nulls import NullBlock, find_null_blocks
from synth.tabular.products import Product, find_products
from synth.tabular.shares import Share, find_shares, resolution_order
from synth.tabular.totals import Total, find_totals

__all__ = ["TableTransformer", "build_column"]


class TableTransformer:
    """Encodes a table into the GAN's space and decodes generated rows into a DataFrame with the input's dtypes.

    ``rare_category_min``: categories seen fewer times are never emitted (see ``CategoricalCodec``), nor are numeric
    extremes held by fewer rows. ``fake_locale``: Faker's locale for identifier columns' fakes.

    Attributes:
        codecs_: one codec per schema column, in schema order, fitted on the column's values: what it may hold.
        shares_: the numbers another number bounds in every real row (``find_shares``), each after the share its
            bound is; each is encoded as its share of the bound, by its codec in ``relative_codecs_``
            (``encoders``), and decoded back; none for a transformer built from codecs.
        centrings_: the numbers the levels of a categorical column all but fix (``find_centrings``); each is encoded
            as its place within its row's level, by its codec in ``relative_codecs_``, and decoded back within the
            generated row's level; none for a transformer built from codecs.
        dependencies_: the columns another column's value fixes in every real row (``find_dependencies``), written
            from it by ``derive``; none for a transformer built from codecs (a private fit's, which may not read
            such structure off the rows).
        formulas_: the numbers that a formula of another number gives in every real row (``find_formulas``),
            written from it by ``derive``; none for a transformer built from codecs.
        totals_: the numbers that the sum of others gives in nearly every real row (``find_totals``), written from
            their parts by ``derive``; none for a transformer built from codecs.
        products_: the numbers that a product or ratio of powers of two earlier numbers gives in nearly every real
            row (``find_products``), written from them by ``derive``; none for a transformer built from codecs.
        annuities_: the instalments that a loan's amount, rate and term give in nearly every real row
            (``find_annuities``), written from them last by ``derive``; none for a transformer built from codecs.
        copies_: the columns that repeat an earlier column in most real rows (``find_copies``), made to repeat it
            at that rate by ``derive``; none for a transformer built from codecs.
        null_blocks_: the columns null together in nearly every real row (``find_null_blocks``), made all null or
            all present in each row by ``derive``; none for a transformer built from codecs.
        bands_: the columns fixed by the band another number falls in, in every real row (``find_bands``),
            written from it by ``derive``; none for a transformer built from codecs.
        groups_: the columns the rows of one group share (a class's teacher), within the values of one or two key
            columns (``find_groups``), kept to the combinations real rows of each key hold by ``derive``; none for
            a transformer built from codecs.
    """

    def __init__(
        self,
        schema: Schema,
        *,
        max_categories: int = 100,
        rare_category_min: int = 1,
        fake_locale: str = DEFAULT_LOCALE,
    ) -> None:
        self.schema = schema
        self.max_categories = max_categories
        self.rare_category_min = rare_category_min
        self.fake_locale = fake_locale

    def fit(self, frame: pd.DataFrame, rng: np.random.Generator) -> TableTransformer:
        max_spikes = spike_cap(sum(c.kind in NUMERIC_CODEC_KINDS for c in self.schema))
        self.codecs_: list[Codec] = [
            fit_codec(
                frame[c.name],
                c,
                rng,
                max_categories=self.max_categories,
                rare_min=self.rare_category_min,
                locale=self.fake_locale,
                max_spikes=max_spikes,
            )
            for c in self.schema
        ]
        self.dependencies_ = find_dependencies(frame, self.schema, self.rare_category_min)
        dependents = frozenset(d.column for d in self.dependencies_)
        self.formulas_ = find_formulas(frame, self.schema, dependents | {d.source for d in self.dependencies_})
        written = dependents | {f.column for f in self.formulas_}
        steps = {
            spec.name: codec.step
            for spec, codec in zip(self.schema, self.codecs_, strict=True)
            if isinstance(codec, NumericCodec)
        }
        self.totals_ = find_totals(frame, self.schema, steps, written)
        parts = frozenset(part for total in self.totals_ for part in total.parts)
        written |= {total.column for total in self.totals_}
        sources = {d.source for d in self.dependencies_} | {f.source for f in self.formulas_} | parts
        self.products_ = find_products(frame, self.schema, steps, written | sources)
        written |= {product.column for product in self.products_}
        factors = {factor for product in self.products_ for factor in product.factors}
        self.annuities_ = find_annuities(frame, self.schema, steps, written | sources | factors)
        written |= {annuity.column for annuity in self.annuities_}
        self.shares_ = resolution_order(find_shares(frame, self.schema, written))
        self.relative_codecs_ = {
            share.column: self._relative_codec(share.of(frame, rng), rng, max_spikes) for share in self.shares_
        }
        bounded = {share.column for share in self.shares_} | {share.bound for share in self.shares_}
        self.copies_ = find_copies(frame, self.schema, skip=written | bounded)
        self.null_blocks_ = find_null_blocks(frame, self.schema, written | bounded)
        related = {name for copy in self.copies_ for name in (copy.column, copy.source)}
        related |= sources
        blocked = {name for block in self.null_blocks_ for name in block.columns}
        self.bands_ = find_bands(frame, self.schema, self.rare_category_min, written | bounded | related | blocked)
        related |= {name for band in self.bands_ for name in (band.column, band.source)}
        self.groups_ = find_groups(frame, self.schema, self.rare_category_min, written | bounded | related)
        rewritten = {copy.column for copy in self.copies_} | {band.column for band in self.bands_} | blocked
        rewritten |= {name for group in self.groups_ for name in group.members}
        self.centrings_ = find_centrings(frame, self.schema, self.rare_category_min, written | bounded | rewritten)
        for centring in self.centrings_:
            self.relative_codecs_[centring.column] = self._relative_codec(centring.of(frame, rng), rng, max_spikes)
        return self

    def _relative_codec(self, values: pd.Series, rng: np.random.Generator, max_spikes: int) -> NumericCodec:
        """The codec of a number encoded relative to another column (``values``: a share of its bound, or a place
        within its key's level)."""
        spec = replace(self.schema[str(values.name)], kind="continuous", arrow_type="double", pandas_dtype="float64")
        return NumericCodec.fit(values, spec, rng, self.rare_category_min, max_spikes)

    @classmethod
    def from_codecs(
        cls, schema: Schema, codecs: list[Codec], *, max_categories: int, rare_category_min: int, fake_locale: str
    ) -> TableTransformer:
        """A transformer with codecs built elsewhere (the private path's, from public or noisy metadata)."""
        transformer = cls(
            schema, max_categories=max_categories, rare_category_min=rare_category_min, fake_locale=fake_locale
        )
        transformer.codecs_ = list(codecs)
        transformer.dependencies_, transformer.formulas_, transformer.totals_ = [], [], []
        transformer.products_, transformer.annuities_, transformer.copies_ = [], [], []
        transformer.shares_, transformer.relative_codecs_, transformer.null_blocks_ = [], {}, []
        transformer.bands_, transformer.groups_, transformer.centrings_ = [], [], []
        return transformer

    @property
    def encoders(self) -> list[Codec]:
        """The codec each column is encoded by, in schema order: its own, or for a number encoded relative to another
        column its relative codec."""
        return [
            self.relative_codecs_.get(spec.name, codec) for spec, codec in zip(self.schema, self.codecs_, strict=True)
        ]

    @property
    def spans(self) -> list[Span]:
        return [span for codec in self.encoders for span in codec.spans]

    @property
    def width(self) -> int:
        return sum(codec.width for codec in self.encoders)

    def offsets(self) -> list[int]:
        """Start of each column's block in the encoded row."""
        starts, position = [], 0
        for codec in self.encoders:
            starts.append(position)
            position += codec.width
        return starts

    def discrete_columns(self) -> list[tuple[str, int, CategoricalCodec]]:
        """(name, block start, codec) of every column the conditional vector covers."""
        return [
            (spec.name, start, codec)
            for spec, start, codec in zip(self.schema, self.offsets(), self.encoders, strict=True)
            if isinstance(codec, CategoricalCodec)
        ]

    def transform(self, frame: pd.DataFrame, rng: np.random.Generator, *, fill: bool = True) -> np.ndarray:
        """The encoded rows. With ``fill``, a nullable number's null rows hold a value drawn from the row's other
        columns (``fill_nulls``); a private fit encodes without, since such a draw reads other rows."""
        relative = {share.column: share.of(frame, rng) for share in self.shares_}
        relative |= {centring.column: centring.of(frame, rng) for centring in self.centrings_}
        encoded = {spec.name: relative.get(spec.name, frame[spec.name]) for spec in self.schema}
        columns = list(zip(self.schema, self.encoders, strict=True))
        filled: dict[str, np.ndarray] = {}
        if fill and any(isinstance(codec, NumericCodec) and codec.nullable for _, codec in columns):
            numbers = {
                spec.name: codec.space_values(encoded[spec.name])
                for spec, codec in columns
                if isinstance(codec, NumericCodec) and codec.modes
            }
            categories = [
                codec.codes(encoded[spec.name]) for spec, codec in columns if isinstance(codec, CategoricalCodec)
            ]
            filled = fill_nulls(numbers, rng, categories)
        blocks = [
            codec.encode(encoded[spec.name], rng, filled.get(spec.name))
            if isinstance(codec, NumericCodec)
            else codec.encode(encoded[spec.name], rng)
            for spec, codec in columns
        ]
        return np.concatenate(blocks, axis=1).astype(np.float32)

    def inverse_transform(
        self, span_values: np.ndarray, rng: np.random.Generator, given: tuple[str, Any] | None = None
    ) -> pd.DataFrame:
        """The table from generated span values: (rows, spans), a tanh head's value or a one-hot head's slot; each
        share multiplied back by its bound's decoded value, each centred number put back within its key's level.
        ``given`` (column, value): a condition's value, written in every row before the numbers read against it."""
        columns: dict[str, pd.Series] = {}
        relative: dict[str, np.ndarray] = {}
        start = 0
        for spec, codec in zip(self.schema, self.encoders, strict=True):
            block = span_values[:, start : start + len(codec.spans)]
            if isinstance(codec, CategoricalCodec):  # typed once per level, then gathered (Arrow take for text)
                column = build_column(codec.value_table(), spec).take(codec.positions(block, rng))
                columns[spec.name] = column.reset_index(drop=True)
            elif spec.name in self.relative_codecs_:
                relative[spec.name] = codec.decode(block, rng)
            else:
                columns[spec.name] = build_column(codec.decode(block, rng), spec)
            start += len(codec.spans)
        if given is not None:
            name, value = given
            columns[name] = build_column(np.array([value] * len(span_values), dtype=object), self.schema[name])
        for share in self.shares_:  # bounds first
            own = self.codecs_[self.schema.names.index(share.column)]
            assert isinstance(own, NumericCodec)
            values = share.resolve(relative[share.column], floats(columns[share.bound]), own)
            columns[share.column] = build_column(values, self.schema[share.column])
        for centring in self.centrings_:  # keys are categories, decoded above
            own = self.codecs_[self.schema.names.index(centring.column)]
            assert isinstance(own, NumericCodec)
            values = centring.resolve(relative[centring.column], columns[centring.key], own)
            columns[centring.column] = build_column(values, self.schema[centring.column])
        return pd.DataFrame({spec.name: columns[spec.name] for spec in self.schema})

    def derive(self, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        """``frame`` (decoded rows), in place: each block of columns null together made all null or all present in
        each row, then each repeating column made to repeat its source at the real rate, in table order (so a chain
        of waves repeats along), then each total from its parts (within its own range; no later relation writes a
        part), then each dependent column written from its determinant's value, then each formula's number from its
        source (which no formula writes, and which is final by then: a formula writes neither a determinant nor a
        dependent), then each banded column from the number it is a band of (final by then too), then each group's
        members where their combination is not one real rows of their key hold (a member is in no other relation),
        then each product from its factors (no product writes a factor), and last each instalment from its amount,
        rate and term (all final; a product or an instalment is in no other relation, and no instalment is a
        factor)."""
        for block in self.null_blocks_:
            for name, column in block.apply(frame, rng).items():
                frame[name] = column
        for copy in self.copies_:
            allowed = self._emitted(copy.column, frame[copy.source])
            values = copy.apply(frame[copy.source], frame[copy.column], rng, allowed)
            frame[copy.column] = build_column(values, self.schema[copy.column])
        for total in self.totals_:
            frame[total.column] = self._emitted_column(total.column, total.apply(frame))
        for dependency in self.dependencies_:
            values = dependency.apply(frame[dependency.source], frame[dependency.column])
            if dependency.between is not None:  # the formula's numbers within the column's range, as a formula's are
                frame[dependency.column] = self._emitted_column(dependency.column, np.array(values, dtype=np.float64))
            else:
                frame[dependency.column] = build_column(values, self.schema[dependency.column])
        for formula in self.formulas_:
            frame[formula.column] = self._emitted_column(formula.column, formula.apply(frame[formula.source]))
        for band in self.bands_:
            frame[band.column] = build_column(
                band.apply(frame[band.source], frame[band.column]), self.schema[band.column]
            )
        for group in self.groups_:
            for name, values in group.apply(frame, rng).items():
                frame[name] = build_column(values, self.schema[name])
        for product in self.products_:
            frame[product.column] = self._emitted_column(product.column, product.apply(frame))
        for annuity in self.annuities_:
            frame[annuity.column] = self._emitted_column(annuity.column, annuity.apply(frame))
        return frame

    def _emitted_column(self, name: str, numbers: np.ndarray) -> pd.Series:
        """Numbers a relation computed for column ``name``, as the column comes out: within its range, on its grid,
        in its type."""
        return build_column(self._numeric_codec(name).emitted(numbers), self.schema[name])

    def _numeric_codec(self, name: str) -> NumericCodec:
        """The codec of column ``name``, which a relation that writes numbers into it found numeric."""
        codec = self.codecs_[self.schema.names.index(name)]
        assert isinstance(codec, NumericCodec)
        return codec

    def _emitted(self, name: str, values: pd.Series) -> np.ndarray:
        """Which of ``values`` column ``name`` may hold: a level its codec decodes to, or a number within its range
        (so a copied value is never one of its rare ones)."""
        codec = self.codecs_[self.schema.names.index(name)]
        if isinstance(codec, CategoricalCodec):
            return as_python(values).isin([v for v in codec.value_table() if v is not None]).to_numpy()
        assert isinstance(codec, NumericCodec)
        numbers = floats(values)
        return (numbers >= codec.low) & (numbers <= codec.high)

    @property
    def dependents(self) -> frozenset[str]:
        """The columns ``derive`` writes: a condition on one is checked on the rows, not fixed."""
        relations: list[Dependency | Formula | Total | Product | Annuity | Copy | Band] = [
            *self.dependencies_,
            *self.formulas_,
            *self.totals_,
            *self.products_,
            *self.annuities_,
            *self.copies_,
            *self.bands_,
        ]
        blocks = {name for block in self.null_blocks_ for name in block.columns}
        members = {name for group in self.groups_ for name in group.members}
        return frozenset(relation.column for relation in relations) | blocks | members

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_categories": self.max_categories,
            "rare_category_min": self.rare_category_min,
            "fake_locale": self.fake_locale,
            "codecs": [c.to_dict() for c in self.codecs_],
            "dependencies": [d.to_dict() for d in self.dependencies_],
            "formulas": [f.to_dict() for f in self.formulas_],
            "totals": [t.to_dict() for t in self.totals_],
            "products": [p.to_dict() for p in self.products_],
            "annuities": [a.to_dict() for a in self.annuities_],
            "shares": [{"share": s.to_dict(), "codec": self._relative_dict(s.column)} for s in self.shares_],
            "centrings": [{"centring": c.to_dict(), "codec": self._relative_dict(c.column)} for c in self.centrings_],
            "copies": [c.to_dict() for c in self.copies_],
            "null_blocks": [b.to_dict() for b in self.null_blocks_],
            "bands": [b.to_dict() for b in self.bands_],
            "groups": [g.to_dict() for g in self.groups_],
        }

    def _relative_dict(self, name: str) -> dict[str, Any]:
        return self.relative_codecs_[name].to_dict()

    @classmethod
    def from_dict(cls, schema: Schema, data: dict[str, Any]) -> TableTransformer:
        transformer = cls(
            schema,
            max_categories=data["max_categories"],
            rare_category_min=data["rare_category_min"],
            fake_locale=data["fake_locale"],
        )
        transformer.codecs_ = [codec_from_dict(c) for c in data["codecs"]]
        transformer.dependencies_ = [Dependency.from_dict(d) for d in data["dependencies"]]
        transformer.formulas_ = [Formula.from_dict(f) for f in data["formulas"]]
        transformer.totals_ = [Total.from_dict(t) for t in data["totals"]]
        transformer.products_ = [Product.from_dict(p) for p in data["products"]]
        transformer.annuities_ = [Annuity.from_dict(a) for a in data["annuities"]]
        transformer.shares_, transformer.centrings_, transformer.relative_codecs_ = [], [], {}
        for saved in data["shares"]:
            share, codec = Share.from_dict(saved["share"]), codec_from_dict(saved["codec"])
            assert isinstance(codec, NumericCodec)
            transformer.shares_.append(share)
            transformer.relative_codecs_[share.column] = codec
        for saved in data["centrings"]:
            centring, codec = Centring.from_dict(saved["centring"]), codec_from_dict(saved["codec"])
            assert isinstance(codec, NumericCodec)
            transformer.centrings_.append(centring)
            transformer.relative_codecs_[centring.column] = codec
        transformer.copies_ = [Copy.from_dict(c) for c in data["copies"]]
        transformer.null_blocks_ = [NullBlock.from_dict(b) for b in data["null_blocks"]]
        transformer.bands_ = [Band.from_dict(b) for b in data["bands"]]
        transformer.groups_ = [Group.from_dict(g) for g in data["groups"]]
        return transformer


def build_column(values: np.ndarray, spec: ColumnSpec) -> pd.Series:
    """Decoded values as a Series of the column's original pandas dtype."""
    dtype = spec.pandas_dtype
    if spec.is_text_date:  # modelled as a datetime; ``format_text_dates`` writes it as text on the way out
        dtype = "datetime64[us, UTC]" if "%z" in str(spec.text_format) else "datetime64[us]"
    if dtype == "category":
        categories = list(spec.categories) if spec.categories is not None else None
        return pd.Series(pd.Categorical(values, categories=categories, ordered=spec.ordered), name=spec.name)
    if dtype.startswith("datetime64"):
        return pd.Series(_to_timestamps(values, dtype), name=spec.name)
    if spec.kind == "datetime" and spec.arrow_type.startswith("date"):
        stamps = _to_timestamps(values, "datetime64[us]")
        return pd.Series(stamps.dt.date.where(stamps.notna(), None), name=spec.name, dtype=object)
    target = pd.api.types.pandas_dtype(dtype)
    series = pd.Series(values, name=spec.name)
    if series.dtype == object and pd.api.types.is_numeric_dtype(target):
        series = pd.Series(pd.to_numeric(series), name=spec.name)
    if pd.api.types.is_integer_dtype(target) and pd.api.types.is_float_dtype(series.dtype):
        series = series.round()  # an integer column modelled as continuous (a schema override)
    return series.astype(target)


def _to_timestamps(values: np.ndarray, dtype: str) -> pd.Series:
    """int64 microseconds (NaT's value for nulls) or, from constant columns, Timestamps, as the column's dtype."""
    if values.dtype == object:
        stamps = pd.Series(pd.to_datetime(pd.Series(values)))
        if "," in dtype and getattr(stamps.dt, "tz", None) is None:  # constants (or all nulls) come back naive
            stamps = stamps.dt.tz_localize("UTC")
    else:
        stamps = pd.Series(values.astype(np.int64).view("datetime64[us]"))
        if "," in dtype:  # tz-aware, e.g. "datetime64[us, UTC]"
            stamps = stamps.dt.tz_localize("UTC")
    return stamps.astype(pd.api.types.pandas_dtype(dtype))
