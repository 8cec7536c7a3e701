"""The privacy filter of privacy mode: drop synthetic rows that copy a training row or sit closer to one than real
unseen rows do, and draw replacements until exactly the count asked for is kept.

"Closer than real unseen rows do" is measured the way the leakage checks measure it (validators.leakage): rows as
points of validators.distances.RowEncoder fitted on train, and a line at the ``percentile``-th percentile of the
holdout's distances to their nearest training row. A real row the model never saw falls under that line
``percentile`` % of the time; a synthetic row under it is as close to someone in the training data as almost no
outsider is, so it goes. Exact copies go whatever the line (the line can be 0 where real data holds duplicates).
"""

from __future__ import annotations

import logging
import math
from typing import Any, Protocol, Self

import numpy as np
import pandas as pd

from synth.schema import Schema
from validators.distances import RowEncoder, nearest_distances
from validators.errors import MetricInputError, PrivacyFilterError
from validators.fidelity import check_columns
from validators.leakage import row_keys

__all__ = ["PrivacyFilter", "Sampler", "filter_and_refill"]

log = logging.getLogger(__name__)

# A round asks for at most 1 / _MIN_KEEP_SHARE times the rows still missing, so a model that copies nearly every row
# costs a bounded amount of sampling per round before the filter gives up; _OVERDRAW pads each ask a little so one
# more round is rarely needed.
_MIN_KEEP_SHARE = 0.1
_OVERDRAW = 1.1


class Sampler(Protocol):
    """Draws ``count`` synthetic rows, the same ones for the same ``seed``: ``lambda n, s: model.sample(n, seed=s)``."""

    def __call__(self, count: int, seed: int, /) -> pd.DataFrame: ...


class PrivacyFilter:
    """Flags synthetic rows that are exact copies of a training row or strictly closer to one than the line.

    Fit it on the real training rows and the holdout; ``flag`` then tests any number of synthetic rows against every
    training row, chunk by chunk (never an n x n matrix).

    Attributes (after ``fit``):
        schema_: the schema the rows follow; identifiers and constants take no part, as in the leakage checks.
        encoder_: validators.distances.RowEncoder fitted on train.
        train_points_: (n_train, d) float32, the encoded training rows (memory: 4 * n_train * d bytes).
        train_keys_: (n_unique,) uint64, sorted canonical keys of the training rows (validators.leakage.row_keys).
        line_: distances strictly below it are too close.
        percentile_: the percentile of holdout-to-train distances the line was set at.
        holdout_rows_: how many holdout rows the line was measured on.

    The holdout itself is not kept.
    """

    def fit(
        self, train: pd.DataFrame, holdout: pd.DataFrame, *, schema: Schema, percentile: float = 1.0, seed: int = 0,
        max_rows: int = 10_000,
    ) -> Self:  # fmt: skip
        """Encode train and set the line on up to ``max_rows`` holdout rows drawn with ``seed``."""
        if not 0.0 <= percentile <= 100.0:
            raise MetricInputError(f"percentile must be between 0 and 100, got {percentile}")
        if max_rows < 1:
            raise MetricInputError(f"max_rows must be >= 1, got {max_rows}")
        check_columns(schema, train, holdout)
        self.schema_ = schema
        self.encoder_ = RowEncoder(schema).fit(train)
        self.train_points_ = self.encoder_.transform(train)
        self.train_keys_ = np.unique(row_keys(train, schema))
        if len(holdout) > max_rows:
            holdout = holdout.iloc[np.sort(np.random.default_rng(seed).choice(len(holdout), max_rows, replace=False))]
        distances = nearest_distances(self.encoder_.transform(holdout), self.train_points_)
        self.line_ = float(np.percentile(distances, percentile))
        self.percentile_ = float(percentile)
        self.holdout_rows_ = len(holdout)
        log.info("privacy filter: line %.4g at percentile %g of %d holdout rows against %d training rows",
                 self.line_, self.percentile_, self.holdout_rows_, len(self.train_points_))  # fmt: skip
        return self

    def flag(self, synthetic: pd.DataFrame) -> np.ndarray:
        """One bool per row: True for an exact copy of a training row or a row strictly closer to one than the line."""
        return self.masks(synthetic)[0]

    def masks(self, synthetic: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(flagged, exact copies): two bool arrays, one value per row; every exact copy is also flagged."""
        missing = [name for name in self.schema_.names if name not in synthetic.columns]
        if missing:
            raise MetricInputError(f"synthetic rows lack the schema's column(s) {missing}")
        copies = np.isin(row_keys(synthetic, self.schema_), self.train_keys_)
        flagged = copies.copy()
        rest = np.flatnonzero(~copies)
        if len(rest):  # copies need no distance: they are dropped anyway
            points = self.encoder_.transform(synthetic.iloc[rest])
            flagged[rest] = nearest_distances(points, self.train_points_) < self.line_
        return flagged, copies

    def summary(self, synthetic: pd.DataFrame) -> dict[str, Any]:
        """JSON-ready counts for a set of rows: the line, its percentile, rows checked, dropped and exact copies."""
        flagged, copies = self.masks(synthetic)
        return {"line": self.line_, "percentile": self.percentile_, "rows_checked": len(synthetic),
                "dropped": int(flagged.sum()), "exact_copies": int(copies.sum())}  # fmt: skip


def _round_seed(seed: int, round_index: int) -> int:
    """The first round draws with ``seed`` itself (nothing flagged: the output is ``sample(n, seed)``); later rounds
    with seeds derived from it, so no two rounds draw the same rows.
    """
    if round_index == 0:
        return seed
    return int(np.random.SeedSequence([seed % 2**64, round_index]).generate_state(1)[0])


def _next_ask(missing: int, dropped: int, drawn: int) -> int:
    keep_share = max(1.0 - dropped / drawn, _MIN_KEEP_SHARE) if drawn else 1.0
    return max(missing, math.ceil(missing / keep_share * _OVERDRAW))


def filter_and_refill(
    sample: Sampler, n: int, flt: PrivacyFilter, *, seed: int, max_rounds: int = 10
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Exactly ``n`` rows none of which the filter flags, and a report of what it took.

    Draws ``n`` rows with ``sample(n, seed)``, drops the flagged ones and draws replacements with derived seeds, asking
    for the missing rows divided by the share kept so far (padded by 10 %, at most ten times the missing rows), until
    ``n`` are kept. Kept rows come back in the order drawn, with a fresh index. Deterministic for a seed.

    The report: ``asked`` (n), ``drawn``, ``dropped``, ``exact_copies`` (among the dropped), ``surplus`` (rows that
    passed but were not needed, from the last round; drawn = asked + dropped + surplus), ``rounds``, ``line`` and
    ``percentile``.

    Raises:
        PrivacyFilterError: fewer than ``n`` rows kept after ``max_rounds`` draws; the message gives the count kept
            and the drop rate.
    """
    if n < 1:
        raise MetricInputError(f"n must be >= 1, got {n}")
    if max_rounds < 1:
        raise MetricInputError(f"max_rounds must be >= 1, got {max_rounds}")
    kept: list[pd.DataFrame] = []
    n_kept = drawn = dropped = copies = 0
    ask = n
    for round_index in range(max_rounds):
        batch = sample(ask, _round_seed(seed, round_index))
        flagged, exact = flt.masks(batch)
        drawn, dropped, copies = drawn + len(batch), dropped + int(flagged.sum()), copies + int(exact.sum())
        good = batch.iloc[np.flatnonzero(~flagged)[: n - n_kept]]
        if len(good):
            kept.append(good)
            n_kept += len(good)
        log.debug("privacy filter round %d: drew %d, dropped %d, kept %d of %d",
                  round_index + 1, len(batch), int(flagged.sum()), n_kept, n)  # fmt: skip
        if n_kept == n:
            report = {"asked": n, "drawn": drawn, "dropped": dropped, "exact_copies": copies,
                      "surplus": drawn - n - dropped, "rounds": round_index + 1, "line": flt.line_,
                      "percentile": flt.percentile_}  # fmt: skip
            log.info("privacy filter: kept %d rows, dropped %d of %d drawn (%d exact copies) in %d round(s)",
                     n, dropped, drawn, copies, round_index + 1)  # fmt: skip
            return pd.concat(kept, ignore_index=True), report
        ask = _next_ask(n - n_kept, dropped, drawn)
    rate = dropped / drawn if drawn else 1.0
    raise PrivacyFilterError(
        f"privacy filter kept only {n_kept} of {n} rows after {max_rounds} rounds: {dropped} of {drawn} drawn rows "
        f"({rate:.1%}) were exact copies of training rows ({copies}) or closer to one than percentile "
        f"{flt.percentile_:g} of holdout-to-train distances ({flt.line_:.4g}); the model reproduces its training rows: "
        "train it with a smaller privacy budget (epsilon) or fewer epochs, or allow more rounds"
    )
