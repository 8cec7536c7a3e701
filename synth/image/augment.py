"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) of the discriminator's inputs, for GANs on small data.

The same random transforms are applied to real and generated batches, so the discriminator cannot simply memorise
the few real images, and gradients flow through the transforms back to the generator. Every draw comes from the
caller's ``torch.Generator``.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from synth.errors import ParameterError

__all__ = ["POLICIES", "diff_augment", "parse_policy"]

POLICIES = ("color", "translation", "cutout")
_TRANSLATION_RATIO = 0.125
_CUTOUT_RATIO = 0.5


def parse_policy(policy: str) -> tuple[str, ...]:
    """``"color,translation,cutout"`` -> its names in order; ``""`` -> none. Unknown or repeated names are refused."""
    if not isinstance(policy, str):
        raise ParameterError(f"augment must be a comma-separated string of {list(POLICIES)} (or ''), got {policy!r}")
    names = tuple(part.strip() for part in policy.split(",") if part.strip())
    unknown = [name for name in names if name not in POLICIES]
    if unknown or len(set(names)) != len(names):
        raise ParameterError(
            f"augment must name each of {list(POLICIES)} at most once, comma-separated ('' for none), got {policy!r}"
        )
    return names


def diff_augment(images: Tensor, policy: tuple[str, ...], generator: torch.Generator) -> Tensor:
    """Apply the policy's transforms, each with its own random strength per image.

    Shape:
        images (N, C, H, W) in [-1, 1] -> output (N, C, H, W)
    """
    for name in policy:
        if name == "color":
            images = _color(images, generator)
        elif name == "translation":
            images = _translation(images, generator)
        elif name == "cutout":
            images = _cutout(images, generator)
    return images


def _uniform(images: Tensor, generator: torch.Generator) -> Tensor:
    """One U(0, 1) draw per image, shaped to broadcast over (C, H, W)."""
    return torch.rand(len(images), 1, 1, 1, generator=generator, device=images.device).to(images.dtype)


def _color(x: Tensor, generator: torch.Generator) -> Tensor:
    """Brightness in [-0.5, 0.5), saturation x[0, 2) (RGB only), contrast x[0.5, 1.5)."""
    x = x + (_uniform(x, generator) - 0.5)
    if x.shape[1] == 3:
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (_uniform(x, generator) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x, generator) + 0.5) + mean


def _translation(x: Tensor, generator: torch.Generator) -> Tensor:
    """Shift each image by up to 1/8 of its size in each direction; what moves in is zero."""
    n, c, h, w = x.shape
    shift_h, shift_w = int(h * _TRANSLATION_RATIO + 0.5), int(w * _TRANSLATION_RATIO + 0.5)
    dy = torch.randint(-shift_h, shift_h + 1, (n, 1), generator=generator, device=x.device)
    dx = torch.randint(-shift_w, shift_w + 1, (n, 1), generator=generator, device=x.device)
    padded = F.pad(x, (shift_w, shift_w, shift_h, shift_h))
    rows = torch.arange(h, device=x.device)[None, :] + shift_h - dy  # output row i reads input row i - dy
    cols = torch.arange(w, device=x.device)[None, :] + shift_w - dx
    out = padded.gather(2, rows[:, None, :, None].expand(n, c, h, w + 2 * shift_w))
    return out.gather(3, cols[:, None, None, :].expand(n, c, h, w))


def _cutout(x: Tensor, generator: torch.Generator) -> Tensor:
    """Zero one square of half the image's size per image, at a random centre (it may hang over the edge)."""
    n, _, h, w = x.shape
    size_h, size_w = int(h * _CUTOUT_RATIO + 0.5), int(w * _CUTOUT_RATIO + 0.5)
    top = torch.randint(0, h + 1 - size_h % 2, (n, 1), generator=generator, device=x.device) - size_h // 2
    left = torch.randint(0, w + 1 - size_w % 2, (n, 1), generator=generator, device=x.device) - size_w // 2
    rows = torch.arange(h, device=x.device)[None, :] - top
    cols = torch.arange(w, device=x.device)[None, :] - left
    inside = ((rows >= 0) & (rows < size_h))[:, :, None] & ((cols >= 0) & (cols < size_w))[:, None, :]
    return x * (~inside)[:, None].to(x.dtype)
