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
    """Everything measured about one synthetic table. ``figures`` holds inline SVG for the HTML page."""

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
        lines = [f"{'metric':<19} {'value':>8} {'real ref':>9} {'fail at':>10} {'warn at':>10}  result"]
        for m in self.metrics:
            fail = f"{'<' if m.direction == 'min' else '>'} {m.threshold:.3f}"
            warn = "" if m.warn_threshold is None else f"{'<' if m.direction == 'min' else '>'} {m.warn_threshold:.3f}"
            lines.append(f"{m.name:<19} {_fmt(m.value):>8} {_fmt(m.reference):>9} {fail:>10} {warn:>10}  {m.status}")
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
        return "".join(parts)


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
    if metric.name == "mia_auc":
        return f"TPR at 1% FPR {details['tpr_at_1pct_fpr']:.3f} (real {details['reference_tpr_at_1pct_fpr']:.3f})"
    scored = {k: v for k, v in details.items() if isinstance(v, dict) and "score" in v}
    if scored:
        worst = sorted(scored.items(), key=lambda kv: kv[1]["score"])[:3]
        return "worst: " + ", ".join(f"{k} {v['score']:.3f}" for k, v in worst)
    return ""
