"""The TabularSynthesizer contract: estimator rules, types, exact conditions, save/load, determinism, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.base import clone

from synth import ConditionError, ModelFileError, NotFittedError, ParameterError, SchemaError, TabularSynthesizer
from synth.schema import infer_schema, table_to_frame
from synth.tabular.model_files import FORMAT_VERSION

FAST = {"epochs": 2, "batch_size": 100, "generator_dims": (32, 32), "discriminator_dims": (32, 32), "device": "cpu"}


@pytest.fixture(scope="module")
def adult_frame(adult_table: pa.Table) -> pd.DataFrame:
    return table_to_frame(adult_table)


@pytest.fixture(scope="module")
def fitted(adult_frame: pd.DataFrame) -> TabularSynthesizer:
    return TabularSynthesizer(seed=0, **FAST).fit(adult_frame)


def test_init_stores_params_and_clone_works() -> None:
    model = TabularSynthesizer(epochs=7, seed=3)
    assert model.get_params()["epochs"] == 7 and model.get_params()["seed"] == 3
    copy = clone(model)
    assert copy.get_params() == model.get_params() and copy is not model
    assert model.set_params(epochs=9).epochs == 9


def test_fit_returns_self_and_sample_before_fit_raises(adult_frame: pd.DataFrame) -> None:
    model = TabularSynthesizer(seed=0, **FAST)
    with pytest.raises(NotFittedError, match="call fit"):
        model.sample(5)
    assert model.fit(adult_frame) is model
    assert model.seed_ == 0 and str(model.device_) == "cpu"


def test_sample_has_exact_count_column_order_and_dtypes(fitted: TabularSynthesizer, adult_frame: pd.DataFrame) -> None:
    rows = fitted.sample(1234, seed=1)
    assert len(rows) == 1234
    assert list(rows.columns) == list(adult_frame.columns)
    assert rows.dtypes.equals(adult_frame.dtypes)
    assert fitted.sample(0, seed=1).shape == (0, adult_frame.shape[1])


def test_mixed_types_and_nulls_round_trip(mixed_frame: pd.DataFrame) -> None:
    model = TabularSynthesizer(seed=0, **FAST).fit(mixed_frame)
    rows = model.sample(500, seed=2)
    assert rows.dtypes.equals(mixed_frame.dtypes)
    for column in ("visits", "income", "city"):  # nullable in the real data: nulls are generated, not dropped
        assert rows[column].isna().any(), column
    for column in ("age", "member", "plan", "signed_up", "customer_id", "country"):
        assert not rows[column].isna().any(), column
    assert rows["customer_id"].is_unique
    assert (rows["country"] == "NO").all()
    assert set(rows["plan"].dropna()) <= {"basic", "plus", "pro"}
    assert rows["age"].between(mixed_frame["age"].min(), mixed_frame["age"].max()).all()
    assert (rows["signed_up"].dt.normalize() == rows["signed_up"]).all()  # day resolution kept
    table = pa.Table.from_pandas(rows, schema=model.schema_.arrow_schema(), preserve_index=False)
    assert table.schema.remove_metadata() == model.schema_.arrow_schema()


def test_conditional_sampling_is_exact(fitted: TabularSynthesizer) -> None:
    rows = fitted.sample(1000, conditions={"sex": "Female"}, seed=1)
    assert len(rows) == 1000 and (rows["sex"] == "Female").all()
    rare = fitted.sample(37, conditions={"race": "Other"}, seed=1)
    assert len(rare) == 37 and (rare["race"] == "Other").all()
    missing = fitted.sample(20, conditions={"workclass": None}, seed=1)
    assert missing["workclass"].isna().all()


def test_generator_learns_to_follow_the_condition_vector(adult_frame: pd.DataFrame) -> None:
    """Exactness is enforced at sampling, but the generator itself is trained to obey the condition vector."""
    params = {**FAST, "epochs": 60, "batch_size": 50, "learning_rate": 1e-3}
    model = TabularSynthesizer(seed=0, **params).fit(adult_frame)
    losses = [s.condition_loss for s in model.history_]
    assert len(losses) == 60
    assert losses[-1] < 0.5 * losses[0]


def test_bad_conditions_are_clear_errors(fitted: TabularSynthesizer) -> None:
    with pytest.raises(ConditionError, match="unknown column 'gender'"):
        fitted.sample(5, conditions={"gender": "Female"})
    with pytest.raises(ConditionError, match="'Martian' never comes out of column 'sex'"):
        fitted.sample(5, conditions={"sex": "Martian"})
    with pytest.raises(ConditionError, match="'age' is integer"):
        fitted.sample(5, conditions={"age": 30})
    with pytest.raises(ConditionError, match="at most 3 categorical columns"):  # see test_conditions.py
        fitted.sample(5, conditions={"sex": "Female", "race": "White", "income": ">50K", "relationship": "Wife"})


def test_save_load_gives_identical_samples(fitted: TabularSynthesizer, tmp_path: Path) -> None:
    fitted.save(tmp_path / "adult")
    same = TabularSynthesizer.load(tmp_path / "adult", device="cpu")
    pd.testing.assert_frame_equal(same.sample(1000, seed=1), fitted.sample(1000, seed=1))
    pd.testing.assert_frame_equal(
        same.sample(50, conditions={"sex": "Female"}, seed=4), fitted.sample(50, conditions={"sex": "Female"}, seed=4)
    )
    assert same.get_params() == fitted.get_params()
    assert not list(tmp_path.glob(".adult.saving-*"))  # no staging folder left behind
    for name in ("seed_", "condition_counts_", "generation_shares_", "history_", "best_epoch_", "training_rows_",
                 "precision_"):  # fmt: skip
        assert getattr(same, name) == getattr(fitted, name), name


@pytest.mark.parametrize(("found", "message"), [(FORMAT_VERSION + 1, "newer synth-pipeline.*upgrade"),
                                                (FORMAT_VERSION - 1, "older synth-pipeline.*fit the model again"),
                                                (None, "model format None by an older")])  # fmt: skip
def test_a_save_of_another_format_is_refused_with_what_to_do(
    fitted: TabularSynthesizer, tmp_path: Path, found: int | None, message: str
) -> None:
    fitted.save(tmp_path / "m")
    state = json.loads((tmp_path / "m" / "model.json").read_text())
    (tmp_path / "m" / "model.json").write_text(json.dumps({**state, "format_version": found}))
    with pytest.raises(ModelFileError, match=message):
        TabularSynthesizer.load(tmp_path / "m")


def test_same_seed_same_data_same_samples(adult_frame: pd.DataFrame, fitted: TabularSynthesizer) -> None:
    again = TabularSynthesizer(seed=0, **FAST).fit(adult_frame)
    pd.testing.assert_frame_equal(again.sample(500, seed=7), fitted.sample(500, seed=7))
    assert not fitted.sample(500, seed=7).equals(fitted.sample(500, seed=8))


def test_the_default_batch_takes_500_rows(adult_frame: pd.DataFrame) -> None:
    def fit(batch_size: int | None) -> TabularSynthesizer:
        return TabularSynthesizer(seed=0, **{**FAST, "epochs": 1, "batch_size": batch_size}).fit(adult_frame)

    default = fit(None)
    assert default.batch_size_ == 500
    pd.testing.assert_frame_equal(default.sample(200, seed=1), fit(500).sample(200, seed=1))
    assert not default.sample(200, seed=1).equals(fit(1000).sample(200, seed=1))


def test_the_learning_rate_follows_the_generated_columns(adult_frame: pd.DataFrame, tmp_path: Path) -> None:
    def fit(frame: pd.DataFrame, **params: float) -> TabularSynthesizer:
        return TabularSynthesizer(seed=0, **{**FAST, "epochs": 1, **params}).fit(frame)

    narrow = fit(adult_frame)
    assert narrow.learning_rate_ == 3e-4  # Adult's 15 columns
    pd.testing.assert_frame_equal(narrow.sample(200, seed=1), fit(adult_frame, learning_rate=3e-4).sample(200, seed=1))
    numbers = pd.DataFrame(np.random.default_rng(0).normal(size=(300, 40)), columns=[f"x{i}" for i in range(40)])
    assert fit(numbers.iloc[:, :16].assign(same=1.0)).learning_rate_ == 3e-4  # a constant is not generated
    assert fit(numbers.iloc[:, :24]).learning_rate_ == pytest.approx(4.5e-4)
    wide = fit(numbers)
    assert wide.learning_rate_ == pytest.approx(6e-4)  # twice the base from 32 columns on
    assert TabularSynthesizer.load(wide.save(tmp_path / "wide")).learning_rate_ == pytest.approx(6e-4)
    assert fit(numbers, learning_rate=1e-4).learning_rate_ == 1e-4


def test_bad_parameters_name_themselves(adult_frame: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="epochs must be an int >= 1, got 0"):
        TabularSynthesizer(epochs=0).fit(adult_frame)
    with pytest.raises(ParameterError, match="device"):
        TabularSynthesizer(device="tpu", epochs=1).fit(adult_frame)
    with pytest.raises(ParameterError, match="n must be an int >= 0"):
        TabularSynthesizer(seed=0, **FAST).fit(adult_frame).sample(-1)


def test_too_few_rows_are_refused_and_an_all_null_column_passes_through() -> None:
    with pytest.raises(SchemaError, match="at least 10 rows"):
        TabularSynthesizer(epochs=1).fit(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}))
    frame = pd.DataFrame({"a": np.arange(20.0), "b": pd.Series([None] * 20, dtype="float64")})
    out = TabularSynthesizer(epochs=1, seed=0).fit(frame).sample(7, seed=0)
    assert len(out) == 7 and out["b"].isna().all() and out["b"].dtype == np.float64
    forced = infer_schema(frame.assign(b=np.arange(20.0))).with_kinds({"b": "continuous"})
    with pytest.raises(SchemaError, match="column 'b' is entirely null in the training rows"):
        TabularSynthesizer(epochs=1).fit(frame, forced)


def test_load_refuses_an_incomplete_folder(fitted: TabularSynthesizer, tmp_path: Path) -> None:
    fitted.save(tmp_path / "m")
    (tmp_path / "m" / "generator.pt").unlink()
    with pytest.raises(ModelFileError, match=r"missing \['generator.pt'\]"):
        TabularSynthesizer.load(tmp_path / "m")
    (tmp_path / "m" / "generator.pt").write_bytes(b"not a torch file")
    with pytest.raises(ModelFileError, match="cannot be loaded"):
        TabularSynthesizer.load(tmp_path / "m")
