"""Metrics with known answers: identical data scores best, disjoint data worst, copies of train are flagged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from synth import infer_schema
from synth.schema import table_to_frame
from validators import (
    MetricInputError,
    Thresholds,
    column_shapes,
    dcr_holdout_share,
    decide,
    evaluate,
    exact_copy_rate,
    pair_trends,
)
from validators.distances import nearest_distances
from validators.fidelity import ks_complement, tv_complement


@pytest.fixture(scope="module")
def split(adult_table: pa.Table) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = table_to_frame(adult_table)
    return frame.iloc[:400].reset_index(drop=True), frame.iloc[400:].reset_index(drop=True)


def test_ks_and_tv_known_values() -> None:
    assert ks_complement(pd.Series([1.0, 2.0, 3.0]), pd.Series([1.0, 2.0, 3.0])) == 1.0
    assert ks_complement(pd.Series([1.0, 2.0]), pd.Series([10.0, 20.0])) == 0.0
    assert tv_complement(pd.Series(["a", "b"]), pd.Series(["a", "b"])) == 1.0
    assert tv_complement(pd.Series(["a", "a"]), pd.Series(["b", "b"])) == 0.0
    assert tv_complement(pd.Series(["a", None]), pd.Series(["a", "a"])) == 1.0  # nulls are the missing-value metric's


def test_identical_data_scores_best(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, holdout = split
    schema = infer_schema(train)
    assert column_shapes(train, train, holdout, schema=schema).value == 1.0
    result = pair_trends(train, train, holdout, schema=schema)
    assert result.value == pytest.approx(1.0)
    assert result.reference < 1.0  # a real holdout is not a perfect copy: the reference shows the noise floor
    assert len(result.details) == 15 * 14 // 2  # all pairs of the 15 modelled columns


def test_shuffled_columns_break_pair_trends_but_not_shapes() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    real = pd.DataFrame({"x": x, "y": x + rng.normal(scale=0.1, size=2000), "c": np.where(x > 0, "hi", "lo")})
    train, holdout = real.iloc[:1000].reset_index(drop=True), real.iloc[1000:].reset_index(drop=True)
    shuffled = train.apply(lambda col: col.iloc[rng.permutation(len(col))].reset_index(drop=True))
    schema = infer_schema(train)
    assert column_shapes(train, shuffled, holdout, schema=schema).value == 1.0
    broken = pair_trends(train, shuffled, holdout, schema=schema)
    assert broken.reference > 0.95
    assert broken.value < 0.75 and not broken.passed


def test_disjoint_data_scores_worst() -> None:
    train = pd.DataFrame({"x": np.arange(100.0), "c": ["a"] * 50 + ["b"] * 50})
    synthetic = pd.DataFrame({"x": np.arange(1000.0, 1100.0), "c": ["z"] * 100})
    schema = infer_schema(train)
    shapes = column_shapes(train, synthetic, train, schema=schema)
    assert shapes.value == 0.0 and not shapes.passed
    assert pair_trends(train, synthetic, train, schema=schema).value == pytest.approx(0.0)


def test_copies_of_train_are_flagged(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, holdout = split
    schema = infer_schema(train)
    copies = exact_copy_rate(train, train, holdout, schema=schema)
    assert copies.value == 1.0 and not copies.passed
    assert copies.reference < 0.05
    dcr = dcr_holdout_share(train, train.iloc[:200], holdout, schema=schema, seed=0)
    # Equal-size samples: train is subsampled to the holdout's size, so only the sampled rows' copies count.
    assert dcr.value > 0.7 and not dcr.passed
    assert 0.3 < dcr.reference < 0.7


def test_fresh_rows_are_not_flagged(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, holdout = split
    schema = infer_schema(train)
    # The holdout plays a perfect generator: new rows from the same distribution.
    assert exact_copy_rate(train, holdout, holdout, schema=schema).passed
    assert dcr_holdout_share(train, holdout, holdout, schema=schema, seed=0).passed


def test_dcr_is_deterministic_for_a_seed(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, holdout = split
    schema = infer_schema(train)
    first = dcr_holdout_share(train, holdout, holdout, schema=schema, seed=3)
    assert first == dcr_holdout_share(train, holdout, holdout, schema=schema, seed=3)


def test_chunked_nearest_distances_match_brute_force() -> None:
    rng = np.random.default_rng(0)
    queries, reference = rng.normal(size=(3000, 5)), rng.normal(size=(9000, 5))
    expected = np.sqrt(((queries[:50, None, :] - reference[None, :, :]) ** 2).sum(-1)).min(axis=1)
    got = nearest_distances(queries.astype(np.float32), reference.astype(np.float32))
    np.testing.assert_allclose(got[:50], expected, rtol=1e-4)
    assert got.shape == (3000,)


def test_gate_verdicts_and_messages(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, holdout = split
    report = evaluate(train, train, holdout, thresholds=Thresholds())
    assert report.verdict.status == "failed"
    assert any(f.startswith("exact_copy_rate = 1.0000 is above its threshold") for f in report.verdict.failures)
    assert decide(list(report.metrics), enforce=False).status == "warned"
    assert report.metric("exact_copy_rate").details["copies"] == len(train)
    good = evaluate(train, holdout, holdout)
    assert good.verdict.status == "passed" and good.verdict.failures == ()
    html = report.to_html()
    assert "Verdict: failed" in html and "<script" not in html and "http" not in html


def test_missing_columns_are_an_input_error(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, holdout = split
    with pytest.raises(MetricInputError, match="lacks the schema's column"):
        column_shapes(train, holdout.drop(columns=["age"]), holdout, schema=infer_schema(train))
