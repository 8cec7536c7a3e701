"""Numbers the sum of others gives: found only where (nearly) every real row keeps the sum, written from the
generated parts in every row (the column's own type, grid and range), across a save, never in a private fit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth import TabularSynthesizer, infer_schema
from synth.tabular.codecs import decimal_step, floats
from synth.tabular.totals import MAX_OFF_SHARE, MIN_ROWS, Total, find_totals
from tests.conftest import TINY_FIT, reloaded


def spending(rows: int = 2_000, seed: int = 0) -> pd.DataFrame:
    """Three kinds of spending in cents (late fees rare) and their total, a count of visits and a count of stays with
    their total count, a grand total of spending and a gift, and an unrelated income above them all."""
    rng = np.random.default_rng(seed)
    care = np.round(rng.lognormal(4, 1, rows), 2)
    drugs = np.where(rng.random(rows) < 0.4, 0.0, np.round(rng.lognormal(2, 1, rows), 2))
    fees = np.where(rng.random(rows) < 0.98, 0.0, np.round(rng.uniform(5, 50, rows), 2))
    visits, stays = rng.poisson(3, rows), rng.poisson(0.3, rows)
    gift = np.round(rng.uniform(0, 20, rows), 2)
    return pd.DataFrame({
        "care": care,
        "drugs": drugs,
        "fees": fees,
        "spent": care + drugs + fees,  # rounded one by one, the parts add up within a cent
        "visits": visits,
        "stays": stays,
        "admissions": visits + stays,
        "gift": gift,
        "outlay": care + drugs + fees + gift,  # a total of a total and another part: written from the parts
        "income": np.round(care + drugs + fees + gift + rng.lognormal(9, 1, rows), 2),
    })  # fmt: skip


def steps(frame: pd.DataFrame) -> dict[str, float]:
    return {name: decimal_step(floats(frame[name])) for name in frame.columns}


def totals(frame: pd.DataFrame, fixed: frozenset[str] = frozenset()) -> dict[str, tuple[str, ...]]:
    """column -> parts."""
    return {t.column: t.parts for t in find_totals(frame, infer_schema(frame), steps(frame), fixed)}


def test_each_total_is_found_with_its_parts_and_a_total_is_no_part() -> None:
    assert totals(spending()) == {
        "spent": ("care", "drugs", "fees"),
        "admissions": ("visits", "stays"),
        "outlay": ("care", "drugs", "fees", "gift"),
    }


def test_a_row_or_two_off_still_make_a_total_and_more_do_not() -> None:
    frame = spending()
    frame.loc[1_500, "admissions"] += 1  # past the first rows fitted on: the whole table is checked
    assert "admissions" in totals(frame)  # 1 row of 2,000 is within MAX_OFF_SHARE
    off = frame.index[:: int(1 / MAX_OFF_SHARE) // 2]  # twice the share allowed
    frame.loc[off, "admissions"] += 1
    assert "admissions" not in totals(frame)


def test_a_noisy_sum_a_negative_part_too_few_rows_or_columns_written_otherwise_make_none() -> None:
    frame = spending()
    noisy = frame.assign(spent=frame["spent"] * (1 + 1e-4 * np.random.default_rng(1).normal(size=len(frame))))
    assert "spent" not in totals(noisy)
    negative = frame.assign(drugs=-frame["drugs"], spent=frame["care"] - frame["drugs"] + frame["fees"])
    assert "spent" not in totals(negative)
    assert totals(spending(rows=MIN_ROWS - 1)) == {}
    assert totals(frame, frozenset({"admissions", "gift"})) == {"spent": ("care", "drugs", "fees")}


def test_apply_adds_the_parts() -> None:
    frame = pd.DataFrame({"a": [1.5, 0.0, 2.0], "b": [1, 2, 3]})
    np.testing.assert_array_equal(Total("t", ("a", "b")).apply(frame), [2.5, 2.0, 5.0])


def test_generated_rows_keep_every_total_within_its_range_across_a_save(tmp_path) -> None:
    frame = spending()
    model = TabularSynthesizer(seed=0, **TINY_FIT).fit(frame)
    assert {t.column for t in model.transformer_.totals_} == {"spent", "admissions", "outlay"}
    assert not {s.column for s in model.transformer_.shares_} & {"care", "drugs", "fees", "gift", "visits", "stays"}
    rows = model.sample(2_000, seed=1)
    assert rows.dtypes.equals(frame.dtypes)
    codecs = dict(zip(model.schema_.names, model.transformer_.codecs_, strict=True))
    for column, parts in (("spent", ["care", "drugs", "fees"]), ("admissions", ["visits", "stays"])):
        added = rows[parts].sum(axis=1)
        within = added.between(codecs[column].low, codecs[column].high)
        assert within.mean() > 0.8 and rows[column].between(codecs[column].low, codecs[column].high).all()
        np.testing.assert_allclose(rows.loc[within, column], added[within].round(2), atol=1e-9)
    assert (rows["admissions"] == rows["visits"] + rows["stays"]).mean() > 0.8

    picked = model.sample(100, conditions={"admissions": (2, 4)}, seed=2, max_tries=50)  # drawn and checked
    assert len(picked) == 100 and picked["admissions"].between(2, 4).all()

    assert reloaded(model, tmp_path / "m").transformer_.totals_ == model.transformer_.totals_


def test_a_private_fit_reads_no_totals_off_the_rows() -> None:
    model = TabularSynthesizer(seed=0, epsilon=5.0, **TINY_FIT).fit(spending(rows=1_000))
    assert model.transformer_.totals_ == []
