"""A nullable number's null rows are encoded with a value drawn from the row's other columns: always one of the
column's real values, carrying the link to the other numbers and the categories, the same for the same seed; present
values and the null flag are untouched, and a private fit encodes without the draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.special

from synth import TabularSynthesizer, infer_schema
from synth.tabular.codecs import NumericCodec
from synth.tabular.imputation import FIT_ROWS, _normal_scores, fill_nulls
from synth.tabular.transformer import TableTransformer
from tests.conftest import TINY_FIT


def linked(rows: int = 4_000, seed: int = 0) -> dict[str, np.ndarray]:
    """Two scores that correlate 0.8, each null in a random half of the rows, and a count with no nulls."""
    rng = np.random.default_rng(seed)
    shared = rng.standard_normal(rows)
    first = np.round(500 + 40 * (0.9 * shared + 0.44 * rng.standard_normal(rows)))
    second = np.round(520 + 40 * (0.9 * shared + 0.44 * rng.standard_normal(rows)))
    first[rng.random(rows) < 0.5] = np.nan
    second[rng.random(rows) < 0.5] = np.nan
    return {"first": first, "second": second, "count": rng.poisson(3, rows).astype(np.float64)}


def test_nulls_are_filled_with_real_values_and_present_ones_kept() -> None:
    columns = linked()
    filled = fill_nulls(columns, np.random.default_rng(1))
    assert set(filled) == {"first", "second"}  # the count has no nulls
    for name, values in filled.items():
        present = ~np.isnan(columns[name])
        assert not np.isnan(values).any()
        np.testing.assert_array_equal(values[present], columns[name][present])
        assert set(values[~present]) <= set(columns[name][present])


def test_filled_values_carry_the_link_to_the_other_numbers() -> None:
    columns = linked()
    filled = fill_nulls(columns, np.random.default_rng(1))
    only_first_null = np.isnan(columns["first"]) & ~np.isnan(columns["second"])
    drawn = np.corrcoef(filled["first"][only_first_null], columns["second"][only_first_null])[0, 1]
    both = ~np.isnan(columns["first"]) & ~np.isnan(columns["second"])
    real = np.corrcoef(columns["first"][both], columns["second"][both])[0, 1]
    assert real == pytest.approx(0.8, abs=0.03)
    assert drawn == pytest.approx(real, abs=0.06)  # a fixed stand-in, or a draw from the marginal, would give 0
    assert np.std(filled["first"][only_first_null]) == pytest.approx(np.nanstd(columns["first"]), rel=0.1)


def test_filled_values_follow_the_rows_categories() -> None:
    rng = np.random.default_rng(0)
    job = rng.integers(0, 3, 6_000)  # an income that follows only the job's category
    income = np.round(np.array([20_000.0, 40_000.0, 80_000.0])[job] * rng.lognormal(0, 0.1, len(job)))
    income[rng.random(len(job)) < 0.4] = np.nan
    filled = fill_nulls({"income": income, "age": rng.normal(40, 10, len(job))}, rng, [job])["income"]
    null = np.isnan(income)
    for code in range(3):
        real = np.nanmedian(income[job == code])
        assert np.median(filled[null & (job == code)]) == pytest.approx(real, rel=0.1)


def test_a_number_the_fitted_rows_miss_is_still_filled() -> None:
    rows = FIT_ROWS + 5_000
    rare = np.full(rows, np.nan)
    rare[-2:] = [1.0, 2.0]  # present in two rows only, which the fitted sample may not hold
    other = np.random.default_rng(0).normal(size=rows)
    other[::3] = np.nan
    filled = fill_nulls({"rare": rare, "other": other}, np.random.default_rng(1))
    assert set(filled["rare"]) <= {1.0, 2.0}
    assert not np.isnan(filled["other"]).any()


def test_tied_values_share_their_mean_rank_and_nulls_stay_null() -> None:
    scores = _normal_scores(np.array([3.0, 1.0, 3.0, np.nan, 2.0]))
    ranks = np.array([3.5, 1.0, 3.5, 2.0])  # of 3, 1, 3 and 2 among four present values
    np.testing.assert_allclose(scores[[0, 1, 2, 4]], scipy.special.ndtri((ranks - 0.5) / 4))
    assert np.isnan(scores[3])


def test_the_same_seed_fills_the_same_values() -> None:
    first = fill_nulls(linked(), np.random.default_rng(7))
    second = fill_nulls(linked(), np.random.default_rng(7))
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])


def test_a_table_without_nullable_numbers_leaves_the_random_stream_alone() -> None:
    rng = np.random.default_rng(3)
    assert fill_nulls({"count": np.arange(10.0), "empty": np.full(10, np.nan)}, rng) == {}
    assert rng.integers(1_000_000) == np.random.default_rng(3).integers(1_000_000)


def test_a_lone_nullable_number_is_drawn_from_its_own_values() -> None:
    values = np.array([1.0, 2.0, np.nan, 3.0, np.nan, 2.0])
    filled = fill_nulls({"only": values}, np.random.default_rng(0))["only"]
    assert set(filled[[2, 4]]) <= {1.0, 2.0, 3.0}


def test_encoded_null_rows_hold_drawn_values_and_keep_their_null_flag(mixed_frame: pd.DataFrame) -> None:
    schema = infer_schema(mixed_frame)
    transformer = TableTransformer(schema).fit(mixed_frame, np.random.default_rng(0))
    start = transformer.offsets()[schema.names.index("income")]
    codec = transformer.encoders[schema.names.index("income")]
    assert isinstance(codec, NumericCodec) and codec.nullable
    null = mixed_frame["income"].isna().to_numpy()
    flag = slice(start + 1 + len(codec.modes), start + codec.width)  # [present, null]
    value = slice(start, start + 1 + len(codec.modes))  # the scalar and the mode

    stand_in = transformer.transform(mixed_frame, np.random.default_rng(1), fill=False)
    drawn = transformer.transform(mixed_frame, np.random.default_rng(1))
    np.testing.assert_array_equal(drawn[:, flag], stand_in[:, flag])
    assert (drawn[null, flag] == [0, 1]).all()
    assert len(np.unique(stand_in[null, value], axis=0)) == 1  # one fixed stand-in for every null row
    assert len(np.unique(drawn[null, value], axis=0)) > 1


def test_a_private_fit_encodes_without_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    transform = TableTransformer.transform

    def recording(self: TableTransformer, frame: pd.DataFrame, rng: np.random.Generator, *, fill: bool = True):
        seen.append(fill)
        return transform(self, frame, rng, fill=fill)

    monkeypatch.setattr(TableTransformer, "transform", recording)
    frame = pd.DataFrame(linked())
    bounds = {"first": {"min": 300, "max": 700}, "second": {"min": 300, "max": 700}, "count": {"min": 0, "max": 20}}
    model = TabularSynthesizer(**{**TINY_FIT, "epochs": 1}, epsilon=5.0, public_metadata=bounds, seed=0)
    model.fit(frame, infer_schema(frame))
    assert seen == [False]
