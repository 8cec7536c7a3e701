"""Columns that follow others. A column another column fixes: found only where every real row shows it and chance
cannot, recorded without rare values, and kept in every generated row, conditioned or not, across a save. A column
that repeats an earlier one in most rows (a pupil's school, grade after grade): repeated at the real rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth import TabularSynthesizer, infer_schema
from synth.tabular import copies, dependencies
from synth.tabular.codecs import factorized
from synth.tabular.copies import Copy, find_copies
from synth.tabular.dependencies import Dependency, find_dependencies
from synth.tabular.transformer import TableTransformer
from tests.conftest import TINY_FIT, reloaded

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


def test_trying_every_pair_at_once_keeps_each_dependency_a_pair_by_pair_search_finds() -> None:
    """Rare flags and codes, some fixed by another (a copy, a negation, a code's group), some fixed but for one row,
    and measurements of mostly distinct values: the screens rule out no dependency the search of each pair keeps."""
    rng = np.random.default_rng(4)
    rows = 2_000
    frame = pd.DataFrame({f"flag{i}": rng.random(rows) < rng.uniform(0.01, 0.3) for i in range(30)})
    for i in range(10):
        frame[f"code{i}"] = rng.choice([f"c{k}" for k in range(12)], rows)
        frame[f"size{i}"] = rng.normal(size=rows)
    for i in range(0, 30, 6):
        frame[f"flag{i + 1}"] = frame[f"flag{i}"]
        frame[f"flag{i + 2}"] = ~frame[f"flag{i}"]
        frame[f"flag{i + 3}"] = frame[f"flag{i}"]
        frame.loc[1_500 + i, f"flag{i + 3}"] = not frame.loc[1_500 + i, f"flag{i}"]  # but for one row
    for i in range(0, 10, 2):
        frame[f"code{i + 1}"] = frame[f"code{i}"].map(lambda code: code[:2])  # c1 and c10, c11 share a group
    schema = infer_schema(frame)
    factors = {}
    for spec in schema:
        codes, uniques = factorized(frame[spec.name])
        if 2 <= len(uniques) <= dependencies.MAX_VALUES:
            factors[spec.name] = (codes, uniques)
    determinants: list[str] = []
    expected = []
    for name in sorted(factors, key=lambda name: -len(factors[name][1])):
        candidates = sorted(determinants, key=lambda d: len(factors[d][1]))
        found_one = next((d for s in candidates if (d := dependencies._dependency(name, s, factors, 5))), None)
        if found_one is None:
            determinants.append(name)
        else:
            expected.append(found_one)
    assert find_dependencies(frame, schema, 5) == expected and len(expected) >= 15


def test_apply_writes_mapped_values_and_leaves_the_rest() -> None:
    dependency = Dependency("lg", "team", ("A", None, 3), ("x", "y", None))
    source = pd.Series(["A", None, 3, "B", "A"], dtype=object)
    column = pd.Series(["q", "q", "q", "q", None], dtype=object)
    assert dependency.apply(source, column).tolist() == ["x", "y", None, "q", "x"]


def test_generated_rows_keep_every_recorded_dependency_conditioned_or_not(tmp_path) -> None:
    frame = teams()
    model = TabularSynthesizer(seed=0, **TINY_FIT).fit(frame)
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

    assert reloaded(model, tmp_path / "m").transformer_.dependencies_ == model.transformer_.dependencies_


def offers(rows: int = 6_000, seed: int = 0) -> pd.DataFrame:
    """An offer of one of 200 amounts (0 for none, null where unrecorded), its log as a study logs it
    (log(max(x, 1)), 0 where unrecorded), and a fee the amount fixes by a price list no formula gives."""
    rng = np.random.default_rng(seed)
    amounts = np.r_[0.0, np.round(rng.uniform(50, 1_000, 199), 2)]
    offer = rng.choice(amounts, rows)
    offer[rng.random(rows) < 0.05] = np.nan
    fee = dict(zip(amounts, rng.permutation(200) * 1.5, strict=True))
    return pd.DataFrame({
        "offer": offer,
        "log_offer": np.where(np.isnan(offer), 0.0, np.log(np.maximum(offer, 1.0))),
        "fee": [np.nan if np.isnan(o) else fee[o] for o in offer],
    })  # fmt: skip


def test_a_number_a_formula_of_a_lookups_pairs_gives_is_written_by_it_between_the_real_values() -> None:
    frame = offers()
    by_column = {d.column: d for d in find_dependencies(frame, infer_schema(frame), 5)}
    assert {name: d.source for name, d in by_column.items()} == {"log_offer": "offer", "fee": "offer"}
    assert by_column["fee"].between is None  # a price list: a lookup only
    function, scale, shift = by_column["log_offer"].between
    assert function == "log_max1" and scale == pytest.approx(1.0) and shift == pytest.approx(0.0, abs=1e-9)
    key = float(frame["offer"].dropna().iloc[0])
    source = pd.Series([key, 0.5, 120.25, None, -3.0])
    out = by_column["log_offer"].apply(source, pd.Series([9.0] * 5))
    np.testing.assert_allclose(out.astype(float), [np.log(max(key, 1.0)), 0.0, np.log(120.25), 0.0, 0.0])
    few = offers().loc[lambda f: f["offer"].isna() | f["offer"].isin(f["offer"].dropna().unique()[:5])]
    assert all(d.between is None for d in find_dependencies(few, infer_schema(few), 5))  # 5 pairs: chance fits


def test_generated_rows_keep_a_lookups_formula_across_a_save(tmp_path) -> None:
    frame = offers()
    model = TabularSynthesizer(seed=0, **TINY_FIT).fit(frame)
    rows = model.sample(1_000, seed=1)
    present = rows["offer"].notna()
    assert present.any() and not rows["offer"][present].isin(frame["offer"]).all()  # values between real ones
    np.testing.assert_allclose(rows.loc[present, "log_offer"], np.log(np.maximum(rows.loc[present, "offer"], 1.0)))
    assert reloaded(model, tmp_path / "m").transformer_.dependencies_ == model.transformer_.dependencies_


def test_a_private_fit_reads_no_dependencies_off_the_rows() -> None:
    frame = teams(rows=1_000)
    model = TabularSynthesizer(seed=0, epsilon=5.0, **TINY_FIT).fit(frame)
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


def pupils(rows: int = 3_000, seed: int = 0) -> pd.DataFrame:
    """A school id per grade: most pupils stay, a few move, some join late (null before); and two rare flags."""
    rng = np.random.default_rng(seed)
    first = rng.integers(100, 180, rows).astype(float)
    second = np.where(rng.random(rows) < 0.95, first, rng.integers(100, 180, rows))
    third = np.where(rng.random(rows) < 0.9, second, rng.integers(100, 180, rows))
    first[rng.random(rows) < 0.3] = np.nan  # joined in the second grade
    return pd.DataFrame({
        "school_k": first,
        "school_1": second,
        "school_2": third,
        "flag_a": rng.random(rows) < 0.03,
        "flag_b": rng.random(rows) < 0.03,
    })  # fmt: skip


def repeat_share(frame: pd.DataFrame, source: str, column: str) -> float:
    both = frame[source].notna() & frame[column].notna()
    return float((frame.loc[both, source] == frame.loc[both, column]).mean())


def test_a_column_that_repeats_an_earlier_one_is_recorded_with_its_real_rate() -> None:
    frame = pupils()
    copies = {c.column: c for c in find_copies(frame, infer_schema(frame))}
    assert {name: c.source for name, c in copies.items()} == {"school_1": "school_k", "school_2": "school_1"}
    assert copies["school_1"].share == pytest.approx(repeat_share(frame, "school_k", "school_1"))
    assert "flag_b" not in copies  # two rare flags agree in 94 % of rows, as chance alone would have them


def test_screening_every_pair_at_once_keeps_each_repeat_a_pair_by_pair_search_finds() -> None:
    """A wide table of rare flags (agreeing by chance in most rows), codes with nulls and numbers, some repeating
    others near the thresholds: the screen that counts every pair at once rules out no pair the test of the pair
    itself would keep."""
    rng = np.random.default_rng(1)
    rows = 1_500
    columns: dict[str, object] = {f"flag{i}": rng.random(rows) < rng.uniform(0.005, 0.2) for i in range(60)}
    for i in range(20):
        base = rng.choice(list("abcd"), rows).astype(object)
        base[rng.random(rows) < 0.2] = None
        columns[f"code{i}"] = base
        columns[f"count{i}"] = rng.poisson(rng.uniform(0.2, 3), rows).astype(float)
    frame = pd.DataFrame(columns)
    for i in range(0, 60, 3):  # flags repeated in 40 % to 100 % of rows
        frame[f"flag{i + 1}"] = frame[f"flag{i}"].where(rng.random(rows) < rng.uniform(0.4, 1.0), frame[f"flag{i + 1}"])
    for i in range(0, 20, 2):
        keep = rng.random(rows) < rng.uniform(0.3, 0.9)
        frame[f"code{i + 1}"] = frame[f"code{i}"].where(keep, frame[f"code{i + 1}"])
        frame[f"count{i + 1}"] = frame[f"count{i}"].where(keep, frame[f"count{i + 1}"])
    schema = infer_schema(frame)
    found = find_copies(frame, schema)
    expected = []
    for position, spec in enumerate(schema):
        best = None
        for earlier in list(schema)[:position]:
            if earlier.kind != spec.kind:
                continue
            numeric = spec.kind in ("integer", "continuous")
            left, right = (copies._comparable(frame[c.name], numeric) for c in (earlier, spec))
            if not numeric:
                left, right = copies._in_codes_of(left, right)
            both = frame[earlier.name].notna().to_numpy() & frame[spec.name].notna().to_numpy()
            share = copies._repeat_share(left, right, both)
            if share is not None and (best is None or share > best.share):
                best = Copy(spec.name, earlier.name, share, numeric)
        if best is not None:
            expected.append(best)
    assert found == expected and 10 <= len(found) < 80


def test_apply_repeats_at_the_recorded_rate_the_closest_numbers_first() -> None:
    source = pd.Series([1.0, 2.0, 3.0, 4.0, None, 6.0, 7.0, 8.0])
    column = pd.Series([1.5, 9.0, 3.2, 40.0, 5.0, 6.0, 70.0, None])
    everywhere = np.ones(len(source), dtype=bool)
    out = Copy("b", "a", 0.5, numeric=True).apply(source, column, np.random.default_rng(0), everywhere)
    assert out.tolist() == [1.0, 9.0, 3.0, 40.0, 5.0, 6.0, 70.0, None]  # 3 of 6 now repeat: 6.0, then 1.0 and 3.0
    not_first = everywhere.copy()
    not_first[0] = False  # 1.0 is not a value column b may hold
    out = Copy("b", "a", 0.5, numeric=True).apply(source, column, np.random.default_rng(0), not_first)
    assert out.tolist() == [1.5, 2.0, 3.0, 40.0, 5.0, 6.0, 70.0, None]
    labels = pd.Series(list("abcdefghij")), pd.Series(list("ABCDEFGHIJ"))
    repeated = Copy("y", "x", 0.7, numeric=False).apply(*labels, np.random.default_rng(0), np.ones(10, dtype=bool))
    assert sum(a == b for a, b in zip(labels[0], repeated, strict=True)) == 7


def test_a_repeat_never_writes_a_value_the_column_may_not_hold() -> None:
    """Pupils of kindergarten school S999 all moved: S999 is no first-grade school, so it is never copied there."""
    frame = pupils()[["school_k", "school_1"]]
    frame = frame.apply(lambda column: column.map(lambda v: None if pd.isna(v) else f"S{v:.0f}"))
    frame.loc[frame.index[:100], "school_k"] = "S999"
    model = TabularSynthesizer(seed=0, **TINY_FIT).fit(frame)
    assert {c.column for c in model.transformer_.copies_} == {"school_1"}
    rows = model.sample(3_000, seed=1)
    assert (rows["school_k"] == "S999").sum() > 20 and not (rows["school_1"] == "S999").any()


def test_generated_waves_repeat_at_the_real_rate_and_conditions_still_hold() -> None:
    frame = pupils()
    model = TabularSynthesizer(seed=0, **TINY_FIT).fit(frame)
    rows = model.sample(2_000, seed=1)
    assert rows.dtypes.equals(frame.dtypes)
    for source, column in [("school_k", "school_1"), ("school_1", "school_2")]:
        assert repeat_share(rows, source, column) == pytest.approx(repeat_share(frame, source, column), abs=0.01)
    assert model.transformer_.dependents == frozenset({"school_1", "school_2"})
    picked = model.sample(100, conditions={"school_2": (120, 130)}, seed=2, max_tries=50)
    assert len(picked) == 100 and picked["school_2"].between(120, 130).all()
