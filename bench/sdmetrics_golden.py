"""Golden values from SDMetrics, computed in a separate virtual environment so sdmetrics never enters ours.

sdmetrics caps pandas below 3, so this script builds `bench/.sdmetrics-venv` (once), then runs itself inside it to
score the Adult training file against two "synthetic" stand-ins with SDMetrics' KSComplement, TVComplement,
CorrelationSimilarity and ContingencySimilarity, and writes `tests/golden/sdmetrics_adult.json`.
The stand-ins: the Adult test file, and that file with every column shuffled independently (seed 0).
`tests/validators/test_sdmetrics_agreement.py` checks our metrics against these figures.

    python bench/sdmetrics_golden.py            # needs the package registry the first time
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "bench" / ".sdmetrics-venv"
GOLDEN = ROOT / "tests" / "golden" / "sdmetrics_adult.json"
SDMETRICS = "sdmetrics==0.32.0"
NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]


def shuffled_columns(frame):  # type: ignore[no-untyped-def]
    """Every column permuted independently: same shapes, broken pair trends. Shared with the agreement test."""
    import numpy as np

    rng = np.random.default_rng(0)
    return frame.apply(lambda col: col.iloc[rng.permutation(len(col))].reset_index(drop=True))


def outer() -> None:
    import pandas as pd

    if not (VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet", SDMETRICS, "pyarrow"], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        test = pd.read_parquet(ROOT / "data" / "adult" / "adult_test.parquet")
        shuffled_columns(test).to_parquet(Path(tmp) / "shuffled.parquet", index=False)
        subprocess.run([str(VENV / "bin" / "python"), __file__, "--inner", tmp], check=True)
    print(f"wrote {GOLDEN}")


def inner(tmp: str) -> None:
    import itertools

    import pandas as pd
    import sdmetrics
    from sdmetrics.column_pairs import ContingencySimilarity, CorrelationSimilarity
    from sdmetrics.single_column import KSComplement, TVComplement

    real = pd.read_parquet(ROOT / "data" / "adult" / "adult_train.parquet")
    sets = {
        "test_file": pd.read_parquet(ROOT / "data" / "adult" / "adult_test.parquet"),
        "shuffled_test_file": pd.read_parquet(Path(tmp) / "shuffled.parquet"),
    }
    out: dict[str, object] = {"sdmetrics": sdmetrics.__version__, "pandas": pd.__version__}
    for name, synthetic in sets.items():
        shapes = {}
        for column in real.columns:
            metric = KSComplement if column in NUMERIC else TVComplement
            shapes[column] = float(metric.compute(real[column], synthetic[column]))
        pairs = {}
        for left, right in itertools.combinations(real.columns, 2):
            key = f"{left} | {right}"
            if left in NUMERIC and right in NUMERIC:
                pairs[key] = float(CorrelationSimilarity.compute(real[[left, right]], synthetic[[left, right]]))
            else:
                continuous = [c for c in (left, right) if c in NUMERIC]
                pairs[key] = float(
                    ContingencySimilarity.compute(
                        real[[left, right]],
                        synthetic[[left, right]],
                        continuous_column_names=continuous,
                        num_discrete_bins=10,
                    )
                )
        out[name] = {"column_shapes": shapes, "pair_trends": pairs}
    GOLDEN.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--inner":
        inner(sys.argv[2])
    else:
        outer()
