"""Checkpoint selection and the time budget: the probe tells good rows from bad, and fit keeps the best weights."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch

from synth import EpochStats, ParameterError, TabularSynthesizer, infer_schema
from synth.schema import table_to_frame
from synth.tabular.codecs import NumericCodec
from synth.tabular.selection import FidelityProbe
from tests.conftest import ADULT

# 1,500 rows: enough for the default 10 % validation split (at least 100 rows) to switch selection on
SMALL = {"batch_size": 200, "generator_dims": (32,), "discriminator_dims": (32,), "device": "cpu", "seed": 0}


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    table = pq.read_table(ADULT)
    rows = np.random.default_rng(1).choice(table.num_rows, size=3000, replace=False)
    return table_to_frame(table.take(np.sort(rows)))


@pytest.fixture(scope="module")
def probe(adult: pd.DataFrame) -> FidelityProbe:
    return FidelityProbe(adult.iloc[:1500].reset_index(drop=True), infer_schema(adult), seed=0)


def test_real_rows_score_near_perfect(adult: pd.DataFrame, probe: FidelityProbe) -> None:
    itself = probe.score(adult.iloc[:1500].reset_index(drop=True))
    assert itself.shapes == pytest.approx(1.0) and itself.pairs == pytest.approx(1.0)
    unseen = probe.score(adult.iloc[1500:].reset_index(drop=True))
    assert unseen.shapes > 0.97 and unseen.pairs > 0.93 and unseen.detection < 0.6


def test_broken_rows_score_worse(adult: pd.DataFrame, probe: FidelityProbe) -> None:
    unseen = probe.score(adult.iloc[1500:].reset_index(drop=True))
    rng = np.random.default_rng(0)
    shuffled = adult.iloc[1500:].apply(lambda col: col.iloc[rng.permutation(len(col))].reset_index(drop=True))
    broken = probe.score(shuffled)
    assert broken.shapes > 0.97  # every column's values are still real ones
    assert broken.pairs < unseen.pairs - 0.03 and broken.detection > unseen.detection + 0.1
    collapsed = probe.score(pd.concat([adult.iloc[[0]]] * 1500, ignore_index=True))
    assert collapsed.score < broken.score < unseen.score


def test_probe_handles_nulls_unseen_levels_and_datetimes() -> None:
    rng = np.random.default_rng(0)
    real = pd.DataFrame(
        {
            "when": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, 400), unit="D"),
            "x": np.where(rng.random(400) < 0.2, np.nan, rng.normal(size=400)),
            "c": pd.Series(rng.choice(["a", "b", None], 400), dtype="str"),
        }
    )
    probe = FidelityProbe(real, infer_schema(real), seed=0)
    other = real.assign(c=pd.Series(["zzz"] * 400, dtype="str"))  # a level the real rows never hold
    assert probe.score(real).shapes == pytest.approx(1.0)
    assert probe.score(other).shapes < probe.score(real).shapes


def test_probe_bins_stay_few_on_a_high_cardinality_column() -> None:
    rng = np.random.default_rng(0)
    words = ["".join(chr(97 + i // 26**p % 26) for p in range(3)) for i in rng.integers(0, 3000, 2000)]
    real = pd.DataFrame({"code": pd.Series(words, dtype="str")})
    probe = FidelityProbe(real, infer_schema(real), seed=0)
    assert probe.widths == [32]  # 30 most frequent levels, one bin for the rest, one for null
    assert probe.score(real).shapes == pytest.approx(1.0)


def test_fit_keeps_the_best_scored_epoch_and_records_the_curve(adult: pd.DataFrame, tmp_path: Path) -> None:
    model = TabularSynthesizer(epochs=6, select_every=2, **SMALL).fit(adult)
    scored = [s for s in model.history_ if s.probe_score is not None]
    assert [s.epoch for s in scored] == [2, 4, 6]
    assert model.best_epoch_ == max(scored, key=lambda s: s.probe_score or 0.0).epoch
    assert sum(model.condition_counts_) // model.transformer_.discrete_columns().__len__() == 2700  # 300 held out
    loaded = TabularSynthesizer.load(model.save(tmp_path / "model"))
    assert loaded.best_epoch_ == model.best_epoch_
    assert loaded.history_ == model.history_
    pd.testing.assert_frame_equal(loaded.sample(200, seed=3), model.sample(200, seed=3))


def test_scoring_comes_every_200_steps_by_default(adult: pd.DataFrame, tmp_path: Path) -> None:
    model = TabularSynthesizer(epochs=9, **{**SMALL, "batch_size": 50}).fit(adult)
    assert model.select_every_ == 4  # 2,700 training rows make 54 steps an epoch; 4 epochs first hold 200
    assert [s.epoch for s in model.history_ if s.probe_score is not None] == [4, 8, 9]  # and the last
    assert TabularSynthesizer.load(model.save(tmp_path / "model")).select_every_ == 4
    larger_batches = TabularSynthesizer(epochs=1, **{**SMALL, "batch_size": 1000}).fit(adult)
    assert larger_batches.select_every_ == 100  # 2 steps an epoch


def test_patience_stops_training_once_the_probe_stops_improving(adult: pd.DataFrame) -> None:
    model = TabularSynthesizer(epochs=200, select_every=1, patience=2, **SMALL).fit(adult)
    scores = [s.probe_score or 0.0 for s in model.history_]
    best = scores.index(max(scores))
    assert len(scores) < 200
    assert model.best_epoch_ == best + 1
    assert len(scores) == best + 1 + 2  # the second scoring after the best ends training


def test_a_resumed_fit_stops_where_an_uninterrupted_one_does(adult: pd.DataFrame, tmp_path: Path) -> None:
    """Killed one epoch past its last checkpoint, a fit resumes, replays that epoch, and ends with the same scores,
    the same patience stop, the same best epoch and the same weights as a fit never interrupted."""

    class Killed(Exception):
        pass

    settings = {"epochs": 200, "select_every": 1, "patience": 2, **SMALL}
    uninterrupted = TabularSynthesizer(**settings).fit(adult)
    stopped_at = len(uninterrupted.history_)
    assert stopped_at >= 4  # room for a checkpoint, then a killed epoch, before the stop

    def kill_before_the_stop(stats: EpochStats) -> None:
        if stats.epoch == stopped_at - 1:
            raise Killed

    with pytest.raises(Killed):
        TabularSynthesizer(**settings).fit(
            adult, checkpoint_dir=tmp_path, checkpoint_every=stopped_at - 2, progress=kill_before_the_stop
        )
    resumed = TabularSynthesizer(**settings).fit(adult, checkpoint_dir=tmp_path, checkpoint_every=stopped_at - 2)
    assert [replace(s, seconds=0.0) for s in resumed.history_] == [
        replace(s, seconds=0.0) for s in uninterrupted.history_
    ]
    assert resumed.best_epoch_ == uninterrupted.best_epoch_
    expected = uninterrupted.generator_.state_dict()
    for name, tensor in resumed.generator_.state_dict().items():
        assert torch.equal(tensor, expected[name]), name


def test_without_a_validation_share_every_row_trains_and_nothing_is_scored(adult: pd.DataFrame) -> None:
    model = TabularSynthesizer(epochs=2, validation_share=0, **SMALL).fit(adult)
    assert model.best_epoch_ == 2 and all(s.probe_score is None for s in model.history_)
    assert sum(model.condition_counts_) == 3000 * len(model.transformer_.discrete_columns())


def test_only_modelled_columns_are_probed() -> None:
    ids_and_constants = pd.DataFrame({"id": np.arange(1, 1201), "x": [7.0] * 1200})
    mixed = ids_and_constants.assign(c=np.where(np.arange(1200) % 3 == 0, "a", "b"))
    assert not FidelityProbe.probes(infer_schema(mixed).with_kinds({"c": "id"}))  # fit then keeps the last epoch
    probe = FidelityProbe(mixed, infer_schema(mixed), seed=0)
    assert probe.columns == ["c"]


def test_precision_is_decided_at_fit_and_kept(adult: pd.DataFrame, tmp_path: Path) -> None:
    model = TabularSynthesizer(epochs=1, precision="float32", validation_share=0, **SMALL).fit(adult)
    assert model.precision_ == "float32"
    loaded = TabularSynthesizer.load(model.save(tmp_path / "model"))
    assert loaded.precision_ == "float32"
    pd.testing.assert_frame_equal(loaded.sample(100, seed=2), model.sample(100, seed=2))


def test_time_budget_stops_training(adult: pd.DataFrame) -> None:
    started = time.monotonic()
    model = TabularSynthesizer(epochs=100_000, time_budget_s=3, **SMALL).fit(adult)
    elapsed = time.monotonic() - started
    assert 1 <= len(model.history_) < 100_000
    assert elapsed < 3 + 30  # stopped by the budget, not by the epoch cap (slack for a loaded CI machine)
    assert model.history_[-1].probe_score is not None  # the last epoch is always scored


def test_a_budget_the_epochs_never_reach_leaves_the_model_as_it_is(adult: pd.DataFrame) -> None:
    """Holding the calibration's time inside a budget draws from a stream of its own: the training's is untouched, and
    so are the weights and the calibration."""
    budgeted = TabularSynthesizer(epochs=2, time_budget_s=600, **SMALL).fit(adult)
    unbudgeted = TabularSynthesizer(epochs=2, **SMALL).fit(adult)
    assert len(budgeted.history_) == 2
    weights, unbudgeted_weights = budgeted.generator_.state_dict(), unbudgeted.generator_.state_dict()
    assert all(torch.equal(weights[name], unbudgeted_weights[name]) for name in weights)
    assert budgeted.generation_shares_ == unbudgeted.generation_shares_
    codecs = zip(budgeted.transformer_.encoders, unbudgeted.transformer_.encoders, strict=True)
    assert all(a.to_dict() == b.to_dict() for a, b in codecs if isinstance(a, NumericCodec))


def test_small_integer_codes_are_generated_exactly() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"grade": rng.integers(1, 17, 800) * 3, "x": rng.normal(size=800)})
    sample = TabularSynthesizer(epochs=2, batch_size=200, seed=0).fit(frame).sample(2000, seed=1)
    assert set(sample["grade"]) <= set(frame["grade"])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"time_budget_s": 0}, "time_budget_s must be None or a number > 0"),
        ({"validation_share": 1.0}, r"validation_share must be a number in \[0, 1\)"),
        ({"select_every": 0}, "select_every must be None or an int >= 1"),
        ({"precision": "fp16"}, "precision must be 'auto', 'float32' or 'bfloat16'"),
        ({"time_budget_s": 60, "epsilon": 1.0}, "time_budget_s cannot be combined with epsilon"),
        ({"patience": 0}, "patience must be None or an int >= 1"),
        ({"patience": 3, "epsilon": 1.0}, "patience needs the checkpoint scoring"),
        ({"patience": 3, "validation_share": 0}, "patience needs the checkpoint scoring"),
    ],
)
def test_bad_selection_and_budget_parameters_name_themselves(
    adult: pd.DataFrame, params: dict[str, object], message: str
) -> None:
    with pytest.raises(ParameterError, match=message):
        TabularSynthesizer(**params).fit(adult)  # type: ignore[arg-type]
