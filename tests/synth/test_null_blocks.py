"""Columns null together: found where nearly every real row has them all null or all present, and every generated
row keeps each block whole (filled from other generated rows, never from real ones), conditioned or not, across a
save; a private fit finds none."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth import TabularSynthesizer, infer_schema
from synth.tabular.nulls import NullBlock, find_null_blocks
from tests.conftest import TINY_FIT, reloaded


def pupils(rows: int = 2_000, seed: int = 0) -> pd.DataFrame:
    """A kindergarten block (class type, score, teacher's years) null for the pupils who joined later, a grade-one
    score null on its own now and then, and a name of the school nobody leaves out."""
    rng = np.random.default_rng(seed)
    late = rng.random(rows) < 0.3
    return pd.DataFrame({
        "class_k": pd.Series(np.where(late, None, rng.choice(["small", "regular"], rows)), dtype=object),
        "score_k": np.where(late, np.nan, rng.normal(500, 40, rows).round()),
        "years_k": pd.array(np.where(late, None, rng.integers(0, 30, rows)), dtype="Int64"),
        "score_1": np.where(rng.random(rows) < 0.2, np.nan, rng.normal(520, 40, rows).round()),
        "school": rng.choice(["north", "south"], rows),
    })  # fmt: skip


def test_columns_null_together_form_one_block() -> None:
    frame = pupils()
    assert find_null_blocks(frame, infer_schema(frame)) == [NullBlock(("class_k", "score_k", "years_k"))]
    frame.loc[:29, "score_k"] = np.nan  # 30 more rows: agreement 98.5 %, below 99 %
    frame.loc[:29, "class_k"] = "small"
    frame.loc[:29, "years_k"] = 3
    assert find_null_blocks(frame, infer_schema(frame)) == [NullBlock(("class_k", "years_k"))]
    assert find_null_blocks(frame, infer_schema(frame), frozenset({"years_k"})) == []


def test_apply_follows_most_of_the_block_and_fills_from_generated_rows() -> None:
    frame = pd.DataFrame({
        "a": [1.0, None, None, 4.0, 5.0, None, 5.0],
        "b": ["x", None, "y", None, "z", "w", None],
        "c": [10.0, None, None, 40.0, 50.0, 60.0, 55.0],
    })  # fmt: skip
    out = NullBlock(("a", "b", "c")).apply(frame, np.random.default_rng(0))
    assert out["a"].isna().tolist() == [False, True, True, False, False, False, False]
    assert out["b"].isna().tolist() == out["c"].isna().tolist() == out["a"].isna().tolist()
    assert out["b"][3] in {"x", "z"} and out["a"][5] in {1.0, 5.0}  # from rows 0 and 4, whose block came out whole
    assert out["b"][6] == "z"  # from the donor of the same first value


def test_generated_rows_keep_each_block_whole_conditioned_or_not(tmp_path) -> None:
    frame = pupils()
    model = TabularSynthesizer(seed=0, **TINY_FIT).fit(frame)
    assert [b.columns for b in model.transformer_.null_blocks_] == [("class_k", "score_k", "years_k")]
    rows = model.sample(2_000, seed=1)
    assert rows.dtypes.equals(frame.dtypes)
    block = rows[["class_k", "score_k", "years_k"]].isna()
    assert (block.all(axis=1) | ~block.any(axis=1)).all()
    assert 0.1 < block["class_k"].mean() < 0.6 and rows["score_1"].isna().mean() > 0
    assert set(rows["class_k"].dropna()) <= {"small", "regular"}

    small = model.sample(200, conditions={"class_k": "small"}, seed=2, max_tries=50)  # drawn and checked
    assert len(small) == 200 and (small["class_k"] == "small").all() and small["score_k"].notna().all()

    assert reloaded(model, tmp_path / "m").transformer_.null_blocks_ == model.transformer_.null_blocks_


def test_a_private_fit_reads_no_null_blocks_off_the_rows() -> None:
    model = TabularSynthesizer(seed=0, epsilon=5.0, **TINY_FIT).fit(pupils(rows=1_000))
    assert model.transformer_.null_blocks_ == []
