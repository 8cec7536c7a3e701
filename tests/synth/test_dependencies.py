"""Columns another column fixes: found only where every real row shows it and chance cannot, recorded without rare
values, and kept in every generated row, conditioned or not, across a save."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth import TabularSynthesizer, infer_schema
from synth.tabular.dependencies import Dependency, find_dependencies
from synth.tabular.transformer import TableTransformer

FAST = {"epochs": 2, "batch_size": 100, "generator_dims": (32,), "discriminator_dims": (32,), "device": "cpu"}
LEAGUE = {f"T{i:02d}": ("AL" if i % 2 else "NL") for i in range(30)}
LEAGUE["T29"] = None  # a team of no league: null is a value like any other


def teams(rows: int = 3_000, seed: int = 0) -> pd.DataFrame:
    """Player-seasons: the team fixes the league and the league's level; runs depend on nothing."""
    rng = np.random.default_rng(seed)
    team = rng.choice(sorted(LEAGUE), size=rows)
    league = pd.Series([LEAGUE[t] for t in team], dtype=object)
    return pd.DataFrame({
        "team": team,
        "lg": league,
        "major": league.notna(),
        "runs": rng.poisson(60, size=rows),
        "hand": rng.choice(["L", "R"], size=rows),
    })  # fmt: skip


def found(frame: pd.DataFrame, rare_min: int = 5) -> dict[str, str]:
    """dependent -> determinant."""
    return {d.column: d.source for d in find_dependencies(frame, infer_schema(frame), rare_min)}


def test_a_column_every_row_fixes_is_found_from_its_coarsest_determinant() -> None:
    frame = teams()
    assert found(frame) == {"lg": "team", "major": "team"}  # not major from lg: lg is itself fixed by team
    (league,) = [d for d in find_dependencies(frame, infer_schema(frame), 5) if d.column == "lg"]
    assert dict(zip(league.keys, league.values, strict=True)) == LEAGUE


def test_columns_that_fix_each_other_keep_the_first_as_determinant() -> None:
    frame = teams()
    frame["code"] = frame["team"].str.lower()
    assert found(frame)["code"] == "team"
    assert found(frame[["code", "team", "lg"]]) == {"team": "code", "lg": "code"}


def test_one_contradicting_row_or_independent_columns_make_no_dependency() -> None:
    frame = teams()
    frame.loc[7, "lg"] = "NL" if frame.loc[7, "lg"] == "AL" else "AL"
    assert "lg" not in found(frame)
    assert "hand" not in found(frame) and "runs" not in found(frame)


def test_a_dependency_chance_explains_is_not_kept() -> None:
    """400 codes of 2 rows each, and a flag that is 1 in one row of 100: most pairs agree by chance alone."""
    rng = np.random.default_rng(3)
    flag = np.repeat(rng.random(400) < 0.01, 2)
    frame = pd.DataFrame({"code": np.repeat([f"c{i}" for i in range(400)], 2), "flag": flag})
    assert found(frame, rare_min=1) == {}
    assert found(pd.concat([frame] * 10, ignore_index=True), rare_min=1) == {"flag": "code"}  # 20 rows a code


def test_rare_determinant_values_are_not_recorded_and_too_many_of_them_drop_the_dependency() -> None:
    frame = teams()
    frame.loc[: len(LEAGUE) * 3, "team"] = [f"R{i}" for i in range(len(LEAGUE) * 3 + 1)]  # one-row teams
    frame.loc[: len(LEAGUE) * 3, "lg"] = "AL"
    (league,) = [d for d in find_dependencies(frame, infer_schema(frame), 5) if d.column == "lg"]
    assert not any(str(key).startswith("R") for key in league.keys)
    frame.loc[: len(frame) // 5, "team"] = [f"R{i}" for i in range(len(frame) // 5 + 1)]
    frame.loc[: len(frame) // 5, "lg"] = "AL"
    assert "lg" not in found(frame)  # a fifth of the rows hold a rare team


def test_apply_writes_mapped_values_and_leaves_the_rest() -> None:
    dependency = Dependency("lg", "team", ("A", None, 3), ("x", "y", None))
    source = pd.Series(["A", None, 3, "B", "A"], dtype=object)
    column = pd.Series(["q", "q", "q", "q", None], dtype=object)
    assert dependency.apply(source, column).tolist() == ["x", "y", None, "q", "x"]


def test_generated_rows_keep_every_recorded_dependency_conditioned_or_not(tmp_path) -> None:
    frame = teams()
    model = TabularSynthesizer(seed=0, **FAST).fit(frame)
    assert {d.column for d in model.transformer_.dependencies_} == {"lg", "major"}
    rows = model.sample(1_000, seed=1)
    assert len(rows) == 1_000 and rows.dtypes.equals(frame.dtypes)
    expected = rows["team"].map(LEAGUE)
    assert (rows["lg"].isna() == expected.isna()).all() and (rows["lg"].dropna() == expected.dropna()).all()
    assert (rows["major"] == expected.notna()).all()

    al = model.sample(200, conditions={"lg": "AL"}, seed=2)  # a fixed column: met by the determinant's rows
    assert len(al) == 200 and (al["lg"] == "AL").all() and (al["team"].map(LEAGUE) == "AL").all()
    one = model.sample(200, conditions={"team": "T04"}, seed=2)  # a determinant: written, its dependents follow
    assert (one["team"] == "T04").all() and (one["lg"] == "NL").all() and one["major"].all()

    model.save(tmp_path / "m")
    loaded = TabularSynthesizer.load(tmp_path / "m")
    assert loaded.transformer_.dependencies_ == model.transformer_.dependencies_
    pd.testing.assert_frame_equal(loaded.sample(300, seed=4), model.sample(300, seed=4))


def test_a_private_fit_reads_no_dependencies_off_the_rows() -> None:
    frame = teams(rows=1_000)
    model = TabularSynthesizer(seed=0, epsilon=5.0, **FAST).fit(frame)
    assert model.transformer_.dependencies_ == []


def test_dependencies_survive_the_transformer_round_trip() -> None:
    frame = teams()
    transformer = TableTransformer(infer_schema(frame), rare_category_min=5).fit(frame, np.random.default_rng(0))
    again = TableTransformer.from_dict(transformer.schema, transformer.to_dict())
    assert again.dependencies_ == transformer.dependencies_ and again.dependents == frozenset({"lg", "major"})


@pytest.mark.parametrize("rows", [0, 1])
def test_tiny_tables_have_no_dependencies(rows: int) -> None:
    frame = teams().iloc[:rows]
    assert find_dependencies(frame, infer_schema(teams()), 5) == []
