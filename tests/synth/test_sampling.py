"""The folded generator: the same outputs as the trained module, and each one-hot head drawn from its softmax."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synth.tabular.codecs import Span
from synth.tabular.layout import OutputLayout
from synth.tabular.networks import TabularGenerator
from synth.tabular.sampling import FoldedGenerator

# scalar, 3-way, 1-way, scalar, 7-way, 2-way and 4-way heads: the 3- and 4-way heads share the width class 4
SPANS = [
    Span(1, "tanh"),
    Span(3, "softmax"),
    Span(1, "softmax"),
    Span(1, "tanh"),
    Span(7, "softmax"),
    Span(2, "softmax"),
    Span(4, "softmax"),
]
STARTS = np.cumsum([0, *(span.width for span in SPANS)])
HEADS = [(int(start), span.width, span.activation) for start, span in zip(STARTS, SPANS, strict=False)]
LAYOUT = OutputLayout(HEADS, [], torch.device("cpu"))
NOISE, CONDITION = 6, 5


def _trained_like(hidden: tuple[int, ...], condition: int) -> TabularGenerator:
    """A generator in eval mode whose batch norms hold non-trivial statistics and affine weights."""
    torch.manual_seed(0)
    net = TabularGenerator(NOISE, condition, hidden, int(STARTS[-1]), generator=torch.Generator().manual_seed(1))
    for block in net.blocks:
        norm = block.norm
        norm.running_mean.uniform_(-1, 1)
        norm.running_var.uniform_(0.5, 2)
        with torch.no_grad():
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)
    return net.eval()


def _module_heads(net: TabularGenerator, noise: torch.Tensor, slot: torch.Tensor | None) -> list[torch.Tensor]:
    """Per span, the module's raw output for it."""
    condition = torch.zeros(len(noise), 0) if slot is None else torch.eye(CONDITION)[slot]
    with torch.no_grad():
        raw = net(torch.cat([noise, condition], dim=1))
    return [raw[:, STARTS[i] : STARTS[i + 1]] for i in range(len(SPANS))]


def _folded_heads(folded: FoldedGenerator, noise: torch.Tensor, slot: torch.Tensor | None) -> list[torch.Tensor]:
    """Per span, the folded generator's output for it, padding stripped (and checked to be -inf)."""
    scalars, logits = folded.heads(noise, slot)
    out: dict[int, torch.Tensor] = {}
    scalar_spans = [i for i, span in enumerate(SPANS) if span.activation == "tanh"]
    for column, i in enumerate(scalar_spans):
        out[i] = scalars[:, column : column + 1]
    by_class = sorted(
        (1 << max(0, span.width - 1).bit_length(), i) for i, span in enumerate(SPANS) if span.activation == "softmax"
    )
    start = 0
    for width, i in by_class:
        padded = logits[:, start : start + width].float()
        assert torch.isneginf(padded[:, SPANS[i].width :]).all()
        out[i] = padded[:, : SPANS[i].width]
        start += width
    assert start == logits.shape[1]
    return [out[i] for i in range(len(SPANS))]


@pytest.mark.parametrize("hidden", [(), (16,), (16, 8, 12)])
@pytest.mark.parametrize("condition", [CONDITION, 0])
def test_folded_heads_equal_the_modules_in_float32(hidden: tuple[int, ...], condition: int) -> None:
    net = _trained_like(hidden, condition)
    noise = torch.randn(64, NOISE, generator=torch.Generator().manual_seed(2))
    slot = torch.randint(CONDITION, (64,), generator=torch.Generator().manual_seed(3)) if condition else None
    folded = FoldedGenerator(net, LAYOUT, NOISE, torch.float32)
    for expected, got in zip(_module_heads(net, noise, slot), _folded_heads(folded, noise, slot), strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_bfloat16_keeps_the_scalar_heads_in_float32_and_close() -> None:
    net = _trained_like((16, 8), CONDITION)
    noise = torch.randn(256, NOISE, generator=torch.Generator().manual_seed(2))
    slot = torch.randint(CONDITION, (256,), generator=torch.Generator().manual_seed(3))
    folded = FoldedGenerator(net, LAYOUT, NOISE, torch.bfloat16)
    scalars, logits = folded.heads(noise, slot)
    assert scalars.dtype == torch.float32 and logits.dtype == torch.bfloat16
    for expected, got in zip(_module_heads(net, noise, slot), _folded_heads(folded, noise, slot), strict=True):
        torch.testing.assert_close(got, expected, rtol=0.05, atol=0.05)


def test_draw_samples_each_head_from_its_softmax_and_never_a_padding_slot() -> None:
    """Every row gets the same logits (a head of zeros and a chosen bias): the drawn slots' shares match softmax."""
    net = _trained_like((8,), 0)
    bias = torch.zeros(int(STARTS[-1]))
    bias[0], bias[5] = 0.3, -2.0  # the two scalar heads
    three = torch.tensor([0.0, np.log(3.0), np.log(6.0)])
    bias[1:4] = three  # the 3-way head, padded to 4: shares 0.1, 0.3, 0.6
    bias[16:19] = three  # the 4-way head: logits 0, 0, log 3, log 6
    bias[14] = 5.0  # the 2-way head (13, 14): shares 1 / (1 + e^5) and e^5 / (1 + e^5)
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.copy_(bias)
    values = FoldedGenerator(net, LAYOUT, NOISE, torch.float32).draw(
        torch.randn(60_000, NOISE), None, torch.Generator().manual_seed(0)
    )
    assert values.shape == (60_000, len(SPANS))
    torch.testing.assert_close(values[:, 0], torch.full((60_000,), np.tanh(0.3), dtype=torch.float32))
    torch.testing.assert_close(values[:, 3], torch.full((60_000,), np.tanh(-2.0), dtype=torch.float32))

    def shares(span: int) -> np.ndarray:
        return np.bincount(values[:, span].long().numpy(), minlength=SPANS[span].width) / len(values)

    np.testing.assert_allclose(shares(1), [0.1, 0.3, 0.6], atol=0.01)
    np.testing.assert_array_equal(shares(2), [1.0])
    np.testing.assert_allclose(shares(4), np.full(7, 1 / 7), atol=0.01)
    np.testing.assert_allclose(shares(5), [1 / (1 + np.exp(5)), 1 - 1 / (1 + np.exp(5))], atol=0.005)
    np.testing.assert_allclose(shares(6), [1 / 11, 1 / 11, 3 / 11, 6 / 11], atol=0.01)


def test_the_same_generator_seed_draws_the_same_values() -> None:
    folded = FoldedGenerator(_trained_like((8,), CONDITION), LAYOUT, NOISE, torch.float32)
    noise = torch.randn(500, NOISE)
    slot = torch.randint(CONDITION, (500,))
    first = folded.draw(noise, slot, torch.Generator().manual_seed(7))
    assert torch.equal(first, folded.draw(noise, slot, torch.Generator().manual_seed(7)))
    assert not torch.equal(first, folded.draw(noise, slot, torch.Generator().manual_seed(8)))
