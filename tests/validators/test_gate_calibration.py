"""The gate on tables unlike Adult: unseen real rows pass on each, and a copy of the training rows, independently
shuffled columns and a collapsed set fail (each table drawn in code from a known process, so "real" is exact)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from synth import infer_schema
from validators import Report, evaluate


def narrow(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Six columns bound to each other: the shape where perfect marginals alone once passed the gate."""
    age = rng.integers(18, 80, n)
    income = 900.0 * age + rng.normal(0, 6_000, n)
    band = np.where(age < 30, "young", np.where(age < 55, "middle", "older"))
    band = np.where(rng.random(n) < 0.05, rng.choice(["young", "middle", "older"], n), band)
    member = (income > 45_000) ^ (rng.random(n) < 0.1)
    visits = rng.poisson(np.where(member, 8.0, 2.0))
    return pd.DataFrame({"age": age, "income": income, "band": band, "member": member, "visits": visits,
                         "city": rng.choice(["north", "south", "east", "west"], n)})  # fmt: skip


def repeated(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Survey-like rows drawn from a small pool of records: many unseen rows have an exact twin in train."""
    pool = narrow(2_000, rng).assign(income=lambda f: (f["income"] // 10_000) * 10_000)
    return pool.iloc[rng.integers(0, len(pool), n)].reset_index(drop=True)


def small(n: int, rng: np.random.Generator) -> pd.DataFrame:
    return narrow(n, rng)


TABLES: dict[str, tuple[Callable[[int, np.random.Generator], pd.DataFrame], int, int]] = {
    # name: (draw, training rows, holdout rows)
    "narrow": (narrow, 2_000, 500),
    "repeated": (repeated, 2_000, 500),
    "small": (small, 480, 120),
}


@pytest.fixture(scope="module", params=sorted(TABLES))
def table(request: pytest.FixtureRequest) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(train, holdout, unseen real rows) of one table."""
    draw, n_train, n_holdout = TABLES[request.param]
    rng = np.random.default_rng(7)
    rows = draw(n_train + 2 * n_holdout, rng)
    train, holdout = rows.iloc[:n_train], rows.iloc[n_train : n_train + n_holdout]
    other = rows.iloc[n_train + n_holdout :]
    return tuple(part.reset_index(drop=True) for part in (train, holdout, other))  # type: ignore[return-value]


def _gate(table: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame], candidate: pd.DataFrame) -> Report:
    train, holdout, _ = table
    return evaluate(train, candidate, holdout, schema=infer_schema(train), target="member", seed=0)


def _failed(report: Report) -> set[str]:
    return {m.name for m in report.metrics if m.status == "fail"}


def test_unseen_real_rows_pass(table: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    report = _gate(table, table[2])
    assert not _failed(report), report.verdict.failures


def test_a_copy_of_the_training_rows_fails(table: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    copy = table[0].sample(len(table[1]), random_state=1).reset_index(drop=True)
    assert "exact_copy_rate" in _failed(_gate(table, copy))


def test_independently_shuffled_columns_fail(table: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    rng = np.random.default_rng(3)
    other = table[2]
    shuffled = pd.DataFrame({c: other[c].to_numpy()[rng.permutation(len(other))] for c in other.columns})
    failed = _failed(_gate(table, shuffled))
    assert failed & {"pair_trends", "detection_auc"}, failed


def test_a_collapsed_set_fails(table: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    rng = np.random.default_rng(4)
    collapsed = table[0].iloc[np.repeat(rng.choice(len(table[0]), 5), len(table[1]) // 5)].reset_index(drop=True)
    failed = _failed(_gate(table, collapsed))
    assert failed & {"prdc_coverage", "prdc_recall", "column_shapes", "detection_auc"}, failed


def test_the_levels_follow_the_table_not_fixed_numbers() -> None:
    """A table of repeated records: unseen real rows sit at distance 0 from train far more than 1 % of the time, and
    the gate's low-DCR level moves with the holdout's own share instead of failing them."""
    rng = np.random.default_rng(7)
    rows = repeated(4_500, rng)
    train, holdout, other = rows.iloc[:3_000], rows.iloc[3_000:3_750], rows.iloc[3_750:]
    report = evaluate(train, other.reset_index(drop=True), holdout.reset_index(drop=True), seed=0)
    low_dcr = report.metric("low_dcr_share")
    assert low_dcr.reference > 0.05 and low_dcr.status != "fail"
    assert low_dcr.threshold > low_dcr.reference
