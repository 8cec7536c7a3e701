"""Diversity: category and range coverage, and precision / recall / density / coverage (Naeem et al. 2020)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from synth.schema import Schema
from validators.baselines import mean_noise
from validators.bounds import DEFAULT_BOUNDS, Bound
from validators.distances import RowEncoder, chunked_pairs, nearest_k
from validators.fidelity import check_columns, modelled_columns, numeric_values
from validators.records import MetricResult, make_record

__all__ = ["category_coverage", "prdc", "range_coverage"]

_NUMERIC_KINDS = ("continuous", "integer", "datetime")


def _category_coverage(
    train: pd.DataFrame, other: pd.DataFrame, columns: list[str], rare_min: int
) -> dict[str, float]:  # fmt: skip
    scores = {}
    for column in columns:
        counts = train[column].dropna().astype(object).value_counts()
        real = set(counts.index[counts >= rare_min])
        scores[column] = len(real & set(other[column].dropna().astype(object))) / len(real) if real else 1.0
    return scores


def category_coverage(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, *, schema: Schema, rare_min: int = 1,
    bound: Bound | None = None,
) -> MetricResult:  # fmt: skip
    """Mean share of the real categories that appear in the synthetic set (compare equal-size samples).

    Only the categories at least ``rare_min`` training rows hold count: the others are ones rare-value protection
    keeps out of the synthetic set, which the real holdout still holds by chance.
    """
    check_columns(schema, train, synthetic, holdout)
    columns = [c.name for c in modelled_columns(schema) if c.kind not in _NUMERIC_KINDS]
    scores = _category_coverage(train, synthetic, columns, rare_min)
    references = _category_coverage(train, holdout, columns, rare_min)
    details = {c: {"score": scores[c], "reference": references[c]} for c in columns}
    value = float(np.mean(list(scores.values()))) if columns else 1.0
    reference = float(np.mean(list(references.values()))) if columns else 1.0
    return make_record("category_coverage", "diversity", value, reference,
                       bound or DEFAULT_BOUNDS["category_coverage"], details)  # fmt: skip


def _range_coverage(train: pd.DataFrame, other: pd.DataFrame, columns: list[str], rare_min: int) -> dict[str, float]:
    scores = {}
    for column in columns:
        real, synthetic = np.sort(numeric_values(train[column])), numeric_values(other[column])
        if len(real) == 0:
            scores[column] = 1.0
            continue
        k = min(max(rare_min, 1), (len(real) + 1) // 2)  # the k-th smallest and largest, as the model's range ends
        low, high = real[k - 1], real[-k]
        if len(synthetic) == 0:
            scores[column] = 0.0
        elif high == low:
            scores[column] = 1.0
        else:
            overlap = min(high, synthetic.max()) - max(low, synthetic.min())
            scores[column] = float(np.clip(overlap / (high - low), 0.0, 1.0))
    return scores


def range_coverage(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, *, schema: Schema, rare_min: int = 1,
    bound: Bound | None = None,
) -> MetricResult:  # fmt: skip
    """Mean share of each numeric column's real range that the synthetic values span.

    The range runs from the ``rare_min``-th smallest to the ``rare_min``-th largest training value: rare-value
    protection keeps the values beyond out of the synthetic set, where the real holdout may reach them.
    """
    check_columns(schema, train, synthetic, holdout)
    columns = [c.name for c in modelled_columns(schema) if c.kind in _NUMERIC_KINDS]
    scores = _range_coverage(train, synthetic, columns, rare_min)
    references = _range_coverage(train, holdout, columns, rare_min)
    details = {c: {"score": scores[c], "reference": references[c]} for c in columns}
    value = float(np.mean(list(scores.values()))) if columns else 1.0
    reference = float(np.mean(list(references.values()))) if columns else 1.0
    return make_record("range_coverage", "diversity", value, reference, bound or DEFAULT_BOUNDS["range_coverage"],
                       details)  # fmt: skip


def _prdc(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Per-row terms of precision, recall, density and coverage of ``fake`` against ``real`` with k-nearest-neighbour
    balls: each metric is the mean of its array (fake rows for precision and density, real rows for the others)."""
    real_radii = torch.as_tensor(nearest_k(real, real, k, exclude_self=True)[:, -1])
    fake_radii = torch.as_tensor(nearest_k(fake, fake, k, exclude_self=True)[:, -1])
    in_real_ball = np.zeros(len(fake), dtype=bool)
    density = np.zeros(len(fake))
    nearest_fake = torch.full((len(real),), float("inf"), dtype=torch.float64)
    real_in_fake_ball = torch.zeros(len(real), dtype=torch.bool)
    for start, block in chunked_pairs(fake, real):  # block: (fake chunk, real)
        block = block.double().cpu()
        inside = block <= real_radii[None, :]
        in_real_ball[start : start + len(block)] = inside.any(dim=1).numpy()
        density[start : start + len(block)] = inside.sum(dim=1).double().numpy() / k
        nearest_fake = torch.minimum(nearest_fake, block.min(dim=0).values)
        real_in_fake_ball |= (block <= fake_radii[start : start + len(block), None]).any(dim=0)
    return {
        "precision": in_real_ball.astype(np.float64),
        "recall": real_in_fake_ball.double().numpy(),
        "density": density,
        "coverage": (nearest_fake <= real_radii).double().numpy(),
    }


def prdc(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, *, schema: Schema, seed: int = 0, k: int = 5,
    max_rows: int = 5_000, bounds: dict[str, Bound] | None = None,
) -> list[MetricResult]:  # fmt: skip
    """Four records: precision (synthetic rows inside the real data's k-NN balls), recall, density and coverage
    (real rows whose ball holds a synthetic row), on equal-size samples in the encoded space. Mode collapse shows
    as low coverage and recall.
    """
    check_columns(schema, train, synthetic, holdout)
    rng = np.random.default_rng(seed)
    n = min(len(train), len(synthetic), len(holdout), max_rows)
    encoder = RowEncoder(schema).fit(train)

    def draw(frame: pd.DataFrame) -> np.ndarray:
        return encoder.transform(frame.iloc[rng.choice(len(frame), size=n, replace=False)])

    real, fake, other = draw(train), draw(synthetic), draw(holdout)
    values, references = _prdc(real, fake, k), _prdc(real, other, k)
    bounds = bounds or {}
    return [
        make_record(f"prdc_{name}", "diversity", float(values[name].mean()), float(references[name].mean()),
                    bounds.get(f"prdc_{name}", DEFAULT_BOUNDS[f"prdc_{name}"]), {"k": k, "rows_per_set": n},
                    noise=mean_noise(values[name], references[name]))
        for name in ("precision", "recall", "density", "coverage")
    ]  # fmt: skip
