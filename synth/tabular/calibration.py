"""Generation conditions calibrated so that each discrete column's generated shares match the real ones.

A GAN drops rare levels and misplaces common ones by a few per cent: conditioned on one column, it still writes every
other column from its own softmax. When generating, each row is conditioned on one discrete column in
``len(widths)``, with a level drawn by the generation shares; raising a level's share there raises its generated
share by about that much over ``len(widths)``. The calibration measures the generated shares on pilot rows and moves
the generation shares along the gap, a few rounds, keeping the shares whose pilot came closest.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["CALIBRATION_ROUNDS", "PILOT_ROWS", "calibrated_shares", "slot_shares"]

#: Pilot rows a round draws at most (fewer on a small table: twice its training rows), enough to see a level that a
#: few dozen of Adult's 26,000 rows hold.
PILOT_ROWS = 40_000
#: Pilots drawn: the first under the real shares, each later one a step from the closest so far.
CALIBRATION_ROUNDS = 6


def slot_shares(slots: np.ndarray, widths: list[int]) -> np.ndarray:
    """Each global slot's share of its column among drawn rows; ``slots`` is (rows, columns) of local slots."""
    offsets = np.cumsum([0, *widths])[:-1]
    counts = np.bincount((slots + offsets[None, :]).ravel(), minlength=int(sum(widths))).astype(np.float64)
    return counts / max(len(slots), 1)


def _per_column(shares: np.ndarray, fallback: np.ndarray, widths: list[int]) -> np.ndarray:
    """``shares`` scaled to sum to 1 within each column; a column left with nothing takes ``fallback``'s shares."""
    out = shares.copy()
    start = 0
    for width in widths:
        block = out[start : start + width]
        total = block.sum()
        out[start : start + width] = block / total if total > 0 else fallback[start : start + width]
        start += width
    return out


def calibrated_shares(
    target: np.ndarray, widths: list[int], observe: Callable[[np.ndarray], np.ndarray], rounds: int = CALIBRATION_ROUNDS
) -> np.ndarray:
    """The generation shares, among ``rounds`` tried, whose generated slot shares (``observe``) are closest to
    ``target`` (summed absolute gap over every slot); the first tried is ``target`` itself.

    Each try steps from the closest so far along its gap. Conditioning on one column moves the others too (a breed
    fixes a species), so a full step can overshoot: the step starts at half and halves whenever a try lands farther.
    """
    best, best_gap, best_distance = target, np.zeros_like(target), np.inf
    shares, step = target, 0.5 * len(widths)
    for _ in range(rounds):
        gap = target - observe(shares)
        distance = float(np.abs(gap).sum())
        if distance < best_distance:
            best, best_gap, best_distance = shares, gap, distance
        else:
            step /= 2
        shares = _per_column(np.clip(best + step * best_gap, 0.0, None), target, widths)
    return best
