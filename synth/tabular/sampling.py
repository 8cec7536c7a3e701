"""Generation at speed: the trained generator folded into plain matrix products, and one draw per output head.

Training needs the generator's modules; sampling needs none of their structure. In eval mode a batch norm is an
affine map, so it folds into the linear layer before it. A residual block concatenates its output to its input, so
every later layer reads each earlier block's output through its own slice of weights: those slices are stacked per
source and no concatenation is built. A one-hot condition multiplies one row of weights, so that row is looked up.
The one-hot heads' logits come out already padded per width class (padding logits are -inf), so a head's draw is one
softmax, a cumulative sum and one uniform number (inverse CDF), where a Gumbel draw needs a random number per slot. A
sequential generator draws a stage at a time from rows in encoded order, so its logits come out in that order, with
no padding slots to compute and none to strip.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from synth.tabular.layout import OutputLayout
from synth.tabular.networks import Residual, TabularGenerator

__all__ = ["FoldedGenerator"]


class FoldedGenerator:
    """An eval-mode TabularGenerator as sampling runs it: rows of span values instead of raw encoded rows.

    A row's span values are, per output head in encoded order, tanh of a scalar head and the slot drawn from a
    one-hot head's softmax (what the codecs decode). The draw follows the generator's softmax exactly; the logits
    equal the module's up to rounding.

    Args:
        net: the trained generator (its weights are copied, folded).
        layout: where its output heads sit; the one-hot logits come out in its padded order.
        noise_dim: width of the noise part of the generator's input; the rest is the one-hot condition.
        dtype: of the hidden layers' and the one-hot logits' matrix products (bfloat16 under mixed precision); the
            scalar heads are always computed in float32, whose values bfloat16 would round to about 3 digits.
    """

    def __init__(self, net: TabularGenerator, layout: OutputLayout, noise_dim: int, dtype: torch.dtype) -> None:
        self.layout, self.dtype = layout, dtype
        with torch.no_grad():
            self.memory = None if net.write is None or net.read is None else (net.write.float(), net.read.float())
            self._fold(net, noise_dim)

    def _fold(self, net: TabularGenerator, noise_dim: int) -> None:
        blocks = [_folded_block(block) for block in net.blocks if isinstance(block, Residual)]
        self.hidden = [weight.shape[0] for weight, _ in blocks]
        head_weight, head_bias = net.head.weight, net.head.bias
        if self.memory is None:  # the head's rows in the layout's padded slot order: padding reads zeros, logit -inf
            slot_rows = torch.where(self.layout.pad, net.head.out_features, self.layout.slots)
            slot_weight = torch.cat([head_weight, head_weight.new_zeros(1, net.head.in_features)])[slot_rows]
            slot_bias = torch.cat([head_bias, head_bias.new_full((1,), float("-inf"))])[slot_rows]
        else:  # a sequential draw reads every position in encoded order (the scalars' are overwritten by the scalars)
            slot_weight, slot_bias = head_weight, head_bias
        scalar_rows = self.layout.scalars
        readers = [*(weight for weight, _ in blocks), slot_weight]
        last = len(blocks)
        # source 0 is the network's input, source s > 0 the output of block s (read by layers s..last)
        self.slot_weights = [
            torch.cat([_reads(readers[i], self.hidden, i, s) for i in range(s, last + 1)]).to(self.dtype)
            for s in range(last + 1)
        ]
        self.scalar_weights = [_reads(head_weight[scalar_rows], self.hidden, last, s) for s in range(last + 1)]
        # one row per condition slot, the bias included (a single row when the generator takes no condition)
        bias = torch.cat([*(b for _, b in blocks), slot_bias])
        self.noise_weight = self.slot_weights[0][:, :noise_dim].contiguous()
        self.condition_rows = _condition_rows(self.slot_weights[0][:, noise_dim:].float(), bias).to(self.dtype)
        self.scalar_noise_weight = self.scalar_weights[0][:, :noise_dim].contiguous()
        self.scalar_condition_rows = _condition_rows(self.scalar_weights[0][:, noise_dim:], head_bias[scalar_rows])

    def heads(self, noise: Tensor, slot: Tensor | None) -> tuple[Tensor, Tensor]:
        """The scalar heads before tanh (float32), and the one-hot heads' logits: in the layout's padded order, or for
        a sequential generator every encoded position's in encoded order.

        ``slot``: each row's condition slot, or None when the generator takes no condition.
        """
        rows = self.condition_rows.index_select(0, slot) if slot is not None else self.condition_rows
        scalar_rows = (
            self.scalar_condition_rows.index_select(0, slot) if slot is not None else self.scalar_condition_rows
        )
        z = torch.addmm(rows, noise.to(self.dtype), self.noise_weight.t())
        scalars = torch.addmm(scalar_rows, noise, self.scalar_noise_weight.t())
        for source, width in enumerate(self.hidden, start=1):
            out = F.relu(z[:, :width])
            z = torch.addmm(z[:, width:], out, self.slot_weights[source].t())
            scalars = torch.addmm(scalars, out.float(), self.scalar_weights[source].t())
        return scalars, z

    def draw(self, noise: Tensor, slot: Tensor | None, generator: torch.Generator | None) -> Tensor:
        """Span values (rows, spans): tanh of each scalar head, a slot drawn from each one-hot head's softmax."""
        scalars, logits = self.heads(noise, slot)
        if self.memory is not None:
            return self._draw_in_order(scalars, logits, generator)
        layout = self.layout
        values = torch.empty(len(noise), len(layout.scalar_spans) + len(layout.head_spans), device=noise.device)
        values[:, layout.scalar_spans] = torch.tanh(scalars)
        drawn, start = [], 0
        for heads, width in layout.buckets:
            block = logits[:, start : start + heads * width].reshape(len(noise), heads, width)
            cdf = torch.softmax(block, dim=2, dtype=torch.float32).cumsum_(dim=2)
            u = torch.rand(len(noise), heads, 1, generator=generator, device=noise.device)
            drawn.append(torch.searchsorted(cdf, u).squeeze(2))  # the first slot whose cumulative share reaches u
            start += heads * width
        if drawn:  # rounding can leave a head's last cumulative share just under u: that draw is its last slot
            values[:, layout.head_spans] = torch.minimum(torch.cat(drawn, dim=1), layout.head_last).float()
        return values

    def _draw_in_order(self, scalars: Tensor, logits: Tensor, generator: torch.Generator | None) -> Tensor:
        """``draw`` for a sequential generator: a stage at a time (``layout.stages``), each adding its read of the
        memory to its logits, then writing what it drew into the memory (a drawn slot's row of ``write``, or a
        scalar's value times its row)."""
        layout = self.layout
        assert self.memory is not None
        write, read = self.memory
        rows = len(scalars)
        raw = logits.float().index_copy_(1, layout.scalars, scalars)
        memory = raw.new_zeros(rows, write.shape[1])
        values = torch.empty(rows, len(layout.spans), device=scalars.device)
        u = torch.rand(len(layout.spans), rows, 1, generator=generator, device=scalars.device)
        for stage in layout.stages:
            at = stage.positions if stage.block is None else stage.block
            head = torch.addmm(raw[:, at], memory, read[:, at])
            if stage.scalar:
                value = torch.tanh(head)
                memory.addmm_(value, write[at])
                values[:, stage.spans] = value
            elif isinstance(at, slice) and stage.heads == 1:  # one head: as the all-at-once draw does it
                cdf = torch.softmax(head, dim=1).cumsum_(dim=1)
                drawn = torch.searchsorted(cdf, u[stage.first]).squeeze(1).clamp_(max=at.stop - at.start - 1)
                memory += write.index_select(0, drawn + at.start)
                values[:, stage.first] = drawn.float()
            else:  # a width class at a time; every class reads the memory as it was before the stage
                for block in stage.blocks:
                    padded = head.index_select(1, block.padded).masked_fill_(block.pad, float("-inf"))
                    cdf = torch.softmax(padded.view(rows, len(block.spans), -1), dim=2).cumsum_(dim=2)
                    drawn = torch.searchsorted(cdf, u[block.spans].transpose(0, 1).contiguous()).squeeze(2)
                    drawn = torch.minimum(drawn, block.last)  # rounding can leave the last share just under u
                    memory += F.embedding_bag(block.starts + drawn, write, mode="sum")
                    values[:, block.spans] = drawn.float()
        return values


def _folded_block(block: Residual) -> tuple[Tensor, Tensor]:
    """The block's linear layer with its eval-mode batch norm folded in: (weight, bias)."""
    norm = block.norm
    assert norm.running_mean is not None and norm.running_var is not None
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    return block.linear.weight * scale[:, None], (block.linear.bias - norm.running_mean) * scale + norm.bias


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
