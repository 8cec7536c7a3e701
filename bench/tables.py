"""Our tabular GAN on tables beyond Adult (issue 7), so its gains are not tuned to one table.

Tables: scikit-learn's bundled iris, wine, breast_cancer and diabetes (no download), the penguins table when an
installed package ships it (nothing is downloaded at run time; otherwise it is skipped with a note), and a generated
stress table: 100 columns, one with 3,000 categories, where the point is that memory stays bounded (max_categories
caps the one-hot width). Each table is split 80/20 as the flow does, fitted under a time budget, sampled to the
training size and scored by validators.evaluate, the real holdout's figure beside ours. Each table runs in its own
child process so peak memory (ru_maxrss after fit + sample, before evaluation) is that table's alone.

    python bench/tables.py --budget 60
    python bench/tables.py --budget 3 --tables iris,stress --stress-rows 3000   # a smoke run

Never collected by pytest.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

TABLES = ("iris", "wine", "breast_cancer", "diabetes", "penguins", "stress")
METRICS = ("column_shapes", "pair_trends", "detection_auc", "utility_ratio", "dcr_holdout_share")


def sklearn_table(name: str) -> tuple[pd.DataFrame, str]:
    """A bundled scikit-learn table; a class target becomes a text column so the schema calls it categorical."""
    from sklearn import datasets

    extra = {"scaled": False} if name == "diabetes" else {}
    bunch = getattr(datasets, f"load_{name}")(as_frame=True, **extra)
    frame = bunch.frame.copy()
    if "target_names" in bunch:
        frame["target"] = np.asarray([str(label) for label in bunch.target_names], dtype=object)[frame["target"]]
    return frame, "target"


def penguins_file() -> Path | None:
    """A penguins CSV shipped by any installed distribution (read from its file list, no search of the disk)."""
    for dist in importlib.metadata.distributions():
        for file in dist.files or ():
            if "penguins" in file.name.lower() and file.name.lower().endswith(".csv"):
                return Path(str(dist.locate_file(file)))
    return None


def _labels(prefix: str, codes: np.ndarray, levels: int) -> np.ndarray:
    return np.asarray([f"{prefix}{k}" for k in range(levels)], dtype=object)[codes]


def _with_nulls(values: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    values = values.astype(object) if values.dtype.kind in "OUS" else values.astype(float)
    values[rng.random(len(values)) < share] = None if values.dtype == object else np.nan
    return values


def stress_table(rows: int) -> pd.DataFrame:
    """rows x 100, seeded: one 3,000-level Zipf-like categorical, 39 more categoricals, 30 continuous, 20 integer,
    5 boolean and 5 datetime columns; some correlated, some with nulls, some with a 20 % spike at 0."""
    rng = np.random.default_rng(0)
    zipf = 1.0 / np.arange(1, 3001) ** 0.8  # about 2,770 levels seen in 20,000 rows
    columns: dict[str, Any] = {"big_cat": _labels("b", rng.choice(3000, rows, p=zipf / zipf.sum()), 3000)}
    codes: list[np.ndarray] = []
    for i in range(39):
        levels = int(rng.integers(2, 51))
        own = rng.choice(levels, rows, p=rng.dirichlet(np.ones(levels)))
        code = own if i % 3 != 2 else np.where(rng.random(rows) < 0.2, own, codes[-1] % levels)  # follows the last
        codes.append(code)
        labels = _labels(f"c{i}_", code, levels)
        columns[f"cat_{i:02d}"] = _with_nulls(labels, rng, 0.1) if i % 4 == 3 else labels
    for j in range(30):
        shape = j % 3
        if shape == 0:  # two-component Gaussian mixture, shifted by a categorical
            value = np.where(rng.random(rows) < 0.3, rng.normal(-2, 0.5, rows), rng.normal(3, 1, rows))
            value = value + 0.5 * codes[j % 39]
        else:
            value = rng.lognormal(0.0, 1.0, rows)
        if shape == 2:
            value = value * (rng.random(rows) >= 0.2)  # 20 % exactly zero
        columns[f"num_{j:02d}"] = _with_nulls(value, rng, 0.15) if j % 4 == 1 else value
    for k in range(20):
        kind = k % 3
        small = rng.integers(0, 8, rows) if kind == 0 else rng.poisson(3, rows)
        columns[f"int_{k:02d}"] = (10 ** rng.uniform(0, 9, rows)).astype(np.int64) if kind == 2 else small
    for b, share in enumerate((0.1, 0.3, 0.5, 0.7, 0.9)):
        columns[f"flag_{b}"] = rng.random(rows) < share if b else columns["num_00"] > 0
    start = pd.Timestamp("2010-01-01")
    for t in range(5):
        seconds = pd.to_timedelta(rng.integers(0, 10 * 365 * 86_400, rows), unit="s")
        stamps = start + seconds
        columns[f"when_{t}"] = (stamps.normalize() if t == 4 else stamps).to_numpy()
    return pd.DataFrame(columns)


def load_table(name: str, stress_rows: int) -> tuple[pd.DataFrame, str | None]:
    """(the table, its target column or None)."""
    if name == "stress":
        return stress_table(stress_rows), None
    if name == "penguins":
        found = penguins_file()
        if found is None:
            raise LookupError("penguins: no installed package ships it")
        frame = pd.read_csv(found)
        return frame, "species" if "species" in frame.columns else None
    return sklearn_table(name)


def peak_mb() -> float:
    """This process's peak resident memory (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _figure(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def dtype_changes(real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, str]:
    """Columns whose dtype the synthetic table does not keep."""
    pairs = {c: (str(real[c].dtype), str(synthetic[c].dtype)) for c in real.columns}
    return {c: f"{old} -> {new}" for c, (old, new) in pairs.items() if old != new}


def run_inner(name: str, budget: float, stress_rows: int) -> dict[str, Any]:
    """Split, fit, sample and score one table in this process; the figures as a JSON-ready dict."""
    import validators
    from pipelines.splitting import split_table
    from synth import TabularSynthesizer
    from synth.schema import table_to_frame

    frame, target = load_table(name, stress_rows)
    parts = split_table(pa.Table.from_pandas(frame, preserve_index=False), 0.2, 0)
    train, holdout = (table_to_frame(part) for part in parts)
    base_mb = peak_mb()
    model = TabularSynthesizer(time_budget_s=budget, epochs=100_000, seed=0)
    started = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - started
    synthetic = model.sample(len(train), seed=1)
    model_mb = peak_mb()
    started = time.perf_counter()
    report = validators.evaluate(train, synthetic, holdout, schema=model.schema_, target=target, seed=0)
    return {
        "table": name,
        "rows": len(frame),
        "columns": frame.shape[1],
        "target": target,
        "kinds": pd.Series([c.kind for c in model.schema_]).value_counts().to_dict(),
        "epochs": len(model.history_),
        "fit_s": round(fit_s, 2),
        "evaluate_s": round(time.perf_counter() - started, 2),
        "base_mb": round(base_mb),
        "peak_mb": round(model_mb),
        "eval_peak_mb": round(peak_mb()),
        "metrics": {r.name: [_figure(r.value), _figure(r.reference)] for r in report.metrics if r.name in METRICS},
        "errors": {r.name: r.details.get("reason") for r in report.metrics if r.status == "error"},
        "dtype_changes": dtype_changes(train, synthetic),
        "verdict": report.verdict.status,
    }


def run_child(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one table in a fresh process; its stderr is passed on, its last stdout line is the result."""
    command = [sys.executable, __file__, "--inner", name, "--budget", str(args.budget)]
    proc = subprocess.run([*command, "--stress-rows", str(args.stress_rows)], capture_output=True, text=True)
    sys.stderr.write(proc.stderr)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        last = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        return {"table": name, "failed": last}
    return json.loads(lines[-1])


def _pair(figures: list[float | None] | None) -> str:
    if figures is None:
        return "-"
    return " / ".join("error" if x is None else f"{x:.3f}" for x in figures)


def markdown_row(result: dict[str, Any]) -> str:
    """One row of the results table."""
    if "failed" in result:
        return f"| {result['table']} | failed: {result['failed']} |" + " |" * 9
    m = result["metrics"]
    cells = [
        result["table"], f"{result['rows']:,} x {result['columns']}", str(result["epochs"]), f"{result['fit_s']:.1f}",
        f"{result['peak_mb']:,}", f"{result['eval_peak_mb']:,}", *(_pair(m.get(k)) for k in METRICS),
    ]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| table | rows x columns | epochs | fit s | peak MB (fit + sample) | peak MB (+ evaluate) | shapes | pairs"
    " | detection AUC | utility ratio | DCR share |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds of training per table")
    parser.add_argument("--tables", default=",".join(TABLES), help=f"comma list of {', '.join(TABLES)}")
    parser.add_argument("--stress-rows", type=int, default=20_000)
    parser.add_argument("--json", type=Path, help="write one JSON line per table here")
    parser.add_argument("--inner", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        print(json.dumps(run_inner(args.inner, args.budget, args.stress_rows)))
        return
    names = [n.strip() for n in args.tables.split(",") if n.strip()]
    unknown = sorted(set(names) - set(TABLES))
    if unknown:
        parser.error(f"unknown table(s) {unknown}; choose from {', '.join(TABLES)}")
    notes, results = [], []
    for name in names:
        if name == "penguins" and penguins_file() is None:
            notes.append("penguins: skipped; no installed package ships it and nothing is downloaded at run time")
            continue
        started = time.perf_counter()
        result = run_child(name, args)
        result["wall_s"] = round(time.perf_counter() - started, 1)
        results.append(result)
        notes += [f"{name}: {metric} errored: {reason}" for metric, reason in result.get("errors", {}).items()]
        notes += [f"{name}: synthetic {col}: {change}" for col, change in result.get("dtype_changes", {}).items()]
    print(f"budget {args.budget:g} s per table; metric cells are ours / real holdout's; '-': no target\n\n{HEADER}")
    print("\n".join(markdown_row(result) for result in results))
    print("".join(f"\n- {note}" for note in notes))
    if args.json:
        args.json.write_text("".join(json.dumps(result) + "\n" for result in results))


if __name__ == "__main__":
    main()
