"""Plots for the report as inline SVG: nothing to download, nothing to install, readable in any browser."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

from synth.schema import Schema
from validators.fidelity import modelled_columns, numeric_values
from validators.records import MetricResult

__all__ = ["build_figures"]

REAL, SYNTHETIC, REFERENCE = "#4a7bd0", "#e07b39", "#9aa0a6"
_W, _H = 360, 170


def build_figures(
    train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, schema: Schema, metrics: list[MetricResult]
) -> dict[str, Any]:
    """SVG strings: per-column distributions, the pair-trend difference heatmap, DCR histograms, coverage."""
    by_name = {m.name: m for m in metrics}
    figures: dict[str, Any] = {
        "distributions": {
            c.name: _distribution(train[c.name], synthetic[c.name], c.kind) for c in modelled_columns(schema)
        }
    }
    if "pair_trends" in by_name:
        details = by_name["pair_trends"].details
        figures["pair_heatmap"] = _heatmap(
            _heatmap_columns([c.name for c in modelled_columns(schema)], details), details
        )
    if "low_dcr_share" in by_name and "histogram" in by_name["low_dcr_share"].details:
        figures["dcr_histogram"] = _dcr_histogram(by_name["low_dcr_share"].details)
    coverage = [m for m in metrics if m.name in ("category_coverage", "prdc_precision", "prdc_recall",
                                                  "prdc_density", "prdc_coverage")]  # fmt: skip
    if coverage:
        figures["coverage"] = _bars([(m.name, m.value, m.reference) for m in coverage], "synthetic", "real holdout")
    return figures


def _svg(body: str, width: int = _W, height: int = _H) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="10">{body}</svg>'
    )


def _legend(x: float, labels: list[tuple[str, str]]) -> str:
    return "".join(
        f'<rect x="{x + i * 90}" y="4" width="10" height="10" fill="{color}"/>'
        f'<text x="{x + i * 90 + 14}" y="13">{html.escape(label)}</text>'
        for i, (label, color) in enumerate(labels)
    )


def _paired_bars(
    labels: list[str], left: np.ndarray, right: np.ndarray, legend: tuple[str, str] = ("real", "synthetic")
) -> str:
    """Two bars per label (real, synthetic), heights as shares."""
    top, bottom, margin = 22, _H - 38, 8
    peak = max(float(left.max(initial=0)), float(right.max(initial=0)), 1e-12)
    slot = (_W - 2 * margin) / max(len(labels), 1)
    parts = [_legend(margin, [(legend[0], REAL), (legend[1], SYNTHETIC)])]
    for i, label in enumerate(labels):
        x = margin + i * slot
        for j, (share, color) in enumerate(((left[i], REAL), (right[i], SYNTHETIC))):
            height = (bottom - top) * float(share) / peak
            parts.append(
                f'<rect x="{x + j * slot * 0.45:.1f}" y="{bottom - height:.1f}" width="{slot * 0.42:.1f}" '
                f'height="{height:.1f}" fill="{color}"><title>{html.escape(label)}: {float(share):.3f}</title></rect>'
            )
        if len(labels) <= 12:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{bottom + 10}" text-anchor="end" '
                f'transform="rotate(-35 {x + slot / 2:.1f} {bottom + 10})">{html.escape(label[:14])}</text>'
            )
    parts.append(f'<line x1="{margin}" y1="{bottom}" x2="{_W - margin}" y2="{bottom}" stroke="#555"/>')
    return _svg("".join(parts))


def _distribution(real: pd.Series, synthetic: pd.Series, kind: str) -> str:
    if kind in ("continuous", "integer", "datetime"):
        a, b = numeric_values(real), numeric_values(synthetic)
        if len(a) == 0:
            return _svg('<text x="10" y="20">no values</text>')
        edges = np.linspace(a.min(), a.max() if a.max() > a.min() else a.min() + 1, 21)
        left = np.histogram(np.clip(a, edges[0], edges[-1]), edges)[0] / max(len(a), 1)
        right = np.histogram(np.clip(b, edges[0], edges[-1]), edges)[0] / max(len(b), 1)
        return _paired_bars([f"{edges[i]:.3g}" for i in range(20)], left, right)
    p = real.astype(object).fillna("(null)").value_counts(normalize=True)
    q = synthetic.astype(object).fillna("(null)").value_counts(normalize=True)
    top = list(p.index[:12])
    left = np.array([p.get(v, 0.0) for v in top] + ([1 - p[top].sum()] if len(p) > 12 else []))
    right = np.array([q.get(v, 0.0) for v in top] + ([1 - q.reindex(top).fillna(0).sum()] if len(p) > 12 else []))
    return _paired_bars([str(v) for v in top] + (["(other)"] if len(p) > 12 else []), left, right)


_MAX_HEATMAP_COLUMNS = 40


def _heatmap_columns(columns: list[str], details: dict[str, Any]) -> list[str]:
    """All columns, or on a wide table the ones in the pairs that lost most against the real holdout."""
    if len(columns) <= _MAX_HEATMAP_COLUMNS:
        return columns
    pairs = [(v["score"] - v["reference"], k) for k, v in details.items() if isinstance(v, dict) and "score" in v]
    chosen: list[str] = []
    for _, key in sorted(pairs):
        for name in key.split(" | "):
            if name not in chosen and len(chosen) < _MAX_HEATMAP_COLUMNS:
                chosen.append(name)
    return [name for name in columns if name in chosen]


def _heatmap(columns: list[str], details: dict[str, Any]) -> str:
    """Cell (i, j): how much worse the synthetic pair score is than the real holdout's (white 0, red >= 0.3)."""
    cell, label = 18, 110
    size = label + cell * len(columns) + 10
    parts = []
    for i, left in enumerate(columns):
        name = html.escape(left[:16])
        parts.append(f'<text x="{label - 4}" y="{label + i * cell + 13}" text-anchor="end">{name}</text>')
        parts.append(
            f'<text x="{label + i * cell + 12}" y="{label - 4}" transform="rotate(-60 {label + i * cell + 12} '
            f'{label - 4})">{name}</text>'
        )
        for j, right in enumerate(columns):
            entry = details.get(f"{left} | {right}") or details.get(f"{right} | {left}")
            if entry is None:
                continue
            gap = max(0.0, float(entry["reference"]) - float(entry["score"]))
            shade = int(255 * (1 - min(gap / 0.3, 1.0)))
            parts.append(
                f'<rect x="{label + j * cell}" y="{label + i * cell}" width="{cell - 1}" height="{cell - 1}" '
                f'fill="rgb(255,{shade},{shade})"><title>{html.escape(left)} / {html.escape(right)}: '
                f"{entry['score']:.3f} (real {entry['reference']:.3f})</title></rect>"
            )
    return _svg("".join(parts), size, size)


def _dcr_histogram(details: dict[str, Any]) -> str:
    hist = details["histogram"]
    edges = np.asarray(hist["edges"])
    synthetic = np.asarray(hist["synthetic_to_train"], dtype=float)
    holdout = np.asarray(hist["holdout_to_train"], dtype=float)
    synthetic, holdout = synthetic / max(synthetic.sum(), 1), holdout / max(holdout.sum(), 1)
    top, bottom, margin = 22, _H - 20, 8
    peak = max(synthetic.max(initial=0), holdout.max(initial=0), 1e-12)
    width = (_W - 2 * margin) / len(synthetic)

    def polyline(values: np.ndarray, color: str) -> str:
        points = " ".join(
            f"{margin + (i + 0.5) * width:.1f},{bottom - (bottom - top) * v / peak:.1f}" for i, v in enumerate(values)
        )
        return f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>'

    line_x = margin + (_W - 2 * margin) * min(details["line"] / max(edges[-1], 1e-12), 1.0)
    body = (
        _legend(margin, [("synthetic→train", SYNTHETIC), ("holdout→train", REAL)])
        + polyline(holdout, REAL)
        + polyline(synthetic, SYNTHETIC)
        + f'<line x1="{line_x:.1f}" y1="{top}" x2="{line_x:.1f}" y2="{bottom}" stroke="#b00020" stroke-dasharray="3"/>'
        + f'<line x1="{margin}" y1="{bottom}" x2="{_W - margin}" y2="{bottom}" stroke="#555"/>'
        + f'<text x="{margin}" y="{_H - 6}">0</text><text x="{_W - margin}" y="{_H - 6}" text-anchor="end">'
        f"{edges[-1]:.3g}</text>"
    )
    return _svg(body)


def _bars(items: list[tuple[str, float, float]], value_label: str, reference_label: str) -> str:
    names = [name for name, _, _ in items]
    values = np.array([v for _, v, _ in items])
    references = np.array([r for _, _, r in items])
    svg = _paired_bars(names, references, values)
    return svg.replace(">real<", f">{html.escape(reference_label)}<").replace(
        ">synthetic<", f">{html.escape(value_label)}<"
    )
