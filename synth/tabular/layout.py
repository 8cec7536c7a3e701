"""Index tables over an encoded row, so output activations and the condition loss run as a few tensor ops.

CTGAN-style code loops over columns in Python: one softmax, one Gumbel draw and one cross-entropy per column, per
step. Here softmax spans of similar width (the same power of two) are gathered into one padded (rows, spans, width)
block, so a step costs a handful of kernels per width class, whatever the number of columns, and padding at most
doubles the work.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from synth.tabular.codecs import CriticView, NumericCodec
from synth.tabular.sampler import ConditionalSampler
from synth.tabular.transformer import TableTransformer

__all__ = ["OutputLayout"]

#: Warp scores at which a number's score in its whole distribution is tabulated for the critic (``values``): the
#: warp's range, in steps of about a tenth of a standard deviation.
CRITIC_GRID = np.linspace(-4.75, 4.75, 97)
_GRID_LOW, _GRID_STEP = float(CRITIC_GRID[0]), float(CRITIC_GRID[1] - CRITIC_GRID[0])
#: The scores are divided by 4, to the scale of the rest of an encoded row: read at full scale, their gradients
#: outweighed the rest of each number's and cost its column shape (plyr/baseball, ggplot2/diamonds: about 0.01).
VALUE_SCALE = 0.25
#: At most this many pairs of numbers are crossed for the critic (``with_products``): every pair of a table of up to
#: 23 numbers, and on a wider table the pairs nearest each other in table order first, so the critic's input grows
#: with this cap, not with the square of the table's width.
MAX_CROSSES = 256


class OutputLayout:
    """Where each output head sits in an encoded row, as device tensors.

    Args:
        spans: (start, width, activation) of every head in encoded order (its span number), activation "tanh"
            (width 1) or "softmax".
        condition_blocks: (start, width) of each column the condition vector covers, in the sampler's order.
        device: where the index tables live.
        columns: the column number of each span (default: every span a column of its own); it sets the stages
            heads are drawn in when they are drawn in sequence (``stages``).
        numeric_columns: (scalar position, first mode slot, ``CriticView``) of each numeric column the critic reads
            whole (``values``).
    """

    def __init__(
        self,
        spans: list[tuple[int, int, str]],
        condition_blocks: list[tuple[int, int]],
        device: torch.device,
        columns: list[int] | None = None,
        numeric_columns: list[tuple[int, int, CriticView]] | None = None,
    ) -> None:
        self.spans = spans
        self.width = sum(width for _, width, _ in spans)
        columns = list(range(len(spans))) if columns is None else columns
        self.stages, self.stage_of = _stages(spans, columns, device)
        drawn = torch.cat([stage.positions for stage in self.stages]) if self.stages else torch.zeros(0)
        self.drawn = drawn.long().to(device)  # encoded positions in stage order
        self.stage_widths = [len(stage.positions) for stage in self.stages]
        self.stage_inverse = torch.argsort(self.drawn)  # stage order back to encoded order
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
        self.gumbel_drawn = gumbel_source[self.drawn]  # the Gumbel column each one-hot position reads, in stage order
        self.condition_index, self.condition_valid = _padded(condition_blocks, device)
        self._number_tables(numeric_columns or [], device)

    def _number_tables(self, numbers: list[tuple[int, int, CriticView]], device: torch.device) -> None:
        """Tables of ``values``, from each numeric column's (scalar position, first mode slot, view): the positions
        to gather (scalars, the other modes' slots padded to the widest, spike slots), the spikes' scores and
        columns, and per-mode means, scales and score grids. Every table grows with the columns' modes, not with the
        encoded width times the columns."""
        m = len(numbers)
        rests = [np.flatnonzero(view.scales > 0) for *_, view in numbers]
        widest = max((len(rest) for rest in rests), default=0)
        rest_slots = np.zeros((m, widest), dtype=np.int64)
        means, scales, valid = (np.zeros((m, widest), dtype=np.float32) for _ in range(3))
        grids = np.zeros((m, len(CRITIC_GRID)), dtype=np.float32)
        spike_slots: list[int] = []
        spike_scores: list[float] = []
        spike_columns: list[int] = []
        for column, ((_, first, view), rest) in enumerate(zip(numbers, rests, strict=True)):
            rest_slots[column, : len(rest)] = first + rest
            means[column, : len(rest)], scales[column, : len(rest)] = view.means[rest], view.scales[rest]
            valid[column, : len(rest)] = 1.0
            grids[column] = VALUE_SCALE * view.grid_scores
            spikes = np.flatnonzero(view.scales == 0)
            spike_slots += (first + spikes).tolist()
            spike_scores += (VALUE_SCALE * view.spike_scores[spikes]).tolist()
            spike_columns += [column] * len(spikes)
        self.number_means = torch.as_tensor(means, device=device)
        self.number_scales = torch.as_tensor(scales, device=device)
        self.number_valid = torch.as_tensor(valid, device=device)
        self.number_grids = torch.as_tensor(grids, device=device).flatten()
        self.number_grid_starts = torch.arange(m, device=device).view(-1, 1) * len(CRITIC_GRID)
        self.number_spike_scores = torch.as_tensor(spike_scores, dtype=torch.float32, device=device)
        self.number_spike_columns = torch.as_tensor(spike_columns, dtype=torch.long, device=device)
        parts = [[n[0] for n in numbers], rest_slots.ravel().tolist(), spike_slots]
        self.number_parts = [len(part) for part in parts]  # scalars, other modes' slots, spike slots
        self.number_positions = torch.as_tensor(list(itertools.chain(*parts)), dtype=torch.long, device=device)
        pairs = torch.as_tensor(_nearest_pairs(m, MAX_CROSSES), dtype=torch.long, device=device)
        self.cross_pairs = pairs.view(-1, 2).t()  # (2, pairs): the first and the second of each

    @property
    def value_width(self) -> int:
        """Numbers ``values`` gives a row: one per numeric column with a critic view."""
        return len(self.number_means)

    @property
    def critic_width(self) -> int:
        """Figures ``with_products`` gives a row: ``values`` and one product per crossed pair of them."""
        return self.value_width + self.cross_pairs.shape[1]

    def with_products(self, values: Tensor) -> Tensor:
        """What the critic reads beside a row: its ``values``, then the product of each crossed pair of them
        (``cross_pairs``) at the same scale. How two numbers vary together (a diamond's depth against its sizes, hits
        against at-bats) is then a figure of its own, where a gradient-boosting detector splits on just such joint
        regions. Computed a batch at a time: a table's rows hold only their values."""
        left, right = self.cross_pairs
        return torch.cat([values, values[:, left] * values[:, right] / VALUE_SCALE], dim=1)

    def values(self, rows: Tensor) -> Tensor:
        """Each numeric column's value as its normal score in the column's distribution (``CriticView``) times
        ``VALUE_SCALE``, from encoded or generated rows (mode slots weight the modes' scores). A null row's number is
        read as its value slots hold it: in a training row, a value drawn from the row's other numbers
        (``synth.tabular.imputation``), so how two numbers vary together is read on every row. Float32 under mixed
        precision too.

        A critic reads a number whole here, where the encoded row splits it between a mode and a scalar, and a
        monotone link between two columns is a straight line: tight links (a diamond's carat and its sizes, hits and
        at-bats) are what a gradient-boosting detector splits on.
        """
        if not self.value_width:
            return rows.new_zeros(len(rows), 0)
        m, widest = self.number_means.shape
        with torch.autocast(rows.device.type, enabled=False):
            rows = rows.float()
            picked = rows.index_select(1, self.number_positions)  # one gather, one scatter-add backward
            scalars, weights, spikes = picked.split(self.number_parts, dim=1)
            scores = self.number_means + self.number_scales * scalars.unsqueeze(2)
            place = ((scores - _GRID_LOW) / _GRID_STEP).clamp(0, len(CRITIC_GRID) - 1.001)
            left = place.detach().floor()
            at = left.long() + self.number_grid_starts
            mapped = torch.lerp(self.number_grids[at], self.number_grids[at + 1], place - left)
            weights = weights.view(len(rows), m, widest) * self.number_valid
            spike_values = spikes * self.number_spike_scores
            return (weights * mapped).sum(dim=2).index_add(1, self.number_spike_columns, spike_values)

    @classmethod
    def of(cls, transformer: TableTransformer, device: torch.device) -> OutputLayout:
        """The layout of a fitted transformer's encoded rows."""
        spans: list[tuple[int, int, str]] = []
        columns: list[int] = []
        start = 0
        for column, codec in enumerate(transformer.encoders):
            for span in codec.spans:
                spans.append((start, span.width, span.activation))
                columns.append(column)
                start += span.width
        blocks = [(start, codec.width) for _, start, codec in transformer.discrete_columns()]
        numbers = []
        for start, codec in zip(transformer.offsets(), transformer.encoders, strict=True):
            if not isinstance(codec, NumericCodec):
                continue
            view = codec.critic_view(CRITIC_GRID)
            if view is not None:  # a number's spans: its scalar, its modes, then [present, null] when nullable
                numbers.append((start, start + 1, view))
        return cls(spans, blocks, device, columns, numbers)

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
        """``activate`` a stage at a time (``stages``): each stage's logits add ``memory @ read`` (its columns of
        ``read``), and its activated values then add ``values @ write`` (their rows) to the memory, which starts at
        zero. Returns the logits so completed and the activated row, both in encoded order.

        An independent Gumbel draw per head cannot keep two columns consistent (education and its number, a
        relationship and a sex); a head that reads the values already drawn can.
        """
        # Each tensor is put in stage order once and split: autograd then joins the stages' gradients with one cat,
        # where indexing it per stage cost a full-width scatter per stage (a fifth of a step on a 56-column table).
        widths = self.stage_widths
        raws = raw.index_select(1, self.drawn).split(widths, dim=1)
        gumbels = gumbel.index_select(1, self.gumbel_drawn).split(widths, dim=1)
        reads = read.index_select(1, self.drawn).split(widths, dim=1)
        writes = write.index_select(0, self.drawn).split(widths, dim=0)
        memory = raw.new_zeros(len(raw), write.shape[1])
        logits: list[Tensor] = []
        values: list[Tensor] = []
        for number, stage in enumerate(self.stages):
            head = torch.addmm(raws[number], memory, reads[number])
            if stage.scalar:
                value = torch.tanh(head)
            elif stage.heads == 1:
                value = F.softmax((head + gumbels[number]) / tau, dim=1)
            else:
                noisy = (head + gumbels[number]) / tau
                value = torch.cat([_block_softmax(noisy, block) for block in stage.blocks], dim=1)
            logits.append(head)
            values.append(value)
            if number < len(self.stages) - 1:
                memory = torch.addmm(memory, value, writes[number])
        in_order = self.stage_inverse
        return torch.cat(logits, dim=1).index_select(1, in_order), torch.cat(values, dim=1).index_select(1, in_order)

    def condition_loss(self, raw: Tensor, slot: Tensor | None, sampler: ConditionalSampler) -> Tensor:
        """Mean cross-entropy between each row's output for its conditioned column and the slot asked for."""
        if slot is None:
            return torch.zeros((), device=raw.device)
        column = sampler.column_of(slot)
        local = slot - sampler.column_first[column]
        logits = torch.gather(raw, 1, self.condition_index[column])
        logits = logits.masked_fill(~self.condition_valid[column], float("-inf"))
        return F.cross_entropy(logits, local)


def _block_softmax(logits: Tensor, block: HeadBlock) -> Tensor:
    """Softmax over each head of ``block``, from a stage's logits, as the block's slots in ``positions`` order."""
    padded = logits.index_select(1, block.padded).masked_fill(block.pad, float("-inf"))
    return F.softmax(padded.view(len(logits), len(block.spans), -1), dim=2).flatten(1).index_select(1, block.valid)


#: Columns are drawn in at most this many groups, each group's one-hot heads and then its numbers, so a sequential
#: draw takes at most twice as many steps however wide the table (a table of at most 16 columns: one per column).
MAX_GROUPS = 16


@dataclass(frozen=True, slots=True)
class HeadBlock:
    """A stage's one-hot heads of one width class (the same power of two), drawn as one padded (heads, widest) block.

    ``padded`` indexes the stage's ``positions`` row by row (padding reads 0), ``pad`` marks the padding slots (masked
    to -inf), ``valid`` picks the flattened block's unpadded slots back in ``positions`` order; ``spans`` are the heads'
    span numbers, ``starts`` their first encoded positions and ``last`` their widths minus one.
    """

    spans: Tensor
    padded: Tensor
    pad: Tensor
    valid: Tensor
    starts: Tensor
    last: Tensor


@dataclass(frozen=True, slots=True)
class Stage:
    """Heads drawn together: the scalar heads, or the one-hot heads, of one group of neighbouring columns.

    ``positions``: their encoded positions (a one-hot head's slots in order), ``block`` the same as a slice when they
    are contiguous (a group of one column); ``spans`` the heads' span numbers, ``first`` the first of them. One-hot
    heads are drawn a width class at a time (``blocks``, in ``positions`` order), so a two-slot null flag beside a
    64-slot category pads to two slots, not 64: padding at most doubles a stage's work.
    """

    scalar: bool
    positions: Tensor
    block: slice | None  # the same positions as a slice of the encoded row, when they are contiguous
    spans: Tensor
    first: int  # the first span's number
    heads: int
    blocks: tuple[HeadBlock, ...]


def _stages(
    spans: list[tuple[int, int, str]], columns: list[int], device: torch.device
) -> tuple[list[Stage], list[int]]:
    """The stages in draw order, and each span's stage. Columns go in table order, ``MAX_GROUPS`` groups at most;
    within a group the one-hot heads (a number's null flag and mode) come before the scalars, so a number's value is
    drawn knowing its mode and whether it is null. A group's one-hot heads go by width class, the classes in the order
    their first heads come (so a group of one column keeps its encoded order)."""
    count = max(columns, default=-1) + 1
    groups = min(count, MAX_GROUPS)
    keys = [(columns[n] * groups // count, kind == "tanh") for n, (_, _, kind) in enumerate(spans)]
    order = sorted(set(keys))
    stages = []
    for group, scalar in order:
        members = [n for n, key in enumerate(keys) if key == (group, scalar)]
        if scalar:
            classes = [members]
        else:
            by_class: dict[int, list[int]] = {}
            for n in members:
                by_class.setdefault(max(0, spans[n][1] - 1).bit_length(), []).append(n)
            classes = list(by_class.values())
            members = [n for heads in classes for n in heads]
        positions = [p for n in members for p in range(spans[n][0], spans[n][0] + spans[n][1])]
        blocks = () if scalar else _head_blocks(spans, classes, device)
        stages.append(
            Stage(
                scalar,
                torch.as_tensor(positions, dtype=torch.long, device=device),
                _contiguous(positions),
                torch.as_tensor(members, dtype=torch.long, device=device),
                members[0],
                0 if scalar else len(members),
                blocks,
            )
        )
    return stages, [order.index(key) for key in keys]


def _head_blocks(
    spans: list[tuple[int, int, str]], classes: list[list[int]], device: torch.device
) -> tuple[HeadBlock, ...]:
    """One ``HeadBlock`` per width class of a stage's one-hot heads, whose slots follow one another in that order."""
    blocks = []
    offset = 0  # where the class's first slot sits among the stage's positions
    for heads in classes:
        widths = [spans[n][1] for n in heads]
        widest = max(widths)
        padded: list[int] = []
        pad: list[bool] = []
        valid: list[int] = []
        for row, width in enumerate(widths):
            padded += [*range(offset, offset + width), *[0] * (widest - width)]
            pad += [False] * width + [True] * (widest - width)
            valid += range(row * widest, row * widest + width)
            offset += width
        blocks.append(
            HeadBlock(
                torch.as_tensor(heads, dtype=torch.long, device=device),
                torch.as_tensor(padded, dtype=torch.long, device=device),
                torch.as_tensor(pad, device=device),
                torch.as_tensor(valid, dtype=torch.long, device=device),
                torch.as_tensor([spans[n][0] for n in heads], dtype=torch.long, device=device),
                torch.as_tensor([width - 1 for width in widths], dtype=torch.long, device=device),
            )
        )
    return tuple(blocks)


def _contiguous(positions: list[int]) -> slice | None:
    """``positions`` as a slice, when they are one (a slice is a view; selecting by index copies)."""
    if positions != list(range(positions[0], positions[0] + len(positions))):
        return None
    return slice(positions[0], positions[0] + len(positions))


def _padded(blocks: list[tuple[int, int]], device: torch.device) -> tuple[Tensor, Tensor]:
    """(blocks, widest) positions of each block's slots and a validity mask; padding reads position 0 (then masked)."""
    widest = max((w for _, w in blocks), default=0)
    index = np.zeros((len(blocks), widest), dtype=np.int64)
    valid = np.zeros((len(blocks), widest), dtype=bool)
    for row, (start, w) in enumerate(blocks):
        index[row, :w] = np.arange(start, start + w)
        valid[row, :w] = True
    return torch.as_tensor(index, device=device), torch.as_tensor(valid, device=device)


def _nearest_pairs(count: int, limit: int) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, of ``count`` items in (i, j) order: all of them, or the ``limit`` nearest each other."""
    pairs: list[tuple[int, int]] = []
    for gap in range(1, count):
        if len(pairs) + count - gap > limit:
            pairs += [(first, first + gap) for first in range(limit - len(pairs))]
            break
        pairs += [(first, first + gap) for first in range(count - gap)]
    return sorted(pairs)
