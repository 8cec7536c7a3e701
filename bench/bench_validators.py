"""Benchmark of the validator suite on Adult (26k train, 6.5k holdout, 26k synthetic), against SDMetrics.

Ours: `validators.evaluate` (all families, target income) on a synthetic set sampled from a model trained for
--epochs. SDMetrics: its QualityReport plus DCRBaselineProtection and DCROverfittingProtection on 2,000-row
subsamples, run in the separate venv that `bench/sdmetrics_golden.py` builds (skipped if it is not there).
Prints one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

import validators
from pipelines.splitting import split_table
from synth import TabularSynthesizer, infer_schema
from synth.schema import table_to_frame
from synth.versions import package_versions

ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / "bench" / ".sdmetrics-venv" / "bin" / "python"

SDMETRICS_TIMING = r"""
import json, sys, time, warnings
import pandas as pd
warnings.simplefilter("ignore")
from sdmetrics.reports.single_table import QualityReport
from sdmetrics.single_table import DCRBaselineProtection, DCROverfittingProtection
folder = sys.argv[1]
train, synthetic, holdout = (pd.read_parquet(f"{folder}/{n}.parquet") for n in ("train", "synthetic", "holdout"))
numeric = {"age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"}
metadata = {"columns": {c: {"sdtype": "numerical" if c in numeric else "categorical"} for c in train.columns}}
started = time.perf_counter()
report = QualityReport()
report.generate(train, synthetic, metadata, verbose=False)
quality = time.perf_counter() - started
started = time.perf_counter()
DCRBaselineProtection.compute_breakdown(train, synthetic, metadata, None, num_rows_subsample=2000)
DCROverfittingProtection.compute_breakdown(train, synthetic, holdout, metadata, None, num_rows_subsample=2000)
dcr = time.perf_counter() - started
print(json.dumps({"quality_report_s": quality, "dcr_s": dcr, "score": report.get_score()}))
"""


def _git_sha() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    return out.stdout.strip() or "unknown"


def _emit(name: str, seconds: float, **extra: object) -> None:
    print(json.dumps({"name": name, "device": "cpu", "seconds": round(seconds, 3), **extra,
                      "versions": package_versions(), "git_sha": _git_sha()}), flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    table = pq.read_table(ROOT / "data" / "adult" / "adult_train.parquet")
    train, holdout = (table_to_frame(part) for part in split_table(table, 0.2, 0))  # the flow's split
    schema = infer_schema(train)
    model = TabularSynthesizer(epochs=args.epochs, seed=0, device="cpu").fit(train, schema)
    synthetic = model.sample(len(train), seed=1)

    validators.evaluate(train.iloc[:2000], synthetic.iloc[:2000], holdout.iloc[:500], schema=schema)  # warm-up
    started = time.perf_counter()
    report = validators.evaluate(train, synthetic, holdout, schema=schema, target="income", seed=0)
    seconds = time.perf_counter() - started
    _emit("evaluate_suite", seconds, rows={"train": len(train), "holdout": len(holdout), "synthetic": len(synthetic)},
          verdict=report.verdict.status, metrics={m.name: round(m.value, 4) for m in report.metrics})  # fmt: skip

    if not VENV_PYTHON.exists():
        print(json.dumps({"name": "sdmetrics", "skipped": "run bench/sdmetrics_golden.py first"}))
        return
    with tempfile.TemporaryDirectory() as folder:
        for name, frame in (("train", train), ("synthetic", synthetic), ("holdout", holdout)):
            frame.astype({c: object for c in frame.columns if frame[c].dtype == "str"}).to_parquet(
                Path(folder) / f"{name}.parquet", index=False
            )
        out = subprocess.run([str(VENV_PYTHON), "-c", SDMETRICS_TIMING, folder], capture_output=True, text=True)
    if out.returncode != 0:
        print(json.dumps({"name": "sdmetrics", "error": out.stderr[-500:]}), file=sys.stderr)
        return
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    _emit("sdmetrics_quality_report_plus_dcr", figures["quality_report_s"] + figures["dcr_s"], **figures)


if __name__ == "__main__":
    main()
