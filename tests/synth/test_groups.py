"""Columns the rows of one group share (a class's teacher): found with the columns that mark the group, recorded
without rare combinations, and kept to real combinations in every generated row, conditioned or not, across a
save."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth import TabularSynthesizer, infer_schema
from synth.tabular.groups import Group, find_groups
from synth.tabular.transformer import TableTransformer
from tests.conftest import TINY_FIT, reloaded

TEACHER = ["experience", "degree", "origin"]


def classes(pupils_per_class: int = 25, seed: int = 0) -> pd.DataFrame:
    """Pupils of 40 schools with two classes of each of three types; each class has one teacher (experience, degree,
    origin), each pupil a sex, a free-lunch flag and a score that the class type moves."""
    rng = np.random.default_rng(seed)
    rows = []
    for school in range(40):
        for kind in ("small", "regular", "aide"):
            for _ in range(2):
                teacher = (int(rng.integers(0, 31)), str(rng.choice(["BA", "MA", "PhD", "EdS"])),
                           str(rng.choice(["north", "south", "west"])))  # fmt: skip
                for _ in range(pupils_per_class):
                    score = rng.normal(500 + (15 if kind == "small" else 0), 40)
                    rows.append((school, kind, *teacher, str(rng.choice(["F", "M"])), bool(rng.random() < 0.4), score))
    columns = ["school", "kind", *TEACHER, "sex", "lunch", "score"]
    return pd.DataFrame(rows, columns=columns).sample(frac=1.0, random_state=seed).reset_index(drop=True)


def combinations_of(frame: pd.DataFrame, columns: list[str]) -> set[tuple[object, ...]]:
    return set(frame[columns].dropna().itertuples(index=False, name=None))


def test_a_class_teachers_columns_are_found_with_the_school_and_class_type_as_key() -> None:
    frame = classes()
    groups = find_groups(frame, infer_schema(frame), rare_min=5)
    assert len(groups) == 1
    group = groups[0]
    assert set(group.key) == {"school", "kind"} and set(group.members) == set(TEACHER)
    assert set(group.combinations) == combinations_of(frame, [*group.key, *group.members])
    assert sum(group.counts) == len(frame)  # every class is held by 25 pupils: all recorded


def test_columns_drawn_regardless_of_each_other_make_no_group() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {name: rng.integers(0, size, 5_000) for name, size in [("a", 40), ("b", 3), ("c", 31), ("d", 4)]}
    )
    assert find_groups(frame, infer_schema(frame), rare_min=5) == []


def test_members_another_relation_reads_or_writes_are_left_alone() -> None:
    frame = classes()
    groups = find_groups(frame, infer_schema(frame), rare_min=5, skip=frozenset({"experience"}))
    assert all("experience" not in group.members for group in groups)


def test_combinations_fewer_rows_hold_than_rare_min_are_not_recorded() -> None:
    frame = classes(pupils_per_class=6)
    group = find_groups(frame, infer_schema(frame), rare_min=7)
    assert group == []  # each class's combination is held by 6 pupils: nothing may be recorded
    (group,) = find_groups(frame, infer_schema(frame), rare_min=6)
    assert min(group.counts) >= 6


@pytest.mark.parametrize("rows", [0, 1])
def test_tiny_tables_have_no_groups(rows: int) -> None:
    frame = classes().iloc[:rows]
    assert find_groups(frame, infer_schema(classes()), 5) == []


def test_apply_rewrites_only_combinations_the_key_never_holds() -> None:
    group = Group(("school",), ("years", "degree"), ((1, 3, "BA"), (1, 9, "MA"), (2, 4, "BA")), (30, 10, 20))
    frame = pd.DataFrame({
        "school": pd.array([1, 1, 1, 2, 3, None, 2, 1], dtype="Int64"),
        "years": pd.array([3, 4, 9, 7, 7, 7, None, 9], dtype="Int64"),
        "degree": ["BA", "BA", "MA", "MA", "MA", "MA", "MA", "BA"],
    })  # fmt: skip
    out = group.apply(frame, np.random.default_rng(0))
    written = list(zip(out["years"], out["degree"], strict=True))
    assert written[0] == (3, "BA") and written[2] == (9, "MA")  # a combination of its key: kept
    assert written[1] in {(3, "BA"), (9, "MA")} and written[7] in {(3, "BA"), (9, "MA")}  # one of its key's
    assert written[3] == (4, "BA")  # the only combination school 2 holds
    assert written[4] == (7, "MA") and written[5] == (7, "MA")  # a key no combination holds, a null key: as drawn
    assert written[6] == (None, "MA")  # a null member: as drawn


def test_apply_draws_a_keys_combinations_by_their_counts() -> None:
    group = Group(("school",), ("years",), ((1, 3), (1, 9), (2, 4)), (30, 10, 20))
    frame = pd.DataFrame({"school": [1] * 20_000, "years": [5] * 20_000})
    years = pd.Series(group.apply(frame, np.random.default_rng(0))["years"])
    assert set(years) == {3, 9}
    assert (years == 3).mean() == pytest.approx(0.75, abs=0.01)


def test_generated_rows_hold_only_real_class_combinations_conditioned_or_not(tmp_path) -> None:
    frame = classes()
    model = TabularSynthesizer(seed=0, **TINY_FIT).fit(frame)
    (group,) = model.transformer_.groups_
    assert model.transformer_.dependents >= set(TEACHER)
    real = combinations_of(frame, [*group.key, *group.members])
    real_keys = combinations_of(frame, list(group.key))
    rows = model.sample(2_000, seed=1)
    assert rows.dtypes.equals(frame.dtypes)
    held = [c for c in combinations_of(rows, [*group.key, *group.members]) if c[: len(group.key)] in real_keys]
    assert held and all(c in real for c in held)

    phd = model.sample(100, conditions={"degree": "PhD"}, seed=2, max_tries=50)  # a member: met by the rows
    assert len(phd) == 100 and (phd["degree"] == "PhD").all()
    assert reloaded(model, tmp_path / "m").transformer_.groups_ == model.transformer_.groups_


def test_a_private_fit_reads_no_groups_off_the_rows() -> None:
    frame = classes(pupils_per_class=10)
    model = TabularSynthesizer(seed=0, epsilon=5.0, **TINY_FIT).fit(frame)
    assert model.transformer_.groups_ == []


def test_groups_survive_the_transformer_round_trip() -> None:
    frame = classes()
    transformer = TableTransformer(infer_schema(frame), rare_category_min=5).fit(frame, np.random.default_rng(0))
    again = TableTransformer.from_dict(transformer.schema, transformer.to_dict())
    assert again.groups_ == transformer.groups_ and len(again.groups_) == 1


def test_groups_of_a_table_larger_than_the_search_reads_are_found_and_recorded_on_every_row() -> None:
    """300,000 pupils in 3,000 classes of 100: the search reads 20,000 rows (about 7 a class) and still finds the
    teacher's columns; the combinations are counted on every row."""
    rng = np.random.default_rng(0)
    rows = 300_000
    school, kind = rng.integers(0, 500, rows), rng.integers(0, 3, rows)
    teacher = school * 6 + kind * 2 + rng.integers(0, 2, rows)
    frame = pd.DataFrame({
        "school": school,
        "kind": pd.Categorical(np.array(["small", "regular", "aide"])[kind]),
        "experience": rng.integers(0, 31, 3_000)[teacher],
        "degree": pd.Categorical(np.array(["BA", "MA", "PhD", "EdS"])[rng.integers(0, 4, 3_000)[teacher]]),
        "score": rng.normal(size=rows),
    })  # fmt: skip
    (group,) = find_groups(frame, infer_schema(frame), rare_min=5)
    assert group.key == ("school", "kind") and group.members == ("experience", "degree")
    assert sum(group.counts) == rows
