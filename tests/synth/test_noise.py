"""Training noise tables: the right distributions, windows that move from batch to batch, the same windows from
the same seed, bounded memory, and a clear error when more batches are read than were planned."""

from __future__ import annotations

import math

import pytest
import torch

from synth.tabular.noise import TrainingNoise, _length


def _noise(rows: int = 100, noise_dim: int = 8, gumbel_width: int = 12, seed: int = 0) -> TrainingNoise:
    return TrainingNoise(rows, noise_dim, gumbel_width, torch.Generator().manual_seed(seed), torch.device("cpu"))


def test_tables_hold_standard_normal_and_standard_gumbel_values() -> None:
    noise = _noise()
    assert len(noise.normal) == len(noise.gumbel) == 2**20  # the floor: 16 windows are fewer values
    assert abs(noise.normal.mean().item()) < 0.01
    assert noise.normal.var().item() == pytest.approx(1.0, abs=0.01)
    euler_gamma = 0.5772156649
    assert noise.gumbel.mean().item() == pytest.approx(euler_gamma, abs=0.01)
    assert noise.gumbel.var().item() == pytest.approx(math.pi**2 / 6, abs=0.02)


def test_each_batch_reads_a_window_of_its_shape_at_a_new_offset() -> None:
    noise = _noise()
    generator = torch.Generator().manual_seed(1)
    noise.plan(3, generator)
    batches = [noise.next() for _ in range(3)]
    for normal, gumbel in batches:
        assert normal.shape == (100, 8) and gumbel.shape == (100, 12)
        assert normal.untyped_storage().data_ptr() == noise.normal.untyped_storage().data_ptr()  # a view, no copy
    assert not torch.equal(batches[0][0], batches[1][0])
    assert not torch.equal(batches[1][1], batches[2][1])


def test_the_same_seed_reads_the_same_windows() -> None:
    def windows(seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        noise = _noise(seed=seed)
        noise.plan(4, torch.Generator().manual_seed(seed))
        return [noise.next() for _ in range(4)]

    same = zip(windows(0), windows(0), strict=True)
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in same)
    assert not torch.equal(windows(0)[0][0], windows(1)[0][0])


def test_reading_more_batches_than_planned_is_an_error() -> None:
    noise = _noise()
    noise.plan(1, torch.Generator().manual_seed(0))
    noise.next()
    with pytest.raises(RuntimeError, match="more batches than plan"):
        noise.next()


def test_table_memory_is_bounded_by_a_few_batches() -> None:
    assert len(_noise(1000, 64, 300).gumbel) == 16 * 1000 * 300  # Adult's one-hot slots: 16 windows
    assert _length(1000 * 2_000) == 2**24  # wider rows: the cap, 8 windows
    assert _length(1000 * 20_000) == 4 * 1000 * 20_000  # never fewer than 4 windows (not 16: 320 million values)
