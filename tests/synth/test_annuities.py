"""A loan's instalment: found only where (nearly) every real row keeps the annuity formula under one convention,
written from the generated amount, rate and term in every row (the column's own type, grid and range), across a
save, never in a private fit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth import TabularSynthesizer, infer_schema
from synth.tabular.annuities import MAX_OFF_SHARE, MIN_ROWS, Annuity, find_annuities, payment_per_unit
from synth.tabular.codecs import decimal_step, floats
from tests.conftest import TINY_FIT, reloaded


def loans(rows: int = 2_000, seed: int = 0) -> pd.DataFrame:
    """Consumer loans (an amount in 25s, an annual percentage, a term of 36 or 60 months, the instalment to the cent,
    the income), and mortgages beside them (a principal, an annual rate as a fraction, a term in years, the monthly
    payment to the cent)."""
    rng = np.random.default_rng(seed)
    amount = 25 * rng.integers(40, 1_600, rows)
    rate = np.round(rng.uniform(5, 30, rows), 2)
    term = rng.choice([36, 60], rows)
    principal = np.round(rng.uniform(5e4, 5e5, rows), 2)
    fraction = np.round(rng.uniform(0.02, 0.08, rows), 4)
    years = rng.choice([15, 20, 30], rows)
    return pd.DataFrame({
        "amount": amount,
        "rate": rate,
        "term": term,
        "instalment": np.round(amount * payment_per_unit(rate / 1200, term), 2),
        "income": np.round(rng.lognormal(11, 0.5, rows), 2),
        "principal": principal,
        "fraction": fraction,
        "years": years,
        "payment": np.round(principal * payment_per_unit(fraction / 12, 12 * years), 2),
    })  # fmt: skip


def annuities(frame: pd.DataFrame, fixed: frozenset[str] = frozenset()) -> dict[str, tuple[object, ...]]:
    """instalment column -> (amount, rate, term, rate divisor, payments per unit of term)."""
    steps = {name: decimal_step(floats(frame[name])) for name in frame.columns}
    return {
        a.column: (a.principal, a.rate, a.term, a.rate_divisor, a.periods_per_term)
        for a in find_annuities(frame, infer_schema(frame), steps, fixed)
    }


def test_a_payment_per_unit_lent_is_the_annuity_formula() -> None:
    monthly = payment_per_unit(np.array([0.06 / 12, 0.0]), np.array([360.0, 48.0]))
    np.testing.assert_allclose(100_000 * monthly, [599.55, 100_000 / 48], atol=0.005)  # a 30-year mortgage at 6 %


def test_each_instalment_is_found_with_its_inputs_and_convention() -> None:
    assert annuities(loans()) == {
        "instalment": ("amount", "rate", "term", 1200.0, 1),
        "payment": ("principal", "fraction", "years", 12.0, 12),
    }


def test_a_row_or_two_off_still_make_an_instalment_and_more_do_not() -> None:
    frame = loans()
    frame.loc[1_500, "instalment"] += 20.0  # past the rows screened on: the whole table is checked
    assert "instalment" in annuities(frame)
    off = frame.index[:: int(1 / MAX_OFF_SHARE) // 2]  # twice the share allowed
    frame.loc[off, "instalment"] += 20.0
    assert "instalment" not in annuities(frame)


def test_a_noisy_instalment_a_coarse_one_too_few_rows_or_a_column_written_otherwise_make_none() -> None:
    frame = loans()
    noisy = frame.assign(instalment=np.round(frame["instalment"] * (1 + 1e-3 * np.sin(np.arange(len(frame)))), 2))
    assert "instalment" not in annuities(noisy)
    whole = frame.assign(amount=frame["amount"] / 100, instalment=np.ceil(frame["instalment"] / 100))  # 1 in ~3
    assert "instalment" not in annuities(whole)
    assert annuities(loans(rows=MIN_ROWS - 1)) == {}
    years = pd.DataFrame({"year": np.tile(np.arange(1, 101), 2), "price": np.round(np.linspace(1e3, 9e3, 200), 2)})
    assert annuities(years) == {}  # the one possible rate is the one possible term
    assert annuities(frame, frozenset({"payment"})) == {"instalment": ("amount", "rate", "term", 1200.0, 1)}


def test_apply_writes_the_instalment_from_its_row() -> None:
    frame = pd.DataFrame({"a": [1_000, 2_400], "r": [12.0, 0.0], "n": [12, 24]})
    np.testing.assert_allclose(Annuity("p", "a", "r", "n", 1200.0, 1).apply(frame), [88.8488, 100.0], atol=1e-4)


def test_generated_rows_keep_every_instalment_within_its_range_across_a_save(tmp_path) -> None:
    frame = loans()
    model = TabularSynthesizer(seed=0, **TINY_FIT).fit(frame)
    assert {a.column for a in model.transformer_.annuities_} == {"instalment", "payment"}
    rows = model.sample(2_000, seed=1)
    assert rows.dtypes.equals(frame.dtypes)
    codecs = dict(zip(model.schema_.names, model.transformer_.codecs_, strict=True))
    for column, amount, rate, periods in (
        ("instalment", "amount", rows["rate"] / 1200, rows["term"]),
        ("payment", "principal", rows["fraction"] / 12, 12 * rows["years"]),
    ):
        low, high = codecs[column].low, codecs[column].high
        expected = np.round(rows[amount] * payment_per_unit(rate.to_numpy(), periods.to_numpy()), 2)
        within = (expected >= low) & (expected <= high)
        assert within.mean() > 0.8 and rows[column].between(low, high).all()
        np.testing.assert_allclose(rows.loc[within, column], expected[within], atol=1e-9)

    picked = model.sample(50, conditions={"instalment": (100, 500)}, seed=2, max_tries=50)  # drawn and checked
    assert len(picked) == 50 and picked["instalment"].between(100, 500).all()

    assert reloaded(model, tmp_path / "m").transformer_.annuities_ == model.transformer_.annuities_


def test_a_private_fit_reads_no_instalments_off_the_rows() -> None:
    model = TabularSynthesizer(seed=0, epsilon=5.0, **TINY_FIT).fit(loans(rows=1_000))
    assert model.transformer_.annuities_ == []
