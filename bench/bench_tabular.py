"""Benchmark of the tabular pipeline on the Adult training file: speed, memory and the gate's metrics.

Prints one JSON line per measurement (name, device, rows, seconds, peak_mem_mb, versions, git_sha, ...).
Run with `make bench` or `python bench/bench_tabular.py --epochs 40`. Never collected by pytest.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch
from record import emit

import validators
from pipelines.steps import split_table
from synth import TabularSynthesizer, infer_schema
from synth.schema import table_to_frame
from synth.tabular.transformer import TableTransformer

ROOT = Path(__file__).resolve().parents[1]
ADULT = ROOT / "data" / "adult" / "adult_train.parquet"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sample-rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    table = pq.read_table(ADULT)
    train, holdout = (table_to_frame(part) for part in split_table(table, 0.2, 0))  # the flow's split
    schema = infer_schema(train)

    started = time.perf_counter()
    transformer = TableTransformer(schema).fit(train, np.random.default_rng(0))
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    encoded = transformer.transform(train, np.random.default_rng(0))
    transform_seconds = time.perf_counter() - started
    emit("transformer_fit", "cpu", len(train), fit_seconds, encoded_width=encoded.shape[1])
    emit("transformer_transform", "cpu", len(train), transform_seconds)

    model = TabularSynthesizer(epochs=args.epochs, seed=args.seed, device=args.device)
    started = time.perf_counter()
    model.fit(train, schema)
    if model.device_.type == "cuda":
        torch.cuda.synchronize()
    fit_total = time.perf_counter() - started
    device = str(model.device_)
    epoch_seconds = [s.seconds for s in model.history_]
    steady = float(np.median(epoch_seconds[1:] if len(epoch_seconds) > 1 else epoch_seconds))
    emit("fit_total", device, len(train), fit_total, epochs=args.epochs)
    emit("seconds_per_epoch", device, len(train), steady, training_rows_per_s=round(len(train) / steady))

    model.sample(1000, seed=0)  # warm-up
    started = time.perf_counter()
    model.sample(args.sample_rows, seed=1)
    if model.device_.type == "cuda":
        torch.cuda.synchronize()
    sample_seconds = time.perf_counter() - started
    emit("sample", device, args.sample_rows, sample_seconds, rows_per_s=round(args.sample_rows / sample_seconds))

    synthetic = model.sample(len(train), seed=1)
    started = time.perf_counter()
    report = validators.evaluate(train, synthetic, holdout, schema=schema, seed=0)
    evaluate_seconds = time.perf_counter() - started
    for metric in report.metrics:
        emit(
            f"metric_{metric.name}",
            device,
            len(synthetic),
            evaluate_seconds,
            value=round(metric.value, 4),
            reference=round(metric.reference, 4),
            passed=metric.passed,
        )
    emit("peak_memory", device, len(train), 0.0)


if __name__ == "__main__":
    main()
