"""Training noise read from tables drawn once per fit, so a training step spends no time making random numbers.

A CPU generator makes its numbers one at a time on one thread (mt19937): on Adult the Gumbel draws of the output
heads and the generator's normal noise took about 8 % of a training step at CTGAN's widths. Evolution strategies
met the same cost with a shared noise table read at random offsets (Salimans et al. 2017, "Evolution Strategies as
a Scalable Alternative to Reinforcement Learning"); training does the same here. Within a batch every value is a
distinct draw. Two batches share values only when their windows overlap (with 16 windows to a table, about one
pair in eight), and then at shifted positions: other rows, other slots. Generated rows never read a table:
sampling draws fresh noise.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

__all__ = ["TrainingNoise"]


class TrainingNoise:
    """The generator's normal input noise and its one-hot heads' Gumbel noise for each fake batch of a fit.

    Each table holds 16 windows of ``rows`` x its width (at least 2**20 values; at most 2**24 unless four windows
    need more), so its memory is bounded by the size of one batch's activations.
    Call ``plan`` before an epoch's batches: it draws their window offsets at once from the training stream, so on
    a GPU an epoch pays one host sync for them, not one a batch, and a resumed run reads the same windows.
    """

    def __init__(
        self, rows: int, noise_dim: int, gumbel_width: int, generator: torch.Generator, device: torch.device
    ) -> None:
        self.rows, self.noise_dim, self.gumbel_width = rows, noise_dim, gumbel_width
        self.normal = torch.randn(_length(rows * noise_dim), generator=generator, device=device)
        uniform = torch.rand(_length(rows * gumbel_width), generator=generator, device=device)
        self.gumbel = uniform.clamp_(1e-10, 1 - 1e-10).log_().neg_().log_().neg_()
        self._offsets: Iterator[tuple[int, int]] = iter(())

    def plan(self, batches: int, generator: torch.Generator) -> None:
        """Draw the window offsets of the next ``batches`` fake batches."""
        device = self.normal.device
        normal = torch.randint(
            len(self.normal) - self.rows * self.noise_dim + 1, (batches,), generator=generator, device=device
        )
        gumbel = torch.randint(
            len(self.gumbel) - self.rows * self.gumbel_width + 1, (batches,), generator=generator, device=device
        )
        self._offsets = iter(map(tuple, torch.stack([normal, gumbel], dim=1).tolist()))

    def next(self) -> tuple[Tensor, Tensor]:
        """A batch's (rows, noise_dim) normal noise and (rows, gumbel_width) Gumbel noise: views of the tables."""
        planned = next(self._offsets, None)
        if planned is None:
            raise RuntimeError("TrainingNoise.next() was called for more batches than plan() drew offsets for")
        normal, gumbel = planned
        return (
            self.normal[normal : normal + self.rows * self.noise_dim].view(self.rows, self.noise_dim),
            self.gumbel[gumbel : gumbel + self.rows * self.gumbel_width].view(self.rows, self.gumbel_width),
        )


def _length(window: int) -> int:
    return max(min(16 * window, 2**24), 4 * window, 2**20)
