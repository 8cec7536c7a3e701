"""Index tables over an encoded row, so output activations and the condition loss run as a few tensor ops.

CTGAN-style code loops over columns in Python: one softmax, one Gumbel draw and one cross-entropy per column, per
step. Here softmax spans of similar width (the same power of two) are gathered into one padded (rows, spans, width)
block, so a step costs a handful of kernels per width class, whatever the number of columns, and padding at most
doubles the work.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from synth.tabular.sampler import ConditionalSampler
from synth.tabular.transformer import TableTransformer

__all__ = ["OutputLayout"]


class OutputLayout:
    """Where each output head sits in an encoded row, as device tensors.

    Args:
        spans: (start, width, activation) of every head, activation "tanh" (width 1) or "softmax".
        condition_blocks: (start, width) of each column the condition vector covers, in the sampler's order.
        device: where the index tables live.
    """

    def __init__(
        self, spans: list[tuple[int, int, str]], condition_blocks: list[tuple[int, int]], device: torch.device
    ) -> None:
        self.width = sum(width for _, width, _ in spans)
        self.scalars = torch.as_tensor(
            [start for start, width, kind in spans if kind == "tanh" for start in range(start, start + width)],
            dtype=torch.long,
            device=device,
        )
        self.choices = torch.as_tensor(
            [i for start, width, kind in spans if kind == "softmax" for i in range(start, start + width)],
            dtype=torch.long,
            device=device,
        )
        buckets: dict[int, list[tuple[int, int]]] = {}
        for start, width, kind in spans:
            if kind == "softmax":
                buckets.setdefault(1 << max(0, width - 1).bit_length(), []).append((start, width))
        self.buckets = []
        for _, groups in sorted(buckets.items()):
            index, valid = _padded(groups, self.width, device)
            self.buckets.append((index, valid, index[valid]))
        self.condition_index, self.condition_valid = _padded(condition_blocks, self.width, device)

    @classmethod
    def of(cls, transformer: TableTransformer, device: torch.device) -> OutputLayout:
        """The layout of a fitted transformer's encoded rows."""
        spans: list[tuple[int, int, str]] = []
        start = 0
        for span in transformer.spans:
            spans.append((start, span.width, span.activation))
            start += span.width
        blocks = [(start, codec.width) for _, start, codec in transformer.discrete_columns()]
        return cls(spans, blocks, device)

    def activate(self, raw: Tensor, *, generator: torch.Generator | None, tau: float = 0.2) -> Tensor:
        """tanh on scalar heads, Gumbel-softmax (temperature ``tau``) on every one-hot head, in one pass."""
        out = torch.empty_like(raw)
        out[:, self.scalars] = torch.tanh(raw[:, self.scalars])
        padded = torch.cat([raw, raw.new_zeros(len(raw), 1)], dim=1)
        for index, valid, positions in self.buckets:
            logits = padded.index_select(1, index.flatten()).view(len(raw), *index.shape)
            u = torch.rand(logits.shape, generator=generator, device=raw.device).clamp_(1e-10, 1 - 1e-10)
            gumbel = logits.masked_fill(~valid, float("-inf")) - torch.log(-torch.log(u))
            soft = F.softmax(gumbel / tau, dim=2)
            out[:, positions] = soft[:, valid]
        return out

    def condition_loss(self, raw: Tensor, slot: Tensor | None, sampler: ConditionalSampler) -> Tensor:
        """Mean cross-entropy between each row's output for its conditioned column and the slot asked for."""
        if slot is None:
            return torch.zeros((), device=raw.device)
        column = sampler.column_of(slot)
        local = slot - sampler.column_first[column]
        padded = torch.cat([raw, raw.new_zeros(len(raw), 1)], dim=1)
        logits = torch.gather(padded, 1, self.condition_index[column])
        logits = logits.masked_fill(~self.condition_valid[column], float("-inf"))
        return F.cross_entropy(logits, local)


def _padded(blocks: list[tuple[int, int]], width: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """(blocks, widest) positions of each block's slots, padded with ``width`` (a zero column), and a validity mask."""
    widest = max((w for _, w in blocks), default=0)
    index = np.full((len(blocks), widest), width, dtype=np.int64)
    for row, (start, w) in enumerate(blocks):
        index[row, :w] = np.arange(start, start + w)
    return torch.as_tensor(index, device=device), torch.as_tensor(index < width, device=device)
