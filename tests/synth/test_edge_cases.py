"""Tables at the edges: no discrete columns, rare nulls among pooled levels, outliers, fine timestamps, overrides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from synth import ConditionError, SchemaError, TabularSynthesizer, infer_schema
from synth.tabular.codecs import NumericCodec
from synth.tabular.mixture import fit_mixture
from tests.conftest import span_values

FAST = {"epochs": 1, "batch_size": 50, "generator_dims": (16,), "discriminator_dims": (16,), "device": "cpu", "seed": 0}


def test_numeric_only_table() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=100), "b": rng.integers(0, 50, 100)})
    rows = TabularSynthesizer(**FAST).fit(frame).sample(40, seed=1)
    assert rows.shape == (40, 2) and rows.dtypes.equals(frame.dtypes)


def test_rare_null_among_pooled_levels() -> None:
    rng = np.random.default_rng(0)
    values = [f"v{i}" for i in rng.integers(0, 300, 2000)]
    values[5] = None
    frame = pd.DataFrame({"code": pd.Series(values, dtype="str"), "x": rng.normal(size=2000)})
    model = TabularSynthesizer(**{**FAST, "max_categories": 20, "validation_share": 0}).fit(frame)
    counts = np.asarray(model.condition_counts_)
    assert counts.sum() == 2000 and len(counts) == 20  # every row, the null one included, sits in one slot
    assert model.sample(30, conditions={"code": None}, seed=1)["code"].isna().all()


def test_one_outlier_does_not_stretch_the_modes() -> None:
    rng = np.random.default_rng(0)
    values = np.append(rng.lognormal(10, 1, 5000), 1e10)
    modes = fit_mixture(values, rng)
    assert max(m.std for m in modes) < 1e6


def test_infinite_values_are_refused_by_name() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, np.inf] * 10})
    with pytest.raises(SchemaError, match="column 'x' holds infinite values"):
        TabularSynthesizer(**FAST).fit(frame)


def test_millisecond_timestamps_keep_their_resolution() -> None:
    start = pd.Timestamp("2025-03-01 12:00:00")
    stamps = start + pd.to_timedelta(np.random.default_rng(0).integers(0, 10**9, 200), unit="ms")
    series = pd.Series(stamps, name="t")
    spec = infer_schema(series.to_frame())["t"]
    rng = np.random.default_rng(0)
    codec = NumericCodec.fit(series, spec, rng)
    assert codec.step == 1e3  # microseconds
    decoded = codec.decode(span_values(codec.encode(series, rng), codec.spans), rng)
    assert (decoded % 10**3 == 0).all()
    assert np.abs(decoded - series.to_numpy().astype("datetime64[us]").astype(np.int64)).max() < 10**3 * 60_000


def test_fit_and_load_leave_the_global_torch_rng_alone(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": np.arange(50.0), "c": ["x", "y"] * 25})
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    model = TabularSynthesizer(**FAST).fit(frame)
    model.save(tmp_path / "m")
    TabularSynthesizer.load(tmp_path / "m")
    assert torch.equal(torch.rand(3), expected)


def test_load_uses_the_saved_device_by_default(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": np.arange(50.0), "c": ["x", "y"] * 25})
    TabularSynthesizer(**FAST).fit(frame).save(tmp_path / "m")
    assert TabularSynthesizer.load(tmp_path / "m").device == "cpu"


def test_integer_column_overridden_as_continuous_comes_back_as_integers() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"n": pd.array(np.where(rng.random(100) < 0.2, None, rng.integers(0, 9, 100)), dtype="Int64")})
    schema = infer_schema(frame).with_kinds({"n": "continuous"})
    rows = TabularSynthesizer(**FAST).fit(frame, schema).sample(50, seed=1)
    assert str(rows["n"].dtype) == "Int64"


def test_ids_must_be_integer_or_text_and_fit_their_type() -> None:
    frame = pd.DataFrame({"row_id": np.arange(100, dtype=np.int8), "x": np.linspace(0, 1, 100)})
    schema = infer_schema(frame)
    assert schema["row_id"].kind == "id"
    with pytest.raises(SchemaError, match="cannot be an id"):
        schema.with_kinds({"x": "id"})
    model = TabularSynthesizer(**FAST).fit(frame)
    fresh = model.sample(28, seed=1)["row_id"]  # keys start past the real ones (0..99), up to int8's 127
    assert fresh.is_unique and fresh.min() == 100 and fresh.dtype == np.int8
    with pytest.raises(SchemaError, match=r"cannot hold 29 new keys past its largest real one \(99\)"):
        model.sample(29, seed=1)
    with pytest.raises(SchemaError, match="holds at most 127 ids; 300 were asked"):
        model.sample(300, seed=1)


def test_a_repeated_key_with_nulls_comes_out_fresh_and_null_as_often(tmp_path: Path) -> None:
    """A case number missing in a fifth of the rows, some cases twice: fresh keys, none real, null about as often,
    and the same rows from a saved model."""
    rng = np.random.default_rng(0)
    cases = pd.array(rng.choice(10**6, 500, replace=False), dtype="Int64")
    cases[rng.random(500) < 0.2] = pd.NA
    frame = pd.DataFrame({"case_number": cases, "x": rng.normal(size=500)})
    frame = pd.concat([frame, frame.iloc[:50]], ignore_index=True)
    model = TabularSynthesizer(**FAST).fit(frame)
    assert model.schema_["case_number"].kind == "id"
    rows = model.sample(4_000, seed=1)
    keys = rows["case_number"]
    assert str(keys.dtype) == "Int64"
    assert abs(keys.isna().mean() - frame["case_number"].isna().mean()) < 0.03
    assert keys.dropna().is_unique and not keys.dropna().isin(frame["case_number"].dropna()).any()
    loaded = TabularSynthesizer.load(model.save(tmp_path / "model"))
    loaded.avoid_values_of(frame)  # as the pipeline does: fresh keys go on past the real ones
    pd.testing.assert_frame_equal(loaded.sample(4_000, seed=1), rows)


def test_condition_on_a_constant_column() -> None:
    frame = pd.DataFrame({"x": np.arange(30.0), "country": ["NO"] * 30})
    model = TabularSynthesizer(**FAST).fit(frame)
    assert (model.sample(10, conditions={"country": "NO"}, seed=1)["country"] == "NO").all()
    with pytest.raises(ConditionError, match="its only value is 'NO'"):
        model.sample(10, conditions={"country": "SE"})
