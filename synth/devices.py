"""Device choice shared by every model: CUDA when present, the CPU otherwise."""

from __future__ import annotations

import torch

from synth.errors import ParameterError

__all__ = ["resolve_device"]


def resolve_device(device: str) -> torch.device:
    """``"auto"`` picks CUDA when available; anything else must be a device torch knows and can use."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ParameterError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device {device!r} was asked for but CUDA is not available here; use 'auto' or 'cpu'")
    return resolved
