"""What drawing the values a number's null rows train on costs, on a table of the size a stranger brings.

``bench/relations.py``'s seeded 300,000 x 53 table, with seven measurements, the one in other units and every third
integer code null in a random fifth of their rows, besides the three measurements left out together: 34 numbers (18
with nulls) and 19 category columns go through ``fill_nulls`` as ``TableTransformer.transform`` hands them over. The
script prints the seconds, the most memory it held at once (tracemalloc: Python's and numpy's allocations, from a
second, traced pass), and how close the drawn values come to a link the table holds (a measurement in other units:
its correlation with its source over the rows where only it was drawn).

    python bench/imputation.py

Never collected by pytest.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pandas as pd
from relations import table

from synth.tabular.imputation import fill_nulls


def main() -> None:
    frame = table()
    rng = np.random.default_rng(1)
    nullable = [f"measure{i}" for i in range(7)] + ["measure0_cm"] + [f"code{i}" for i in range(0, 20, 3)]
    for name in nullable:
        frame[name] = frame[name].where(rng.random(len(frame)) >= 0.2)
    numbers = {
        name: frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
        for name in frame.columns
        if pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(frame[name])
    }
    categories = [pd.factorize(frame[name])[0] for name in frame.columns if name not in numbers]
    with_nulls = sum(bool(np.isnan(values).any()) for values in numbers.values())
    print(f"table: {len(frame):,} rows x {frame.shape[1]} columns; {len(numbers)} numbers ({with_nulls} with nulls), "
          f"{len(categories)} category columns")  # fmt: skip
    started = time.perf_counter()
    filled = fill_nulls(numbers, np.random.default_rng(0), categories)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    fill_nulls(numbers, np.random.default_rng(0), categories)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    print(f"fill_nulls: {seconds:.1f} s, {peak:.0f} MB at most, {len(filled)} columns filled")
    drawn = np.isnan(numbers["measure0_cm"]) & ~np.isnan(numbers["measure0"])
    link = np.corrcoef(filled["measure0_cm"][drawn], numbers["measure0"][drawn])[0, 1]
    print(f"measure0_cm drawn where measure0 is present ({drawn.sum():,} rows): correlation {link:.3f} (real 1.000)")


if __name__ == "__main__":
    main()
