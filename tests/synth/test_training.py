"""The training step's gradient penalty (a quarter of the batch, whole packs, WGAN-GP's value), and the deadline."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from synth.tabular.layout import OutputLayout
from synth.tabular.networks import PacDiscriminator, TabularGenerator
from synth.tabular.sampler import ConditionalSampler
from synth.tabular.training import TrainingPlan, _Step, train_gan


def _step(batch_size: int, pac: int) -> tuple[_Step, list[int]]:
    """A step over 3-wide rows (one scalar, one 2-slot column) whose critic is linear and records its batch sizes."""
    generator = torch.Generator().manual_seed(0)
    layout = OutputLayout([(0, 1, "tanh"), (1, 2, "softmax")], [(1, 2)], torch.device("cpu"))
    slots = np.array([[0], [1], [1], [0]])
    sampler = ConditionalSampler.from_rows(slots, [2], torch.device("cpu"))
    plan = TrainingPlan(1, batch_size, 4, (8,), (), pac, 1e-3, 1)
    critic = PacDiscriminator(3 + 2, (), pac, generator=generator)  # no hidden layer: the critic is w.x + b
    seen: list[int] = []
    critic.register_forward_pre_hook(lambda _, args: seen.append(len(args[0])))
    net = TabularGenerator(4, 2, (8,), 3, generator=generator)
    data = torch.rand(4, 3, generator=generator)
    return _Step(data, layout, sampler, plan, generator, net, critic), seen


@pytest.mark.parametrize(("batch_size", "pac", "rows"), [(1000, 1, 250), (1000, 10, 250), (100, 10, 20), (10, 5, 5)])
def test_penalty_reads_a_quarter_of_the_batch_in_whole_packs(batch_size: int, pac: int, rows: int) -> None:
    step, seen = _step(batch_size, pac)
    real, fake = torch.rand(2, batch_size, 5, generator=torch.Generator().manual_seed(1))
    penalty = step._gradient_penalty(real, fake)
    assert seen == [rows]
    # a linear critic's gradient is its weight at every point: WGAN-GP's penalty is (|w| - 1)^2 on any rows
    expected = (step.d_net.head.weight.norm() - 1) ** 2
    torch.testing.assert_close(penalty, expected)


@pytest.mark.parametrize(("deadline_in", "steps"), [(None, 3 * 100), (-1.0, 1)])
def test_a_budget_that_ends_inside_an_epoch_stops_there(deadline_in: float | None, steps: int) -> None:
    """On a large table one epoch can outlast the budget: training stops at the deadline inside the epoch (after at
    least one step) instead of finishing it."""
    generator = torch.Generator().manual_seed(0)
    layout = OutputLayout([(0, 1, "tanh"), (1, 2, "softmax")], [(1, 2)], torch.device("cpu"))
    slots = np.arange(400)[:, None] % 2
    sampler = ConditionalSampler.from_rows(slots, [2], torch.device("cpu"))
    draws: list[int] = []
    sample_training = sampler.sample_training
    sampler.sample_training = lambda n, g: draws.append(n) or sample_training(n, g)  # type: ignore[method-assign]
    data = torch.rand(400, 3, generator=generator)
    plan = TrainingPlan(3, 4, 4, (8,), (8,), 1, 1e-3, 1)  # 3 epochs of 100 steps
    deadline = None if deadline_in is None else time.monotonic() + deadline_in
    result = train_gan(data, layout, sampler, plan, generator, deadline=deadline)
    assert len(draws) == steps
    assert len(result.history) == (3 if deadline is None else 1)
