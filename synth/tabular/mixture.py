"""One-dimensional Gaussian mixtures with exact spikes, fitted by EM in numpy, for mode-specific normalisation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "DISCRETE_MAX",
    "HEAPED_MAX",
    "HEAPED_MIN",
    "HEAPED_SHARE",
    "HEAP_ROWS",
    "ROUNDED_MAX",
    "ROUNDED_ROWS",
    "ROUNDED_SHARE",
    "Mode",
    "all_spikes",
    "exact_spikes",
    "fit_mixture",
    "mode_posteriors",
]

#: A number of at most this many distinct values is all spikes (``exact_spikes``)...
DISCRETE_MAX = 32
#: ...and so is one of at most this many with at least ``HEAPED_MIN`` heaps holding ``HEAPED_SHARE`` of its rows...
HEAPED_MAX = 64
HEAPED_MIN = 3
HEAPED_SHARE = 0.5
#: ...and one of at most ``ROUNDED_MAX`` values, held by ``ROUNDED_ROWS`` rows each on average, whose heaps besides
#: the most common hold ``ROUNDED_SHARE`` of its rows.
ROUNDED_MAX = 128
ROUNDED_ROWS = 100
ROUNDED_SHARE = 0.25
#: On a column of at most ``ROUNDED_MAX`` values, a heap needs only this many rows where they are fewer than
#: ``spike_share`` of them.
HEAP_ROWS = 25
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
    a round price. On a column of at most ``ROUNDED_MAX`` values ``HEAP_ROWS`` rows are enough on a large table:
    Adult's capital losses of 1,485 or 2,415 dollars, held by 50 rows each (0.2 %) among amounts a few rows hold,
    are as much a heap as the 1,902 that 200 rows hold. The common values of a smooth integer score (an age, a test
    score) are no heaps; they are left to the warp and the mixture, which keep their order, so two correlated scores
    come out as two correlated numbers rather than two draws among dozens of unordered slots.

    A column of at most ``discrete_max`` distinct values is all spikes: it is generated as exactly those values
    (a one-hot over them), so a GAN never blurs a code such as years of education between its levels. So is a column
    of at most ``HEAPED_MAX`` with ``HEAPED_MIN`` heaps or more that hold ``HEAPED_SHARE`` of its rows: weeks worked in
    a year (0, 52, 40, 26...), whose values between the heaps are as uneven as the heaps, a habit of rounding rather
    than a smooth score. One or two heaps are a zero or a cap, beside a count whose order the warp keeps. Up to
    ``ROUNDED_MAX`` values, where the rows are many enough to teach each slot, a column is all spikes when its heaps
    besides the most common hold ``ROUNDED_SHARE`` of its rows: hours worked in a week (40, 50, 45, 60...), whose other
    values the generator otherwise draws from a few points of the warp, but not an amount that is mostly zero.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    uniques, counts = np.unique(values, return_counts=True)
    least = spike_share * n if len(uniques) > ROUNDED_MAX else min(spike_share * n, HEAP_ROWS)
    heaps = (
        np.array([], dtype=np.int64) if len(uniques) <= discrete_max else _heaps(counts, least, heap_ratio, neighbours)
    )
    heaped = len(heaps) >= HEAPED_MIN and (
        (len(uniques) <= HEAPED_MAX and counts[heaps].sum() >= HEAPED_SHARE * n)
        or (
            len(uniques) <= ROUNDED_MAX
            and n >= ROUNDED_ROWS * len(uniques)
            and np.sort(counts[heaps])[:-1].sum() >= ROUNDED_SHARE * n
        )
    )
    if len(uniques) <= discrete_max or heaped:
        return [Mode(float(v), 0.0, float(c) / n) for v, c in zip(uniques, counts, strict=True)]
    heaps = heaps[np.argsort(-counts[heaps], kind="stable")][:max_spikes]  # the most common first
    return [Mode(float(uniques[i]), 0.0, float(counts[i]) / n) for i in heaps]


def all_spikes(values: np.ndarray) -> bool:
    """Whether ``exact_spikes`` keeps every value of ``values`` exact (with its default rules)."""
    return len(exact_spikes(values, max_spikes=len(values))) == len(np.unique(values))


def _heaps(counts: np.ndarray, least: float, heap_ratio: float, neighbours: int) -> np.ndarray:
    """Positions of the heaps among the distinct values' ``counts`` (in value order), as ``exact_spikes`` defines
    them."""
    padded = np.pad(counts.astype(np.float64), neighbours, constant_values=np.nan)  # the ends have fewer neighbours
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * neighbours + 1)
    around = np.nanmedian(np.delete(windows, neighbours, axis=1), axis=1)
    return np.flatnonzero((counts >= least) & (counts >= heap_ratio * around))


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
