"""Column codecs: exact spikes, bounded width for high-cardinality columns, round trips of known values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.schema import infer_schema
from synth.tabular.codecs import MAX_SPIKES, MIN_SPIKES, CategoricalCodec, NumericCodec, codec_from_dict, spike_cap
from synth.tabular.mixture import HEAPED_MAX, ROUNDED_MAX, all_spikes, exact_spikes
from synth.tabular.transformer import TableTransformer
from tests.conftest import span_values


def test_spikes_are_exact_modes() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([np.zeros(900), rng.normal(5000, 500, 100)])
    spikes = exact_spikes(values)
    assert len(spikes) == 1 and spikes[0].mean == 0.0
    assert abs(spikes[0].weight - 0.9) < 1e-9
    codec = NumericCodec.fit(pd.Series(values, name="gain"), infer_schema(pd.DataFrame({"gain": values}))["gain"], rng)
    assert abs(sum(m.weight for m in codec.modes) - 1.0) < 1e-6


def test_common_values_of_a_smooth_score_are_no_spikes_but_a_heap_among_them_is() -> None:
    rng = np.random.default_rng(0)
    scores = np.round(rng.normal(600, 38, 9000))  # about 200 values, the central ones held by 1 % of the rows each
    scores[:900] = 650.0  # a heap: a tenth of the rows on one value
    assert [m.mean for m in exact_spikes(scores)] == [650.0]
    hours = np.concatenate([rng.integers(1, 99, 6000), np.full(4000, 40), np.full(800, 50)]).astype(float)
    assert sorted(m.mean for m in exact_spikes(hours)) == [40.0, 50.0]  # each far above the hours around it


def test_a_heap_among_few_values_of_a_large_table_needs_heap_rows_not_half_a_percent() -> None:
    rng = np.random.default_rng(0)
    amounts = rng.integers(50, 150, 30_000) * 20.0  # 100 round amounts, about 6 rows each among the non-zero 2 %
    loss = np.where(rng.random(30_000) < 0.98, 0.0, amounts)
    loss[:40] = 1_902.0  # 0.13 % of the rows on one amount, far above its neighbours
    assert len(np.unique(loss)) <= ROUNDED_MAX and sorted(m.mean for m in exact_spikes(loss)) == [0.0, 1_902.0]
    small = np.concatenate([loss[:40], loss[-1_960:]])  # on 2,000 rows 40 is 2 %, and a heap as before
    assert 1_902.0 in [m.mean for m in exact_spikes(small)]
    few = np.concatenate([loss[:8], loss[-1_992:]])  # 8 rows of 2,000: under half a percent, no heap
    assert 1_902.0 not in [m.mean for m in exact_spikes(few)]
    many = np.where(rng.random(30_000) < 0.9, 0.0, rng.integers(1_000, 3_000, 30_000).astype(float))
    many[:40] = 1_902.0  # among 2,000 amounts: a heap needs half a percent still
    assert [m.mean for m in exact_spikes(many)] == [0.0]


def test_a_column_of_few_values_mostly_on_heaps_keeps_every_value_exact() -> None:
    rng = np.random.default_rng(0)
    weeks = rng.integers(0, 53, 4_000).astype(float)  # weeks worked: 53 values, uneven between the heaps
    weeks[:3_000] = rng.choice([0.0, 52.0, 40.0, 26.0], 3_000)  # which hold most rows
    assert len(exact_spikes(weeks)) == 53 and all_spikes(weeks)
    smooth = np.round(rng.normal(30, 8, 4_000))  # about 50 values, no heap: left to the warp
    assert exact_spikes(smooth) == [] and not all_spikes(smooth)
    count = np.where(rng.random(4_000) < 0.6, 0.0, rng.geometric(0.15, 4_000))  # a zero heap beside a count's tail
    assert 32 < len(np.unique(count)) <= HEAPED_MAX and [m.mean for m in exact_spikes(count)] == [0.0]
    wider = np.concatenate([weeks, np.arange(53, HEAPED_MAX + 10, dtype=float)])  # too many values: heaps only
    assert sorted(m.mean for m in exact_spikes(wider)) == [0.0, 26.0, 40.0, 52.0]


def test_hours_on_many_heaps_keep_every_value_exact_where_rows_are_many_enough() -> None:
    rng = np.random.default_rng(0)
    hours = rng.integers(1, 100, 12_000).astype(float)  # 99 values, more than HEAPED_MAX...
    hours[:6_000] = 40.0  # ...on a week's heaps: 40 for half the rows
    hours[6_000:10_000] = rng.choice([20.0, 30.0, 35.0, 45.0, 50.0, 60.0], 4_000)  # and a third on six more
    assert HEAPED_MAX < len(np.unique(hours)) <= ROUNDED_MAX and all_spikes(hours)
    assert not all_spikes(rng.permutation(hours)[:5_000])  # about 50 rows a value: heaps only
    gain = np.where(rng.random(12_000) < 0.9, 0.0, rng.integers(1, 100, 12_000) * 100.0)  # an amount mostly zero
    gain[:600] = rng.choice([1500.0, 3000.0, 7500.0], 600)  # with three small heaps of round sums
    assert HEAPED_MAX < len(np.unique(gain)) <= ROUNDED_MAX and not all_spikes(gain)
    assert sorted(m.mean for m in exact_spikes(gain)) == [0.0, 1500.0, 3000.0, 7500.0]


def test_numeric_columns_share_the_spike_slots_so_width_grows_slowly_with_columns() -> None:
    assert [spike_cap(n) for n in (1, 5, 6, 20, 40, 500)] == [MAX_SPIKES, 64, 53, 16, 8, MIN_SPIKES]
    rng = np.random.default_rng(0)

    def heaped() -> np.ndarray:  # amounts on 120 round values (~0.75 % of the rows each) between unique odd ones
        return np.where(rng.random(5000) < 0.9, rng.integers(0, 120, 5000) * 10.0, rng.uniform(0, 1200, 5000))

    frame = pd.DataFrame({f"c{i}": heaped() for i in range(20)})
    transformer = TableTransformer(infer_schema(frame)).fit(frame, rng)
    spikes = [sum(m.std == 0 for m in codec.modes) for codec in transformer.codecs_]
    assert spikes == [spike_cap(20)] * 20  # the 16 most common values of each column stay exact
    narrow = TableTransformer(infer_schema(frame[["c0"]])).fit(frame[["c0"]], rng)
    assert sum(m.std == 0 for m in narrow.codecs_[0].modes) == MAX_SPIKES  # a lone column keeps all it may


def test_numeric_codec_round_trips_encoded_values() -> None:
    rng = np.random.default_rng(0)
    series = pd.Series(np.concatenate([np.zeros(300), rng.integers(100, 200, 700)]).astype(np.int64), name="gain")
    spec = infer_schema(series.to_frame())["gain"]
    codec = NumericCodec.fit(series, spec, rng)
    decoded = codec.decode(span_values(codec.encode(series, rng), codec.spans), rng)
    np.testing.assert_allclose(decoded, series.to_numpy(), atol=1.0)
    assert (decoded[series.to_numpy() == 0] == 0).all()  # the spike comes back exactly


def test_a_generated_warp_puts_a_narrow_generators_values_in_the_real_shares() -> None:
    """A generator whose scalars within each mode are narrower than the real ones (0.6 times, as a GAN's tend to
    be) writes values that bunch at the modes' centres; a warp fitted on its own pilot scores puts them back in the
    real values' shares, and keeps their order. The map survives JSON; a codec without a warp (a private fit's) and
    too few pilot rows fit none."""
    rng = np.random.default_rng(0)
    series = pd.Series(np.round(rng.lognormal(10, 0.8, 20_000)), name="income")
    codec = NumericCodec.fit(series, infer_schema(series.to_frame())["income"], rng)

    def narrow_generator(rows: int) -> np.ndarray:  # the codec's own encoding of real-like rows, scalars narrowed
        spans = span_values(codec.encode(series.sample(rows, replace=True, random_state=rows), rng), codec.spans)
        spans[:, 0] *= 0.6
        return spans

    def gap(decoded: np.ndarray) -> float:  # total variation between the real and the decoded shares of 20 bins
        edges = np.quantile(series, np.linspace(0, 1, 21)[1:-1])
        real, drawn = (np.bincount(np.searchsorted(edges, v), minlength=20) / len(v) for v in (series, decoded))
        return float(np.abs(real - drawn).sum() / 2)

    drawn = narrow_generator(30_000)
    assert gap(codec.decode(drawn, rng)) > 0.025  # 0.032; an exact generator's rows score 0.008 to 0.012
    codec.calibrate(narrow_generator(40_000))
    assert codec.generated_warp is not None
    assert gap(codec.decode(drawn, rng)) < 0.016  # 0.009
    same_mode = drawn[:, 1] == np.bincount(drawn[:, 1].astype(int)).argmax()
    order = np.argsort(drawn[same_mode, 0], kind="stable")
    assert (np.diff(codec.decode(drawn[same_mode][order], rng)) >= 0).all()  # within a mode, order is kept

    again = codec_from_dict(codec.to_dict())
    assert isinstance(again, NumericCodec) and again.generated_warp is not None
    np.testing.assert_array_equal(again.generated_warp.values, codec.generated_warp.values)
    codec.calibrate(narrow_generator(100))
    assert codec.generated_warp is None
    private = NumericCodec(codec.kind, codec.modes, codec.low, codec.high, False, 1.0)
    private.calibrate(narrow_generator(40_000))
    assert private.generated_warp is None


def test_a_null_flag_marks_exactly_the_null_rows() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(50, 10, 1000)
    values[rng.random(1000) < 0.1] = np.nan
    series = pd.Series(values, name="score")
    codec = NumericCodec.fit(series, infer_schema(series.to_frame())["score"], rng)
    encoded = codec.encode(series, rng)
    flag = encoded[:, -2:]  # [present, null]
    assert (flag.sum(axis=1) == 1).all()
    np.testing.assert_array_equal(flag[:, 1] == 1, series.isna().to_numpy())
    decoded = codec.decode(span_values(encoded, codec.spans), rng)
    np.testing.assert_array_equal(np.isnan(decoded), series.isna().to_numpy())


def test_float_columns_decode_onto_the_decimals_their_values_use() -> None:
    rng = np.random.default_rng(0)
    counts = pd.Series(np.where(rng.random(500) < 0.2, np.nan, rng.poisson(40, 500)), name="runs")  # float: has NaN
    prices = pd.Series(np.round(rng.lognormal(3, 1, 500), 2), name="price")
    narrow = pd.Series(np.round(rng.normal(5, 1, 500), 1).astype(np.float32), name="weight")
    measured = pd.Series(rng.normal(0, 1, 500), name="signal")
    frame = pd.concat([counts, prices, narrow, measured], axis=1)
    schema = infer_schema(frame)
    steps = {}
    for name in frame.columns:
        codec = NumericCodec.fit(frame[name], schema[name], rng)
        steps[name] = codec.step
        spans = np.stack([rng.uniform(-1, 1, 2000), rng.integers(0, len(codec.modes), 2000)], axis=1)
        if codec.nullable:
            spans = np.concatenate([spans, np.zeros((2000, 1))], axis=1)
        decoded = pd.Series(codec.decode(spans, rng)).astype(frame[name].dtype)
        if codec.step:  # every decoded value is one a reader of the column's text would write back the same
            decimals = round(-np.log10(codec.step))
            text = decoded.map(lambda x, d=decimals: f"{x:.{d}f}")
            assert (text.astype(frame[name].dtype) == decoded).all(), name
    assert steps == {"runs": 1.0, "price": 0.01, "weight": 0.1, "signal": 0.0}


def test_high_cardinality_categories_keep_a_bounded_width() -> None:
    rng = np.random.default_rng(0)
    levels = np.array([f"level-{i}" for i in range(5000)])
    series = pd.Series(levels[rng.zipf(1.3, 50_000) % 5000])
    codec = CategoricalCodec.fit(series, max_categories=50)
    assert codec.width == 50
    encoded = codec.encode(series, rng)
    assert encoded.shape == (50_000, 50) and (encoded.sum(axis=1) == 1).all()
    decoded = codec.decode(span_values(encoded, codec.spans), rng)
    assert set(decoded) <= set(series)
    top = series.value_counts().index[:49]
    kept = series.isin(top).to_numpy()
    assert (decoded[kept] == series.to_numpy()[kept]).all()  # frequent levels come back exactly


def test_categorical_codec_json_round_trip_with_nulls() -> None:
    series = pd.Series(["a", None, "b", "a", None], dtype="str")
    codec = CategoricalCodec.fit(series, max_categories=10)
    again = codec_from_dict(codec.to_dict())
    rng = np.random.default_rng(0)
    decoded = again.decode(span_values(codec.encode(series, rng), codec.spans), rng)
    assert list(decoded) == ["a", None, "b", "a", None]


def test_decoded_categorical_columns_keep_their_values_and_dtypes(mixed_frame: pd.DataFrame) -> None:
    """Levels are typed once and gathered per row: text (with nulls), pandas categories, booleans, and integer
    categories all come back as they went in."""
    frame = mixed_frame[["member", "plan", "city", "visits"]]
    schema = infer_schema(frame).with_kinds({"visits": "categorical"})
    transformer = TableTransformer(schema).fit(frame, np.random.default_rng(0))
    encoded = transformer.transform(frame, np.random.default_rng(1))
    decoded = transformer.inverse_transform(span_values(encoded, transformer.spans), np.random.default_rng(2))
    pd.testing.assert_frame_equal(decoded, frame)


def test_a_fallback_slot_reads_values_outside_the_levels_and_survives_json() -> None:
    codec = codec_from_dict(CategoricalCodec(["a", "b"], [], [], fallback=1).to_dict())
    assert codec.fallback == 1
    np.testing.assert_array_equal(codec.codes(pd.Series(["a", "zzz", "b"], dtype="str")), [0, 1, 1])
    assert CategoricalCodec(["a", "b"], [], []).to_dict()["fallback"] is None
