"""Rebalancing: exact per-class plans for each kind of target, and augmented tables with exactly those rows."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from synth import ParameterError, TabularSynthesizer, plan_rebalance, rebalance
from synth.schema import table_to_frame

FAST = {"epochs": 2, "batch_size": 100, "generator_dims": (32,), "discriminator_dims": (32,), "device": "cpu"}


@pytest.fixture(scope="module")
def adult_frame(adult_table: pa.Table) -> pd.DataFrame:
    return table_to_frame(adult_table)


@pytest.fixture(scope="module")
def fitted(adult_frame: pd.DataFrame) -> TabularSynthesizer:
    return TabularSynthesizer(seed=0, **FAST).fit(adult_frame)


def test_plans_for_each_kind_of_target() -> None:
    counts = {"a": 10, "b": 30, "c": 5}
    assert plan_rebalance(counts, "uniform") == {"a": 20, "b": 0, "c": 25}
    assert plan_rebalance(counts, {"top_up_to": 12}) == {"a": 2, "b": 0, "c": 7}
    assert plan_rebalance(counts, {"top_up_to": 1}) == {"a": 0, "b": 0, "c": 0}
    # b binds: 30 real rows at 30 % need 100 rows in all, so a and c are raised to 50 and 20
    assert plan_rebalance(counts, {"a": 0.5, "b": 0.3, "c": 0.2}) == {"a": 40, "b": 0, "c": 15}
    assert plan_rebalance({"x": 3, "y": 1}, {"x": 0.1, "y": 0.9}) == {"x": 0, "y": 26}  # 0.1 * 30 is 3, not 3.0000001


def test_proportions_round_by_largest_remainder() -> None:
    """10 real rows at 30 % need 34 in all (ceil(10 / 0.3)); 0.3 * 34 = 10.2 and 0.7 * 34 = 23.8 round to 10, 24."""
    assert plan_rebalance({"a": 10, "b": 1}, {"a": 0.3, "b": 0.7}) == {"a": 0, "b": 23}
    assert plan_rebalance({"a": 1, "b": 1, "c": 1}, {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}) == {"a": 0, "b": 0, "c": 0}
    # 7 rows at 1/3 need 21; the remaining 14 split 7 / 7 between b and c
    assert plan_rebalance({"a": 7, "b": 2, "c": 0}, {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}) == {"a": 0, "b": 5, "c": 7}
    # 0.25 * 10 = 2.5 twice: the tie goes to the class first in counts
    assert plan_rebalance({"a": 5, "b": 0, "c": 0}, {"a": 0.5, "b": 0.25, "c": 0.25}) == {"a": 0, "b": 3, "c": 2}


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"a": 0.5, "z": 0.5}, r"classes the data does not have: \['z'\]"),
        ({"a": 0.5, "b": 0.4}, "sum to 0.9"),
        ({"a": 1.0, "b": 0.0}, "'b' has 30 real rows but a share of 0"),
        ({"a": 1.0}, r"no share for classes \['b'\]"),
        ({"a": -0.5, "b": 1.5}, r"must be a number in \[0, 1\]"),
        ({"top_up_to": 0}, "top_up_to must be an int >= 1, got 0"),
        ({"top_up_to": 2.5}, "top_up_to must be an int >= 1"),
        ("balanced", "target must be 'uniform'"),
    ],
)
def test_bad_targets_are_clear_errors(target: object, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        plan_rebalance({"a": 10, "b": 30}, target)  # type: ignore[arg-type]


def test_bad_counts_are_clear_errors() -> None:
    with pytest.raises(ParameterError, match="count of class 'a' must be an int >= 0"):
        plan_rebalance({"a": -1, "b": 3}, "uniform")
    with pytest.raises(ParameterError, match="non-empty mapping"):
        plan_rebalance({}, "uniform")


def test_income_raised_to_half_gives_exact_counts(fitted: TabularSynthesizer, adult_frame: pd.DataFrame) -> None:
    real_counts = adult_frame["income"].value_counts().to_dict()
    augmented = rebalance(fitted, adult_frame, "income", {">50K": 0.5, "<=50K": 0.5}, seed=0)
    assert augmented["income"].value_counts().to_dict() == {"<=50K": real_counts["<=50K"], ">50K": real_counts["<=50K"]}
    assert augmented["is_synthetic"].dtype == bool
    synthetic = augmented[augmented["is_synthetic"]]
    assert len(synthetic) == real_counts["<=50K"] - real_counts[">50K"] and (synthetic["income"] == ">50K").all()
    real_part = augmented.iloc[: len(adult_frame)]
    assert not real_part["is_synthetic"].any()
    pd.testing.assert_frame_equal(real_part.drop(columns="is_synthetic"), adult_frame.reset_index(drop=True))
    assert augmented.drop(columns="is_synthetic").dtypes.equals(adult_frame.dtypes)


def test_uniform_and_top_up_are_exact_and_deterministic(fitted: TabularSynthesizer, adult_frame: pd.DataFrame) -> None:
    uniform = rebalance(fitted, adult_frame, "race", "uniform", seed=1)
    top = adult_frame["race"].value_counts().max()
    assert (uniform["race"].value_counts() == top).all()
    assert len(uniform) == top * adult_frame["race"].nunique()
    topped = rebalance(fitted, adult_frame, "race", {"top_up_to": 40}, seed=1)
    expected = adult_frame["race"].value_counts().clip(lower=40)
    assert topped["race"].value_counts().sort_index().equals(expected.sort_index())
    pd.testing.assert_frame_equal(topped, rebalance(fitted, adult_frame, "race", {"top_up_to": 40}, seed=1))
    unchanged = rebalance(fitted, adult_frame, "race", {"top_up_to": 1}, seed=1)
    assert len(unchanged) == len(adult_frame) and not unchanged["is_synthetic"].any()


def test_bad_tables_are_clear_errors(fitted: TabularSynthesizer, adult_frame: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="label column 'salary' is not in the table"):
        rebalance(fitted, adult_frame, "salary", "uniform", seed=0)
    with pytest.raises(ParameterError, match="already has a 'is_synthetic' column"):
        rebalance(fitted, adult_frame.assign(is_synthetic=False), "income", "uniform", seed=0)
    with pytest.raises(ParameterError, match="3 null values"):
        rebalance(fitted, adult_frame.assign(income=adult_frame["income"].mask(adult_frame.index < 3)), "income",
                  "uniform", seed=0)  # fmt: skip
