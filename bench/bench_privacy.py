"""Benchmark of the privacy mode on Adult: fidelity, utility and the membership-inference AUC at epsilon 1, 3 and
10, beside the non-private model trained the same way.

Uses the flow's split of the Adult training file (80/20, seed 0). Prints one JSON line per model (name, device, rows,
seconds, peak_mem_mb, versions, git_sha, epsilon target and spent, and the metrics). Run with
`python bench/bench_privacy.py --epochs 5` (add `--public` to give Adult's documented ranges and categories as public
metadata; without it only the label's classes are public). Never collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from record import git_sha, peak_mem_mb

import validators
from pipelines.splitting import split_table
from synth import TabularSynthesizer, infer_schema
from synth.schema import table_to_frame
from synth.versions import package_versions

ROOT = Path(__file__).resolve().parents[1]
ADULT = ROOT / "data" / "adult" / "adult_train.parquet"
#: Adult's documented value ranges (UCI's description), usable as public metadata: they disclose nothing new.
ADULT_PUBLIC: dict[str, dict[str, Any]] = {
    "age": {"min": 17, "max": 90},
    "fnlwgt": {"min": 12285, "max": 1484705},
    "education_num": {"min": 1, "max": 16},
    "capital_gain": {"min": 0, "max": 99999},
    "capital_loss": {"min": 0, "max": 4356},
    "hours_per_week": {"min": 1, "max": 99},
    "sex": {"categories": ["Female", "Male"]},
    "income": {"categories": ["<=50K", ">50K"]},
}
METRICS = ("column_shapes", "pair_trends", "detection_auc", "utility_ratio", "dcr_holdout_share", "mia_auc")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument(
        "--epsilons", default="1,3,10", help="comma-separated targets; the non-private model always runs"
    )
    parser.add_argument("--public", action="store_true", help="give Adult's documented ranges as public metadata")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    train, holdout = (table_to_frame(part) for part in split_table(pq.read_table(ADULT), 0.2, 0))
    schema = infer_schema(train)
    for epsilon in [None, *(float(e) for e in args.epsilons.split(","))]:
        private: dict[str, Any] = {}
        if epsilon is not None:
            # the label's two classes are public knowledge (always given: a private model may otherwise emit the
            # "other" slot of undisclosed categories in any column, the label included)
            public = ADULT_PUBLIC if args.public else {"income": ADULT_PUBLIC["income"]}
            private = {"epsilon": epsilon, "public_metadata": public}
        model = TabularSynthesizer(epochs=args.epochs, seed=0, device=args.device, **private)
        started = time.perf_counter()
        model.fit(train, schema)
        seconds = time.perf_counter() - started
        synthetic = model.sample(len(train), seed=1)
        report = validators.evaluate(train, synthetic, holdout, schema=schema, target="income", seed=0)
        figures = {name: round(report.metric(name).value, 4) for name in METRICS}
        tstr = report.metric("utility_ratio").details.get("tstr", {})
        spent = model.privacy_spent_ or {}
        record = {
            "name": "adult_private" if epsilon is not None else "adult_non_private",
            "device": str(model.device_),
            "rows": len(train),
            "seconds": round(seconds, 2),
            "peak_mem_mb": round(peak_mem_mb(), 1),
            "epochs": args.epochs,
            "public_metadata": bool(args.public and epsilon is not None),
            "epsilon_target": epsilon,
            "epsilon_spent": spent.get("epsilon_spent"),
            "stopped_early": spent.get("stopped_early"),
            **figures,
            "tstr": tstr,
            "utility_error": report.metric("utility_ratio").details.get("reason"),
            "mia_auc_reference": round(report.metric("mia_auc").reference, 4),
            "versions": package_versions(),
            "git_sha": git_sha(),
        }
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
