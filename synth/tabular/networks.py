"""The tabular GAN's networks: residual generator with per-column output heads, and a PacGAN critic."""

from __future__ import annotations

import itertools
import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from synth.tabular.layout import OutputLayout

__all__ = ["LINK_GAIN", "PacDiscriminator", "Residual", "TabularGenerator"]

#: The factor the generator's links are used at. Adam moves a weight by about the learning rate a step, so unscaled
#: links would need thousands of steps to reach the logit gaps of a one-to-one relation (education and its number);
#: at 20 they reach them within a 120 s fit on Adult (docs/decisions.md, 2026-12-05).
LINK_GAIN = 20.0


def _reset_linear(layer: nn.Linear, generator: torch.Generator | None) -> None:
    """PyTorch's default Linear initialisation, drawn from ``generator`` instead of the global RNG."""
    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
    bound = 1 / math.sqrt(layer.in_features)
    if layer.bias is not None:
        nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


class Residual(nn.Module):
    """Linear -> BatchNorm -> ReLU, with the input concatenated to the output.

    Shape:
        input (N, in_features) -> output (N, in_features + out_features)
    """

    def __init__(self, in_features: int, out_features: int, device: torch.device | None = None) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, device=device)
        self.norm = nn.BatchNorm1d(out_features, device=device)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        _reset_linear(self.linear, generator)
        self.norm.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([F.relu(self.norm(self.linear(x))), x], dim=1)


class TabularGenerator(nn.Module):
    """Maps noise plus a condition vector to raw (pre-activation) encoded rows.

    Args:
        noise_dim: size of the noise vector.
        cond_dim: size of the condition vector.
        hidden: widths of the residual blocks.
        data_dim: width of an encoded row.
        generator: the source of the initial weights (the global RNG is never touched when one is given).
        exact: output positions computed in float32 under mixed precision (the scalar heads, whose values bfloat16
            would round to about 3 digits); the one-hot heads' logits, most of the head, stay in bfloat16.
        link_mask: None draws every output head at once from the hidden layer; else ``OutputLayout.link_mask``, and
            each head also reads the heads drawn before it through ``links`` (a learned encoded-width square
            matrix, zero at first, masked to the earlier heads): see ``rows``.

    Shape:
        input (N, noise_dim + cond_dim) -> output (N, data_dim)
    """

    def __init__(
        self,
        noise_dim: int,
        cond_dim: int,
        hidden: tuple[int, ...],
        data_dim: int,
        device: torch.device | None = None,
        generator: torch.Generator | None = None,
        exact: Tensor | None = None,
        link_mask: Tensor | None = None,
    ) -> None:
        super().__init__()
        with torch.device("meta"):  # no default initialisation drawn from the global RNG
            blocks, width = [], noise_dim + cond_dim
            for size in hidden:
                blocks.append(Residual(width, size))
                width += size
            self.blocks = nn.Sequential(*blocks)
            self.head = nn.Linear(width, data_dim)
            self.links = None if link_mask is None else nn.Parameter(torch.empty(data_dim, data_dim))
        self.to_empty(device=device or "cpu")
        self.reset_parameters(generator)
        exact = torch.zeros(0, dtype=torch.long) if exact is None else exact
        self.exact: Tensor
        self.register_buffer("exact", exact.to(device=device or "cpu", dtype=torch.long), persistent=False)
        if link_mask is not None:
            self.link_mask: Tensor
            self.register_buffer("link_mask", link_mask.to(device=device or "cpu"), persistent=False)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        for block in self.blocks:
            assert isinstance(block, Residual)
            block.reset_parameters(generator)
        _reset_linear(self.head, generator)
        if self.links is not None:
            nn.init.zeros_(self.links)

    def masked_links(self) -> Tensor | None:
        """The links as used: zero wherever the source head is not drawn before the destination."""
        return None if self.links is None else self.links * self.link_mask * LINK_GAIN

    def rows(self, x: Tensor, gumbel: Tensor, layout: OutputLayout) -> tuple[Tensor, Tensor]:
        """(raw logits, activated rows) of one batch: tanh and Gumbel-softmax heads, in ``layout.draw_order`` with
        each head reading the earlier ones when the generator has links."""
        raw = self(x)
        links = self.masked_links()
        if links is None:
            return raw, layout.activate(raw, gumbel)
        with torch.autocast(x.device.type, enabled=False):
            return layout.activate_in_order(raw, gumbel, links)

    def forward(self, x: Tensor) -> Tensor:
        hidden = self.blocks(x)
        out = self.head(hidden).float()
        if not torch.is_autocast_enabled(x.device.type) or not len(self.exact):
            return out
        with torch.autocast(x.device.type, enabled=False):
            exact = F.linear(hidden.float(), self.head.weight[self.exact], self.head.bias[self.exact])
        return out.index_copy(1, self.exact, exact)


class PacDiscriminator(nn.Module):
    """A critic that scores packs of ``pac`` rows at once, so a collapsed generator is easy to spot (PacGAN).

    No dropout: CTGAN's 0.5 measured worse on Adult (detection AUC 0.77 with it, 0.74 without, same budget), and the
    private critic is regularised by its DP noise.

    Shape:
        input (N, in_features) with N divisible by pac -> output (N / pac, 1)
    """

    def __init__(
        self,
        in_features: int,
        hidden: tuple[int, ...],
        pac: int,
        device: torch.device | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.pac = pac
        widths = [in_features * pac, *hidden]
        with torch.device("meta"):  # no default initialisation drawn from the global RNG
            self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(widths))
            self.head = nn.Linear(widths[-1], 1)
        self.to_empty(device=device or "cpu")
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        for layer in [*self.layers, self.head]:
            _reset_linear(layer, generator)

    def forward(self, x: Tensor) -> Tensor:
        h = x.reshape(-1, x.shape[1] * self.pac)
        for layer in self.layers:
            h = F.leaky_relu(layer(h), 0.2)
        return self.head(h)
