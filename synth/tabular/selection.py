"""Checkpoint selection: fast fidelity of generated rows against real rows the GAN never trains on.

A GAN's losses do not say when its samples are best, so every few epochs the generator's rows are scored against a
held-out validation split and the best weights are kept. The scores are proxies of the validators' own, cheap enough
to run often: every column is binned (categories as they are, numbers in quantile bins of the validation rows, null
as a bin of its own), and one product of the one-hot bin matrices gives every column's marginal and every pair's
contingency table at once. A small torch MLP on the same bins gives a detection AUC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from torch.nn import functional as F

from synth.schema import Schema
from synth.tabular.codecs import NUMERIC_CODEC_KINDS, number_values

__all__ = ["FidelityProbe", "ProbeScore"]

_NUMERIC_BINS = 10
_MAX_LEVELS = 30  # so a column has at most 32 bins
_MAX_COLUMNS = 100  # and the joint matrix at most 3,200 square (41 MB); wider tables are probed on a sample
_MODELLED_KINDS = ("continuous", "integer", "datetime", "categorical", "boolean")


@dataclass(frozen=True, slots=True)
class ProbeScore:
    """Marginal similarity, pair similarity and detection AUC of one sample; ``score`` combines them (1 is best)."""

    shapes: float
    pairs: float
    detection: float

    @property
    def score(self) -> float:
        return (self.shapes + self.pairs + (1.0 - 2.0 * max(self.detection - 0.5, 0.0))) / 3.0


class FidelityProbe:
    """Scores generated rows against a fixed set of real validation rows.

    Args:
        validation: real rows the generator is not trained on.
        schema: the table's schema (id and constant columns are skipped).
        seed: seed of the detection classifier's split and initial weights.
    """

    def __init__(self, validation: pd.DataFrame, schema: Schema, seed: int) -> None:
        columns = [spec.name for spec in schema if spec.kind in _MODELLED_KINDS]
        if len(columns) > _MAX_COLUMNS:  # a seeded sample of the columns, so the probe's cost stays bounded
            picked = np.random.default_rng(seed).choice(len(columns), size=_MAX_COLUMNS, replace=False)
            columns = [columns[i] for i in np.sort(picked)]
        self.columns = columns
        self.numeric = {spec.name for spec in schema if spec.kind in NUMERIC_CODEC_KINDS}
        self.seed = seed
        self.edges: dict[str, np.ndarray] = {}
        self.levels: dict[str, pd.Index] = {}
        for name in self.columns:
            values = validation[name]
            if name in self.numeric:
                present = number_values(values)
                present = present[~np.isnan(present)]
                quantiles = np.linspace(0, 1, _NUMERIC_BINS + 1)[1:-1]
                self.edges[name] = np.unique(np.quantile(present, quantiles)) if len(present) else np.zeros(0)
            else:  # the most frequent levels; rarer ones share the "outside" bin, so the joint matrix stays small
                counts = values.dropna().astype(object).value_counts()
                self.levels[name] = pd.Index(counts.index[:_MAX_LEVELS])
        self.widths = [self._width(name) for name in self.columns]
        self.offsets = np.cumsum([0, *self.widths])[:-1]
        self.rows = len(validation)
        self.real = self._one_hot(validation)
        self.real_joint = self.real.T @ self.real / len(self.real)

    @staticmethod
    def probes(schema: Schema) -> bool:
        """Whether a table has a column to probe (ids and constants are not modelled)."""
        return any(spec.kind in _MODELLED_KINDS for spec in schema)

    def _width(self, name: str) -> int:
        """Bins of a column: its levels or numeric bins, one for other values (rarer levels, unseen ones), one for
        null."""
        inner = len(self.edges[name]) + 1 if name in self.numeric else len(self.levels[name])
        return inner + 2

    def _codes(self, name: str, values: pd.Series) -> np.ndarray:
        null = values.isna().to_numpy()
        if name in self.numeric:
            codes = np.searchsorted(self.edges[name], np.nan_to_num(number_values(values)), side="right")
        else:
            codes = self.levels[name].get_indexer(pd.Index(values.astype(object)))
            codes = np.where(codes < 0, len(self.levels[name]), codes)  # a rarer level, or one never seen
        return np.where(null, self.widths[self.columns.index(name)] - 1, codes)

    def _one_hot(self, frame: pd.DataFrame) -> Tensor:
        codes = np.stack([self._codes(name, frame[name]) for name in self.columns], axis=1) + self.offsets
        out = torch.zeros(len(frame), int(sum(self.widths)))
        out.scatter_(1, torch.as_tensor(codes, dtype=torch.long), 1.0)
        return out

    def score(self, generated: pd.DataFrame) -> ProbeScore:
        """The fidelity of ``generated`` (best with as many rows as the validation split)."""
        fake = self._one_hot(generated)
        diff = (fake.T @ fake / len(fake) - self.real_joint).abs()
        shapes, pairs = [], []
        bounds = [(int(o), int(o) + w) for o, w in zip(self.offsets, self.widths, strict=True)]
        for i, (a, b) in enumerate(bounds):
            shapes.append(1.0 - 0.5 * float(diff[a:b, a:b].diagonal().sum()))
            pairs += [1.0 - 0.5 * float(diff[a:b, c:d].sum()) for c, d in bounds[i + 1 :]]
        return ProbeScore(
            float(np.mean(shapes)) if shapes else 1.0,
            float(np.mean(pairs)) if pairs else 1.0,
            self._detection(fake),
        )

    def _detection(self, fake: Tensor, hidden: int = 64, steps: int = 150) -> float:
        """Held-out ROC AUC of a one-hidden-layer MLP telling validation rows from generated ones (0.5: cannot)."""
        generator = torch.Generator().manual_seed(self.seed)
        features = torch.cat([self.real, fake])
        labels = torch.cat([torch.zeros(len(self.real)), torch.ones(len(fake))])
        order = torch.randperm(len(features), generator=generator)
        train, test = order[: len(order) // 2], order[len(order) // 2 :]
        first = torch.randn(features.shape[1], hidden, generator=generator) / features.shape[1] ** 0.5
        second = torch.randn(hidden, 1, generator=generator) / hidden**0.5
        weights = [first.requires_grad_(), torch.zeros(hidden, requires_grad=True), second.requires_grad_()]
        optimizer = torch.optim.Adam(weights, lr=0.01)
        with torch.enable_grad():
            for _ in range(steps):
                optimizer.zero_grad()
                logits = _mlp(features[train], weights)
                F.binary_cross_entropy_with_logits(logits, labels[train]).backward()
                optimizer.step()
        with torch.no_grad():
            return _auc(_mlp(features[test], weights), labels[test])


def _mlp(features: Tensor, weights: list[Tensor]) -> Tensor:
    first, bias, second = weights
    return (F.relu(features @ first + bias) @ second).squeeze(1)


def _auc(scores: Tensor, labels: Tensor) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties counted half."""
    values = scores.numpy()
    ranks = pd.Series(values).rank(method="average").to_numpy()
    positive = labels.numpy() == 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return 0.5
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
