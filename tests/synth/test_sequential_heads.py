"""Sequential output heads: the draw order, links that only read earlier heads, the same rows as the all-at-once
heads when the links are zero, sampling that carries a drawn value to a later column, and a fit that learns a
one-to-one relation between two columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from synth import TabularSynthesizer
from synth.tabular.layout import OutputLayout
from synth.tabular.networks import LINK_GAIN

# column 0: a number (scalar, 2 modes, null flag); column 1: a 3-way category; column 2: a number (scalar, 1 mode)
SPANS = [(0, 1, "tanh"), (1, 2, "softmax"), (3, 2, "softmax"), (5, 3, "softmax"), (8, 1, "tanh"), (9, 1, "softmax")]
COLUMNS = [0, 0, 0, 1, 2, 2]
WIDTH = 10


def _layout() -> OutputLayout:
    return OutputLayout(SPANS, [(5, 3)], torch.device("cpu"), COLUMNS)


def test_a_columns_one_hot_heads_come_before_its_scalar_and_links_read_only_earlier_heads() -> None:
    layout = _layout()
    assert layout.draw_order == [1, 2, 0, 3, 5, 4]
    rank = {number: position for position, number in enumerate(layout.draw_order)}
    span_of = [number for number, (_, width, _) in enumerate(SPANS) for _ in range(width)]
    mask = layout.link_mask
    for source in range(WIDTH):
        for destination in range(WIDTH):
            earlier = rank[span_of[source]] < rank[span_of[destination]]
            assert mask[source, destination].item() == float(earlier)


def test_zero_links_give_the_all_at_once_activation() -> None:
    layout = _layout()
    raw = torch.randn(200, WIDTH, generator=torch.Generator().manual_seed(0)) * 2
    uniform = torch.rand(200, layout.gumbel_width, generator=torch.Generator().manual_seed(1))
    gumbel = -torch.log(-torch.log(uniform))
    completed, activated = layout.activate_in_order(raw, gumbel, torch.zeros(WIDTH, WIDTH))
    torch.testing.assert_close(completed, raw)
    torch.testing.assert_close(activated, layout.activate(raw, gumbel))


def _pairs(rows: int, seed: int) -> pd.DataFrame:
    """``b`` is a function of ``a`` (a code for each level, as education and its number); ``x`` is noise."""
    rng = np.random.default_rng(seed)
    a = rng.choice(list("pqrstuvw"), rows)
    mapping = dict(zip("pqrstuvw", ["w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"], strict=True))
    return pd.DataFrame({"a": a, "b": [mapping[v] for v in a], "x": rng.normal(size=rows)})


def test_sampling_carries_each_drawn_value_through_the_links() -> None:
    """A generator whose links say "b copies a" samples b = f(a) on every row, whatever its other weights say."""
    frame = _pairs(400, 0)
    model = TabularSynthesizer(epochs=1, seed=0, validation_share=0).fit(frame)
    transformer = model.transformer_
    (_, a_start, a_codec), (_, b_start, b_codec) = transformer.discrete_columns()
    with torch.no_grad():
        model.generator_.links.zero_()
        for level in a_codec.levels:
            target = b_codec.index_of({"p": "w1", "q": "w2", "r": "w3", "s": "w4"}.get(level, "w5"))
            model.generator_.links[a_start + a_codec.index_of(level), b_start + target] = 100.0 / LINK_GAIN
    rows = model.sample(2000, seed=1)
    expected = rows["a"].map({"p": "w1", "q": "w2", "r": "w3", "s": "w4"}).fillna("w5")
    assert (rows["b"] == expected).all()
    assert rows["a"].nunique() == 8  # a itself is still drawn from the generator


def test_a_fit_learns_a_one_to_one_relation_between_two_columns() -> None:
    frame = _pairs(3000, 1)
    model = TabularSynthesizer(epochs=120, batch_size=200, seed=0, validation_share=0).fit(frame)
    rows = model.sample(3000, seed=2)
    mapping = dict(zip(frame["a"], frame["b"], strict=True))
    consistent = float((rows["a"].map(mapping) == rows["b"]).mean())
    assert consistent >= 0.97, consistent
