"""The quantile warp of numeric columns: normal scores out, the real values' shape back, and a faithful share."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from synth.schema import infer_schema
from synth.tabular.codecs import NumericCodec, codec_from_dict
from synth.tabular.warp import EDGE, QuantileWarp


def test_a_heaped_column_becomes_a_smooth_normal_and_comes_back() -> None:
    rng = np.random.default_rng(0)
    values = np.round(rng.lognormal(0, 0.5, 20_000), 2)
    values[:2_000] = 1.0  # a heap: a tenth of the rows at one value
    warp = QuantileWarp.fit(values)
    scores = warp.forward(values, rng)
    assert abs(scores.mean()) < 0.02 and abs(scores.std() - 1) < 0.02
    heap = scores[values == 1.0]
    assert len(np.unique(heap)) == len(heap) and heap.max() - heap.min() > 0.2  # a stretch, not a spike
    back = warp.inverse(scores)
    assert (back[values == 1.0] == 1.0).all()
    np.testing.assert_allclose(back, values, rtol=1e-9, atol=1e-9)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=300), st.integers(0, 2**32 - 1))
def test_the_warp_keeps_order_and_inverts(values: list[float], seed: int) -> None:
    array = np.sort(np.asarray(values))
    warp = QuantileWarp.fit(array)
    scores = warp.forward(array, np.random.default_rng(seed))
    distinct = np.r_[True, array[1:] != array[:-1]]
    assert (np.diff(scores[distinct]) >= -1e-12).all()  # a larger value never gets a smaller score (but for rounding)
    reach = EDGE * (array[-1] - array[0])  # within EDGE of either end a share is held at the end's
    np.testing.assert_allclose(warp.inverse(scores), array, rtol=1e-6, atol=2 * reach + 1e-6)


def test_the_share_between_two_values_is_the_real_share() -> None:
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(0, 1, 9_000), np.full(1_000, 3.0)])
    warp = QuantileWarp.fit(values)
    for low, high in [(-1.0, 1.0), (3.0, 3.0), (0.0, 10.0), (-10.0, -5.0)]:
        real = np.mean((values >= low) & (values <= high))
        assert abs(warp.share_between(low, high) - real) < 0.01


def test_generated_values_stay_out_of_the_gaps_of_a_real_column() -> None:
    """Two clusters with an empty stretch between them: any generated scalar and mode decodes into a cluster."""
    rng = np.random.default_rng(2)
    values = np.concatenate([rng.uniform(0, 10, 5_000), rng.uniform(90, 100, 5_000)])
    series = pd.Series(values, name="x")
    codec = NumericCodec.fit(series, infer_schema(series.to_frame())["x"], rng)
    block = np.stack([rng.uniform(-1, 1, 20_000), rng.integers(0, len(codec.modes), 20_000)], axis=1)
    decoded = codec.decode(block, rng)
    inside_gap = (decoded > 10.5) & (decoded < 89.5)
    assert inside_gap.mean() < 0.01  # the knots either side of the gap are its only way across


def test_a_saved_codec_decodes_as_the_fitted_one() -> None:
    rng = np.random.default_rng(3)
    series = pd.Series(np.round(rng.gamma(2, 50, 3_000), 1), name="amount")
    codec = NumericCodec.fit(series, infer_schema(series.to_frame())["amount"], rng)
    loaded = codec_from_dict(codec.to_dict())
    assert isinstance(loaded, NumericCodec) and loaded.warp is not None
    block = np.stack([rng.uniform(-1, 1, 1_000), rng.integers(0, len(codec.modes), 1_000)], axis=1)
    np.testing.assert_array_equal(loaded.decode(block, rng), codec.decode(block, rng))
