"""The quality report: metric records plus the verdict, as JSON and as one self-contained HTML page with plots."""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from typing import Any

from validators.gate import Verdict
from validators.records import MetricResult

__all__ = ["FAMILIES", "Report"]

FAMILIES = ("fidelity", "utility", "diversity", "leakage")


@dataclass(frozen=True, slots=True)
class Report:
    """Everything measured about one synthetic table or image set. ``figures`` holds what the HTML page shows:
    inline SVG for tables, PNG data URIs for images (``sample_grids``, ``closest_pairs``).
    """

    metrics: tuple[MetricResult, ...]
    verdict: Verdict
    context: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)

    def metric(self, name: str) -> MetricResult:
        for record in self.metrics:
            if record.name == name:
                return record
        raise KeyError(name)

    def family_scores(self) -> dict[str, float]:
        """Per family, the share of its checks that pass (warnings count half); "overall" over every check."""
        points = {"pass": 1.0, "warn": 0.5, "fail": 0.0, "error": 0.0}
        scores = {}
        for family in FAMILIES:
            members = [points[m.status] for m in self.metrics if m.family == family]
            if members:
                scores[family] = sum(members) / len(members)
        scores["overall"] = sum(points[m.status] for m in self.metrics) / max(len(self.metrics), 1)
        return scores

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.status,
            "failures": list(self.verdict.failures),
            "warnings": list(self.verdict.warnings),
            "family_scores": self.family_scores(),
            "context": self.context,
            "metrics": [m.to_dict() for m in self.metrics],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)

    def to_text(self) -> str:
        """A fixed-width table for terminals and logs."""
        width = max([19, *(len(m.name) for m in self.metrics)])
        lines = [f"{'metric':<{width}} {'value':>8} {'real ref':>9} {'fail at':>10} {'warn at':>10}  result"]
        for m in self.metrics:
            fail = f"{'<' if m.direction == 'min' else '>'} {m.threshold:.3f}"
            warn = "" if m.warn_threshold is None else f"{'<' if m.direction == 'min' else '>'} {m.warn_threshold:.3f}"
            lines.append(
                f"{m.name:<{width}} {_fmt(m.value):>8} {_fmt(m.reference):>9} {fail:>10} {warn:>10}  {m.status}"
            )
        for m in self.metrics:
            summary = _summary(m) if m.status == "fail" else ""
            if summary:
                lines.append(f"{m.name}: {summary}")
        lines.append(f"verdict: {self.verdict.status}")
        return "\n".join(lines)

    def to_html(self, title: str = "Synthetic data quality report") -> str:
        """One HTML file with no scripts and no external resources."""
        esc = html.escape
        failures = "".join(f"<li class=fail>{esc(f)}</li>" for f in self.verdict.failures)
        warnings = "".join(f"<li class=warn>{esc(w)}</li>" for w in self.verdict.warnings)
        scores = " · ".join(f"{esc(k)} {v:.2f}" for k, v in self.family_scores().items())
        sections = "".join(self._family_section(family) for family in FAMILIES)
        context = "".join(f"<tr><td>{esc(str(k))}</td><td>{esc(str(v))}</td></tr>" for k, v in self.context.items())
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; max-width: 78rem; }}
table {{ border-collapse: collapse; margin-bottom: 1.2rem; }}
td, th {{ border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; }}
tr.fail td, tr.error td {{ background: #fde2e2; }} tr.warn td {{ background: #fff3d6; }}
li.fail {{ color: #b00020; }} li.warn {{ color: #8a5300; }}
.verdict-passed {{ color: #176317; }} .verdict-warned {{ color: #a15c00; }} .verdict-failed {{ color: #b00020; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 1rem; }} figure {{ margin: 0; }} figcaption {{ font-size: .85rem; }}
img.pixels {{ image-rendering: pixelated; }}
</style></head><body>
<h1>{esc(title)}</h1>
<h2 id="verdict" class="verdict-{self.verdict.status}">Verdict: {self.verdict.status}</h2>
<ul>{failures}{warnings}</ul>
<p>Scores (share of checks passing, warnings half): {scores}</p>
<p>Every figure is shown beside the same figure for the real holdout in place of the synthetic data ("real
holdout"): what sampling noise alone scores.</p>
{sections}
{self._figures_section()}
<h2>Run</h2><table>{context}</table>
</body></html>
"""

    def _family_section(self, family: str) -> str:
        esc = html.escape
        members = [m for m in self.metrics if m.family == family]
        if not members:
            if "target" not in self.context:  # an image report: there is no target column to ask for
                return ""
            return f"<h2>{family.capitalize()}</h2><p>Not measured (no target column given).</p>"
        rows = "".join(
            f"<tr class={m.status}><td>{esc(m.name)}</td><td>{_fmt(m.value)}</td><td>{_fmt(m.reference)}</td>"
            f"<td>{'&lt;' if m.direction == 'min' else '&gt;'} {_fmt(m.threshold)}</td>"
            f"<td>{'' if m.warn_threshold is None else _fmt(m.warn_threshold)}</td><td>{m.status}</td>"
            f"<td>{esc(_summary(m))}</td></tr>"
            for m in members
        )
        return (
            f"<h2>{family.capitalize()}</h2><table><tr><th>metric</th><th>synthetic</th><th>real holdout</th>"
            f"<th>fails at</th><th>warns at</th><th>result</th><th>notes</th></tr>{rows}</table>"
        )

    def _figures_section(self) -> str:
        esc = html.escape
        parts = []
        distributions = self.figures.get("distributions", {})
        if distributions:
            cells = "".join(
                f"<figure>{svg}<figcaption>{esc(name)}</figcaption></figure>" for name, svg in distributions.items()
            )
            parts.append(f"<h2>Distributions: real vs synthetic</h2><div class=grid>{cells}</div>")
        captions = {
            "pair_heatmap": "Pair trends: how much worse each synthetic pair is than the real holdout's",
            "dcr_histogram": "Distance to the closest training row (dashed: 1st percentile of holdout→train)",
            "coverage": "Coverage: synthetic vs real holdout",
        }
        for key, caption in captions.items():
            if key in self.figures:
                parts.append(f"<h2>{esc(caption)}</h2><figure>{self.figures[key]}</figure>")
        return (
            "".join(parts)
            + _sample_grids(self.figures.get("sample_grids", {}))
            + _closest_pairs(self.figures.get("closest_pairs", []))
        )


def _img(uri: str | None, alt: str) -> str:
    """An inline PNG; only data URIs are written, so the page never fetches anything."""
    if not uri or not uri.startswith("data:image/png;base64,"):
        return "<em>none</em>"
    return f'<img class=pixels src="{html.escape(uri)}" alt="{html.escape(alt)}">'


def _sample_grids(grids: dict[str, dict[str, str | None]]) -> str:
    if not grids:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{_img(pictures.get('synthetic'), f'generated, class {label}')}</td>"
        f"<td>{_img(pictures.get('real'), f'real training images, class {label}')}</td></tr>"
        for label, pictures in grids.items()
    )
    return (
        "<h2>Samples per class: generated beside real training images</h2>"
        f"<table><tr><th>class</th><th>generated</th><th>real (train)</th></tr>{rows}</table>"
    )


def _closest_pairs(pairs: list[dict[str, Any]]) -> str:
    if not pairs:
        return ""
    cells = "".join(
        f"<figure>{_img(pair.get('image'), 'generated image above its nearest training image')}"
        f"<figcaption>distance {pair['distance']:.3f}<br>generated #{pair['synthetic_index']}<br>"
        f"train #{pair['train_index']}</figcaption></figure>"
        for pair in pairs
    )
    return (
        "<h2>Closest generated-training pairs (generated above, training image below; pixel L2 in [0, 1])</h2>"
        f"<div class=grid>{cells}</div>"
    )


def _fmt(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.4f}"


def _summary(metric: MetricResult) -> str:
    details = metric.details
    if "reason" in details:
        return str(details["reason"])
    if metric.name == "utility_ratio":

        def scores(figures: dict[str, float]) -> str:
            return ", ".join(f"{name} {value:.3f}" for name, value in figures.items())

        return f"TSTR {scores(details['tstr'])}; TRTR {scores(details['trtr'])}; {details['test_rows']} holdout rows"
    if metric.name == "rare_value_share":
        worst = details["worst_columns"]
        shown = "; ".join(f"{w['column']} {w['share']:.3f} (e.g. {', '.join(w['examples'])})" for w in worst[:3])
        return f"k={details['rare_min']}; " + (f"real values held by fewer rows in {shown}" if worst else "none")
    if metric.name == "mia_auc":
        return f"TPR at 1% FPR {details['tpr_at_1pct_fpr']:.3f} (real {details['reference_tpr_at_1pct_fpr']:.3f})"
    if metric.name == "conditional_accuracy" and details.get("ratio") is not None:
        return f"{details['ratio']:.3f} of the holdout's accuracy"
    if metric.name == "memorisation_share":
        return f"line {details['line']:.3f}; {details['exact_copies']} exact copies of training images"
    if "per_class" in details:
        scored_classes = [(k, v["value"]) for k, v in details["per_class"].items() if v.get("value") is not None]
        worst_classes = sorted(scored_classes, key=lambda kv: kv[1])[:3]
        return "worst classes: " + ", ".join(f"{k} {v:.3f}" for k, v in worst_classes) if worst_classes else ""
    scored = {k: v for k, v in details.items() if isinstance(v, dict) and "score" in v}
    if scored:
        worst = sorted(scored.items(), key=lambda kv: kv[1]["score"])[:3]
        return "worst: " + ", ".join(f"{k} {v['score']:.3f}" for k, v in worst)
    return ""
