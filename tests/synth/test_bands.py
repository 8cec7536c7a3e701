"""Columns fixed by the band another number falls in (a site by its postcode range, an age group, a year by the
date): found only where every real row keeps them, written in every generated row, never with a rare level, across
a save, never in a private fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth import TabularSynthesizer, infer_schema
from synth.tabular.bands import MIN_ROWS, Band, find_bands
from synth.tabular.transformer import TableTransformer
from tests.conftest import TINY_FIT, reloaded

SITES = np.array(["north", "south", "east", "west", "central", "coast"])
AGE_GROUPS = ["under 30", "30 to 59", "60 and over"]


def patients(rows: int = 2_000, seed: int = 0) -> pd.DataFrame:
    """Patients with a postcode whose leading digit is their site, an age and its group, a visit date and its
    year, spending and whether anything was spent, and a sex drawn regardless of the rest."""
    rng = np.random.default_rng(seed)
    site = rng.integers(0, len(SITES), rows)
    age = np.round(rng.uniform(18, 90, rows), 1)
    visit = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 5 * 365 * 24, rows), unit="h")
    spent = np.where(rng.random(rows) < 0.3, 0.0, np.round(rng.lognormal(5, 1, rows), 2))
    return pd.DataFrame({
        "postcode": (site + 1) * 100_000 + rng.integers(0, 50_000, rows),
        "site": pd.Categorical(SITES[site]),
        "age": age,
        "age_group": np.select([age < 30, age < 60], AGE_GROUPS[:2], AGE_GROUPS[2]),
        "visit": visit,
        "year": visit.year.astype("int64"),
        "spent": spent,
        "any_spending": spent > 0,
        "sex": rng.choice(["F", "M"], rows),
    })  # fmt: skip


def bands(frame: pd.DataFrame, rare_min: int = 5, skip: frozenset[str] = frozenset()) -> dict[str, str]:
    """column -> source."""
    return {band.column: band.source for band in find_bands(frame, infer_schema(frame), rare_min, skip)}


EXPECTED = {"site": "postcode", "age_group": "age", "year": "visit", "any_spending": "spent"}


def test_each_banded_column_is_found_with_its_number() -> None:
    assert bands(patients()) == EXPECTED
    by_column = {band.column: band for band in find_bands(patients(), infer_schema(patients()), 5)}
    assert by_column["age_group"].levels == tuple(AGE_GROUPS)
    assert 29.9 < by_column["age_group"].cuts[0] < 30.0 and 59.9 < by_column["age_group"].cuts[1] < 60.0
    assert by_column["year"].levels == (2019, 2020, 2021, 2022, 2023)


def test_one_row_out_of_its_band_columns_in_skip_or_too_few_rows_make_none() -> None:
    frame = patients()
    older = frame.index[frame["age"] > 70][0]
    frame.loc[older, "age_group"] = "under 30"  # one row breaks the runs
    frame.loc[frame.index[-1], "site"] = "north" if frame["site"].iloc[-1] != "north" else "south"
    assert bands(frame, skip=frozenset({"year"})) == {"any_spending": "spent"}
    assert bands(patients(rows=MIN_ROWS - 1)) == {}


def test_columns_drawn_regardless_of_any_number_make_none() -> None:
    frame = patients()[["age", "spent", "sex"]]
    frame["visits"] = np.random.default_rng(1).integers(0, 4, len(frame))
    assert bands(frame) == {}


def test_a_band_fewer_rows_hold_than_rare_min_joins_its_neighbour_and_its_level_is_never_written() -> None:
    frame = patients()
    frame.loc[frame["age"].nsmallest(3).index, "age_group"] = "teen"  # the three youngest: a band of 3 rows
    (band,) = [b for b in find_bands(frame, infer_schema(frame), rare_min=5) if b.column == "age_group"]
    assert band.levels == tuple(AGE_GROUPS)
    (band,) = [b for b in find_bands(frame, infer_schema(frame), rare_min=3) if b.column == "age_group"]
    assert band.levels == ("teen", *AGE_GROUPS)


def test_apply_writes_the_band_of_each_present_number_and_leaves_the_rest() -> None:
    band = Band("group", "age", (30.0, 60.0), ("young", "middle", "old"))
    age = pd.Series([12.0, 30.5, 59.0, 61.0, 140.0, None])
    drawn = pd.Series(["old", "old", None, "young", "young", "middle"])
    assert list(band.apply(age, drawn)) == ["young", "middle", "middle", "old", "old", "middle"]


def test_generated_rows_keep_every_band_conditioned_or_not_across_a_save(tmp_path) -> None:
    frame = patients()
    model = TabularSynthesizer(seed=0, **TINY_FIT).fit(frame)
    assert {band.column: band.source for band in model.transformer_.bands_} == EXPECTED
    assert model.transformer_.dependents >= set(EXPECTED)
    rows = model.sample(2_000, seed=1)
    assert rows.dtypes.equals(frame.dtypes)
    postcodes = rows["postcode"]
    in_range = postcodes.between(100_000, 649_999) & (postcodes % 100_000 < 50_000)  # within a site's real numbers
    assert in_range.mean() > 0.3
    assert (rows.loc[in_range, "site"].astype(str) == SITES[postcodes[in_range] // 100_000 - 1]).all()
    visit = rows["visit"]
    new_year = (visit - visit.dt.to_period("Y").dt.start_time).dt.days.isin([0, 364, 365])
    assert (rows.loc[~new_year, "year"] == visit[~new_year].dt.year).all()  # where real visits fall, exactly
    assert (rows["year"] - visit.dt.year).abs().max() <= 1  # near a new year, the side real visits put it
    assert (rows["any_spending"] == (rows["spent"] > 0)).all()
    groups = np.select([rows["age"] < 30, rows["age"] < 60], AGE_GROUPS[:2], AGE_GROUPS[2])
    assert (rows["age_group"] == groups).all()

    old = model.sample(100, conditions={"age_group": "60 and over"}, seed=2, max_tries=50)  # met by the rows
    assert len(old) == 100 and (old["age"] >= 59.9).all()
    assert reloaded(model, tmp_path / "m").transformer_.bands_ == model.transformer_.bands_


def test_a_private_fit_reads_no_bands_off_the_rows() -> None:
    frame = patients(rows=1_000).drop(columns="site")  # a categorical type a private fit needs public levels for
    assert bands(frame) and TableTransformer(infer_schema(frame)).fit(frame, np.random.default_rng(0)).bands_
    model = TabularSynthesizer(seed=0, epsilon=5.0, **TINY_FIT).fit(frame)
    assert model.transformer_.bands_ == []


def test_bands_survive_the_transformer_round_trip() -> None:
    frame = patients()
    transformer = TableTransformer(infer_schema(frame), rare_category_min=5).fit(frame, np.random.default_rng(0))
    again = TableTransformer.from_dict(transformer.schema, transformer.to_dict())
    assert again.bands_ == transformer.bands_ and len(again.bands_) == len(EXPECTED)


@pytest.mark.parametrize("rows", [0, 1])
def test_tiny_tables_have_no_bands(rows: int) -> None:
    assert find_bands(patients().iloc[:rows], infer_schema(patients()), 5) == []
