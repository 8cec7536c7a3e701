"""The output layout: fused activations and condition loss agree with the per-column definitions they replace; the
generator keeps its scalar heads in float32 under mixed precision; the critic reads each number whole and the
products of pairs of them, a bounded number on a wide table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import norm, spearmanr
from torch.nn import functional as F

from synth import infer_schema
from synth.tabular.layout import MAX_CROSSES, VALUE_SCALE, OutputLayout
from synth.tabular.networks import TabularGenerator
from synth.tabular.sampler import ConditionalSampler
from synth.tabular.transformer import TableTransformer

# scalar, 3-way, 1-way, scalar, 7-way, 2-way and 4-way heads: the 3- and 4-way heads share the bucket of width 4
SPANS = [
    (0, 1, "tanh"),
    (1, 3, "softmax"),
    (4, 1, "softmax"),
    (5, 1, "tanh"),
    (6, 7, "softmax"),
    (13, 2, "softmax"),
    (15, 4, "softmax"),
]
WIDTH = 19
CONDITION_BLOCKS = [(1, 3), (6, 7), (15, 4)]


@pytest.fixture()
def layout() -> OutputLayout:
    return OutputLayout(SPANS, CONDITION_BLOCKS, torch.device("cpu"))


def test_activate_gives_tanh_scalars_and_a_distribution_per_head(layout: OutputLayout) -> None:
    raw = torch.randn(500, WIDTH, generator=torch.Generator().manual_seed(0)) * 3
    gumbel = -torch.log(-torch.log(torch.rand(500, layout.gumbel_width, generator=torch.Generator().manual_seed(1))))
    out = layout.activate(raw, gumbel)
    assert torch.equal(out[:, [0, 5]], torch.tanh(raw[:, [0, 5]]))
    for start, width, kind in SPANS:
        if kind == "softmax":
            head = out[:, start : start + width]
            assert (head >= 0).all()
            torch.testing.assert_close(head.sum(dim=1), torch.ones(500))


def test_activate_without_noise_is_each_heads_softmax_at_the_temperature(layout: OutputLayout) -> None:
    raw = torch.randn(50, WIDTH, generator=torch.Generator().manual_seed(0))
    out = layout.activate(raw, torch.zeros(50, layout.gumbel_width), tau=0.5)
    for start, width, kind in SPANS:
        if kind == "softmax":
            expected = torch.softmax(raw[:, start : start + width] / 0.5, dim=1)
            torch.testing.assert_close(out[:, start : start + width], expected)


def test_condition_loss_is_the_cross_entropy_of_each_rows_conditioned_column(layout: OutputLayout) -> None:
    sampler = ConditionalSampler(np.ones(14, dtype=np.int64), [3, 7, 4], torch.device("cpu"))
    raw = torch.randn(64, WIDTH, generator=torch.Generator().manual_seed(0))
    slot = torch.randint(14, (64,), generator=torch.Generator().manual_seed(1))
    first_slots = [0, 3, 10]
    expected = []
    for row, global_slot in zip(raw, slot.tolist(), strict=True):
        column = max(j for j, first in enumerate(first_slots) if first <= global_slot)
        start, width = CONDITION_BLOCKS[column]
        local = global_slot - first_slots[column]
        expected.append(F.cross_entropy(row[start : start + width][None], torch.tensor([local])))
    torch.testing.assert_close(layout.condition_loss(raw, slot, sampler), torch.stack(expected).mean())
    assert layout.condition_loss(raw, None, sampler).item() == 0.0


def test_layout_of_a_fitted_transformer_covers_every_encoded_position() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=300),
            "code": rng.integers(0, 5, 300),  # five values: generated exactly, as one-hot spikes
            "c": rng.choice(list("abcdefghij"), 300),
            "n": np.where(rng.random(300) < 0.2, np.nan, rng.normal(size=300)),
        }
    )
    transformer = TableTransformer(infer_schema(frame)).fit(frame, rng)
    layout = OutputLayout.of(transformer, torch.device("cpu"))
    covered = torch.cat([layout.scalars, layout.slots[~layout.pad]]).sort().values
    assert torch.equal(covered, torch.arange(transformer.width))


def test_scalar_heads_stay_float32_under_mixed_precision() -> None:
    """bfloat16 would round a scalar head to about 3 digits; those positions are computed in float32 instead."""
    exact = torch.tensor([0, 5])
    net = TabularGenerator(8, 0, (16,), 10, generator=torch.Generator().manual_seed(0), exact=exact)
    x = torch.randn(200, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(x)
    assert out.dtype == torch.float32
    logits = out[:, [1, 2, 3, 4, 6, 7, 8, 9]]
    assert torch.equal(logits, logits.bfloat16().float())  # the one-hot logits: bfloat16 products
    assert not torch.equal(out[:, exact], out[:, exact].bfloat16().float())  # the scalars: float32
    with torch.no_grad():
        torch.testing.assert_close(out, net(x), atol=0.05, rtol=0.05)  # the same network either way


def test_the_critic_reads_each_number_as_its_normal_score_in_the_column() -> None:
    """``values`` turns a number's mode and scalar back into one figure, its normal score among the column's values
    (spikes included), so a critic sees a monotone link between two columns as a straight line; a training row's null
    is read as the value drawn for it."""
    rng = np.random.default_rng(0)
    n = 4000
    money = np.where(rng.random(n) < 0.4, 0.0, rng.lognormal(3, 1, n))  # 40 % at exactly 0: a spike
    frame = pd.DataFrame({"money": money, "size": np.where(rng.random(n) < 0.1, np.nan, rng.gamma(2, 1, n))})
    transformer = TableTransformer(infer_schema(frame)).fit(frame, rng)
    layout = OutputLayout.of(transformer, torch.device("cpu"))
    values = layout.values(torch.as_tensor(transformer.transform(frame, rng))).numpy() / VALUE_SCALE
    assert layout.value_width == 2
    for column, raw in enumerate([frame["money"], frame["size"]]):
        present = raw.notna().to_numpy()
        expected = norm.ppf(raw[present].rank(pct=True).to_numpy() - 0.5 / present.sum())
        central = np.abs(expected) < 2.5  # the extremes are pulled in: the warp's scores end at 4.75
        assert np.abs(values[present, column] - expected)[central].max() < 0.05
        assert spearmanr(values[present, column], expected).statistic > 0.999
    drawn = values[frame["size"].isna().to_numpy(), 1]  # a null is read as the value drawn for its row
    assert np.isfinite(drawn).all() and len(np.unique(drawn.round(6))) > 1
    zeros = values[money == 0, 0]
    assert np.allclose(zeros, norm.ppf(0.5 * (money == 0).mean()), atol=0.02)


def test_the_critic_reads_the_product_of_each_pair_of_numbers() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=600)
    frame = pd.DataFrame({"x": x, "c": rng.choice(list("ab"), 600), "y": 2 * x + rng.normal(size=600)})
    frame["z"] = np.where(rng.random(600) < 0.2, np.nan, rng.gamma(2, 1, 600))
    transformer = TableTransformer(infer_schema(frame)).fit(frame, rng)
    layout = OutputLayout.of(transformer, torch.device("cpu"))
    rows = torch.as_tensor(transformer.transform(frame, rng))
    values = layout.values(rows)
    figures = layout.with_products(values)
    assert layout.critic_width == figures.shape[1] == 3 + 3
    torch.testing.assert_close(figures[:, :3], values)
    for column, (first, second) in enumerate([(0, 1), (0, 2), (1, 2)], start=3):
        torch.testing.assert_close(figures[:, column], values[:, first] * values[:, second] / VALUE_SCALE)
    null = torch.as_tensor(frame["z"].isna().to_numpy().copy())
    assert figures[null, 4:].std(dim=0).min() > 0  # a null number crosses as the value drawn for its row


def test_a_wide_table_crosses_a_bounded_number_of_pairs_nearest_first() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"n{i}": rng.normal(size=200) for i in range(40)})
    transformer = TableTransformer(infer_schema(frame)).fit(frame, rng)
    layout = OutputLayout.of(transformer, torch.device("cpu"))
    assert MAX_CROSSES < 40 * 39 // 2  # more pairs than the cap
    assert layout.critic_width == 40 + MAX_CROSSES
    pairs = set(map(tuple, layout.cross_pairs.t().tolist()))
    assert all((i, i + 1) in pairs for i in range(39))  # every neighbour pair is crossed
    assert max(j - i for i, j in pairs) < 40 - 1  # the farthest pairs are not


def test_generated_numbers_pass_the_critics_gradient_to_their_mode_and_scalar() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=500), "c": rng.choice(list("abc"), 500)})
    transformer = TableTransformer(infer_schema(frame)).fit(frame, rng)
    layout = OutputLayout.of(transformer, torch.device("cpu"))
    raw = torch.randn(64, transformer.width, generator=torch.Generator().manual_seed(0), requires_grad=True)
    rows = layout.activate(raw, torch.zeros(64, layout.gumbel_width), tau=1.0)
    layout.values(rows).sum().backward()
    assert raw.grad is not None
    mode_slots = layout.slots[~layout.pad][: len(transformer.codecs_[0].modes)]
    assert (raw.grad[:, layout.scalars] != 0).all() and (raw.grad[:, mode_slots] != 0).any()
