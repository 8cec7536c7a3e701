"""Numbers a product or ratio of two earlier numbers gives: found only where (nearly) every real row keeps it,
written from the generated factors in every row (the column's own type, grid and range), across a save, never in a
private fit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth import TabularSynthesizer, infer_schema
from synth.tabular.codecs import decimal_step, floats
from synth.tabular.products import MAX_OFF_SHARE, MIN_ROWS, Product, find_products
from tests.conftest import TINY_FIT, reloaded


def counties(rows: int = 2_000, seed: int = 0) -> pd.DataFrame:
    """A county's population, area and white population with its density and percent white, a person's weight and
    height with the body-mass index (rounded to one decimal), and an unrelated income."""
    rng = np.random.default_rng(seed)
    population = rng.integers(1_000, 500_000, rows)
    area = np.round(rng.uniform(50, 2_000, rows), 2)
    white = np.round(population * rng.uniform(0.3, 0.99, rows)).astype(np.int64)
    weight = np.round(rng.normal(75, 12, rows).clip(40, 150), 1)
    height = np.round(rng.normal(1.72, 0.09, rows).clip(1.4, 2.1), 2)
    return pd.DataFrame({
        "population": population,
        "area": area,
        "white": white,
        "density": np.round(population / area, 2),
        "percent_white": 100 * white / population,
        "weight": weight,
        "height": height,
        "bmi": np.round(weight / height**2, 1),
        "income": np.round(rng.lognormal(10, 0.6, rows), 2),
    })  # fmt: skip


def products(frame: pd.DataFrame, fixed: frozenset[str] = frozenset()) -> dict[str, tuple[object, ...]]:
    """column -> (factors, powers, scale)."""
    steps = {name: decimal_step(floats(frame[name])) for name in frame.columns}
    return {p.column: (p.factors, p.powers, p.scale) for p in find_products(frame, infer_schema(frame), steps, fixed)}


def test_each_product_is_found_and_writes_the_column_its_spread_weighs_most() -> None:
    """The density spreads widest of its three; a share in percent spreads narrowly, so the headcount is written from
    it (the population is the density's factor already); the index spreads wider than the weight and twice the
    height."""
    assert products(counties()) == {
        "density": (("population", "area"), (1.0, -1.0), 1.0),
        "white": (("percent_white", "population"), (1.0, 1.0), 0.01),
        "bmi": (("weight", "height"), (1.0, -2.0), 1.0),
    }


def test_a_row_or_two_off_still_make_a_product_and_more_do_not() -> None:
    frame = counties()
    frame.loc[1_500, "density"] += 5.0  # past the rows screened on: the whole table is checked
    assert "density" in products(frame)
    off = frame.index[:: int(1 / MAX_OFF_SHARE) // 2]  # twice the share allowed
    frame.loc[off, "density"] += 5.0
    assert "density" not in products(frame)


def test_a_noisy_ratio_a_zero_too_few_rows_or_a_column_written_otherwise_make_none() -> None:
    frame = counties()
    noisy = frame.assign(density=np.round(frame["density"] * (1 + 1e-3 * np.sin(np.arange(len(frame)))), 2))
    assert "density" not in products(noisy)
    frame.loc[3, ["white", "percent_white"]] = 0  # no county without white people: no log of 0 to fit
    assert "white" not in products(frame)
    assert products(counties(rows=MIN_ROWS - 1)) == {}
    assert products(frame, frozenset({"bmi"}))["weight"] == (("bmi", "height"), (1.0, 2.0), 1.0)  # the next widest
    assert set(products(frame, frozenset({"bmi", "weight", "height"}))) == {"density"}


def test_apply_writes_the_product_from_its_factors() -> None:
    frame = pd.DataFrame({"w": [80.0, 60.0], "h": [2.0, 1.5]})
    np.testing.assert_allclose(Product("bmi", ("w", "h"), (1.0, -2.0), 1.0).apply(frame), [20.0, 60 / 2.25])


def test_generated_rows_keep_every_product_within_its_range_across_a_save(tmp_path) -> None:
    frame = counties()
    model = TabularSynthesizer(seed=0, **TINY_FIT).fit(frame)
    assert {p.column for p in model.transformer_.products_} == {"density", "white", "bmi"}
    rows = model.sample(2_000, seed=1)
    assert rows.dtypes.equals(frame.dtypes)
    codecs = dict(zip(model.schema_.names, model.transformer_.codecs_, strict=True))
    for column, expected in (
        ("density", np.round(rows["population"] / rows["area"], 2)),
        ("white", np.round(rows["percent_white"] * rows["population"] / 100)),
        ("bmi", np.round(rows["weight"] / rows["height"] ** 2, 1)),
    ):
        low, high = codecs[column].low, codecs[column].high
        within = expected.between(low, high)
        assert within.mean() > 0.8 and rows[column].between(low, high).all()
        np.testing.assert_allclose(rows.loc[within, column], expected[within], rtol=1e-9, atol=1e-9)

    picked = model.sample(50, conditions={"bmi": (20, 30)}, seed=2, max_tries=50)  # drawn and checked
    assert len(picked) == 50 and picked["bmi"].between(20, 30).all()

    assert reloaded(model, tmp_path / "m").transformer_.products_ == model.transformer_.products_


def test_a_private_fit_reads_no_products_off_the_rows() -> None:
    model = TabularSynthesizer(seed=0, epsilon=5.0, **TINY_FIT).fit(counties(rows=1_000))
    assert model.transformer_.products_ == []
