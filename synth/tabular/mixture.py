"""One-dimensional Gaussian mixtures with exact spikes, fitted by EM in numpy, for mode-specific normalisation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DISCRETE_MAX", "Mode", "exact_spikes", "fit_mixture", "mode_posteriors"]

#: A number of at most this many distinct values is all spikes (``exact_spikes``).
DISCRETE_MAX = 32
_LOG_2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True, slots=True)
class Mode:
    """A mixture component; ``std == 0`` marks a spike: a single value that many rows share exactly."""

    mean: float
    std: float
    weight: float


def exact_spikes(
    values: np.ndarray,
    *,
    spike_share: float = 0.005,
    max_spikes: int = 64,
    discrete_max: int = DISCRETE_MAX,
    heap_ratio: float = 2.0,
    neighbours: int = 3,
) -> list[Mode]:
    """The column's heaps (the ``max_spikes`` most common), each an exact mode.

    A heap is a value held by at least ``spike_share`` of the rows and by at least ``heap_ratio`` times as many rows as
    the median of its ``neighbours`` nearest distinct values on each side: the 40 of hours worked, the 0 of an amount,
    a round price. The common values of a smooth integer score (an age, a test score) are no heaps; they are left to
    the warp and the mixture, which keep their order, so two correlated scores come out as two correlated numbers
    rather than two draws among dozens of unordered slots.

    A column of at most ``discrete_max`` distinct values is all spikes: it is generated as exactly those values
    (a one-hot over them), so a GAN never blurs a code such as years of education between its levels.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    uniques, counts = np.unique(values, return_counts=True)
    if len(uniques) <= discrete_max:
        return [Mode(float(v), 0.0, float(c) / n) for v, c in zip(uniques, counts, strict=True)]
    padded = np.pad(counts.astype(np.float64), neighbours, constant_values=np.nan)  # the ends have fewer neighbours
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * neighbours + 1)
    around = np.nanmedian(np.delete(windows, neighbours, axis=1), axis=1)
    heaps = np.flatnonzero((counts >= spike_share * n) & (counts >= heap_ratio * around))
    heaps = heaps[np.argsort(-counts[heaps], kind="stable")][:max_spikes]  # the most common first
    return [Mode(float(uniques[i]), 0.0, float(counts[i]) / n) for i in heaps]


def fit_mixture(
    values: np.ndarray,
    rng: np.random.Generator,
    *,
    weight: float = 1.0,
    max_modes: int = 10,
    min_weight: float = 0.005,
    max_fit_rows: int = 5_000,
) -> list[Mode]:
    """A Gaussian mixture of ``values`` by EM, its weights summing to ``weight`` (the values' share of the column).

    The mixture is fitted on at most ``max_fit_rows`` values so the fit stays fast on large tables.
    """
    values = np.asarray(values, dtype=np.float64)
    if len(values) > max_fit_rows:
        values = rng.choice(values, size=max_fit_rows, replace=False)
    components = _em(values, max_modes=max_modes, min_weight=min_weight)
    return [Mode(m, s, w * weight) for m, s, w in components]


def _em(values: np.ndarray, *, max_modes: int, min_weight: float, n_iter: int = 60) -> list[tuple[float, float, float]]:
    # Robust centre and scale, and the extreme 0.1 % clipped, so one outlier cannot stretch every mode.
    low, high = np.quantile(values, [0.001, 0.999])
    values = np.clip(values, low, high)
    center = float(np.median(values))
    q25, q75 = np.quantile(values, [0.25, 0.75])
    scale = float(q75 - q25) / 1.349 or float(values.std())
    if scale == 0.0 or not np.isfinite(scale) or len(np.unique(values)) == 1:
        return [(center, max(abs(center) * 1e-6, 1e-6), 1.0)]
    x = (values - center) / scale
    k = int(min(max_modes, len(np.unique(x))))
    means = np.quantile(x, (np.arange(k) + 0.5) / k)
    variances = np.full(k, 1.0 / k)
    weights = np.full(k, 1.0 / k)
    var_floor = 1e-6
    previous = -np.inf
    for _ in range(n_iter):
        log_p = _log_prob(x, means, variances, weights)
        log_norm = np.logaddexp.reduce(log_p, axis=1, keepdims=True)
        resp = np.exp(log_p - log_norm)
        mass = resp.sum(axis=0) + 1e-12
        weights = mass / len(x)
        means = (resp * x[:, None]).sum(axis=0) / mass
        variances = np.maximum((resp * (x[:, None] - means) ** 2).sum(axis=0) / mass, var_floor)
        keep = weights >= min_weight
        if not keep.all():
            means, variances, weights = means[keep], variances[keep], weights[keep] / weights[keep].sum()
        loglik = float(log_norm.mean())
        if abs(loglik - previous) < 1e-6:
            break
        previous = loglik
    return [
        (center + scale * float(m), scale * float(np.sqrt(v)), float(w))
        for m, v, w in zip(means, variances, weights, strict=True)
    ]


def _log_prob(x: np.ndarray, means: np.ndarray, variances: np.ndarray, weights: np.ndarray) -> np.ndarray:
    diff = x[:, None] - means[None, :]
    return np.log(weights) - 0.5 * (_LOG_2PI + np.log(variances) + diff**2 / variances)


def mode_posteriors(values: np.ndarray, modes: list[Mode]) -> np.ndarray:
    """P(mode | value) for each value; spikes take exactly their own value."""
    values = np.asarray(values, dtype=np.float64)
    means = np.array([m.mean for m in modes])
    stds = np.array([m.std for m in modes])
    weights = np.array([m.weight for m in modes])
    spikes = stds == 0
    post = np.zeros((len(values), len(modes)))
    if (~spikes).any():
        var = stds[~spikes] ** 2
        log_p = _log_prob(values, means[~spikes], var, weights[~spikes])
        post[:, ~spikes] = np.exp(log_p - np.logaddexp.reduce(log_p, axis=1, keepdims=True))
    for j in np.flatnonzero(spikes):
        hit = values == means[j]
        post[hit] = 0.0
        post[hit, j] = 1.0
    return post
