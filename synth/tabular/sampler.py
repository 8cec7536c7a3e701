"""Training-by-sampling: conditional vectors and matching real rows, drawn as index arithmetic."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["ConditionalSampler"]


class ConditionalSampler:
    """Draws conditions and matching real rows for whole batches, with no Python loop over rows.

    A column is picked uniformly among the discrete columns, then one of its slots, then a real row holding that
    slot. In training a slot's probability is the mean of two shares: its log(1 + count) share, which keeps rare
    levels in the batches (CTGAN's training-by-sampling), and its count share, which keeps the batches close to the
    real rows' joint distribution, the one a detector judges. When generating it is ``generation_shares``, by default
    the count share (``count_shares``). All tables live on ``device``.

    Args:
        counts: real rows per global slot (slots of all discrete columns, concatenated).
        widths: number of slots of each discrete column.
        device: where the tables and the drawn indices live.
        generation_shares: each slot's share of its column's conditions when generating (each column's sum 1).
    """

    def __init__(
        self, counts: np.ndarray, widths: list[int], device: torch.device, generation_shares: np.ndarray | None = None
    ) -> None:
        self.n_columns = len(widths)
        self.width = int(sum(widths))
        self.widths = list(widths)
        self.device = device
        offsets = np.cumsum([0, *widths])[:-1].astype(np.int64)
        self.counts = torch.as_tensor(np.asarray(counts, dtype=np.int64), device=device)
        self.column_first = torch.as_tensor(offsets, device=device)
        self.column_last = torch.as_tensor(offsets + np.asarray(widths, dtype=np.int64) - 1, device=device)
        counts = np.asarray(counts, dtype=np.float64)
        log_shares, self.count_shares = (
            self._shares(weights, offsets, widths) for weights in (np.log1p(counts), counts)
        )
        self.training_cdf = self._shifted_cdf((log_shares + self.count_shares) / 2, offsets, widths)
        generating = self.count_shares if generation_shares is None else np.asarray(generation_shares, np.float64)
        self.generation_cdf = self._shifted_cdf(generating, offsets, widths)
        self.row_index = torch.zeros(0, dtype=torch.long, device=device)
        self.starts = torch.zeros(self.width, dtype=torch.long, device=device)

    @classmethod
    def from_rows(cls, slots: np.ndarray, widths: list[int], device: torch.device) -> ConditionalSampler:
        """A sampler that can also pick real rows: ``slots`` is (n_rows, n_discrete) local slot indices."""
        offsets = np.cumsum([0, *widths])[:-1].astype(np.int64)
        global_slots = slots.astype(np.int64) + offsets[None, :]
        counts = np.bincount(global_slots.ravel(), minlength=int(sum(widths)))
        sampler = cls(counts, widths, device)
        # Row numbers sorted by slot, column after column: slot g's rows are row_index[starts[g]:][:counts[g]].
        by_slot = [np.argsort(global_slots[:, j], kind="stable") for j in range(len(widths))]
        sampler.row_index = torch.as_tensor(np.concatenate(by_slot) if by_slot else np.zeros(0), device=device).long()
        sampler.starts = torch.as_tensor(np.concatenate([[0], np.cumsum(counts)[:-1]]), device=device).long()
        return sampler

    @staticmethod
    def _shares(weights: np.ndarray, offsets: np.ndarray, widths: list[int]) -> np.ndarray:
        """``weights`` divided by their column's sum."""
        shares = weights.copy()
        for lo, width in zip(offsets, widths, strict=True):
            shares[lo : lo + width] /= weights[lo : lo + width].sum()
        return shares

    def _shifted_cdf(self, shares: np.ndarray, offsets: np.ndarray, widths: list[int]) -> torch.Tensor:
        """Each column's CDF shifted by its column number, so one searchsorted on (column + u) picks a slot in it."""
        parts = [np.zeros(0)]
        for j, (lo, width) in enumerate(zip(offsets, widths, strict=True)):
            parts.append(j + np.cumsum(shares[lo : lo + width]))
        return torch.as_tensor(np.concatenate(parts), dtype=torch.float64, device=self.device)

    def _draw_slots(self, batch_size: int, cdf: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        column = torch.randint(self.n_columns, (batch_size,), generator=generator, device=self.device)
        u = torch.rand(batch_size, generator=generator, device=self.device, dtype=torch.float64)
        slot = torch.searchsorted(cdf, column + u * (1 - 1e-9), right=True)
        return torch.clamp(slot, self.column_first[column], self.column_last[column])

    def sample_training(self, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Global slots drawn by the training shares, and one real row holding each."""
        slot = self._draw_slots(batch_size, self.training_cdf, generator)
        pick = torch.rand(batch_size, generator=generator, device=self.device, dtype=torch.float64)
        within = torch.minimum((pick * self.counts[slot]).long(), self.counts[slot] - 1)
        return slot, self.row_index[self.starts[slot] + within]

    def sample_generation(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """Global slots drawn by the generation shares, for unconditional generation."""
        return self._draw_slots(batch_size, self.generation_cdf, generator)

    def one_hot(self, slot: torch.Tensor) -> torch.Tensor:
        """Condition vectors (batch, width) for global slots."""
        cond = torch.zeros(len(slot), self.width, device=self.device)
        cond[torch.arange(len(slot), device=self.device), slot] = 1.0
        return cond

    def column_of(self, slot: torch.Tensor) -> torch.Tensor:
        """The discrete column each global slot belongs to."""
        return torch.searchsorted(self.column_first, slot, right=True) - 1
