"""How far a real sample's column-shape and pair-trend scores stray by chance, against the real holdout's shortfall
from a perfect 1: the factor behind ``validators.baselines.deficit_noise``.

For each table and sample size, pairs of disjoint real samples (A plays the synthetic set, B the holdout) are scored
against the same training rows; the standard deviation of score(A) - score(B) over the draws is divided by the mean
shortfall 1 - score(B). The gate treats (shortfall x factor) as one standard error of chance.

    python bench/gate_noise.py --draws 30

Never collected by pytest.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from synth import infer_schema
from synth.schema import table_to_frame
from validators.fidelity import modelled_columns, pair_scores, shape_scores

ROOT = Path(__file__).resolve().parents[1]


def census_like(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Six columns bound to each other (as tests/validators/test_gate_calibration.py draws them)."""
    age = rng.integers(18, 80, n)
    income = 900.0 * age + rng.normal(0, 6_000, n)
    band = np.where(age < 30, "young", np.where(age < 55, "middle", "older"))
    member = (income > 45_000) ^ (rng.random(n) < 0.1)
    return pd.DataFrame({"age": age, "income": income, "band": band, "member": member,
                         "visits": rng.poisson(np.where(member, 8.0, 2.0)),
                         "city": rng.choice(["north", "south", "east", "west"], n)})  # fmt: skip


def tables() -> dict[str, pd.DataFrame]:
    adult = table_to_frame(pq.read_table(ROOT / "data" / "adult" / "adult_train.parquet"))
    return {"adult": adult, "six-columns": census_like(30_000, np.random.default_rng(0))}


def mean_score(scores: dict[str, object]) -> float:
    values = [v["score"] if isinstance(v, dict) else v for v in scores.values()]
    return float(np.mean(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, default=30)
    parser.add_argument("--sizes", default="60,200,1000,5000")
    args = parser.parse_args()
    for name, frame in tables().items():
        columns = modelled_columns(infer_schema(frame))
        for n in (int(s) for s in args.sizes.split(",")):
            rng = np.random.default_rng(n)
            found: dict[str, list[tuple[float, float]]] = {"column_shapes": [], "pair_trends": []}
            for _ in range(args.draws):
                order = rng.permutation(len(frame))
                train, a, b = (frame.iloc[order[s]].reset_index(drop=True)
                               for s in (slice(2 * n, 2 * n + 5_000), slice(0, n), slice(n, 2 * n)))  # fmt: skip
                found["column_shapes"].append(
                    (mean_score(shape_scores(train, a, columns)), mean_score(shape_scores(train, b, columns)))
                )
                found["pair_trends"].append(
                    (mean_score(pair_scores(train, a, columns)), mean_score(pair_scores(train, b, columns)))
                )
            for metric, pairs in found.items():
                values = np.array(pairs)
                spread = float(np.std(values[:, 0] - values[:, 1], ddof=1))
                shortfall = float(1.0 - values[:, 1].mean())
                record = {"table": name, "rows": n, "metric": metric, "sd_of_difference": round(spread, 4),
                          "shortfall": round(shortfall, 4), "factor": round(spread / shortfall, 3)}  # fmt: skip
                print(json.dumps(record))


if __name__ == "__main__":
    main()
