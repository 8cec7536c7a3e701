"""The image GAN's networks: a class-conditional generator (conditional batch norm) and a projection discriminator.

Both work on square images of side ``size`` (a power of two >= 8) and are built on the meta device, then filled from
a seeded ``torch.Generator``, so creating one never draws from (or advances) the global RNG.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm
from torch.nn.utils.parametrize import ParametrizationList

__all__ = [
    "ConditionalBatchNorm2d",
    "ImageDiscriminator",
    "ImageGenerator",
    "generator_widths",
    "working_size",
]

_MIN_SIZE = 8


def working_size(height: int, width: int) -> int:
    """The side of the square the networks work on: the smallest power of two >= both sides and >= 8."""
    return max(_MIN_SIZE, 1 << (max(height, width) - 1).bit_length())


def generator_widths(size: int, channels: int) -> list[int]:
    """Feature widths from 4x4 up to ``size``: 4*channels at 4x4, halving per doubling, never below channels // 2."""
    floor = max(channels // 2, 1)
    return [max(4 * channels >> i, floor) for i in range(int(math.log2(size // 4)) + 1)]


def _reset_weight(weight: Tensor, bias: Tensor | None, generator: torch.Generator | None) -> None:
    """Xavier-uniform weights and zero biases (the SNGAN choice), drawn from ``generator``."""
    nn.init.xavier_uniform_(weight, generator=generator)
    if bias is not None:
        nn.init.zeros_(bias)


def _reset_spectral(layer: nn.Module, generator: torch.Generator | None) -> None:
    """Reset a spectral-normalised layer: its raw weight and the power iteration's u, v all come from ``generator``.

    Like ``spectral_norm`` itself, u and v are then refined by 15 power iterations, so the first forward already
    divides by a good estimate of the largest singular value.
    """
    parametrization = layer.get_submodule("parametrizations.weight")
    assert isinstance(parametrization, ParametrizationList)
    weight = parametrization.original
    bias = getattr(layer, "bias", None)  # an Embedding has none
    _reset_weight(weight, bias, generator)
    norm = parametrization[0]
    with torch.no_grad():
        matrix = weight.flatten(1)
        u = F.normalize(torch.randn(matrix.shape[0], generator=generator, device=weight.device), dim=0)
        v = F.normalize(torch.randn(matrix.shape[1], generator=generator, device=weight.device), dim=0)
        for _ in range(15):
            u = F.normalize(matrix @ v, dim=0)
            v = F.normalize(matrix.T @ u, dim=0)
        norm.get_buffer("_u").copy_(u)
        norm.get_buffer("_v").copy_(v)


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm without its own affine, whose per-channel gain and bias are looked up for each sample's class.

    Args:
        num_features: channels C.
        num_classes: number of classes K.

    Shape:
        x (N, C, H, W), labels (N,) int64 in [0, K) -> output (N, C, H, W)
    """

    def __init__(self, num_features: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_features, affine=False)
        self.gain = nn.Embedding(num_classes, num_features)
        self.bias = nn.Embedding(num_classes, num_features)

    def reset_parameters(self) -> None:
        """Every class starts as plain batch norm (gain 1, bias 0); nothing random."""
        self.norm.reset_running_stats()
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        h = self.norm(x)
        return h * self.gain(labels)[:, :, None, None] + self.bias(labels)[:, :, None, None]


class _UpBlock(nn.Module):
    """Conditional BN -> ReLU -> nearest 2x upsample -> conv3x3 (pre-activation order)."""

    def __init__(self, in_channels: int, out_channels: int, num_classes: int) -> None:
        super().__init__()
        self.norm = ConditionalBatchNorm2d(in_channels, num_classes)
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)

    def reset_parameters(self, generator: torch.Generator | None) -> None:
        self.norm.reset_parameters()
        _reset_weight(self.conv.weight, self.conv.bias, generator)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        h = F.relu(self.norm(x, labels))
        return self.conv(F.interpolate(h, scale_factor=2.0, mode="nearest"))


class ImageGenerator(nn.Module):
    """Noise and a class index to an image in [-1, 1].

    Linear -> (4*channels, 4, 4) -> log2(size/4) up-blocks (the class enters each through conditional batch norm)
    -> conditional BN -> ReLU -> conv3x3 -> tanh.

    Args:
        noise_dim: size of the noise vector.
        num_classes: number of classes K.
        image_channels: 1 (grayscale) or 3 (RGB).
        size: side of the square output, a power of two >= 8.
        channels: base width; the 4x4 stage has 4*channels.
        device: where the weights live.
        generator: source of the initial weights (the global RNG is never touched).

    Shape:
        noise (N, noise_dim), labels (N,) int64 -> output (N, image_channels, size, size)
    """

    def __init__(
        self,
        noise_dim: int,
        num_classes: int,
        image_channels: int,
        size: int,
        channels: int,
        device: torch.device | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        widths = generator_widths(size, channels)
        self.noise_dim, self.size = noise_dim, size
        with torch.device("meta"):  # no default initialisation drawn from the global RNG
            self.stem = nn.Linear(noise_dim, widths[0] * 16)
            self.blocks = nn.ModuleList(_UpBlock(a, b, num_classes) for a, b in itertools.pairwise(widths))
            self.norm = ConditionalBatchNorm2d(widths[-1], num_classes)
            self.head = nn.Conv2d(widths[-1], image_channels, 3, padding=1)
        self.to_empty(device=device or "cpu")
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        _reset_weight(self.stem.weight, self.stem.bias, generator)
        for block in self.blocks:
            assert isinstance(block, _UpBlock)
            block.reset_parameters(generator)
        self.norm.reset_parameters()
        _reset_weight(self.head.weight, self.head.bias, generator)

    def forward(self, noise: Tensor, labels: Tensor) -> Tensor:
        h = self.stem(noise).reshape(len(noise), -1, 4, 4)
        for block in self.blocks:
            h = block(h, labels)
        return torch.tanh(self.head(F.relu(self.norm(h, labels))))

    def extra_repr(self) -> str:
        return f"noise_dim={self.noise_dim}, size={self.size}"


class ImageDiscriminator(nn.Module):
    """A spectral-normalised critic with a projection head (Miyato & Koyama 2018).

    conv3x3 at full size, then log2(size/4) blocks (LeakyReLU -> conv3x3 -> 2x average pool) down to 4x4, a last
    conv3x3, LeakyReLU and a sum over positions give features h; the score is ``linear(h) + <embed(y), h>``.
    Every weight is spectral-normalised; u and v of each power iteration start from the same seeded generator.

    Args:
        num_classes: number of classes K.
        image_channels: 1 or 3.
        size: side of the square input, a power of two >= 8.
        channels: base width, mirroring the generator's (4*channels at 4x4).
        device: where the weights live.
        generator: source of the initial weights and power-iteration vectors.

    Shape:
        images (N, image_channels, size, size), labels (N,) int64 -> scores (N,)
    """

    def __init__(
        self,
        num_classes: int,
        image_channels: int,
        size: int,
        channels: int,
        device: torch.device | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        widths = generator_widths(size, channels)[::-1]  # full size first, 4*channels at 4x4 last
        self.size = size
        with torch.device("meta"):  # no default initialisation (nor u, v) drawn from the global RNG
            self.stem = spectral_norm(nn.Conv2d(image_channels, widths[0], 3, padding=1))
            self.blocks = nn.ModuleList(
                spectral_norm(nn.Conv2d(a, b, 3, padding=1)) for a, b in itertools.pairwise(widths)
            )
            self.last = spectral_norm(nn.Conv2d(widths[-1], widths[-1], 3, padding=1))
            self.linear = spectral_norm(nn.Linear(widths[-1], 1))
            self.embed = spectral_norm(nn.Embedding(num_classes, widths[-1]))
        self.to_empty(device=device or "cpu")
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        for layer in [self.stem, *self.blocks, self.last, self.linear, self.embed]:
            _reset_spectral(layer, generator)

    def forward(self, images: Tensor, labels: Tensor) -> Tensor:
        h = self.stem(images)
        for conv in self.blocks:
            h = F.avg_pool2d(conv(F.leaky_relu(h, 0.2)), 2)
        h = F.leaky_relu(self.last(F.leaky_relu(h, 0.2)), 0.2).sum(dim=(2, 3))
        return self.linear(h).squeeze(1) + (self.embed(labels) * h).sum(dim=1)

    def extra_repr(self) -> str:
        return f"size={self.size}"
