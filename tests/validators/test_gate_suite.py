"""The gate over the whole suite on real Adult rows: real data passes; copies, shuffled columns and a collapsed set
fail; the HTML report is self-contained and renders in headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from synth import Schema, infer_schema
from synth.schema import table_to_frame
from validators import Report, evaluate
from validators.gate import decide
from validators.rare_values import rare_value_share

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def adult() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Schema]:
    """8,000 Adult rows: 5,000 train, 1,500 holdout, 1,500 other real rows (a perfect "generator")."""
    table = pq.read_table(ROOT / "data" / "adult" / "adult_train.parquet")
    rows = np.sort(np.random.default_rng(0).permutation(table.num_rows)[:8000])
    frame = table_to_frame(table.take(rows))
    train, holdout, other = (frame.iloc[a:b].reset_index(drop=True) for a, b in ((0, 5000), (5000, 6500), (6500, 8000)))
    return train, holdout, other, infer_schema(train)


@pytest.fixture(scope="module")
def real_report(adult: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Schema]) -> Report:
    """Other real rows judged as a synthetic set, without rare-value protection (k=1 checks nothing)."""
    return _judge(adult, adult[2], rare_min=1)


@pytest.fixture(scope="module")
def copy_report(adult: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Schema]) -> Report:
    """1,500 training rows judged as a synthetic set."""
    return _judge(adult, adult[0].sample(1500, random_state=2).reset_index(drop=True))


def _judge(
    adult: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Schema], candidate: pd.DataFrame, rare_min: int = 5
) -> Report:
    train, holdout, _, schema = adult
    return evaluate(train, candidate, holdout, schema=schema, target="income", seed=0, rare_min=rare_min)


def _failed(report: Report) -> set[str]:
    return {m.name for m in report.metrics if m.status == "fail"}


def test_real_rows_pass(real_report: Report) -> None:
    """Every calibrated check passes real rows; the rare-value check (absolute: k=1 checks nothing) is apart."""
    assert real_report.verdict.status == "passed", real_report.to_text()


def test_real_rows_fail_the_rare_value_check(adult: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Schema]) -> None:
    """Real rows carry categories only a few training rows hold (Adult's rarest countries and occupations)."""
    train, holdout, other, schema = adult
    record = rare_value_share(train, other, holdout, schema=schema, rare_min=5)
    assert record.status == "fail" and record.value > 0 and record.reference > 0
    worst = record.details["worst_columns"][0]
    assert worst["share"] == record.value and worst["examples"]
    assert all("*" in example or len(example) == 1 for example in worst["examples"])


def test_a_copy_of_the_training_data_fails_on_leakage(copy_report: Report) -> None:
    assert copy_report.verdict.status == "failed"
    assert {"exact_copy_rate", "dcr_holdout_share", "low_dcr_share", "mia_auc"} <= _failed(copy_report)


def test_independently_shuffled_columns_fail(adult: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Schema]) -> None:
    rng = np.random.default_rng(1)
    shuffled = adult[0].apply(lambda col: col.iloc[rng.permutation(len(col))].reset_index(drop=True))
    report = _judge(adult, shuffled)
    assert report.verdict.status == "failed"
    assert {"utility_ratio", "prdc_precision"} <= _failed(report)
    assert report.metric("detection_auc").value > 0.9


def test_a_collapsed_set_fails_on_coverage(adult: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Schema]) -> None:
    rng = np.random.default_rng(1)
    collapsed = adult[0].iloc[np.repeat(rng.choice(5000, 15), 100)].reset_index(drop=True)
    report = _judge(adult, collapsed)
    assert report.verdict.status == "failed"
    assert {"prdc_coverage", "prdc_recall", "category_coverage", "range_coverage"} <= _failed(report)


def test_not_enforced_gate_only_warns(copy_report: Report) -> None:
    verdict = decide(list(copy_report.metrics), enforce=False)
    assert verdict.status == "warned" and verdict.failures == copy_report.verdict.failures


def test_html_report_is_self_contained_and_renders(real_report: Report, tmp_path: Path) -> None:
    page = real_report.to_html()
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page
    assert page.count("<svg") == 15 + 3  # one distribution per column, heatmap, DCR histogram, coverage
    for family in ("Fidelity", "Utility", "Diversity", "Leakage"):
        assert f"<h2>{family}</h2>" in page
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("headless Chromium is not installed here (.ci/run installs it)")
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]  # fmt: skip
    dom = subprocess.run([browser, *flags, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120)
    assert "Verdict: passed" in dom.stdout and dom.stdout.count("<svg") == 18
    shot = tmp_path / "report.png"
    subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1200,2400", path.as_uri()],
                   capture_output=True, timeout=120, check=False)  # fmt: skip
    assert shot.is_file() and shot.stat().st_size > 20_000
