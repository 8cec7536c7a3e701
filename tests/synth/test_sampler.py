"""Training-by-sampling's draws: which levels training sees, and that each real row drawn holds its level."""

from __future__ import annotations

import numpy as np
import torch

from synth.tabular.sampler import ConditionalSampler

WIDTHS = [3, 2]  # a column of three levels held by 900, 90 and 10 rows, then a balanced one
LEVELS = np.stack([np.repeat([0, 1, 2], [900, 90, 10]), np.tile([0, 1], 500)], axis=1)
COUNTS = np.array([900, 90, 10, 500, 500])


def _shares(slots: torch.Tensor) -> np.ndarray:
    return np.bincount(slots.numpy(), minlength=len(COUNTS)) / len(slots)


def test_training_draws_mix_the_log_and_the_count_shares_and_each_row_holds_its_level() -> None:
    sampler = ConditionalSampler.from_rows(LEVELS, WIDTHS, torch.device("cpu"))
    slots, rows = sampler.sample_training(200_000, torch.Generator().manual_seed(0))
    logs = np.log1p(COUNTS[:3]) / np.log1p(COUNTS[:3]).sum()
    expected = np.concatenate([(logs + COUNTS[:3] / 1000) / 2, [0.5, 0.5]]) / 2  # each column gets half the draws
    np.testing.assert_allclose(_shares(slots), expected, atol=0.005)
    assert _shares(slots)[2] > 5 * COUNTS[2] / 1000 / 2  # the rare level is drawn far beyond its count share
    column = sampler.column_of(slots)
    assert (LEVELS[rows.numpy(), column.numpy()] == (slots - sampler.column_first[column]).numpy()).all()


def test_generation_draws_follow_the_counts() -> None:
    sampler = ConditionalSampler(COUNTS, WIDTHS, torch.device("cpu"))
    slots = sampler.sample_generation(200_000, torch.Generator().manual_seed(0))
    np.testing.assert_allclose(_shares(slots), np.concatenate([COUNTS[:3] / 1000, [0.5, 0.5]]) / 2, atol=0.005)
