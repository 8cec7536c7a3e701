"""The image GAN's training loop: hinge loss, DiffAugment, generator EMA; one device, no host sync inside an epoch."""

from __future__ import annotations

import contextlib
import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import Tensor
from torch.nn import functional as F

from synth.image.augment import diff_augment
from synth.image.networks import ImageDiscriminator, ImageGenerator

__all__ = [
    "ImageEpochStats",
    "ImageProgressCallback",
    "ImageTrainingPlan",
    "autocast",
    "memory_format",
    "to_memory_format",
    "train_image_gan",
]

log = logging.getLogger(__name__)

_EMA_WARMUP_STEPS = 10
_M = TypeVar("_M", bound=torch.nn.Module)


@dataclass(frozen=True, slots=True)
class ImageEpochStats:
    """What one finished epoch reports to a progress callback (mean hinge losses over its steps)."""

    epoch: int
    epochs: int
    discriminator_loss: float
    generator_loss: float
    seconds: float


ImageProgressCallback = Callable[[ImageEpochStats], None]


@dataclass(frozen=True, slots=True)
class ImageTrainingPlan:
    """Sizes and rates of one training run."""

    epochs: int
    batch_size: int
    noise_dim: int
    channels: int
    learning_rate: float
    ema_decay: float
    augment: tuple[str, ...]
    betas: tuple[float, float] = (0.0, 0.9)


def memory_format(device: torch.device) -> torch.memory_format:
    """channels-last on CUDA (faster convolutions with tensor cores), the plain layout elsewhere."""
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


def to_memory_format(module: _M, device: torch.device) -> _M:
    """The module with its 4-D weights in the device's preferred layout (see ``memory_format``)."""
    return module.to(memory_format=memory_format(device))  # type: ignore[call-overload]  # torch's stub omits it


def autocast(device: torch.device) -> contextlib.AbstractContextManager[None]:
    """bf16 autocast on CUDA; on any other device a context that changes nothing."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def to_unit_range(images: Tensor) -> Tensor:
    """uint8 pixels [0, 255] -> float [-1, 1]."""
    return images.float() / 127.5 - 1.0


def train_image_gan(
    images: Tensor,
    labels: Tensor,
    num_classes: int,
    plan: ImageTrainingPlan,
    generator: torch.Generator,
    progress: ImageProgressCallback | None = None,
) -> tuple[ImageGenerator, list[ImageEpochStats]]:
    """Train on ``images`` (uint8 (N, C, S, S), already padded and on the device) with class indices ``labels``.

    Returns the EMA of the generator's weights (in eval mode) and the loss curve. Batches are drawn without
    replacement from a seeded permutation per epoch (the last partial batch is dropped). The EMA's decay at step t
    is min(ema_decay, (1 + t) / (10 + t)), so short runs average recent weights rather than the random start.
    """
    device = images.device
    trainer = _Trainer(images.shape[1], images.shape[2], num_classes, plan, generator, device)
    batch = min(plan.batch_size, len(images))
    steps_per_epoch = len(images) // batch
    history: list[ImageEpochStats] = []
    step = 0
    for epoch in range(1, plan.epochs + 1):
        started = time.perf_counter()
        totals = torch.zeros(2, device=device)
        order = torch.randperm(len(images), generator=generator, device=device)
        for i in range(steps_per_epoch):
            rows = order[i * batch : (i + 1) * batch]
            totals += trainer.step(images[rows], labels[rows])
            step += 1
            trainer.update_ema(min(plan.ema_decay, (1 + step) / (_EMA_WARMUP_STEPS + step)))
        d_mean, g_mean = (totals / steps_per_epoch).tolist()  # the epoch's one host sync
        stats = ImageEpochStats(epoch, plan.epochs, d_mean, g_mean, time.perf_counter() - started)
        history.append(stats)
        log.debug("epoch %d/%d: D %.4f G %.4f (%.1f s)", epoch, plan.epochs, d_mean, g_mean, stats.seconds)
        if progress is not None:
            progress(stats)
    return trainer.ema, history


class _Trainer:
    """The two networks, their optimisers and the generator's EMA; ``step`` runs one D and one G update."""

    def __init__(
        self,
        image_channels: int,
        size: int,
        num_classes: int,
        plan: ImageTrainingPlan,
        generator: torch.Generator,
        device: torch.device,
    ) -> None:
        self.plan, self.generator, self.device = plan, generator, device
        self.format = memory_format(device)
        g_net = ImageGenerator(plan.noise_dim, num_classes, image_channels, size, plan.channels, device, generator)
        d_net = ImageDiscriminator(num_classes, image_channels, size, plan.channels, device, generator)
        self.g_net, self.d_net = to_memory_format(g_net, device), to_memory_format(d_net, device)
        self.ema = copy.deepcopy(self.g_net).eval().requires_grad_(False)
        self.g_opt = torch.optim.Adam(self.g_net.parameters(), lr=plan.learning_rate, betas=plan.betas)
        self.d_opt = torch.optim.Adam(self.d_net.parameters(), lr=plan.learning_rate, betas=plan.betas)

    def _augment(self, images: Tensor) -> Tensor:
        return diff_augment(images, self.plan.augment, self.generator).contiguous(memory_format=self.format)

    def step(self, real_pixels: Tensor, labels: Tensor) -> Tensor:
        """One hinge-loss update of each network; returns (D loss, G loss) as a detached device tensor."""
        real = to_unit_range(real_pixels).contiguous(memory_format=self.format)
        noise = torch.randn(len(real), self.plan.noise_dim, generator=self.generator, device=self.device)
        self.d_net.requires_grad_(True)
        with autocast(self.device):
            fake = self.g_net(noise, labels)  # its graph is kept for the generator's update below
            both = self._augment(torch.cat([real, fake.detach().to(real.dtype)]))
            scores = self.d_net(both, torch.cat([labels, labels])).float()
            d_loss = F.relu(1 - scores[: len(real)]).mean() + F.relu(1 + scores[len(real) :]).mean()
        self.d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        self.d_opt.step()
        self.d_net.requires_grad_(False)  # the generator's loss needs gradients through D, not for it
        with autocast(self.device):
            g_loss = -self.d_net(self._augment(fake), labels).float().mean()
        self.g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        self.g_opt.step()
        return torch.stack([d_loss.detach(), g_loss.detach()])

    @torch.no_grad()
    def update_ema(self, decay: float) -> None:
        """ema <- decay * ema + (1 - decay) * weights; batch-norm statistics are copied as they are."""
        for averaged, current in zip(self.ema.parameters(), self.g_net.parameters(), strict=True):
            averaged.lerp_(current, 1.0 - decay)
        for kept, buffer in zip(self.ema.buffers(), self.g_net.buffers(), strict=True):
            kept.copy_(buffer)
