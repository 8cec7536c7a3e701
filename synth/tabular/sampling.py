"""Generation at speed: the trained generator folded into plain matrix products, and one draw per output head.

Training needs the generator's modules; sampling needs none of their structure. In eval mode a batch norm is an
affine map, so it folds into the linear layer before it. A residual block concatenates its output to its input, so
every later layer reads each earlier block's output through its own slice of weights: those slices are stacked per
source and no concatenation is built. A one-hot condition multiplies one row of weights, so that row is looked up.
The one-hot heads' logits come out already padded per width class (padding logits are -inf), so a head's draw is one
softmax, a cumulative sum and one uniform number (inverse CDF), where a Gumbel draw needs a random number per slot.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from synth.tabular.codecs import Span
from synth.tabular.networks import Residual, TabularGenerator

__all__ = ["FoldedGenerator"]


class FoldedGenerator:
    """An eval-mode TabularGenerator as sampling runs it: rows of span values instead of raw encoded rows.

    A row's span values are, per output head in encoded order, tanh of a scalar head and the slot drawn from a
    one-hot head's softmax (what the codecs decode). The draw follows the generator's softmax exactly; the logits
    equal the module's up to rounding.

    Args:
        net: the trained generator (its weights are copied, folded).
        spans: the output heads, in encoded order.
        noise_dim: width of the noise part of the generator's input; the rest is the one-hot condition.
        dtype: of the hidden layers' and the one-hot logits' matrix products (bfloat16 under mixed precision); the
            scalar heads are always computed in float32, whose values bfloat16 would round to about 3 digits.
    """

    def __init__(self, net: TabularGenerator, spans: list[Span], noise_dim: int, dtype: torch.dtype) -> None:
        with torch.no_grad():
            self._fold(net, spans, noise_dim, dtype)

    def _fold(self, net: TabularGenerator, spans: list[Span], noise_dim: int, dtype: torch.dtype) -> None:
        blocks = [_folded_block(block) for block in net.blocks if isinstance(block, Residual)]
        self.hidden = [weight.shape[0] for weight, _ in blocks]
        self.dtype, self.n_spans = dtype, len(spans)
        starts = np.cumsum([0, *(span.width for span in spans)])
        scalar_spans = [i for i, span in enumerate(spans) if span.activation == "tanh"]
        device = net.head.weight.device
        self.scalar_spans = torch.as_tensor(scalar_spans, dtype=torch.long, device=device)
        # The one-hot heads' rows, padded and grouped by width class; row `pad` is a padding row (logit -inf).
        pad = net.head.out_features
        head_weight = torch.cat([net.head.weight, net.head.weight.new_zeros(1, net.head.in_features)])
        head_bias = torch.cat([net.head.bias, net.head.bias.new_full((1,), float("-inf"))])
        choice_rows: list[int] = []
        self.buckets: list[tuple[int, int, Tensor, Tensor]] = []  # (heads, padded width, span numbers, last slots)
        for width, members in sorted(_width_classes(spans).items()):
            for i in members:
                choice_rows += [*range(starts[i], starts[i + 1]), *[pad] * (width - spans[i].width)]
            last = [spans[i].width - 1 for i in members]
            self.buckets.append(
                (len(members), width, torch.as_tensor(members, device=device), torch.as_tensor(last, device=device))
            )
        scalar_rows = [int(starts[i]) for i in scalar_spans]
        readers = [*(weight for weight, _ in blocks), head_weight[choice_rows]]
        last_layer = len(blocks)
        # source 0 is the network's input, source s > 0 the output of block s (readers: layers s..last_layer)
        self.choice_weights = [
            torch.cat([_reads(readers[i], self.hidden, i, s) for i in range(s, last_layer + 1)]).to(dtype)
            for s in range(last_layer + 1)
        ]
        self.scalar_weights = [
            _reads(head_weight[scalar_rows], self.hidden, last_layer, s) for s in range(last_layer + 1)
        ]
        # one row per condition slot, the bias included (a single row when the generator takes no condition)
        bias = torch.cat([*(b for _, b in blocks), head_bias[choice_rows]])
        self.noise_weight = self.choice_weights[0][:, :noise_dim].contiguous()
        self.condition_rows = _condition_rows(self.choice_weights[0][:, noise_dim:].float(), bias).to(dtype)
        self.scalar_noise_weight = self.scalar_weights[0][:, :noise_dim].contiguous()
        self.scalar_condition_rows = _condition_rows(self.scalar_weights[0][:, noise_dim:], head_bias[scalar_rows])

    def heads(self, noise: Tensor, slot: Tensor | None) -> tuple[Tensor, Tensor]:
        """The scalar heads before tanh (float32), and the one-hot heads' logits, padded and grouped by width class.

        ``slot``: each row's condition slot, or None when the generator takes no condition.
        """
        rows = self.condition_rows[slot] if slot is not None else self.condition_rows
        scalar_rows = self.scalar_condition_rows[slot] if slot is not None else self.scalar_condition_rows
        z = torch.addmm(rows, noise.to(self.dtype), self.noise_weight.t())
        scalars = torch.addmm(scalar_rows, noise, self.scalar_noise_weight.t())
        for source, width in enumerate(self.hidden, start=1):
            out = F.relu(z[:, :width])
            z = torch.addmm(z[:, width:], out, self.choice_weights[source].t())
            scalars = torch.addmm(scalars, out.float(), self.scalar_weights[source].t())
        return scalars, z

    def draw(self, noise: Tensor, slot: Tensor | None, generator: torch.Generator | None) -> Tensor:
        """Span values (rows, spans): tanh of each scalar head, a slot drawn from each one-hot head's softmax."""
        scalars, logits = self.heads(noise, slot)
        values = torch.empty(len(noise), self.n_spans, device=noise.device)
        values[:, self.scalar_spans] = torch.tanh(scalars)
        start = 0
        for heads, width, members, last in self.buckets:
            block = logits[:, start : start + heads * width].reshape(len(noise), heads, width)
            cdf = torch.softmax(block, dim=2, dtype=torch.float32).cumsum_(dim=2)
            u = torch.rand(len(noise), heads, 1, generator=generator, device=noise.device)
            slots = torch.searchsorted(cdf, u).squeeze(2)  # the first slot whose cumulative share reaches u
            values[:, members] = torch.minimum(slots, last).float()  # rounding can leave the last share just under u
            start += heads * width
        return values


def _folded_block(block: Residual) -> tuple[Tensor, Tensor]:
    """The block's linear layer with its eval-mode batch norm folded in: (weight, bias)."""
    norm = block.norm
    assert norm.running_mean is not None and norm.running_var is not None
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    return block.linear.weight * scale[:, None], (block.linear.bias - norm.running_mean) * scale + norm.bias


def _width_classes(spans: list[Span]) -> dict[int, list[int]]:
    """Span numbers of the one-hot heads by padded width (the next power of two)."""
    classes: dict[int, list[int]] = {}
    for i, span in enumerate(spans):
        if span.activation == "softmax":
            classes.setdefault(1 << max(0, span.width - 1).bit_length(), []).append(i)
    return classes


def _reads(weight: Tensor, hidden: list[int], layer: int, source: int) -> Tensor:
    """The columns of ``layer``'s weight that read ``source`` (0: the network input, s > 0: block s's output).

    Layer i reads [output of block i, ..., output of block 1, network input], so the outputs of blocks
    source+1..i come before the source's.
    """
    before = sum(hidden[source:layer])
    width = hidden[source - 1] if source else weight.shape[1] - sum(hidden[:layer])
    return weight[:, before : before + width]


def _condition_rows(weight: Tensor, bias: Tensor) -> Tensor:
    """(slots, outputs): what each one-hot condition slot adds, bias included; one bias row without a condition."""
    return (weight.t() + bias).contiguous() if weight.shape[1] else bias[None].contiguous()
