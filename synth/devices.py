"""Device choice shared by every model: CUDA when present, the CPU otherwise."""

from __future__ import annotations

import torch

from synth.errors import ParameterError

__all__ = ["fast_bfloat16", "resolve_device"]


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


def fast_bfloat16(device: torch.device) -> bool:
    """Whether bfloat16 matrix products run natively here (CUDA with bf16, or a CPU oneDNN has bf16 kernels for)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False
