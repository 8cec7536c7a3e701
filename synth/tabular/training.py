"""The WGAN-GP training loop with training-by-sampling, kept on one device with no host sync inside an epoch."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from synth.tabular.networks import PacDiscriminator, TabularGenerator, activate
from synth.tabular.sampler import ConditionalSampler

__all__ = ["Checkpointing", "EpochStats", "ProgressCallback", "TrainingPlan", "TrainingState", "train_gan"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EpochStats:
    """What one finished epoch reports to a progress callback."""

    epoch: int
    epochs: int
    discriminator_loss: float
    generator_loss: float
    condition_loss: float
    seconds: float


ProgressCallback = Callable[[EpochStats], None]


@dataclass(frozen=True, slots=True)
class TrainingPlan:
    """Sizes and rates of one training run."""

    epochs: int
    batch_size: int
    noise_dim: int
    generator_dims: tuple[int, ...]
    discriminator_dims: tuple[int, ...]
    pac: int
    learning_rate: float
    discriminator_steps: int
    gradient_penalty: float = 10.0


@dataclass(frozen=True, slots=True)
class TrainingState:
    """Everything training needs to go on exactly where it stopped: weights, optimiser moments, the random stream."""

    epoch: int
    generator: dict[str, Any]
    discriminator: dict[str, Any]
    generator_optimizer: dict[str, Any]
    discriminator_optimizer: dict[str, Any]
    rng_state: Tensor
    history: tuple[EpochStats, ...]


@dataclass(frozen=True, slots=True)
class Checkpointing:
    """Save the state every ``every`` epochs through ``save``; start from ``resume_from`` when it is given."""

    every: int
    save: Callable[[TrainingState], None]
    resume_from: TrainingState | None = None


def train_gan(
    data: Tensor,
    spans: list[tuple[int, int, str]],
    condition_blocks: list[tuple[int, int]],
    sampler: ConditionalSampler,
    plan: TrainingPlan,
    generator: torch.Generator,
    progress: ProgressCallback | None = None,
    checkpointing: Checkpointing | None = None,
) -> tuple[TabularGenerator, list[EpochStats]]:
    """Train a conditional generator on the encoded ``data`` (already on its device); return it and the loss curve.

    ``spans`` are the (start, width, activation) output heads; ``condition_blocks`` the (start, width) of each
    column the condition vector covers, in the sampler's column order. A resumed run restores the random stream
    with the weights, so it ends with the same model as a run that was never interrupted.
    """
    device = data.device
    cond_dim = sampler.width
    g_net = TabularGenerator(plan.noise_dim, cond_dim, plan.generator_dims, data.shape[1], device, generator)
    d_net = PacDiscriminator(
        data.shape[1] + cond_dim, plan.discriminator_dims, plan.pac, device=device, generator=generator
    )
    g_opt = torch.optim.Adam(g_net.parameters(), lr=plan.learning_rate, betas=(0.5, 0.9), weight_decay=1e-6)
    d_opt = torch.optim.Adam(d_net.parameters(), lr=plan.learning_rate, betas=(0.5, 0.9), weight_decay=1e-6)
    step = _Step(data, spans, condition_blocks, sampler, plan, generator, g_net, d_net)
    steps_per_epoch = max(1, len(data) // plan.batch_size)
    history: list[EpochStats] = []
    resume = checkpointing.resume_from if checkpointing is not None else None
    if resume is not None:
        g_net.load_state_dict(resume.generator)
        d_net.load_state_dict(resume.discriminator)
        g_opt.load_state_dict(resume.generator_optimizer)
        d_opt.load_state_dict(resume.discriminator_optimizer)
        generator.set_state(resume.rng_state)
        history = list(resume.history)
    for epoch in range(len(history) + 1, plan.epochs + 1):
        started = time.perf_counter()
        totals = torch.zeros(3, device=device)
        for _ in range(steps_per_epoch):
            for _ in range(plan.discriminator_steps):
                d_opt.zero_grad(set_to_none=True)
                d_loss = step.discriminator_loss()
                d_loss.backward()
                d_opt.step()
            g_opt.zero_grad(set_to_none=True)
            g_loss, cond_loss = step.generator_loss()
            (g_loss + cond_loss).backward()
            g_opt.step()
            totals += torch.stack([d_loss.detach(), g_loss.detach(), cond_loss.detach()])
        d_mean, g_mean, c_mean = (totals / steps_per_epoch).tolist()
        stats = EpochStats(epoch, plan.epochs, d_mean, g_mean, c_mean, time.perf_counter() - started)
        history.append(stats)
        log.debug("epoch %d/%d: D %.4f G %.4f cond %.4f", epoch, plan.epochs, d_mean, g_mean, c_mean)
        if checkpointing is not None and epoch % checkpointing.every == 0 and epoch < plan.epochs:
            checkpointing.save(
                TrainingState(
                    epoch,
                    g_net.state_dict(),
                    d_net.state_dict(),
                    g_opt.state_dict(),
                    d_opt.state_dict(),
                    generator.get_state(),
                    tuple(history),
                )
            )
        if progress is not None:
            progress(stats)
    g_net.eval()
    return g_net, history


class _Step:
    """The losses of one training step; holds the tensors every step needs."""

    def __init__(
        self,
        data: Tensor,
        spans: list[tuple[int, int, str]],
        condition_blocks: list[tuple[int, int]],
        sampler: ConditionalSampler,
        plan: TrainingPlan,
        generator: torch.Generator,
        g_net: TabularGenerator,
        d_net: PacDiscriminator,
    ) -> None:
        self.data, self.spans, self.condition_blocks = data, spans, condition_blocks
        self.sampler, self.plan = sampler, plan
        self.generator, self.g_net, self.d_net = generator, g_net, d_net
        self.batch = max(plan.pac, plan.batch_size - plan.batch_size % plan.pac)

    def _conditions(self) -> tuple[Tensor, Tensor | None, Tensor | None]:
        if self.sampler.n_columns == 0:
            rows = torch.randint(len(self.data), (self.batch,), generator=self.generator, device=self.data.device)
            return torch.zeros(self.batch, 0, device=self.data.device), None, rows
        slot, rows = self.sampler.sample_training(self.batch, self.generator)
        return self.sampler.one_hot(slot), slot, rows

    def _fake(self, cond: Tensor) -> tuple[Tensor, Tensor]:
        noise = torch.randn(self.batch, self.plan.noise_dim, generator=self.generator, device=self.data.device)
        raw = self.g_net(torch.cat([noise, cond], dim=1))
        return raw, activate(raw, self.spans, generator=self.generator)

    def discriminator_loss(self) -> Tensor:
        cond, _, rows = self._conditions()
        assert rows is not None
        with torch.no_grad():
            _, fake = self._fake(cond)
        real = torch.cat([self.data[rows], cond], dim=1)
        fake = torch.cat([fake, cond], dim=1)
        wasserstein = self.d_net(fake, self.generator).mean() - self.d_net(real, self.generator).mean()
        return wasserstein + self.plan.gradient_penalty * self._gradient_penalty(real, fake)

    def _gradient_penalty(self, real: Tensor, fake: Tensor) -> Tensor:
        pac = self.plan.pac
        alpha = torch.rand(len(real) // pac, 1, 1, generator=self.generator, device=real.device)
        alpha = alpha.expand(-1, pac, 1).reshape(len(real), 1)
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        scores = self.d_net(mixed, self.generator)
        (grads,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
        norms = grads.reshape(-1, pac * real.shape[1]).norm(2, dim=1)
        return ((norms - 1) ** 2).mean()

    def generator_loss(self) -> tuple[Tensor, Tensor]:
        cond, slot, _ = self._conditions()
        raw, fake = self._fake(cond)
        adversarial = -self.d_net(torch.cat([fake, cond], dim=1), self.generator).mean()
        return adversarial, self._condition_loss(raw, slot)

    def _condition_loss(self, raw: Tensor, slot: Tensor | None) -> Tensor:
        """Cross-entropy between the generator's output for the conditioned column and the asked-for slot."""
        if slot is None:
            return torch.zeros((), device=raw.device)
        column = self.sampler.column_of(slot)
        local = slot - self.sampler.column_first[column]
        loss = torch.zeros(len(raw), device=raw.device)
        for j, (start, width) in enumerate(self.condition_blocks):
            chosen = column == j
            target = torch.where(chosen, local, torch.zeros_like(local))
            ce = F.cross_entropy(raw[:, start : start + width], target, reduction="none")
            loss = loss + ce * chosen
        return loss.mean()
