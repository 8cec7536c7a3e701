"""Tables about people: identifiers are recognised and made as fakes, never copied; rare values never come out; the
gate's rare-value check sees the difference; the private path runs on such a table."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from faker import Faker

from synth import TabularSynthesizer, infer_schema
from synth.errors import ParameterError, SchemaError
from tests.conftest import people_frame
from validators.rare_values import rare_value_share

FAST: dict[str, Any] = {
    "epochs": 2,
    "batch_size": 100,
    "generator_dims": (32,),
    "discriminator_dims": (32,),
    "device": "cpu",
    "seed": 0,
}
IDENTIFIERS = ["name", "first", "last", "email", "phone", "address", "c_case_number", "notes"]


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    return people_frame()


@pytest.fixture(scope="module")
def fitted(people: pd.DataFrame) -> TabularSynthesizer:
    return TabularSynthesizer(**FAST).fit(people)


def _rare(real: pd.Series, k: int = 5) -> set[Any]:
    counts = real.dropna().value_counts()
    return set(counts.index[counts < k])


def _shape(value: str) -> str:
    return re.sub(r"[a-z]", "a", re.sub(r"[A-Z]", "A", re.sub(r"\d", "9", value)))


def test_schema_recognises_identifiers_from_values_and_names(people: pd.DataFrame) -> None:
    kinds = {spec.name: spec.kind for spec in infer_schema(people)}
    assert kinds == {
        "person_id": "id",
        "name": "person_name",
        "first": "person_name",
        "last": "person_name",
        "email": "email",
        "phone": "phone",
        "address": "address",
        "c_case_number": "code",
        "notes": "free_text",
        "dob": "datetime",
        "sex": "categorical",
        "age": "integer",
        "charge": "categorical",
        "degree": "categorical",
        "priors": "integer",
        "county": "categorical",
        "bail": "continuous",
    }
    assert "person_name" in infer_schema(people).describe()


def _mixed_dates(rng: np.random.Generator, rows: int) -> list[str]:
    days, months, years = rng.integers(13, 29, rows), rng.integers(1, 13, rows), rng.integers(1900, 2020, rows)
    return [
        f"{d}/{m}/{y}" if i % 2 else f"{m}/{d}/{y}"
        for i, (d, m, y) in enumerate(zip(days, months, years, strict=False))
    ]


def test_ordinary_text_columns_stay_learned() -> None:
    fake = Faker("en_US")
    fake.seed_instance(1)
    rng = np.random.default_rng(1)
    rows = 600
    frame = pd.DataFrame(
        {
            "city": [fake.city() for _ in range(rows)],
            "state": [fake.state() for _ in range(rows)],
            "country_name": rng.choice(["Germany", "Norway", "Peru", "Japan"], rows),
            "grade": rng.choice(["A1", "B2", "C3"], rows),
            "price_text": [f"{x:.2f}" for x in rng.uniform(1, 50, rows)],
            # 9 or 10 digits and a dot: not a phone number
            "amount_text": rng.choice([f"{x:.3f}" for x in rng.uniform(1e5, 1e7, 100)], rows),
            "season": rng.choice([f"{y}-{y + 1}" for y in range(1990, 2020)], rows),  # year ranges: not phones
            "clock": rng.choice([f"{h}:{m:02d}:{sec:02d}" for h, m, sec in rng.integers(0, 60, (150, 3))], rows),
            # dates in two formats at once (no one format reads them all), nearly all distinct: not codes
            "visit": _mixed_dates(rng, rows),
            "x": rng.normal(size=rows),
        }
    )
    assert {spec.name: spec.kind for spec in infer_schema(frame)} == {
        "city": "categorical",
        "state": "categorical",
        "country_name": "categorical",
        "grade": "categorical",
        "price_text": "categorical",
        "amount_text": "categorical",
        "season": "categorical",
        "clock": "categorical",
        "visit": "categorical",
        "x": "continuous",
    }


def test_dates_with_two_digit_years_are_dates_not_codes() -> None:
    months, days_of_month = [1, 12, 3] * 10, [3, 25, 9] * 10
    days = [f"{m}/{d}/{y:02d}" for m, d, y in zip(months, days_of_month, range(30), strict=True)]
    frame = pd.DataFrame({"day": days, "x": np.arange(30.0)})
    spec = infer_schema(frame)["day"]
    assert (spec.kind, spec.text_format) == ("datetime", "%m/%d/%y")


def test_identifier_kinds_can_be_overridden_on_text_columns_only(people: pd.DataFrame) -> None:
    schema = infer_schema(people)
    assert schema.with_kinds({"name": "categorical"})["name"].kind == "categorical"
    assert schema.with_kinds({"sex": "person_name"})["sex"].kind == "person_name"
    with pytest.raises(SchemaError, match="only text columns hold identifiers"):
        schema.with_kinds({"age": "email"})


def test_no_real_identifier_or_rare_value_comes_out(people: pd.DataFrame, fitted: TabularSynthesizer) -> None:
    out = fitted.sample(3000, seed=1)
    for column in IDENTIFIERS:
        assert not set(out[column].dropna()) & _rare(people[column]), column
    assert not set(out["c_case_number"]) & set(people["c_case_number"])  # no code equals any real one at all
    assert {_shape(v) for v in out["c_case_number"]} == {_shape(v) for v in people["c_case_number"]}
    assert out["c_case_number"].str.endswith("CF10A").all()  # characters every real code shares are kept
    assert out["person_id"].is_unique and out["person_id"].min() > people["person_id"].max()
    assert abs(out["notes"].isna().mean() - people["notes"].isna().mean()) < 0.05
    assert out["name"].str.fullmatch(r"[a-z]+ [a-z]+").all()  # lower-case full names, as the real column
    assert "Liberty" not in set(out["county"])  # held by 3 rows: pooled, never emitted
    assert out["bail"].max() <= np.sort(people["bail"])[-5]  # extremes held by fewer than 5 rows are clipped
    assert out["age"].min() >= np.sort(people["age"])[4]


def test_the_model_file_holds_no_real_identifier_or_rare_value(
    people: pd.DataFrame, fitted: TabularSynthesizer, tmp_path: Path
) -> None:
    folder = fitted.save(tmp_path / "model")
    saved = " ".join(path.read_text() for path in folder.glob("*.json"))
    for column in IDENTIFIERS:
        leaked = [value for value in people[column].dropna().unique() if f'"{value}"' in saved]
        assert not leaked, (column, leaked[:3])
    assert "Liberty" not in saved and "950000" not in saved


def test_fakes_repeat_with_the_seed_and_after_a_reload(
    people: pd.DataFrame, fitted: TabularSynthesizer, tmp_path: Path
) -> None:
    first = fitted.sample(500, seed=3)
    pd.testing.assert_frame_equal(first, fitted.sample(500, seed=3))
    loaded = TabularSynthesizer.load(fitted.save(tmp_path / "model"))
    without_data = loaded.sample(500, seed=3)
    assert not set(without_data["c_case_number"]) & set(people["c_case_number"])  # codes: by their shapes alone
    loaded.avoid_values_of(people)
    pd.testing.assert_frame_equal(first, loaded.sample(500, seed=3))


def test_the_rare_value_check_fails_copied_names_and_passes_the_fakes(
    people: pd.DataFrame, fitted: TabularSynthesizer
) -> None:
    train, holdout = people, people_frame(300, seed=1)  # the rows the model learned, and unseen ones
    schema = infer_schema(people)
    copied = fitted.sample(500, seed=4)
    copied["name"] = train["name"].iloc[:500].to_numpy()  # what a learned name column did: real names out
    record = rare_value_share(train, copied, holdout, schema=schema, rare_min=5)
    assert record.reference > 0  # unseen real people share a few rare names with the training rows
    assert record.status == "fail" and record.value == 1.0
    worst = record.details["worst_columns"][0]
    assert worst["column"] == "name" and len(worst["examples"]) == 3
    assert all(re.fullmatch(r"\w\** \w\**", example) for example in worst["examples"])  # masked
    fresh = fitted.sample(500, seed=4)
    assert rare_value_share(train, fresh, holdout, schema=schema, rare_min=5).value == 0.0


def test_fake_locale_is_checked_and_used(people: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="fake_locale 'xx_XX'"):
        TabularSynthesizer(**FAST, fake_locale="xx_XX").fit(people)
    from faker.providers.person.de_DE import Provider

    german = {str(name).lower() for name in Provider.first_names}
    out = TabularSynthesizer(**{**FAST, "epochs": 1}, fake_locale="de_DE").fit(people).sample(200, seed=1)
    assert out["first"].isin(german).mean() > 0.9


def test_private_fit_runs_on_a_people_table_and_says_how_it_found_each_range(people: pd.DataFrame) -> None:
    model = TabularSynthesizer(**{**FAST, "epochs": 1}, epsilon=3.0, rare_category_min=10).fit(people)
    bounds = model.privacy_spent_["bounds"]  # type: ignore[index]
    assert set(bounds) == {"dob", "age", "priors", "bail"}
    assert set(bounds.values()) <= {"noisy", "noisy, shared budget", "assumed from the column's type"}
    out = model.sample(300, seed=1)
    for column in IDENTIFIERS:
        assert not set(out[column].dropna()) & _rare(people[column]), column


def test_private_fit_names_every_column_whose_range_it_cannot_find() -> None:
    rng = np.random.default_rng(0)
    rows = 400
    sparse = {name: np.where(rng.random(rows) < 0.02, rng.normal(1e6, 1e5, rows), np.nan) for name in ("u", "v")}
    frame = pd.DataFrame({"group": rng.choice(["a", "b"], rows), **sparse})
    with pytest.raises(SchemaError, match=r"2 numeric column\(s\) privately: \['u', 'v'\]"):
        TabularSynthesizer(**FAST, epsilon=1.0).fit(frame)


def test_private_fit_assumes_a_public_range_for_sparse_dates_and_small_integer_types() -> None:
    rng = np.random.default_rng(0)
    rows = 400
    sparse = rng.random(rows) < 0.02
    stamps = pd.Series(pd.to_datetime("2001-01-01") + pd.to_timedelta(rng.integers(0, 9000, rows), unit="D"))
    frame = pd.DataFrame(
        {
            "group": rng.choice(["a", "b"], rows),
            "when": stamps.where(sparse),
            "small": pd.Series(rng.integers(-300, 300, rows), dtype="Int16").where(sparse),
        }
    )
    model = TabularSynthesizer(**FAST, epsilon=1.0).fit(frame)
    assert model.privacy_spent_["bounds"] == {  # type: ignore[index]
        "when": "assumed from the column's type",
        "small": "assumed from the column's type",
    }
    out = model.sample(200, seed=1)
    assert out["when"].dropna().between("1900-01-01", "2100-01-01").all()
    assert out["small"].dropna().between(-32768, 32767).all()


def test_a_nearly_empty_column_keeps_its_rare_value_back() -> None:
    """A column null but for a few rows (HELPfull has hundreds): its one value is rare, so it comes out null."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "flag": [7.0, 7.0, 7.0] + [None] * 197})
    assert infer_schema(frame)["flag"].kind == "constant"
    assert TabularSynthesizer(**FAST).fit(frame).sample(100, seed=1)["flag"].isna().all()
    assert (TabularSynthesizer(**FAST, rare_category_min=1).fit(frame).sample(300, seed=1)["flag"] == 7.0).any()
    public = {"x": {"min": -4.0, "max": 4.0}}
    private = TabularSynthesizer(**FAST, epsilon=1.0, public_metadata=public).fit(frame)
    assert private.sample(100, seed=1)["flag"].isna().all()


def test_a_code_shape_of_one_value_never_spells_it_out() -> None:
    """With protection off every shape is used; still no shape held by few values keeps their characters."""
    from synth.tabular.fakes import fit_maker

    codes = pd.Series(["AB-1234567"] + [f"{i:08d}" for i in range(200)])
    maker = fit_maker("code", codes, locale="en_US", rare_min=1, column="case")
    made = maker.make(2000, np.random.default_rng(0))
    odd = [value for value in made if "-" in value]
    assert odd and all(sum(a == b for a, b in zip(value, "AB-1234567", strict=True)) < 8 for value in odd)
    assert not set(made) & set(codes)
