"""Privacy mode of the tabular GAN: the accountant's budget, public and noisy metadata, rare categories, contract."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.base import clone

from synth import ParameterError, SchemaError, TabularSynthesizer, infer_schema
from synth.schema import table_to_frame
from synth.tabular.codecs import OTHER_LABEL, CategoricalCodec, NumericCodec
from synth.tabular.private import MAX_NOISE_MULTIPLIER, epsilon_after
from synth.tabular.training import EpochStats
from synth.tabular.transformer import TableTransformer
from tests.conftest import span_values

FAST: dict[str, Any] = {
    "epochs": 3,
    "batch_size": 100,
    "generator_dims": (32,),
    "discriminator_dims": (32,),
    "device": "cpu",
    "seed": 0,
}
#: Adult's documented ranges (UCI): public knowledge, not read from the rows.
ADULT_BOUNDS = {
    "age": {"min": 17, "max": 90},
    "fnlwgt": {"min": 10_000, "max": 1_500_000},
    "education_num": {"min": 1, "max": 16},
    "capital_gain": {"min": 0, "max": 99_999},
    "capital_loss": {"min": 0, "max": 4_356},
    "hours_per_week": {"min": 1, "max": 99},
}


@pytest.fixture(scope="module")
def adult_frame(adult_table: pa.Table) -> pd.DataFrame:
    return table_to_frame(adult_table)


@pytest.fixture(scope="module")
def private(adult_frame: pd.DataFrame) -> TabularSynthesizer:
    return TabularSynthesizer(epsilon=3.0, public_metadata=ADULT_BOUNDS, **FAST).fit(adult_frame)


def _codec(model: TabularSynthesizer, column: str) -> Any:
    return model.transformer_.codecs_[model.schema_.names.index(column)]


@pytest.mark.parametrize("epsilon", [1.0, 3.0, 10.0])
def test_spent_epsilon_stays_within_the_target_and_close_to_it(adult_frame: pd.DataFrame, epsilon: float) -> None:
    model = TabularSynthesizer(epsilon=epsilon, public_metadata=ADULT_BOUNDS, **FAST).fit(adult_frame)
    spent = model.privacy_spent_
    assert spent is not None
    assert spent["epsilon_spent"] <= epsilon
    assert spent["epsilon_spent"] >= epsilon - 0.02  # ran to the end: Opacus's noise search is within 0.01
    assert spent["epsilon_spent"] == pytest.approx(spent["epsilon_metadata"] + spent["epsilon_sgd"])
    assert spent["epsilon_metadata"] == pytest.approx(0.1 * epsilon)  # nine categorical columns' counts
    assert spent["delta_metadata"] + spent["delta_sgd"] <= spent["delta"] == 1e-5
    assert not spent["stopped_early"] and spent["steps"] == spent["planned_steps"] == 3 * (600 // 100)
    assert spent["sample_rate"] == pytest.approx(100 / 600)
    again = epsilon_after(spent["noise_multiplier"], spent["sample_rate"], spent["steps"], spent["delta_sgd"])
    assert again == pytest.approx(spent["epsilon_sgd"])  # the accountant's own figure, recomputed
    assert len(model.history_) == 3 and all(isinstance(s, EpochStats) for s in model.history_)


def test_a_private_fit_takes_1000_rows_a_step_at_the_base_rate_by_default(adult_frame: pd.DataFrame) -> None:
    settings = {**FAST, "epochs": 1, "batch_size": None}
    model = TabularSynthesizer(epsilon=3.0, public_metadata=ADULT_BOUNDS, **settings).fit(adult_frame)
    assert model.batch_size_ == 1000 and model.learning_rate_ == 3e-4
    assert model.privacy_spent_ is not None and model.privacy_spent_["sample_rate"] == 1.0  # 1,000 of 600 rows


def test_a_budget_too_small_for_the_planned_epochs_stops_early(adult_frame: pd.DataFrame) -> None:
    model = TabularSynthesizer(epsilon=0.2, public_metadata=ADULT_BOUNDS, **FAST).fit(adult_frame)
    spent = model.privacy_spent_
    assert spent is not None and spent["stopped_early"]
    assert 0 < spent["steps"] < spent["planned_steps"]
    assert spent["noise_multiplier"] == MAX_NOISE_MULTIPLIER
    assert spent["epsilon_spent"] <= 0.2
    assert len(model.history_) < 3  # the last epoch never started
    assert len(model.sample(50, seed=1)) == 50
    with pytest.raises(ParameterError, match="too little for even one step"):
        TabularSynthesizer(epsilon=0.02, public_metadata=ADULT_BOUNDS, **FAST).fit(adult_frame)


def test_public_metadata_is_used_verbatim_and_clips(adult_frame: pd.DataFrame) -> None:
    sexes = ["Female", "Male", "Nonbinary"]  # a public level the rows never hold is kept all the same
    public = {**ADULT_BOUNDS, "age": {"min": 25, "max": 60}, "sex": {"categories": sexes}}
    assert adult_frame["age"].min() < 25 and adult_frame["age"].max() > 60
    model = TabularSynthesizer(epsilon=10.0, public_metadata=public, **FAST).fit(adult_frame)
    age = _codec(model, "age")
    assert isinstance(age, NumericCodec) and (age.low, age.high) == (25.0, 60.0) and age.clip
    rng = np.random.default_rng(0)
    real = pd.Series([17, 40, 90])
    np.testing.assert_array_equal(
        age.decode(span_values(age.encode(real, rng), age.spans), rng), [25, 40, 60]
    )  # clipped to the bounds
    for column, bounds in ADULT_BOUNDS.items():
        if column != "age":
            assert (_codec(model, column).low, _codec(model, column).high) == (bounds["min"], bounds["max"])
    sex = _codec(model, "sex")
    assert isinstance(sex, CategoricalCodec) and set(sex.levels) == set(sexes)
    assert sex.pooled == [] and sex.fallback is not None  # no value outside the list: no slot for one
    rows = model.sample(2000, seed=1)
    assert rows["age"].between(25, 60).all()
    assert set(rows["sex"]) <= set(sexes)


def test_a_public_list_keeps_a_slot_only_when_values_fall_outside_it(adult_frame: pd.DataFrame) -> None:
    """A public list that covers the rows leaves no slot for other values, so the label never comes out as
    ``other``; a list that misses a third of the rows (every man) keeps one."""
    public = {**ADULT_BOUNDS, "income": {"categories": ["<=50K", ">50K"]}, "sex": {"categories": ["Female"]}}
    model = TabularSynthesizer(epsilon=10.0, public_metadata=public, **FAST).fit(adult_frame)
    income, sex = _codec(model, "income"), _codec(model, "sex")
    assert income.pooled == [] and income.levels[income.fallback] in {"<=50K", ">50K"}
    assert sex.levels == ["Female"] and sex.pooled == [OTHER_LABEL]
    rows = model.sample(5000, seed=1)
    assert set(rows["income"]) <= {"<=50K", ">50K"}
    assert set(rows["sex"]) <= {"Female", OTHER_LABEL}


def test_no_real_extreme_value_or_rare_category_comes_out(adult_frame: pd.DataFrame) -> None:
    frame = adult_frame.copy()
    frame.loc[frame.index[0], "fnlwgt"] = 98_765_432  # one unique extreme value
    frame.loc[frame.index[1:4], "occupation"] = "Astronaut"  # a category seen 3 times
    params = {**FAST, "rare_category_min": 10}
    model = TabularSynthesizer(epsilon=10.0, metadata_share=0.5, **params).fit(frame)
    rows = model.sample(5000, seed=1)
    assert _codec(model, "fnlwgt").high < 98_765_432  # the noisy bounds never stretched to the planted value
    assert rows["fnlwgt"].max() <= _codec(model, "fnlwgt").high
    assert not rows.isin([98_765_432]).any().any()
    assert "Astronaut" not in set(rows["occupation"])
    assert "Astronaut" not in json.dumps(model.transformer_.to_dict())  # not even stored in the model
    assert OTHER_LABEL in _codec(model, "occupation").pooled
    for column in ("age", "capital_gain", "hours_per_week"):  # no real minimum or maximum either
        assert rows[column].max() <= _codec(model, column).high and rows[column].min() >= _codec(model, column).low

    plain = TabularSynthesizer(**params).fit(frame)  # rare-category protection holds without privacy too
    assert plain.privacy_spent_ is None
    assert "Astronaut" not in set(plain.sample(5000, seed=1)["occupation"])
    assert "Astronaut" not in json.dumps(plain.transformer_.to_dict())
    kept = frame["occupation"].value_counts()
    assert set(kept[kept >= 10].index) <= set(_codec(plain, "occupation").levels)


def test_rare_levels_are_never_drawn_from_the_pooled_slot() -> None:
    """High-cardinality pooling draws pooled levels by frequency; levels under k must not be among them."""
    values = [f"v{i}" for i in range(30) for _ in range(20)] + ["rare-a"] * 3 + ["rare-b"] * 9
    series = pd.Series(values, dtype="str", name="code")
    spec = infer_schema(series.to_frame())["code"]
    codec = CategoricalCodec.fit(series, max_categories=10, spec=spec, rare_min=10)
    assert "rare-a" not in codec.pooled + codec.levels and "rare-b" not in codec.pooled + codec.levels
    rng = np.random.default_rng(0)
    decoded = codec.decode(span_values(codec.encode(series, rng), codec.spans), rng)
    assert not set(decoded) & {"rare-a", "rare-b"}
    assert OTHER_LABEL in set(decoded)
    assert codec.pooled_weights[codec.pooled.index(OTHER_LABEL)] == pytest.approx(12 / (21 * 20 + 12))


def test_rare_rows_decode_to_null_or_the_most_frequent_level_outside_text_columns() -> None:
    frame = pd.DataFrame(
        {
            "flag": pd.array([True] * 40 + [False] * 2 + [None] * 8, dtype="boolean"),
            "level": pd.Series([1] * 45 + [2] * 5, dtype="int64"),
            "x": np.linspace(0, 1, 50),
        }
    )
    schema = infer_schema(frame).with_kinds({"level": "categorical"})
    transformer = TableTransformer(schema, rare_category_min=6).fit(frame, np.random.default_rng(0))
    flag, level = transformer.codecs_[0], transformer.codecs_[1]
    assert isinstance(flag, CategoricalCodec) and isinstance(level, CategoricalCodec)
    assert False not in flag.levels + flag.pooled and None in flag.pooled  # nullable: rare rows become null
    assert level.pooled == [1] and 2 not in level.levels  # not nullable: the most frequent kept level


def test_the_plain_path_is_unchanged_by_default() -> None:
    """Digests of the default transformer on a fixed table, so the privacy mode's code can never alter the plain
    path unnoticed. Only a change meant to alter the encoding updates them (last: a spike must be a heap, so the
    common values of ``n`` left the one-hot)."""
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame(
        {
            "a": np.concatenate([np.zeros(100), rng.lognormal(8, 1, n - 100)]).round(2),
            "n": rng.integers(0, 60, n),
            "c": rng.choice(["x", "y", "z", "w"], n, p=[0.5, 0.3, 0.15, 0.05]),
            "b": rng.random(n) < 0.2,
        }
    )
    transformer = TableTransformer(infer_schema(frame), max_categories=3).fit(frame, np.random.default_rng(1))
    encoded = transformer.transform(frame, np.random.default_rng(2))
    decoded = transformer.inverse_transform(span_values(encoded, transformer.spans), np.random.default_rng(3))
    codes = np.rint(encoded.astype(np.float64) * 1000).astype(np.int64)
    assert hashlib.sha256(codes.tobytes()).hexdigest()[:16] == "147914ab446a27d1"
    assert hashlib.sha256(decoded.round(2).to_csv().encode()).hexdigest()[:16] == "5ecb2c5c0d9a4949"


def test_save_load_round_trips_the_budget_and_the_samples(private: TabularSynthesizer, tmp_path: Path) -> None:
    private.save(tmp_path / "m")
    same = TabularSynthesizer.load(tmp_path / "m")
    assert same.privacy_spent_ == private.privacy_spent_
    assert json.loads((tmp_path / "m" / "model.json").read_text())["privacy_spent_"] == private.privacy_spent_
    pd.testing.assert_frame_equal(same.sample(500, seed=3), private.sample(500, seed=3))
    assert same.get_params() == private.get_params()


def test_params_with_tuples_round_trip_through_save_load_and_clone(adult_frame: pd.DataFrame, tmp_path: Path) -> None:
    public = {"sex": {"categories": ("Female", "Male")}, "age": {"min": 17, "max": 90}}
    model = TabularSynthesizer(epsilon=5.0, public_metadata=public, rare_category_min=3, **FAST)
    assert clone(model).get_params() == model.get_params()
    model.fit(adult_frame).save(tmp_path / "m")
    assert TabularSynthesizer.load(tmp_path / "m").get_params() == model.get_params()


def test_same_seed_gives_the_same_private_model(adult_frame: pd.DataFrame, private: TabularSynthesizer) -> None:
    again = TabularSynthesizer(epsilon=3.0, public_metadata=ADULT_BOUNDS, **FAST).fit(adult_frame)
    assert again.privacy_spent_ == private.privacy_spent_
    assert again.condition_counts_ == private.condition_counts_
    pd.testing.assert_frame_equal(again.sample(500, seed=7), private.sample(500, seed=7))


def test_every_column_kind_trains_privately(mixed_frame: pd.DataFrame) -> None:
    model = TabularSynthesizer(epsilon=10.0, metadata_share=0.5, **{**FAST, "batch_size": 50})
    rows = model.fit(mixed_frame).sample(400, seed=2)
    assert rows.dtypes.equals(mixed_frame.dtypes)
    assert rows["customer_id"].is_unique and (rows["country"] == "NO").all()
    assert set(rows["plan"]) <= {"basic", "plus", "pro"}
    signed = _codec(model, "signed_up")  # datetimes: microseconds after the noisy lower bound, within the bounds
    stamps = rows["signed_up"].dropna().dt.tz_convert(None).astype("datetime64[us]").astype("int64")
    assert stamps.between(signed.origin, signed.origin + signed.high).all()
    assert rows["city"].isna().any() and not rows["age"].isna().any()


def test_a_private_fit_resumes_from_its_checkpoint(adult_frame: pd.DataFrame, tmp_path: Path) -> None:
    class Killed(Exception):
        pass

    def kill_after_two(stats: EpochStats) -> None:
        if stats.epoch == 2:
            raise Killed

    params = {"epsilon": 3.0, "public_metadata": ADULT_BOUNDS, **FAST}
    with pytest.raises(Killed):
        TabularSynthesizer(**params).fit(
            adult_frame, checkpoint_dir=tmp_path, checkpoint_every=1, progress=kill_after_two
        )
    seen: list[int] = []
    resumed = TabularSynthesizer(**params).fit(
        adult_frame, checkpoint_dir=tmp_path, checkpoint_every=1, progress=lambda s: seen.append(s.epoch)
    )
    assert seen == [3]
    whole = TabularSynthesizer(**params).fit(adult_frame)
    assert resumed.privacy_spent_ == whole.privacy_spent_
    pd.testing.assert_frame_equal(resumed.sample(300, seed=1), whole.sample(300, seed=1))
    assert not list(tmp_path.iterdir())


def test_the_budget_is_logged_once_at_info(adult_frame: pd.DataFrame, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="synth"):
        TabularSynthesizer(epsilon=3.0, public_metadata=ADULT_BOUNDS, **{**FAST, "epochs": 1}).fit(adult_frame)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("privacy: epsilon")]
    assert len(lines) == 1 and "spent of 3" in lines[0]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"epsilon": 0}, "epsilon must be None or a number > 0, got 0"),
        ({"epsilon": -1.0}, "epsilon must be None or a number > 0"),
        ({"epsilon": "3"}, "epsilon must be None or a number > 0"),
        ({"epsilon": True}, "epsilon must be None or a number > 0"),
        ({"delta": 0.0}, r"delta must be a number in \(0, 1\), got 0.0"),
        ({"delta": 1}, "delta must be a number in"),
        ({"max_grad_norm": 0}, "max_grad_norm must be a number > 0"),
        ({"metadata_share": 1.0}, "metadata_share must be a number in"),
        ({"rare_category_min": 0}, "rare_category_min must be an int >= 1, got 0"),
        ({"public_metadata": ["age"]}, "public_metadata must be None or a mapping"),
        ({"public_metadata": {"age": {"low": 1}}}, r"public_metadata\['age'\] must have the keys min and max"),
        ({"public_metadata": {"sex": {"categories": []}}}, "non-empty list of distinct"),
        ({"public_metadata": {"sex": {"categories": ["a", "a"]}}}, "non-empty list of distinct"),
        ({"public_metadata": {"d": {"min": pd.Timestamp(0), "max": 1}}}, "must be JSON-able"),
    ],
)
def test_bad_privacy_parameters_name_themselves(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        TabularSynthesizer(**params).validate_params()


def test_public_metadata_must_fit_the_columns(adult_frame: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"unknown column\(s\) \['gender'\]"):
        TabularSynthesizer(epsilon=3.0, public_metadata={"gender": {"categories": ["F"]}}, **FAST).fit(adult_frame)
    with pytest.raises(SchemaError, match=r"public_metadata\['age'\] must give min and max"):
        TabularSynthesizer(epsilon=3.0, public_metadata={"age": {"categories": [1]}}, **FAST).fit(adult_frame)
    with pytest.raises(SchemaError, match="min 90 > max 17"):
        TabularSynthesizer(epsilon=3.0, public_metadata={"age": {"min": 90, "max": 17}}, **FAST).fit(adult_frame)
    with pytest.raises(SchemaError, match=r"too small to estimate the range of \d numeric column\(s\) privately"):
        TabularSynthesizer(epsilon=1.0, **FAST).fit(adult_frame)
