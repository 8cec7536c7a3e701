"""What finding the columns that follow others costs at fit, on a table of the size a stranger brings.

A seeded 300,000 x 53 table (20 integer codes of 800 values, 15 text columns of 60 levels, 10 measurements, 3 flags, one
code's group, one code repeated in 90 % of rows, a measurement in other units, a count under a code, three measurements
null together in a tenth of the rows, and a measurement's band), with the total of two codes, a measurement placed by a
text column's level, and a loan's amount, rate, term, instalment and amount a month beside it, goes through
``find_dependencies``, ``find_formulas``, ``find_totals``, ``find_products``, ``find_annuities``, ``find_shares``,
``find_copies``, ``find_null_blocks``, ``find_bands``, ``find_groups`` and ``find_centrings``; the script prints each
one's seconds, what it found, and, from a second, traced pass, the most memory it held at once (tracemalloc: Python's
and numpy's allocations).

    python bench/relations.py

Never collected by pytest.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pandas as pd

from synth import infer_schema
from synth.tabular.annuities import find_annuities, payment_per_unit
from synth.tabular.bands import find_bands
from synth.tabular.centring import find_centrings
from synth.tabular.codecs import decimal_step, floats
from synth.tabular.copies import find_copies
from synth.tabular.dependencies import find_dependencies
from synth.tabular.formulas import find_formulas
from synth.tabular.groups import find_groups
from synth.tabular.nulls import find_null_blocks
from synth.tabular.products import find_products
from synth.tabular.shares import find_shares
from synth.tabular.totals import find_totals

ROWS = 300_000


def table(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {f"code{i}": rng.integers(0, 800, rows) for i in range(20)}
    columns |= {f"text{i}": rng.choice([f"L{j}" for j in range(60)], rows) for i in range(15)}
    columns |= {f"measure{i}": rng.normal(size=rows) for i in range(10)}
    columns |= {f"flag{i}": rng.random(rows) < 0.1 for i in range(3)}
    columns["group0"] = columns["code0"] // 100  # fixed by code0
    columns["wave1"] = np.where(rng.random(rows) < 0.9, columns["code1"], rng.integers(0, 800, rows))  # repeats code1
    columns["measure0_cm"] = 2.54 * columns["measure0"] + 1.0  # a unit change of measure0
    columns["part2"] = rng.binomial(columns["code2"], 0.3)  # a count under code2
    columns["band1"] = np.array(["low", "middle", "high"])[np.digitize(columns["measure1"], [-0.5, 0.5])]
    skipped = rng.random(rows) < 0.1
    for i in range(3):  # a section left out: measurements 7 to 9 null together
        columns[f"measure{7 + i}"] = np.where(skipped, np.nan, columns[f"measure{7 + i}"])
    return pd.DataFrame(columns)


def main() -> None:
    frame = table()
    frame["total3"] = frame["code3"] + frame["code4"]  # the total of two codes: only this bench's table holds it
    sites = np.random.default_rng(1).normal(0.0, 10.0, 60)  # a measurement its level of text0 all but fixes: likewise
    frame["site0"] = sites[frame["text0"].str[1:].astype(int)] + frame["measure2"]
    loans = np.random.default_rng(2)  # a loan's amount, annual percentage, term in months and instalment: likewise
    frame["amount0"] = 25 * loans.integers(40, 1_600, len(frame))
    frame["rate0"] = np.round(loans.uniform(5, 30, len(frame)), 2)
    frame["term0"] = loans.choice([36, 60], len(frame))
    frame["instalment0"] = np.round(frame["amount0"] * payment_per_unit(frame["rate0"] / 1200, frame["term0"]), 2)
    frame["monthly0"] = frame["amount0"] / frame["term0"]  # a ratio of two of them
    schema = infer_schema(frame)
    dependencies = find_dependencies(frame, schema, rare_min=5)
    dependents = frozenset(d.column for d in dependencies)
    formulas = find_formulas(frame, schema, dependents | {d.source for d in dependencies})
    fixed = dependents | {f.column for f in formulas}
    steps = {
        spec.name: decimal_step(floats(frame[spec.name])) for spec in schema if spec.kind in ("integer", "continuous")
    }
    totals = find_totals(frame, schema, steps, fixed)
    parts = {part for total in totals for part in total.parts}
    written = fixed | {total.column for total in totals}
    sources = frozenset({d.source for d in dependencies} | {f.source for f in formulas} | parts)
    not_products = written | sources
    products = find_products(frame, schema, steps, not_products)
    written |= {product.column for product in products}
    not_instalments = written | sources | {factor for product in products for factor in product.factors}
    annuities = find_annuities(frame, schema, steps, not_instalments)
    written |= {annuity.column for annuity in annuities}
    shares = find_shares(frame, schema, written)
    skip = written | {s.column for s in shares} | {s.bound for s in shares}
    copies = find_copies(frame, schema, skip=skip)
    related = skip | {name for c in copies for name in (c.column, c.source)}
    related |= sources
    blocked = {name for block in find_null_blocks(frame, schema, skip) for name in block.columns}
    unbanded = frozenset(related | blocked)
    bands = find_bands(frame, schema, 5, unbanded)
    related |= {name for band in bands for name in (band.column, band.source)}
    groups = find_groups(frame, schema, 5, frozenset(related))
    rewritten = {c.column for c in copies} | {band.column for band in bands} | blocked
    rewritten |= {name for group in groups for name in group.members}
    settled = frozenset(skip | rewritten)
    finds = {
        "dependencies": (
            lambda: find_dependencies(frame, schema, rare_min=5),
            [(d.source, d.column) for d in dependencies],
        ),
        "formulas": (
            lambda: find_formulas(frame, schema, dependents | {d.source for d in dependencies}),
            [(f.source, f.column, f.function, round(f.scale, 3), round(f.shift, 3)) for f in formulas],
        ),
        "totals": (lambda: find_totals(frame, schema, steps, fixed), [(t.column, t.parts) for t in totals]),
        "products": (
            lambda: find_products(frame, schema, steps, not_products),
            [(p.column, p.factors, p.powers) for p in products],
        ),
        "instalments": (
            lambda: find_annuities(frame, schema, steps, not_instalments),
            [(a.column, a.principal, a.rate, a.term) for a in annuities],
        ),
        "shares": (lambda: find_shares(frame, schema, written), [(s.bound, s.column) for s in shares]),
        "repeats": (
            lambda: find_copies(frame, schema, skip=skip),
            [(c.source, c.column, round(c.share, 3)) for c in copies],
        ),
        "null blocks": (
            lambda: find_null_blocks(frame, schema, skip),
            [b.columns for b in find_null_blocks(frame, schema, skip)],
        ),
        "bands": (
            lambda: find_bands(frame, schema, 5, unbanded),
            [(band.source, band.column, len(band.levels)) for band in bands],
        ),
        "groups": (
            lambda: find_groups(frame, schema, 5, frozenset(related)),
            [(g.key, g.members) for g in groups],
        ),
        "centrings": (
            lambda: find_centrings(frame, schema, 5, settled),
            [(c.key, c.column, len(c.levels)) for c in find_centrings(frame, schema, 5, settled)],
        ),
    }
    print(f"table: {frame.shape[0]:,} rows x {frame.shape[1]} columns")
    for name, (find, found) in finds.items():
        started = time.perf_counter()
        find()
        seconds = time.perf_counter() - started
        tracemalloc.start()
        find()
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        print(f"{name}: {seconds:.1f} s, {peak:.0f} MB at most, {found}")


if __name__ == "__main__":
    main()
