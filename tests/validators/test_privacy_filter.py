"""The privacy filter: planted copies and near-copies go, real unseen rows go at the percentile's rate, and the refill
keeps exactly the count asked for or stops with a clear error.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from synth import infer_schema
from synth.schema import Schema, table_to_frame
from validators import (
    DEFAULT_BOUNDS,
    PRIVACY_BOUNDS,
    MetricInputError,
    PrivacyFilter,
    PrivacyFilterError,
    filter_and_refill,
)
from validators.bounds import judge

Split = tuple[pd.DataFrame, pd.DataFrame, Schema]


@pytest.fixture(scope="module")
def split(adult_table: pa.Table) -> Split:
    frame = table_to_frame(adult_table)
    train, holdout = frame.iloc[:400].reset_index(drop=True), frame.iloc[400:].reset_index(drop=True)
    return train, holdout, infer_schema(train)


@pytest.fixture(scope="module")
def fitted(split: Split) -> PrivacyFilter:
    train, holdout, schema = split
    return PrivacyFilter().fit(train, holdout, schema=schema, percentile=1.0, seed=0)


def _pool_sampler(pool: pd.DataFrame) -> tuple[list[tuple[int, int]], Callable[[int, int], pd.DataFrame]]:
    """A stand-in model: rows drawn from a pool by seed, recording each call."""
    calls: list[tuple[int, int]] = []

    def sample(count: int, seed: int) -> pd.DataFrame:
        calls.append((count, seed))
        rows = np.random.default_rng(seed).integers(0, len(pool), count)
        return pool.iloc[rows].reset_index(drop=True)

    return calls, sample


def test_planted_exact_copies_are_flagged_across_number_types(split: Split, fitted: PrivacyFilter) -> None:
    train, holdout, _ = split
    copies = train.iloc[:40].copy()
    # the same values in other types: 39 as 39.0, strings as plain objects
    retyped = copies.astype({"age": "float64", "fnlwgt": "float64", "workclass": object, "income": object})
    synthetic = pd.concat([holdout, copies, retyped], ignore_index=True)
    flagged, exact = fitted.masks(synthetic)
    planted = np.arange(len(holdout), len(synthetic))
    assert flagged[planted].all() and exact[planted].all()
    assert not exact[: len(holdout)].any()  # these holdout rows copy no training row
    assert (fitted.flag(synthetic) == flagged).all()
    kept = synthetic[~flagged]
    assert not fitted.flag(kept).any()


def test_planted_near_copies_are_flagged(split: Split, fitted: PrivacyFilter) -> None:
    train, _, _ = split
    near = train.iloc[:30].copy().reset_index(drop=True)
    for i, column in enumerate(["fnlwgt", "age", "hours_per_week"]):
        near.loc[i::3, column] += 1  # one value per row, off by one unit
    flagged, exact = fitted.masks(near)
    assert fitted.line_ > 0
    assert flagged.all() and not exact.any()  # caught by distance, not by the copy test


def test_holdout_rows_are_flagged_at_the_percentile_rate(split: Split) -> None:
    train, holdout, schema = split
    for percentile in (1.0, 10.0):
        flt = PrivacyFilter().fit(train, holdout, schema=schema, percentile=percentile)
        assert flt.flag(holdout).mean() == pytest.approx(percentile / 100, abs=0.01)
    summary = flt.summary(holdout)
    assert json.loads(json.dumps(summary)) == summary
    assert summary["rows_checked"] == len(holdout) and summary["percentile"] == 10.0
    assert summary["dropped"] == int(flt.flag(holdout).sum()) and summary["line"] == flt.line_


def test_line_uses_at_most_max_rows_holdout_rows_seeded(split: Split) -> None:
    train, holdout, schema = split
    a = PrivacyFilter().fit(train, holdout, schema=schema, percentile=5.0, seed=3, max_rows=50)
    b = PrivacyFilter().fit(train, holdout, schema=schema, percentile=5.0, seed=3, max_rows=50)
    assert a.holdout_rows_ == 50 and a.line_ == b.line_
    assert len(a.train_points_) == len(train) and len(a.train_keys_) <= len(train)


def test_refill_keeps_exactly_n_unflagged_rows(split: Split, fitted: PrivacyFilter) -> None:
    train, holdout, _ = split
    pool = pd.concat([holdout, train.iloc[:100]], ignore_index=True)  # a third of the draws copy a training row
    calls, sample = _pool_sampler(pool)
    rows, report = filter_and_refill(sample, 150, fitted, seed=5)
    assert len(rows) == 150 and list(rows.index) == list(range(150))
    assert not fitted.flag(rows).any()
    assert report["asked"] == 150 and report["rounds"] == len(calls) >= 2
    assert report["drawn"] == sum(count for count, _ in calls)
    assert report["drawn"] == report["asked"] + report["dropped"] + report["surplus"]
    assert 0 < report["exact_copies"] <= report["dropped"]
    assert report["line"] == fitted.line_ and report["percentile"] == 1.0
    assert calls[0] == (150, 5)  # the first draw is sample(n, seed) itself
    assert len({seed for _, seed in calls}) == len(calls)
    again, again_report = filter_and_refill(_pool_sampler(pool)[1], 150, fitted, seed=5)
    pd.testing.assert_frame_equal(rows, again)
    assert again_report == report
    other, _ = filter_and_refill(_pool_sampler(pool)[1], 150, fitted, seed=6)
    assert not other.equals(rows)


def test_refill_with_nothing_to_drop_is_the_first_draw(split: Split, fitted: PrivacyFilter) -> None:
    _, holdout, _ = split
    _, sample = _pool_sampler(holdout[~fitted.flag(holdout)])
    rows, report = filter_and_refill(sample, 80, fitted, seed=1)
    pd.testing.assert_frame_equal(rows, sample(80, 1))
    assert (report["rounds"], report["drawn"], report["dropped"], report["surplus"]) == (1, 80, 0, 0)


def test_a_model_that_only_copies_stops_after_max_rounds(split: Split, fitted: PrivacyFilter) -> None:
    train, _, _ = split
    calls, sample = _pool_sampler(train)
    with pytest.raises(PrivacyFilterError, match=r"kept only 0 of 50 rows after 3 rounds.*\(100\.0%\)") as caught:
        filter_and_refill(sample, 50, fitted, seed=0, max_rounds=3)
    assert "exact copies of training rows (" in str(caught.value)
    assert [count for count, _ in calls] == [50, 550, 550]  # over-draw capped at 10x the missing rows, padded 10 %


def test_bad_settings_are_refused(split: Split, fitted: PrivacyFilter) -> None:
    train, holdout, schema = split
    with pytest.raises(MetricInputError, match="percentile must be between 0 and 100, got 101"):
        PrivacyFilter().fit(train, holdout, schema=schema, percentile=101)
    with pytest.raises(MetricInputError, match="lack the schema's column"):
        fitted.flag(holdout.drop(columns="age"))
    _, sample = _pool_sampler(holdout)
    with pytest.raises(MetricInputError, match="n must be >= 1, got 0"):
        filter_and_refill(sample, 0, fitted, seed=0)
    with pytest.raises(MetricInputError, match="max_rounds must be >= 1, got 0"):
        filter_and_refill(sample, 5, fitted, seed=0, max_rounds=0)


@pytest.mark.parametrize("name", sorted(PRIVACY_BOUNDS))
def test_privacy_bounds_are_stricter_leakage_levels(name: str) -> None:
    strict, default = PRIVACY_BOUNDS[name], DEFAULT_BOUNDS[name]
    assert (strict.direction, strict.relative) == (default.direction, default.relative)
    for reference in (0.0, 0.01, 0.5, 0.75):
        (fail, warn), (default_fail, default_warn) = strict.levels(reference), default.levels(reference)
        assert warn is not None and default_warn is not None
        if strict.direction == "max":
            assert fail < default_fail and warn <= default_warn and warn < fail
        else:
            assert fail > default_fail and warn >= default_warn and warn > fail
    # a value between the two fail levels passes by default and fails in privacy mode
    between = (strict.levels(0.5)[0] + default.levels(0.5)[0]) / 2
    assert judge(between, 0.5, default).status != "fail" and judge(between, 0.5, strict).status == "fail"
