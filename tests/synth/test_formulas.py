"""Numbers a formula of another number gives: found only where every real row keeps it, written in every generated
row (nulls where the formula is undefined, the column's own type and grid), across a save, never in a private fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth import TabularSynthesizer, infer_schema
from synth.tabular import formulas as formula_module
from synth.tabular.formulas import FUNCTIONS, MIN_ROWS, Formula, find_formulas
from synth.tabular.transformer import TableTransformer
from tests.conftest import TINY_FIT, reloaded


def households(rows: int = 2_000, seed: int = 0) -> pd.DataFrame:
    """Income and its log, a raw score and its reported scale, spending and its log (null where nothing was spent),
    and an unrelated age."""
    rng = np.random.default_rng(seed)
    income = np.round(rng.lognormal(10, 1, rows), 2)
    raw = rng.integers(0, 41, rows)
    spent = np.where(rng.random(rows) < 0.3, 0.0, np.round(rng.lognormal(5, 2, rows), 2))
    return pd.DataFrame({
        "income": income,
        "log_income": np.log1p(income),
        "raw": raw,
        "reported": 5 * raw - 50,
        "spent": spent,
        "log_spent": np.log(np.where(spent > 0, spent, np.nan)),
        "age": rng.integers(18, 90, rows),
    })  # fmt: skip


def formulas(frame: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """column -> (source, function)."""
    return {f.column: (f.source, f.function) for f in find_formulas(frame, infer_schema(frame))}


def test_trying_every_pair_at_once_keeps_each_formula_a_pair_by_pair_search_finds() -> None:
    """Forty numbers, some a formula of another, some a formula broken a little in one row, some close but noisy:
    the screen that tries every pair at once on a few rows rules out no formula the search of each pair keeps."""
    rng = np.random.default_rng(3)
    rows = 1_500
    frame = pd.DataFrame({f"x{i}": np.round(rng.lognormal(rng.uniform(0, 8), 1, rows), 2) for i in range(40)})
    for i in range(0, 40, 5):
        frame[f"x{i + 1}"] = 3.5 * np.log(frame[f"x{i}"]) - 2  # a formula
        frame[f"x{i + 2}"] = np.log1p(frame[f"x{i}"]) * (1 + 9e-7 * rng.uniform(-1, 1, rows))  # just within it
        frame[f"x{i + 3}"] = 2 * frame[f"x{i}"] + 1
        frame.loc[1_000 + i, f"x{i + 3}"] += 1e-3 * (1 + frame.loc[1_000 + i, f"x{i + 3}"])  # one row off
        frame[f"x{i + 4}"] = frame[f"x{i}"] * (1 + 1e-3 * rng.normal(size=rows))  # close, not a formula
    numbers = {name: frame[name].to_numpy(float) for name in frame.columns}
    screens: dict[tuple[str, str], np.ndarray] = {}
    expected = []
    for name, values in numbers.items():
        found = next(
            (
                f
                for (source, function), screen in screens.items()
                if (f := formula_module._formula(name, values, source, screen, function, numbers[source]))
            ),
            None,
        )
        if found is None:
            screens |= {(name, function): formula_module._evaluate(function, values) for function in FUNCTIONS}
        else:
            expected.append(found)
    assert find_formulas(frame, infer_schema(frame)) == expected and len(expected) >= 16


def test_each_derived_number_is_found_with_its_formula() -> None:
    frame = households()
    assert formulas(frame) == {
        "log_income": ("income", "log1p"),
        "reported": ("raw", "identity"),
        "log_spent": ("spent", "log"),
    }
    (reported,) = [f for f in find_formulas(frame, infer_schema(frame)) if f.column == "reported"]
    assert (reported.scale, reported.shift) == (pytest.approx(5.0), pytest.approx(-50.0))


def test_of_two_numbers_that_give_each_other_the_first_in_the_table_is_the_source() -> None:
    frame = households()[["log_income", "income", "reported", "raw"]]
    assert formulas(frame) == {"income": ("log_income", "exp"), "raw": ("reported", "identity")}


def test_one_row_off_the_formula_a_misplaced_null_or_too_few_rows_make_none() -> None:
    frame = households()
    frame.loc[1_500, "log_income"] += 0.01  # past the first rows screened: the whole table is checked
    frame.loc[3, "log_spent"] = np.nan if frame.loc[3, "spent"] > 0 else 1.0
    assert formulas(frame) == {"reported": ("raw", "identity")}
    assert formulas(households(rows=MIN_ROWS - 1)) == {}


def test_columns_the_transformer_writes_otherwise_are_not_written_by_a_formula() -> None:
    frame = households()
    assert {f.column for f in find_formulas(frame, infer_schema(frame), frozenset({"reported"}))} == {
        "log_income",
        "log_spent",
    }
    transformer = TableTransformer(infer_schema(frame), rare_category_min=5).fit(frame, np.random.default_rng(0))
    assert {d.column: d.source for d in transformer.dependencies_} == {"reported": "raw"}  # 41 values: a lookup
    assert {f.column for f in transformer.formulas_} == {"log_income", "log_spent"}


def test_apply_gives_null_where_the_function_is_undefined() -> None:
    out = Formula("y", "x", "log", 2.0, 1.0).apply(pd.Series([1.0, 0.0, None, np.e]))
    assert out[0] == 1.0 and np.isnan(out[1]) and np.isnan(out[2]) and out[3] == pytest.approx(3.0)


def test_generated_rows_keep_every_formula_across_a_save(tmp_path) -> None:
    frame = households()
    frame["reported"] = frame["reported"] + frame.index % 2  # no longer a function of raw: the integer formula goes
    frame["twice_age"] = 2 * frame["age"]  # ...and this one is a lookup, so it is a dependency instead
    frame["monthly_thousands"] = frame["income"] / 12_000  # a formula onto no decimal grid
    model = TabularSynthesizer(seed=0, **TINY_FIT).fit(frame)
    assert {f.column for f in model.transformer_.formulas_} == {"log_income", "log_spent", "monthly_thousands"}
    rows = model.sample(1_000, seed=1)
    assert rows.dtypes.equals(frame.dtypes)

    def within_range(column: str, values: pd.Series) -> np.ndarray:  # as the written column comes out
        codec = model.transformer_.codecs_[list(frame.columns).index(column)]
        return np.clip(values.to_numpy(dtype=float), codec.low, codec.high)

    np.testing.assert_allclose(rows["log_income"], within_range("log_income", np.log1p(rows["income"])), rtol=1e-12)
    spent = rows["spent"] > 0
    assert 0 < spent.sum() < len(rows) and (rows["log_spent"].isna() == ~spent).all()
    expected = within_range("log_spent", np.log(rows.loc[spent, "spent"]))  # a spend below the smallest real ones...
    np.testing.assert_allclose(rows.loc[spent, "log_spent"], expected, rtol=1e-12)  # ...gets the smallest kept log
    np.testing.assert_allclose(rows["monthly_thousands"], rows["income"] / 12_000, rtol=1e-9)

    picked = model.sample(100, conditions={"log_income": (9.0, 11.0)}, seed=2, max_tries=50)  # drawn and checked
    assert len(picked) == 100 and picked["log_income"].between(9.0, 11.0).all()

    assert reloaded(model, tmp_path / "m").transformer_.formulas_ == model.transformer_.formulas_


def test_a_formula_never_writes_a_number_past_its_columns_own_range() -> None:
    """A log computed in single precision (and stored as a double) sits up to half a float32 step off the double log
    of its source, so the log of the largest income the model may write can lie past the largest log it may write,
    and a small income's past the smallest: the written number is kept within its own column's range, as every
    decoded number is."""
    frame = households()[["income", "age"]]
    frame["log_income"] = np.log(frame["income"]).astype(np.float32).astype(np.float64)
    transformer = TableTransformer(infer_schema(frame), rare_category_min=5).fit(frame, np.random.default_rng(0))
    assert [(f.column, f.source) for f in transformer.formulas_] == [("log_income", "income")]
    income = transformer.codecs_[0]
    drawn = frame.copy()
    drawn["income"] = np.clip(frame["income"], income.low, income.high)  # what decoding can write
    written = transformer.derive(drawn, np.random.default_rng(1))["log_income"]
    own = transformer.codecs_[2]
    assert own.low <= written.min() and written.max() <= own.high
    np.testing.assert_allclose(written, np.log(drawn["income"]), rtol=1e-6)


def test_a_private_fit_reads_no_formulas_off_the_rows() -> None:
    model = TabularSynthesizer(seed=0, epsilon=5.0, **TINY_FIT).fit(households(rows=1_000))
    assert model.transformer_.formulas_ == []
