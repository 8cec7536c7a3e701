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
    """Whether bfloat16 matrix products run natively on ``device``: a CUDA GPU with bf16 units, or a CPU with
    AVX-512 BF16 or AMX (where oneDNN has bf16 kernels; elsewhere bf16 is emulated, slower and less precise)."""
    if device.type == "cuda":
        with torch.cuda.device(device):
            return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # a torch without these probes: assume not
        return False
