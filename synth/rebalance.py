"""Rebalancing a label column: how many synthetic rows each class needs for a target class mix, and the augmented
table (the real rows, untouched, followed by exactly those rows drawn by exact conditional sampling).

Targets: ``"uniform"`` (every class raised to the largest class's count), ``{label: share}`` (final class shares,
summing to 1), or ``{"top_up_to": N}`` (every class below N raised to N). Real rows are never removed, so a target
is met by adding rows only. The planner works on counts alone, so the same plan serves image sets
(``ImageSynthesizer.sample(per_class=plan)``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Hashable, Mapping
from fractions import Fraction
from typing import Any, Protocol

import numpy as np
import pandas as pd

from synth.errors import ConditionError, ParameterError

__all__ = ["SYNTHETIC_FLAG", "ConditionalModel", "RebalanceTarget", "plan_rebalance", "rebalance"]

log = logging.getLogger(__name__)

#: The boolean column that marks the synthetic rows of an augmented table.
SYNTHETIC_FLAG = "is_synthetic"
_SHARE_TOLERANCE = 1e-9

RebalanceTarget = str | Mapping[Any, Any]


class ConditionalModel(Protocol):
    """What ``rebalance`` needs of a model: exact conditional sampling (TabularSynthesizer has it)."""

    def sample(self, n: int, *, conditions: Mapping[str, Any] | None = ..., seed: int | None = ...) -> pd.DataFrame:
        """``n`` rows, every one satisfying ``conditions``."""
        ...


def plan_rebalance(counts: Mapping[Hashable, int], target: RebalanceTarget) -> dict[Hashable, int]:
    """Synthetic rows to add per class (0 for a class that needs none), in the order of ``counts``.

    ``counts`` are the real rows per class. With explicit shares the total is the smallest one whose exact shares
    keep every real row (so the mix is met with the fewest synthetic rows), and the final counts are those shares
    rounded by largest remainder (ties to the class first in ``counts``). Raises ParameterError naming the problem.
    """
    real = _check_counts(counts)
    if isinstance(target, str):
        if target != "uniform":
            raise ParameterError(f"target must be 'uniform', {{label: share}} or {{'top_up_to': N}}, got {target!r}")
        top = max(real.values())
        return {label: top - count for label, count in real.items()}
    if not isinstance(target, Mapping):
        raise ParameterError(f"target must be 'uniform', {{label: share}} or {{'top_up_to': N}}, got {target!r}")
    if set(target) == {"top_up_to"} and "top_up_to" not in real:
        floor = target["top_up_to"]
        if isinstance(floor, bool) or not isinstance(floor, int) or floor < 1:
            raise ParameterError(f"top_up_to must be an int >= 1, got {floor!r}")
        return {label: max(floor - count, 0) for label, count in real.items()}
    shares = _check_shares(real, target)
    final = _smallest_total_counts(real, shares)
    return {label: final[label] - count for label, count in real.items()}


def rebalance(
    model: ConditionalModel, real_train: pd.DataFrame, label: str, target: RebalanceTarget, seed: int
) -> pd.DataFrame:
    """The real training rows (index reset, values and dtypes untouched) followed by exactly the planned synthetic
    rows, class after class in the order of the plan, with a boolean ``is_synthetic`` column appended.

    Each class's rows come from ``model.sample(k, conditions={label: value}, seed=...)``, exact by construction;
    the per-class seeds are drawn from ``seed``, so the output is the same for the same seed.
    """
    _check_table(real_train, label, seed)
    counts = real_train[label].astype(object).value_counts(sort=False)
    order = sorted(counts.index, key=lambda v: (-int(counts[v]), str(v)))  # largest class first, then by name
    plan = plan_rebalance({value: int(counts[value]) for value in order}, target)
    seeds = np.random.SeedSequence(seed).generate_state(len(plan), dtype=np.uint64) >> np.uint64(1)
    parts = [real_train.reset_index(drop=True).assign(**{SYNTHETIC_FLAG: False})]
    for class_seed, (value, k) in zip(seeds, plan.items(), strict=True):
        if k == 0:
            continue
        rows = model.sample(k, conditions={label: value}, seed=int(class_seed))
        _check_rows(rows, real_train, label, value, k)
        parts.append(rows.assign(**{SYNTHETIC_FLAG: True}))
    log.info("rebalancing %r to %r: adding %s synthetic rows to %d real ones", label, target, plan, len(real_train))
    augmented = pd.concat(parts, ignore_index=True)
    for column in real_train.columns:  # a category dtype whose parts differ comes back as object
        if augmented[column].dtype != real_train[column].dtype:
            converted = augmented[column].astype(real_train[column].dtype)
            if converted.isna().sum() == augmented[column].isna().sum():  # only when no value is lost
                augmented[column] = converted
            else:
                log.warning("column %r of the augmented table keeps dtype %s", column, augmented[column].dtype)
    return augmented


def _check_counts(counts: Mapping[Hashable, int]) -> dict[Hashable, int]:
    if not isinstance(counts, Mapping) or not counts:
        raise ParameterError(f"counts must be a non-empty mapping of class to real row count, got {counts!r}")
    for label, count in counts.items():
        if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 0:
            raise ParameterError(f"the count of class {label!r} must be an int >= 0, got {count!r}")
    if sum(counts.values()) == 0:
        raise ParameterError("counts hold no real rows; nothing to rebalance")
    return {label: int(count) for label, count in counts.items()}


def _check_shares(real: dict[Hashable, int], target: Mapping[Any, Any]) -> dict[Hashable, Fraction]:
    """The shares as exact fractions, normalised to sum to exactly 1."""
    unknown = [label for label in target if label not in real]
    if unknown:
        raise ParameterError(f"target names classes the data does not have: {unknown}; classes are {list(real)}")
    missing = [label for label, count in real.items() if count > 0 and label not in target]
    if missing:
        raise ParameterError(f"target gives no share for classes {missing}; real rows are never removed, give each one")
    shares: dict[Hashable, Fraction] = {}
    for label, share in target.items():
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
            raise ParameterError(f"the share of class {label!r} must be a number in [0, 1], got {share!r}")
        if share == 0 and real[label] > 0:
            raise ParameterError(
                f"class {label!r} has {real[label]} real rows but a share of 0; real rows are never removed"
            )
        shares[label] = Fraction(repr(float(share)))  # 0.1 as 1/10, not its binary neighbour
    total = sum(shares.values(), Fraction(0))
    if abs(total - 1) > _SHARE_TOLERANCE:
        raise ParameterError(f"the shares in target sum to {float(total)!r}, not 1: {dict(target)}")
    return {label: shares.get(label, Fraction(0)) / total for label in real}


def _smallest_total_counts(real: dict[Hashable, int], shares: dict[Hashable, Fraction]) -> dict[Hashable, int]:
    """Final counts for T = ceil(max count/share), the smallest total whose exact shares ``share * T`` all reach
    the real counts, rounded to integers by largest remainder (rounding never takes a class below its count:
    ``share * T >= count`` keeps its floor at or above it).
    """
    total = max(math.ceil(Fraction(count) / share) for label, count in real.items() if (share := shares[label]) > 0)
    final = _largest_remainder(shares, total)
    assert all(final[label] >= count for label, count in real.items())
    return final


def _largest_remainder(shares: dict[Hashable, Fraction], total: int) -> dict[Hashable, int]:
    exact = {label: share * total for label, share in shares.items()}
    final = {label: math.floor(value) for label, value in exact.items()}
    left = total - sum(final.values())
    by_remainder = sorted(exact, key=lambda label: -(exact[label] - final[label]))  # stable: ties keep given order
    for label in by_remainder[:left]:
        final[label] += 1
    return final


def _check_table(real_train: pd.DataFrame, label: str, seed: int) -> None:
    if not isinstance(real_train, pd.DataFrame) or len(real_train) == 0:
        raise ParameterError("real_train must be a DataFrame with rows")
    if label not in real_train.columns:
        raise ParameterError(f"label column {label!r} is not in the table; columns are {list(real_train.columns)}")
    if SYNTHETIC_FLAG in real_train.columns:
        raise ParameterError(f"the real table already has a {SYNTHETIC_FLAG!r} column; pass the real rows only")
    nulls = int(real_train[label].isna().sum())
    if nulls:
        raise ParameterError(f"label column {label!r} has {nulls} null values; drop or fill them before rebalancing")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParameterError(f"seed must be an int >= 0, got {seed!r}")


def _check_rows(rows: pd.DataFrame, real_train: pd.DataFrame, label: str, value: Any, k: int) -> None:
    """The model's side of the contract: k rows, the training columns, every label the one asked for."""
    if list(rows.columns) != list(real_train.columns) or len(rows) != k:
        raise ConditionError(
            f"the model returned {len(rows)} rows with columns {list(rows.columns)} for {k} rows of "
            f"{label}={value!r}; expected the training columns {list(real_train.columns)}"
        )
    if not (rows[label].astype(object) == value).all():
        raise ConditionError(f"the model returned rows whose {label!r} is not {value!r}; conditional sampling failed")
