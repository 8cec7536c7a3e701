"""Fits that share the CPU: each of two concurrent fits against the same fit alone (issue 15's threads target).

Each fit runs in its own process on the bundled Adult training file for a fixed number of epochs (no time budget,
checkpoint selection off, so every run does the same work). Cases, one after another:

- ``solo``: one fit alone, with synth's defaults (torch threads and OpenMP's wait policy from ``synth.threads``);
- ``pair``: two fits started together, synth's defaults: each sees the other in the run registry;
- ``pair, sharing off``: two fits with ``SYNTH_CPU_SHARE=off``: every fit takes all cores and OpenMP's own
  wait policy, which is how torch behaves without synth's sizing;
- ``solo, sharing off``: one fit alone with ``SYNTH_CPU_SHARE=off``, the reference for that case.

Prints one JSON line per fit and a table of the slowdowns (concurrent fit seconds / solo fit seconds).

    python bench/threads.py                 # 8 epochs per fit
    python bench/threads.py --epochs 3      # a smoke run

Never collected by pytest. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ADULT = ROOT / "data" / "adult" / "adult_train.parquet"


def fit_once(epochs: int) -> dict[str, Any]:
    """One fit in this process: its seconds and the torch threads it used."""
    import pyarrow.parquet as pq
    import torch

    from synth import TabularSynthesizer

    table = pq.read_table(ADULT)
    model = TabularSynthesizer(epochs=epochs, seed=0, validation_share=0.0, device="cpu")
    threads: list[int] = []
    started = time.perf_counter()
    model.fit(table, progress=lambda stats: threads.append(torch.get_num_threads()))
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "epoch_s": [round(s.seconds, 2) for s in model.history_],
        "threads": sorted(set(threads)),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }


def run_case(name: str, copies: int, epochs: int, sharing: bool) -> list[dict[str, Any]]:
    env = {**os.environ, "SYNTH_CPU_SHARE": "on" if sharing else "off"}
    env.pop("OMP_WAIT_POLICY", None)
    command = [sys.executable, __file__, "--inner", "--epochs", str(epochs)]
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(copies)]
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"{name}: a fit exited {proc.returncode}")
        results.append({"case": name, **json.loads(out.strip().splitlines()[-1])})
    for result in results:
        print(json.dumps(result))
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        print(json.dumps(fit_once(args.epochs)))
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    rows = []
    for sharing in (True, False):
        label = "" if sharing else ", sharing off"
        solo = run_case(f"solo{label}", 1, args.epochs, sharing)[0]["seconds"]
        pair = [r["seconds"] for r in run_case(f"pair{label}", 2, args.epochs, sharing)]
        rows.append((label or ", synth's defaults", solo, pair))
    print(f"\nAdult, {args.epochs} epochs per fit, {cores} usable cores\n")
    print("| case | solo fit s | two at once: each fit s | slowdown (each / solo) |\n|---|---|---|---|")
    for label, solo, pair in rows:
        slow = " / ".join(f"{s / solo:.2f}x" for s in pair)
        print(f"| {label.lstrip(', ')} | {solo:.1f} | {' / '.join(f'{s:.1f}' for s in pair)} | {slow} |")


if __name__ == "__main__":
    main()
