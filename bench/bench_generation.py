"""Benchmark of partitioned generation: N Adult-like rows to Parquet part files through the flow's `generate` step,
on one worker and on two, with the thread pool and with Dask.

Prints one JSON line per run: rows/s, and the peak memory of the whole process tree (Dask workers included),
sampled every 0.2 s. Run with `python bench/bench_generation.py --rows 10000000`. Never collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import psutil
import pyarrow.parquet as pq

from pipelines.config import PipelineConfig, RunnerConfig
from pipelines.intake import load_table_source
from pipelines.settings import Intake, Training
from pipelines.splitting import split_source
from pipelines.training import train_table_model
from synth.versions import package_versions

ROOT = Path(__file__).resolve().parents[1]
ADULT = ROOT / "data" / "adult" / "adult_train.parquet"


class PeakMemory:
    """The largest resident set of this process and all its children seen while it runs."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.2):
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--batch-rows", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=3, help="generation speed does not depend on training length")
    parser.add_argument("--runners", default="thread:1,thread:2,dask:1,dask:2", help="kind:workers, comma-separated")
    args = parser.parse_args()

    from pipelines.flow import generate, task_runner

    work = Path(tempfile.mkdtemp(prefix="bench-generation-"))
    try:
        config = PipelineConfig.model_validate(
            {
                "name": "bench",
                "source": str(ADULT),
                "model": {"epochs": args.epochs, "seed": 0},
                "generate": {"rows": args.rows, "partitions": args.partitions, "batch_rows": args.batch_rows},
                "work_dir": str(work),
                "output": str(work / "published"),
            }
        )
        source = load_table_source(Intake.of(config))
        split = split_source(source, config.split, work)
        model = train_table_model(split, source, Training.of(config))
        for spec in args.runners.split(","):
            kind, workers = spec.split(":")
            runner = RunnerConfig(kind=kind, workers=int(workers))  # type: ignore[arg-type]
            run_dir = work / f"run-{kind}-{workers}"
            run_dir.mkdir()
            with PeakMemory() as memory:
                started = time.perf_counter()
                parts = generate.with_options(task_runner=task_runner(runner))(
                    "tabular", model, config.generate, None, args.rows, source, split, run_dir
                )
                seconds = time.perf_counter() - started
            rows = sum(pq.read_metadata(part.path).num_rows for part in parts)
            size = sum(Path(part.path).stat().st_size for part in parts)
            record = {
                "name": "generate_to_parquet",
                "runner": kind,
                "workers": int(workers),
                "rows": rows,
                "partitions": len(parts),
                "batch_rows": args.batch_rows,
                "seconds": round(seconds, 2),
                "rows_per_s": round(rows / seconds),
                "peak_mem_mb": round(memory.peak / 2**20),
                "parquet_mb": round(size / 2**20, 1),
                "cpus": os.cpu_count(),
                "versions": package_versions(),
            }
            print(json.dumps(record), flush=True)
            shutil.rmtree(run_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
