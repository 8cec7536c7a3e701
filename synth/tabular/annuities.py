"""A loan's instalment beside its amount, rate and term: found at fit, written at decode.

Loan tables carry the instalment beside the three numbers that fix it through the annuity formula,
``payment = amount * r / (1 - (1 + r) ** -n)`` with ``r`` the rate per period and ``n`` the number of payments.
A GAN draws the instalment from the same noise as the three, so a generated instalment is off its row's curve and a
detector reads it: on openintro/loans_full_schema the instalment alone scores 0.57, and writing it from its row's
amount, rate and term takes the whole table's detection from 0.904 to 0.873. ``find_annuities`` looks for numbers
this formula gives from three others in nearly every real row, under the usual ways of writing a rate and a term
(``CONVENTIONS``); ``Annuity.apply`` writes the instalment from the generated inputs after decoding. Only the four
columns' names and the convention are stored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth.schema import Schema
from synth.tabular.codecs import floats

__all__ = [
    "CONVENTIONS",
    "MAX_OFF_SHARE",
    "MAX_RATE",
    "MAX_STEP_SHARE",
    "MAX_TERM",
    "MIN_ROWS",
    "Annuity",
    "find_annuities",
    "payment_per_unit",
]

#: How a rate column and a term column give the rate per period and the number of payments: (what the rate is
#: divided by, payments per unit of term). An annual percentage paid monthly over a term in months (1200, 1) or in
#: years (1200, 12); the same with the rate as a fraction (12, 1), (12, 12); a rate per period in percent (100, 1)
#: or as a fraction (1, 1).
CONVENTIONS: tuple[tuple[float, int], ...] = ((1200.0, 1), (1200.0, 12), (12.0, 1), (12.0, 12), (100.0, 1), (1.0, 1))
#: The formula must hold over at least this many rows...
MIN_ROWS = 100
#: ...and in all of them but this share (a rate stored with fewer digits than it was computed with, or a slip).
MAX_OFF_SHARE = 0.001
#: A term column holds whole numbers from 1 to this (a century of months)...
MAX_TERM = 1_200
#: ...and a rate column numbers up to this (an annual percentage, or a fraction).
MAX_RATE = 100.0
#: An instalment's grid step is at most this share of its median: a coarser one (whole units on a count) lets a
#: formula hold by chance.
MAX_STEP_SHARE = 0.01
_TOLERANCE = 1e-6  # a row holds the formula within this share of the payment's size, or within its grid step
_QUICK_ROWS = 64  # every candidate is screened on this many rows before the whole table is read...
_KEY_ROWS = 4  # ...after a screen on the first of them
_KINDS = ("integer", "continuous")


@dataclass(frozen=True, slots=True)
class Annuity:
    """``column`` = ``principal`` times ``payment_per_unit(rate / rate_divisor, term * periods_per_term)`` in
    (nearly) every real row."""

    column: str
    principal: str
    rate: str
    term: str
    rate_divisor: float
    periods_per_term: int

    def apply(self, frame: pd.DataFrame) -> np.ndarray:
        """The instalments (float64) from the amounts, rates and terms in ``frame``."""
        rate = floats(frame[self.rate]) / self.rate_divisor
        return floats(frame[self.principal]) * payment_per_unit(rate, floats(frame[self.term]) * self.periods_per_term)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Annuity:
        return cls(**data)


def payment_per_unit(rate: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """The instalment that repays one unit lent at ``rate`` per period over ``periods`` payments:
    ``r / (1 - (1 + r) ** -n)``, and ``1 / n`` at a rate of 0."""
    with np.errstate(all="ignore"):
        paid = rate / -np.expm1(-periods * np.log1p(rate))
    return np.where(rate == 0, 1.0 / periods, paid)


def find_annuities(
    frame: pd.DataFrame, schema: Schema, steps: dict[str, float], fixed: frozenset[str] = frozenset()
) -> list[Annuity]:
    """Each number of ``frame`` that an amount, a rate and a term give through the annuity formula in all rows but
    ``MAX_OFF_SHARE`` of them, in table order, with the first amount, rate, term and convention that hold. The four
    hold no null and no negative value and are not constant; the instalment is below the amount, the rate at most
    ``MAX_RATE``, the term only whole numbers from 1 to ``MAX_TERM``, and the instalment's grid step is at most
    ``MAX_STEP_SHARE`` of its median. An instalment is no input to another. ``steps``: each number's decimal
    grid step (0 for none), by which a rounded instalment may miss the formula. Columns in ``fixed`` (those the
    transformer writes, or writes from, before instalments are written) are not instalments."""
    if len(frame) < MIN_ROWS:
        return []
    numbers: dict[str, np.ndarray] = {}
    for spec in schema:
        if spec.kind in _KINDS:
            values = floats(frame[spec.name])
            if np.all(np.isfinite(values)) and 0 <= values.min() < values.max():
                numbers[spec.name] = values
    positive = [name for name, values in numbers.items() if values.min() > 0]
    terms = [name for name in positive if numbers[name].max() <= MAX_TERM and np.all(numbers[name] % 1 == 0)]
    rates = [name for name, values in numbers.items() if values.max() <= MAX_RATE]
    if not terms or not rates or len(positive) < 2:
        return []
    quick = np.unique(np.linspace(0, len(frame) - 1, _QUICK_ROWS).round().astype(np.int64))
    combinations = [
        (rate, term, divisor, periods)
        for rate in rates
        for term in terms
        if rate != term
        for divisor, periods in CONVENTIONS
    ]
    if not combinations:  # the one rate column is the one term column
        return []
    table = np.column_stack([
        payment_per_unit(numbers[rate][quick] / divisor, numbers[term][quick] * periods)
        for rate, term, divisor, periods in combinations
    ])  # fmt: skip
    found: list[Annuity] = []
    for payment in positive:
        inputs = {name for annuity in found for name in (annuity.principal, annuity.rate, annuity.term)}
        step = steps.get(payment, 0.0)
        coarse = step > MAX_STEP_SHARE * np.median(numbers[payment])
        if payment in fixed or payment in inputs or coarse or len(np.unique(numbers[payment][quick])) < 3:
            continue
        tolerance = _tolerance(numbers[payment], step)
        written = {annuity.column for annuity in found}
        for principal in positive:
            below = np.all(numbers[payment][quick] < numbers[principal][quick])
            if not below or principal in written:
                continue
            ratio = numbers[payment][quick] / numbers[principal][quick]
            width = tolerance[quick] / numbers[principal][quick]
            annuity = next(
                (
                    a
                    for k in _matches(table, ratio, width)
                    if not written & set(combinations[k][:2])
                    and _holds(a := Annuity(payment, principal, *combinations[k]), numbers, tolerance)
                ),
                None,
            )
            if annuity is not None:
                found.append(annuity)
                break
    return found


def _matches(table: np.ndarray, ratio: np.ndarray, width: np.ndarray) -> np.ndarray:
    """The columns of ``table`` (quick rows, combinations) within ``width`` of ``ratio`` in all quick rows but one:
    every combination is compared on the first ``_KEY_ROWS`` rows at once, those holding on all of them but one on
    the rest."""
    near = np.abs(table[:_KEY_ROWS] - ratio[:_KEY_ROWS, None]) <= width[:_KEY_ROWS, None]
    candidates = np.flatnonzero(near.sum(axis=0) >= _KEY_ROWS - 1)
    within = np.abs(table[:, candidates] - ratio[:, None]) <= width[:, None]
    return candidates[within.sum(axis=0) >= len(ratio) - 1]


def _holds(annuity: Annuity, numbers: dict[str, np.ndarray], tolerance: np.ndarray) -> bool:
    """Whether ``annuity`` holds on the whole table within ``tolerance``, over four distinct columns."""
    inputs = (annuity.principal, annuity.rate, annuity.term)
    if len({annuity.column, *inputs}) < 4:
        return False
    off = np.abs(numbers[annuity.column] - annuity.apply(pd.DataFrame({name: numbers[name] for name in inputs})))
    missed = ~(off <= tolerance)
    return bool(missed.mean() <= MAX_OFF_SHARE and len(off) - missed.sum() >= MIN_ROWS)


def _tolerance(payment: np.ndarray, step: float) -> np.ndarray:
    """How far a real instalment may miss the formula: a millionth of its size, or its grid step (an instalment
    rounded to the cent from a rate stored to two decimals is up to a cent off)."""
    return np.maximum(_TOLERANCE * (1.0 + np.abs(payment)), step)
