"""Our column-shape and pair-trend scores agree with SDMetrics on Adult (golden values: bench/sdmetrics_golden.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from synth import infer_schema
from synth.schema import table_to_frame
from validators.fidelity import modelled_columns, pair_scores, shape_scores

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = json.loads((ROOT / "tests" / "golden" / "sdmetrics_adult.json").read_text())


def _shuffled(frame: pd.DataFrame) -> pd.DataFrame:
    spec = importlib.util.spec_from_file_location("sdmetrics_golden", ROOT / "bench" / "sdmetrics_golden.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.shuffled_columns(frame)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    test = table_to_frame(pq.read_table(ROOT / "data" / "adult" / "adult_test.parquet"))
    return {
        "real": table_to_frame(pq.read_table(ROOT / "data" / "adult" / "adult_train.parquet")),
        "test_file": test,
        "shuffled_test_file": _shuffled(test),
    }


@pytest.mark.parametrize("stand_in", ["test_file", "shuffled_test_file"])
def test_scores_match_sdmetrics_within_001(frames: dict[str, pd.DataFrame], stand_in: str) -> None:
    real, synthetic = frames["real"], frames[stand_in]
    columns = modelled_columns(infer_schema(real))
    golden = GOLDEN[stand_in]
    shapes = shape_scores(real, synthetic, columns)
    assert set(shapes) == set(golden["column_shapes"])
    for column, expected in golden["column_shapes"].items():
        assert shapes[column] == pytest.approx(expected, abs=0.01), column
    pairs = pair_scores(real, synthetic, columns)
    assert set(pairs) == set(golden["pair_trends"])
    for pair, expected in golden["pair_trends"].items():
        assert pairs[pair]["score"] == pytest.approx(expected, abs=0.01), pair
