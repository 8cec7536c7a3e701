"""Numbers that are a product or ratio of two others (a rate per head, a share in percent, a body-mass index): found
at fit, one of the three written from the other two at decode.

Real tables carry numbers derived from two others: crimes per thousand people beside the crimes and the people, a
county's density beside its population and area, a price per carat beside the price and the carats, a body-mass
index beside the weight and height. A GAN draws all three from the same noise, so a generated row's ratio is off its
factors' by a little, and a detector reads the gap. ``find_products`` looks for numbers that equal
``scale * a ** p * b ** q`` of two earlier numbers in (nearly) every real row, with ``p`` and ``q`` each one of
``POWERS``, and solve each for the one of its three columns that a generator's errors harm least when written from
the other two (``_rearranged``); ``Product.apply`` writes that column from the generated factors after decoding. Only
the two factors' names, their powers and the scale are stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth.schema import Schema
from synth.tabular.codecs import floats

__all__ = ["MAX_NUMBERS", "MAX_OFF_SHARE", "MIN_ROWS", "POWERS", "Product", "find_products"]

#: The powers a factor may take: a product, a ratio, a square (an area, a body-mass index) or a square root.
POWERS = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])
#: The product must hold over at least this many rows...
MIN_ROWS = 100
#: ...and in all of them but this share (float32 storage or a slip leave a row or two off).
MAX_OFF_SHARE = 0.001
#: Tables with more candidate numbers than this are not searched: the screen compares every pair with every later
#: number.
MAX_NUMBERS = 300
_TOLERANCE = 1e-6  # a row holds the product within this share of the number's size, or within its grid step
_POWER_SLACK = 0.01  # a power fitted on the quick rows this close to one of POWERS is read as it
_QUICK_ROWS = 64  # every pair is screened on this many rows before the whole table is read
_SNAP = 1e-4  # a scale this close to a power of ten (a percentage, a rate per thousand) is read as it
_QUICK_SPREAD = 2e-2  # the quick rows' log residuals may spread this much (rounded numbers) before a full check


@dataclass(frozen=True, slots=True)
class Product:
    """``column`` = ``scale * factors[0] ** powers[0] * factors[1] ** powers[1]`` in (nearly) every real row."""

    column: str
    factors: tuple[str, str]
    powers: tuple[float, float]
    scale: float

    def apply(self, frame: pd.DataFrame) -> np.ndarray:
        """The column's values (float64) from its factors' values in ``frame``."""
        (a, b), (p, q) = self.factors, self.powers
        with np.errstate(all="ignore"):  # a power may overflow; the codec clips the result to the column's range
            return self.scale * floats(frame[a]) ** p * floats(frame[b]) ** q

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "factors": list(self.factors), "powers": list(self.powers), "scale": self.scale}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Product:
        a, b = data["factors"]
        p, q = data["powers"]
        return cls(data["column"], (a, b), (p, q), data["scale"])


def find_products(
    frame: pd.DataFrame, schema: Schema, steps: dict[str, float], fixed: frozenset[str] = frozenset()
) -> list[Product]:
    """Each product of powers of two numbers that a later number of ``frame`` equals in all rows but ``MAX_OFF_SHARE``
    of them, in table order, with the first pair that holds, solved for the column it writes (``_rearranged``). All
    three hold no null and no value of 0 or below and are not constant. ``steps``: each number's decimal grid step (0
    for none), by which a rounded number, or one computed from rounded factors, may miss the product. Columns in
    ``fixed`` (those the transformer writes, or writes from, before products are written) and factors of a product
    found are not written from one; a column a product writes is no factor."""
    if len(frame) < MIN_ROWS:
        return []
    numbers: dict[str, np.ndarray] = {}
    for spec in schema:
        if spec.kind in ("integer", "continuous"):
            values = floats(frame[spec.name])
            if np.all(np.isfinite(values)) and 0 < values.min() < values.max():
                numbers[spec.name] = values
    if not 3 <= len(numbers) <= MAX_NUMBERS:
        return []
    names = list(numbers)
    quick = np.unique(np.linspace(0, len(frame) - 1, _QUICK_ROWS).round().astype(np.int64))
    logs = np.log(np.column_stack([numbers[name][quick] for name in names]))
    centred = logs - logs.mean(axis=0)
    gram = centred.T @ centred  # every pair's least-squares fit of every number's log comes from it
    spreads = {name: float(np.log(values).std()) for name, values in numbers.items()}
    found: list[Product] = []
    for j in range(2, len(names)):
        if gram[j, j] == 0:
            continue
        written = {product.column for product in found}
        factors = {factor for product in found for factor in product.factors}
        for a, b, p, q in _fitted_pairs(gram[:j, :j], gram[:j, j]):
            if names[a] in written or names[b] in written:
                continue
            if _quick_spread(logs[:, j] - p * logs[:, a] - q * logs[:, b]) > _QUICK_SPREAD:
                continue
            product = _product(names[j], (names[a], names[b]), (p, q), numbers, steps)
            if product is not None:
                product = _rearranged(product, spreads, fixed | factors)
            if product is not None:
                found.append(product)
                break
    return found


def _rearranged(product: Product, spreads: dict[str, float], fixed: frozenset[str] | set[str]) -> Product | None:
    """``product`` solved for the one of its three columns that its power times the spread of its log weighs most,
    of those not in ``fixed``; None when all three are. A generator draws each number with an error about as wide as
    its own spread, so a number written from the other two takes their errors, and the widest number is harmed least:
    a share in percent (a narrow spread) is kept as drawn and the headcount is written from it."""
    (a, b), (p, q) = product.factors, product.powers
    weights = {product.column: spreads[product.column], a: abs(p) * spreads[a], b: abs(q) * spreads[b]}
    free = [name for name in weights if name not in fixed]
    if not free:
        return None
    column = max(free, key=lambda name: weights[name])  # on a tie, the column, then the first factor
    if column == product.column:
        return product
    power, (other, other_power) = (p, (b, q)) if column == a else (q, (a, p))
    # c = k a^p b^q solved for a: a = k^(-1/p) c^(1/p) b^(-q/p)
    return Product(column, (product.column, other), (1 / power, -other_power / power), product.scale ** (-1 / power))


def _fitted_pairs(gram: np.ndarray, cross: np.ndarray) -> list[tuple[int, int, float, float]]:
    """Pairs (a, b), a < b, of the earlier numbers whose two-variable least-squares fit of the number's log (``cross``:
    its products with theirs, centred) takes powers near ``POWERS``, in table order, with the powers rounded."""
    diagonal = np.diag(gram)
    with np.errstate(all="ignore"):
        det = np.outer(diagonal, diagonal) - gram**2
        p = (diagonal[None, :] * cross[:, None] - gram * cross[None, :]) / det
        q = (diagonal[:, None] * cross[None, :] - gram * cross[:, None]) / det
    upper = np.triu(np.ones_like(det, dtype=bool), k=1)
    independent = det > 1e-9 * np.outer(diagonal, diagonal)
    rounded_p, rounded_q = _nearest_power(p), _nearest_power(q)
    near = (np.abs(p - rounded_p) <= _POWER_SLACK) & (np.abs(q - rounded_q) <= _POWER_SLACK)
    pairs = np.argwhere(upper & independent & near)
    return [(int(a), int(b), float(rounded_p[a, b]), float(rounded_q[a, b])) for a, b in pairs]


def _nearest_power(values: np.ndarray) -> np.ndarray:
    return POWERS[np.abs(np.nan_to_num(values, nan=np.inf)[..., None] - POWERS).argmin(axis=-1)]


def _quick_spread(residual: np.ndarray) -> float:
    return float(residual.max() - residual.min())


def _product(
    column: str,
    factors: tuple[str, str],
    powers: tuple[float, float],
    numbers: dict[str, np.ndarray],
    steps: dict[str, float],
) -> Product | None:
    """The product with its scale (the median ratio of the number to its factors' powers, read as a power of ten
    when that close) when it holds on the whole table."""
    values = numbers[column]
    (a, b), (p, q) = factors, powers
    powered = numbers[a] ** p * numbers[b] ** q
    scale = float(np.median(values / powered))
    decade = 10.0 ** np.round(np.log10(scale))
    if abs(scale / decade - 1) <= _SNAP:
        scale = float(decade)
    off = np.abs(values - scale * powered)
    missed = ~(off <= _tolerance(values, column, factors, powers, numbers, steps))
    ok = missed.mean() <= MAX_OFF_SHARE and len(values) - missed.sum() >= MIN_ROWS
    return Product(column, factors, powers, scale) if ok else None


def _tolerance(
    values: np.ndarray,
    column: str,
    factors: tuple[str, str],
    powers: tuple[float, float],
    numbers: dict[str, np.ndarray],
    steps: dict[str, float],
) -> np.ndarray:
    """How far a real number may miss its product: a millionth of its size or its own grid step, and what rounding
    each factor to its decimal grid (a step below 1; whole numbers are exact) moves the product by."""
    own = np.maximum(_TOLERANCE * (1.0 + np.abs(values)), steps.get(column, 0.0))
    moved = np.zeros_like(values)
    for factor, power in zip(factors, powers, strict=True):
        step = steps.get(factor, 0.0)
        if 0 < step < 1:
            moved += abs(power) * step / 2 / numbers[factor]
    return own + np.abs(values) * moved
