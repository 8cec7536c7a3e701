"""Numbers a category places: found only where a key's levels leave little of their spread, generated within the
generated row's level (the column's own type, grid and range), across a save and under a condition, never in a
private fit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth import TabularSynthesizer, infer_schema
from synth.tabular.centring import MIN_LEVEL_ROWS, Centring, find_centrings
from tests.conftest import TINY_FIT, reloaded


def stops(rows: int = 3_000, seed: int = 0) -> pd.DataFrame:
    """Stops spread evenly over 30 neighbourhoods on a grid a degree apart, each stop's latitude within a hundredth of
    a degree of its neighbourhood's (a tenth of them unknown), a rent in whole units around the neighbourhood's, a
    floor of 11 values that the neighbourhood places too, a fare that nothing places, and a count of messages that is
    0 without a plan (and in a few rows with one). No number's runs of values cut the neighbourhoods apart (a band
    would write them): five share each latitude, and rents overlap."""
    rng = np.random.default_rng(seed)
    site = rng.permutation(np.arange(rows) % 30)
    plan = rng.random(rows) < 0.3
    lat = np.round(44.0 + site % 6 + rng.normal(0.0, 0.01, rows), 5)
    return pd.DataFrame({
        "neighbourhood": pd.Series([f"N{s:02d}" for s in site], dtype="string"),
        "lat": np.where(rng.random(rows) < 0.1, np.nan, lat),
        "rent": (500 + 10 * site + rng.integers(-20, 21, rows)).astype("int64"),
        "floor": (site % 10 + rng.integers(0, 2, rows)).astype("int64"),
        "fare": np.round(rng.lognormal(2.0, 0.5, rows), 2),
        "plan": plan,
        "messages": np.where(plan & (rng.random(rows) < 0.98), rng.normal(40.0, 5.0, rows).round(), 0).astype("int64"),
    })  # fmt: skip


def centrings(frame: pd.DataFrame, fixed: frozenset[str] = frozenset()) -> dict[str, str]:
    """column -> key."""
    return {c.column: c.key for c in find_centrings(frame, infer_schema(frame), 5, fixed)}


def test_numbers_a_category_places_are_found_and_others_are_not() -> None:
    # not floor: its 11 values are kept exact; not fare: no neighbourhood places it
    assert centrings(stops()) == {"lat": "neighbourhood", "rent": "neighbourhood", "messages": "plan"}


def test_a_wide_spread_rare_levels_or_a_key_written_otherwise_make_none() -> None:
    frame = stops().drop(columns=["plan", "messages"])
    wide = frame.assign(lat=frame["lat"] + np.random.default_rng(1).normal(0.0, 5.0, len(frame)))
    assert "lat" not in centrings(wide)  # a quarter of its variance left within the levels
    few = stops(rows=30 * (MIN_LEVEL_ROWS - 1)).drop(columns=["plan", "messages"])  # no level of MIN_LEVEL_ROWS
    assert centrings(few) == {}
    assert centrings(frame, frozenset({"neighbourhood"})) == {}
    assert centrings(frame, frozenset({"rent"})) == {"lat": "neighbourhood"}


def test_a_place_is_read_against_its_level_and_other_levels_against_the_column() -> None:
    centring = Centring("x", "k", ("a", None, "c"), (10.0, 20.0, 7.0), (2.0, 1.0, 0.0), 5.0, 4.0)
    frame = pd.DataFrame({"k": ["a", None, "b", "a", "c"], "x": [12.0, 19.0, 1.0, np.nan, 7.0]})
    places = centring.of(frame, np.random.default_rng(0)).to_numpy()
    np.testing.assert_allclose(places[:4], [1.0, -1.0, -1.0, np.nan])  # b: not stored; null: a level
    assert places[4] in places[:3]  # c holds one value: a place drawn from the others'


def test_generated_rows_lie_within_their_own_level_across_a_save_and_under_a_condition(tmp_path) -> None:
    frame = stops()
    model = TabularSynthesizer(seed=0, **TINY_FIT).fit(frame)
    assert {c.column for c in model.transformer_.centrings_} == {"lat", "rent", "messages"}
    rows = model.sample(2_000, seed=1)
    assert rows.dtypes.equals(frame.dtypes)
    site = rows["neighbourhood"].str[1:].astype(int)
    placed = rows["lat"].notna()
    assert 0 < placed.mean() < 1  # a null comes out null
    assert (rows.loc[placed, "lat"] - 44.0 - site[placed] % 6).abs().max() < 0.1  # a two-epoch fit, a degree apart
    assert (rows["rent"] - 500 - 10 * site).abs().max() <= 30  # of a range of 330
    assert (rows.loc[~rows["plan"], "messages"] == 0).all()  # a level of one value gives it
    for column in ("lat", "rent", "messages"):
        assert rows[column].dropna().between(frame[column].min(), frame[column].max()).all()
    assert (rows["lat"].dropna() == rows["lat"].dropna().round(5)).all()  # the column's grid

    picked = model.sample(200, conditions={"neighbourhood": "N07"}, seed=2)
    assert (picked["neighbourhood"] == "N07").all() and picked["rent"].between(540, 600).all()

    assert reloaded(model, tmp_path / "m").transformer_.centrings_ == model.transformer_.centrings_


def test_a_private_fit_reads_no_levels_off_the_rows() -> None:
    model = TabularSynthesizer(seed=0, epsilon=5.0, **TINY_FIT).fit(stops(rows=1_000))
    assert model.transformer_.centrings_ == []
