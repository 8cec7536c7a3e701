"""The quality report: metric records plus the verdict, as JSON and as one self-contained HTML page."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

from validators.gate import Verdict
from validators.records import MetricResult

__all__ = ["Report"]


@dataclass(frozen=True, slots=True)
class Report:
    """Everything measured about one synthetic table."""

    metrics: tuple[MetricResult, ...]
    verdict: Verdict
    context: dict[str, Any] = field(default_factory=dict)

    def metric(self, name: str) -> MetricResult:
        for record in self.metrics:
            if record.name == name:
                return record
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.status,
            "failures": list(self.verdict.failures),
            "context": self.context,
            "metrics": [m.to_dict() for m in self.metrics],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)

    def to_text(self) -> str:
        """A fixed-width table for terminals and logs."""
        lines = [f"{'metric':<20} {'value':>8} {'real ref':>9} {'threshold':>11}  result"]
        for m in self.metrics:
            mark = "pass" if m.passed else "FAIL"
            bound = (">= " if m.direction == "min" else "<= ") + f"{m.threshold:.4f}"
            lines.append(f"{m.name:<20} {m.value:>8.4f} {m.reference:>9.4f} {bound:>11}  {mark}")
        lines.append(f"verdict: {self.verdict.status}")
        return "\n".join(lines)

    def to_html(self, title: str = "Synthetic data quality report") -> str:
        """One HTML file with no external resources: summary table, then per-column and per-pair detail."""
        esc = html.escape
        rows = "".join(
            f"<tr class={'pass' if m.passed else 'fail'}><td>{esc(m.name)}</td><td>{esc(m.family)}</td>"
            f"<td>{m.value:.4f}</td><td>{m.reference:.4f}</td>"
            f"<td>{'&ge;' if m.direction == 'min' else '&le;'} {m.threshold:.4f}</td>"
            f"<td>{'pass' if m.passed else 'FAIL'}</td></tr>"
            for m in self.metrics
        )
        sections = "".join(_detail_section(m) for m in self.metrics if _scored_details(m))
        failures = "".join(f"<li>{esc(f)}</li>" for f in self.verdict.failures)
        context = "".join(f"<tr><td>{esc(str(k))}</td><td>{esc(str(v))}</td></tr>" for k, v in self.context.items())
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; max-width: 70rem; }}
table {{ border-collapse: collapse; margin-bottom: 1.5rem; }}
td, th {{ border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; }}
tr.fail td {{ background: #fde2e2; }} tr.pass td:last-child {{ color: #176317; }}
.bar {{ background: #4a7bd0; height: .8rem; }} .ref {{ background: #bbb; height: .4rem; }}
.verdict-passed {{ color: #176317; }} .verdict-warned {{ color: #a15c00; }} .verdict-failed {{ color: #b00020; }}
</style></head><body>
<h1>{esc(title)}</h1>
<h2 class="verdict-{self.verdict.status}">Verdict: {self.verdict.status}</h2>
<ul>{failures}</ul>
<table><tr><th>metric</th><th>family</th><th>value</th><th>real holdout</th><th>threshold</th><th>result</th></tr>
{rows}</table>
<p>"real holdout" is the same metric with the real holdout in place of the synthetic data: what sampling noise
alone scores.</p>
{sections}
<h2>Run</h2><table>{context}</table>
</body></html>
"""


def _scored_details(metric: MetricResult) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in metric.details.items() if isinstance(v, dict) and "score" in v}


def _detail_section(metric: MetricResult) -> str:
    esc = html.escape
    items = sorted(_scored_details(metric).items(), key=lambda kv: kv[1]["score"])
    rows = "".join(
        f"<tr><td>{esc(name)}</td><td>{d['score']:.4f}</td><td>{d.get('reference', float('nan')):.4f}</td>"
        f"<td style='width:16rem'><div class=bar style='width:{max(0.0, d['score']) * 100:.1f}%'></div>"
        f"<div class=ref style='width:{max(0.0, d.get('reference', 0.0)) * 100:.1f}%'></div></td></tr>"
        for name, d in items
    )
    return (
        f"<h2>{esc(metric.name)}: detail (worst first)</h2>"
        f"<table><tr><th>item</th><th>synthetic</th><th>real holdout</th><th>bars: synthetic / holdout</th></tr>"
        f"{rows}</table>"
    )
