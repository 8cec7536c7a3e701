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
        spans: (start, width, activation) of every head in encoded order (its span number), activation "tanh"
            (width 1) or "softmax".
        condition_blocks: (start, width) of each column the condition vector covers, in the sampler's order.
        device: where the index tables live.
        columns: the column number of each span (default: every span a column of its own); it sets the order heads
            are drawn in when they are drawn one at a time (``draw_order``).
    """

    def __init__(
        self,
        spans: list[tuple[int, int, str]],
        condition_blocks: list[tuple[int, int]],
        device: torch.device,
        columns: list[int] | None = None,
    ) -> None:
        self.spans = spans
        self.width = sum(width for _, width, _ in spans)
        columns = list(range(len(spans))) if columns is None else columns
        # columns in table order; within a column its one-hot heads (null flag, mode) before its scalar, so a
        # number's value is drawn knowing its mode and whether it is null
        self.draw_order = sorted(range(len(spans)), key=lambda n: (columns[n], spans[n][2] == "tanh", n))
        self.scalars = torch.as_tensor(
            [start for start, width, kind in spans if kind == "tanh" for start in range(start, start + width)],
            dtype=torch.long,
            device=device,
        )
        self.scalar_spans = torch.as_tensor(
            [number for number, (_, _, kind) in enumerate(spans) if kind == "tanh"], dtype=torch.long, device=device
        )
        # Every one-hot head's slots, heads grouped by padded width (the next power of two); padding slots read
        # position 0 and are masked to -inf. The activation is assembled in this order, then gathered back.
        classes: dict[int, list[int]] = {}
        for number, (_, width, kind) in enumerate(spans):
            if kind == "softmax":
                classes.setdefault(1 << max(0, width - 1).bit_length(), []).append(number)
        slots: list[int] = []
        head_spans: list[int] = []
        self.buckets: list[tuple[int, int]] = []  # (heads, padded width)
        for padded_width, numbers in sorted(classes.items()):
            for number in numbers:
                start, width, _ = spans[number]
                slots += [*range(start, start + width), *[-1] * (padded_width - width)]
            self.buckets.append((len(numbers), padded_width))
            head_spans += numbers
        self.head_spans = torch.as_tensor(head_spans, dtype=torch.long, device=device)  # span number of each head
        self.head_last = torch.as_tensor([spans[n][1] - 1 for n in head_spans], dtype=torch.long, device=device)
        slot_index = torch.as_tensor(slots, dtype=torch.long, device=device)
        self.pad = slot_index < 0
        self.slots = slot_index.clamp(min=0)
        self.pad_logits = torch.zeros(len(slots), device=device).masked_fill(self.pad, float("-inf"))
        source = torch.empty(self.width, dtype=torch.long, device=device)
        source[self.scalars] = torch.arange(len(self.scalars), device=device)
        source[self.slots[~self.pad]] = len(self.scalars) + torch.arange(len(slots), device=device)[~self.pad]
        self.source = source  # where each encoded position sits in [scalars, padded slots]
        gumbel_source = torch.zeros(self.width, dtype=torch.long, device=device)  # scalars read slot 0, unused
        gumbel_source[self.slots[~self.pad]] = torch.arange(len(slots), device=device)[~self.pad]
        self.gumbel_source = gumbel_source  # the Gumbel column each one-hot position reads
        self.condition_index, self.condition_valid = _padded(condition_blocks, device)

    @classmethod
    def of(cls, transformer: TableTransformer, device: torch.device) -> OutputLayout:
        """The layout of a fitted transformer's encoded rows."""
        spans: list[tuple[int, int, str]] = []
        columns: list[int] = []
        start = 0
        for column, codec in enumerate(transformer.codecs_):
            for span in codec.spans:
                spans.append((start, span.width, span.activation))
                columns.append(column)
                start += span.width
        blocks = [(start, codec.width) for _, start, codec in transformer.discrete_columns()]
        return cls(spans, blocks, device, columns)

    @property
    def gumbel_width(self) -> int:
        """Gumbel values one row's activation reads: one per padded slot of the one-hot heads."""
        return len(self.slots)

    def activate(self, raw: Tensor, gumbel: Tensor, tau: float = 0.2) -> Tensor:
        """tanh on scalar heads, Gumbel-softmax (temperature ``tau``) on every one-hot head, in one pass.

        ``gumbel``: standard Gumbel noise, (rows, ``gumbel_width``). Gathers only (no scatter, no boolean mask): the
        padded logits are read, activated per width class, joined to the scalars and gathered back into encoded order.
        """
        logits = (raw.index_select(1, self.slots) + self.pad_logits + gumbel) / tau
        pieces, start = [torch.tanh(raw.index_select(1, self.scalars))], 0
        for heads, width in self.buckets:
            block = logits[:, start : start + heads * width].view(len(raw), heads, width)
            pieces.append(F.softmax(block, dim=2).flatten(1))
            start += heads * width
        return torch.cat(pieces, dim=1).index_select(1, self.source)

    def activate_in_order(
        self, raw: Tensor, gumbel: Tensor, write: Tensor, read: Tensor, tau: float = 0.2
    ) -> tuple[Tensor, Tensor]:
        """``activate`` one head at a time in ``draw_order``: each head's logits add ``memory @ read`` (its columns
        of ``read``), and its activated value then adds ``value @ write`` (its rows) to the memory, which starts at
        zero. Returns the logits so completed (encoded order) and the activated row.

        An independent Gumbel draw per head cannot keep two columns consistent (education and its number, a
        relationship and a sex); a head that reads the values already drawn can.
        """
        gumbel = gumbel.index_select(1, self.gumbel_source)
        memory = raw.new_zeros(len(raw), write.shape[1])
        logits: list[Tensor] = [raw[:, :0]] * len(self.spans)
        drawn: list[Tensor] = [raw[:, :0]] * len(self.spans)
        for number in self.draw_order:
            start, width, kind = self.spans[number]
            head = torch.addmm(raw[:, start : start + width], memory, read[:, start : start + width])
            if kind == "tanh":
                value = torch.tanh(head)
            else:
                value = F.softmax((head + gumbel[:, start : start + width]) / tau, dim=1)
            logits[number], drawn[number] = head, value
            memory = torch.addmm(memory, value, write[start : start + width])
        return torch.cat(logits, dim=1), torch.cat(drawn, dim=1)

    def condition_loss(self, raw: Tensor, slot: Tensor | None, sampler: ConditionalSampler) -> Tensor:
        """Mean cross-entropy between each row's output for its conditioned column and the slot asked for."""
        if slot is None:
            return torch.zeros((), device=raw.device)
        column = sampler.column_of(slot)
        local = slot - sampler.column_first[column]
        logits = torch.gather(raw, 1, self.condition_index[column])
        logits = logits.masked_fill(~self.condition_valid[column], float("-inf"))
        return F.cross_entropy(logits, local)


def _padded(blocks: list[tuple[int, int]], device: torch.device) -> tuple[Tensor, Tensor]:
    """(blocks, widest) positions of each block's slots and a validity mask; padding reads position 0 (then masked)."""
    widest = max((w for _, w in blocks), default=0)
    index = np.zeros((len(blocks), widest), dtype=np.int64)
    valid = np.zeros((len(blocks), widest), dtype=bool)
    for row, (start, w) in enumerate(blocks):
        index[row, :w] = np.arange(start, start + w)
        valid[row, :w] = True
    return torch.as_tensor(index, device=device), torch.as_tensor(valid, device=device)
