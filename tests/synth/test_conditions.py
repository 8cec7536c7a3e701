"""Conditions in sample(): several categorical columns and a numeric range, exact when they succeed, a reported
shortfall (never forced values, never an endless loop) when they do not, and clear errors for impossible asks.
"""

from __future__ import annotations

import pickle

import pandas as pd
import pyarrow as pa
import pytest

from synth import ConditionError, ConditionShortfall, ParameterError, TabularSynthesizer
from synth.schema import table_to_frame

FAST = {"epochs": 2, "batch_size": 100, "generator_dims": (32,), "discriminator_dims": (32,), "device": "cpu"}


@pytest.fixture(scope="module")
def adult_frame(adult_table: pa.Table) -> pd.DataFrame:
    return table_to_frame(adult_table)


@pytest.fixture(scope="module")
def fitted(adult_frame: pd.DataFrame) -> TabularSynthesizer:
    return TabularSynthesizer(seed=0, **FAST).fit(adult_frame)


def test_three_categorical_columns_are_exact(fitted: TabularSynthesizer, adult_frame: pd.DataFrame) -> None:
    conditions = {"sex": "Female", "race": "White", "income": ">50K"}
    rows = fitted.sample(300, conditions=conditions, seed=1)
    assert len(rows) == 300
    assert rows.dtypes.equals(adult_frame.dtypes)
    for column, value in conditions.items():
        assert (rows[column] == value).all(), column
    assert rows.index.equals(pd.RangeIndex(300))


def test_numeric_range_alone_and_with_categories(fitted: TabularSynthesizer) -> None:
    ages = fitted.sample(200, conditions={"age": (30, 40)}, seed=1)
    assert len(ages) == 200 and ages["age"].between(30, 40).all()
    assert ages["age"].nunique() > 1  # a range, not one forced value
    mixed = fitted.sample(150, conditions={"sex": "Female", "income": ">50K", "hours_per_week": [35, 45]}, seed=2)
    assert len(mixed) == 150
    assert (mixed["sex"] == "Female").all() and (mixed["income"] == ">50K").all()
    assert mixed["hours_per_week"].between(35, 45).all()


def test_targeted_sampling_is_deterministic(fitted: TabularSynthesizer) -> None:
    conditions = {"race": "Black", "sex": "Male", "age": (25, 50)}
    first = fitted.sample(120, conditions=conditions, seed=5)
    pd.testing.assert_frame_equal(first, fitted.sample(120, conditions=conditions, seed=5))
    assert not first.equals(fitted.sample(120, conditions=conditions, seed=6))
    assert fitted.sample(0, conditions=conditions, seed=5).shape == (0, first.shape[1])


def test_datetime_range_with_ids_and_nulls(mixed_frame: pd.DataFrame) -> None:
    model = TabularSynthesizer(seed=0, **FAST).fit(mixed_frame)
    conditions = {"plan": "pro", "member": False, "signed_up": ("2024-03-01", pd.Timestamp("2024-09-30", tz="UTC"))}
    rows = model.sample(200, conditions=conditions, seed=3)
    assert len(rows) == 200 and rows.dtypes.equals(mixed_frame.dtypes)
    assert (rows["plan"] == "pro").all() and (~rows["member"]).all()
    low, high = pd.Timestamp("2024-03-01", tz="UTC"), pd.Timestamp("2024-09-30", tz="UTC")
    assert rows["signed_up"].between(low, high).all()
    assert rows["customer_id"].is_unique  # identifiers are made afresh over the gathered rows, not per batch
    nulls = model.sample(30, conditions={"city": None, "plan": "basic"}, seed=3)
    assert nulls["city"].isna().all() and (nulls["plan"] == "basic").all()


def test_a_shortfall_is_reported_with_the_partial_rows(fitted: TabularSynthesizer) -> None:
    """capital_gain is 0 for most rows: values in [1, 2] are all but never generated, and never forced."""
    with pytest.raises(ConditionShortfall, match=r"found \d+ of 10 rows matching .* after 1 tries") as caught:
        fitted.sample(10, conditions={"capital_gain": (1, 2), "sex": "Male"}, seed=0, max_tries=1)
    error = caught.value
    assert isinstance(error, ConditionError)
    assert error.requested == 10 and error.tries == 1 and error.found == len(error.rows) < 10
    assert error.generated >= 10 and 0 <= error.acceptance_rate < 1
    assert error.rows["capital_gain"].between(1, 2).all() and (error.rows["sex"] == "Male").all()
    assert "acceptance rate" in str(error)
    again = pickle.loads(pickle.dumps(error))  # task runners pickle errors
    assert str(again) == str(error) and again.found == error.found and len(again.rows) == len(error.rows)


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({"sex": "Female", "race": "White", "income": ">50K", "workclass": "Private"}, "at most 3 categorical"),
        ({"age": (20, 30), "hours_per_week": (10, 20)}, "a range on one column only"),
        ({"sex": ("Female", "Male")}, "'sex' is categorical; a \\(low, high\\) range needs"),
        ({"age": (40, 30)}, "inverted"),
        ({"age": (30.2, 30.8)}, "holds no integer"),
        ({"age": (30, 35, 40)}, "is \\(low, high\\), got 3 items"),
        ({"age": (200, 300)}, "outside the real data's range \\[17"),
        ({"age": ("thirty", 40)}, "must be a finite number"),
        ({"sex": "Female", "race": "Martian"}, "'Martian' never comes out of column 'race'"),
        ({"sex": "Female", "salary": 3}, "unknown column 'salary'"),
        ({"sex": "Female", "age": 30}, "'age' is integer; .* a \\(low, high\\) range"),
    ],
)
def test_impossible_conditions_are_clear_errors(
    fitted: TabularSynthesizer, conditions: dict[str, object], message: str
) -> None:
    with pytest.raises(ConditionError, match=message):
        fitted.sample(5, conditions=conditions, seed=0)


def test_bad_ranges_on_continuous_and_datetime_columns(mixed_frame: pd.DataFrame) -> None:
    model = TabularSynthesizer(seed=0, **FAST).fit(mixed_frame)
    with pytest.raises(ConditionError, match="empty: low == high"):
        model.sample(5, conditions={"income": (1000.0, 1000.0)})
    with pytest.raises(ConditionError, match="not a timestamp"):
        model.sample(5, conditions={"signed_up": ("someday", "2024-05-01")})
    with pytest.raises(ConditionError, match="outside the real data's range"):
        model.sample(5, conditions={"signed_up": ("2030-01-01", "2031-01-01")})
    with pytest.raises(ConditionError, match="'customer_id' is id"):
        model.sample(5, conditions={"customer_id": 1001, "plan": "pro"})


def test_a_range_on_a_float_column_of_cents_holds_a_cent(mixed_frame: pd.DataFrame) -> None:
    frame = mixed_frame.assign(income=mixed_frame["income"].round(2))
    model = TabularSynthesizer(seed=0, **FAST).fit(frame)
    with pytest.raises(ConditionError, match=r"multiples of 0\.01, and \(1000\.001, 1000\.009\) holds none"):
        model.sample(5, conditions={"income": (1000.001, 1000.009)})
    low, high = frame["income"].quantile([0.4, 0.6])
    rows = model.sample(50, conditions={"income": (low, high)}, seed=1, max_tries=200)
    assert rows["income"].between(low, high).all()
    assert (rows["income"] == rows["income"].round(2)).all()


def test_max_tries_is_checked(fitted: TabularSynthesizer) -> None:
    with pytest.raises(ParameterError, match="max_tries must be an int >= 1, got 0"):
        fitted.sample(5, conditions={"sex": "Female", "race": "White"}, max_tries=0)
