"""Training checkpoints: an interrupted fit resumed from its checkpoint ends exactly where an uninterrupted one does."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
import torch

from synth import EpochStats, ParameterError, TabularSynthesizer
from synth.schema import table_to_frame
from synth.tabular import checkpoint
from synth.tabular.checkpoint import CHECKPOINT_FILE
from synth.tabular.training import ProgressCallback

SMALL = {"epochs": 4, "batch_size": 100, "generator_dims": (32,), "discriminator_dims": (32,), "device": "cpu"}


class Killed(Exception):
    """Stands in for the process dying after an epoch."""


def _kill_after(epoch: int) -> ProgressCallback:
    def progress(stats: EpochStats) -> None:
        if stats.epoch == epoch:
            raise Killed

    return progress


def _assert_same_model(resumed: TabularSynthesizer, uninterrupted: TabularSynthesizer) -> None:
    expected = uninterrupted.generator_.state_dict()
    for name, tensor in resumed.generator_.state_dict().items():
        assert torch.equal(tensor, expected[name]), name
    losses = [(s.epoch, s.discriminator_loss, s.generator_loss, s.condition_loss) for s in uninterrupted.history_]
    assert [(s.epoch, s.discriminator_loss, s.generator_loss, s.condition_loss) for s in resumed.history_] == losses
    pd.testing.assert_frame_equal(resumed.sample(300, seed=5), uninterrupted.sample(300, seed=5))


@pytest.fixture(scope="module")
def frame(adult_table: pa.Table) -> pd.DataFrame:
    return table_to_frame(adult_table)


@pytest.fixture(scope="module")
def uninterrupted(frame: pd.DataFrame) -> TabularSynthesizer:
    return TabularSynthesizer(seed=3, **SMALL).fit(frame)


@pytest.mark.parametrize(("every", "killed_after"), [(1, 2), (2, 3)])
def test_resumed_fit_equals_an_uninterrupted_one(
    frame: pd.DataFrame,
    uninterrupted: TabularSynthesizer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    every: int,
    killed_after: int,
) -> None:
    with pytest.raises(Killed):  # the callback's exception comes through unchanged
        TabularSynthesizer(seed=3, **SMALL).fit(
            frame, checkpoint_dir=tmp_path, checkpoint_every=every, progress=_kill_after(killed_after)
        )
    assert (tmp_path / CHECKPOINT_FILE).is_file()  # left for the next attempt
    seen: list[int] = []
    with caplog.at_level(logging.INFO, logger="synth"):
        resumed = TabularSynthesizer(seed=3, **SMALL).fit(
            frame, checkpoint_dir=tmp_path, checkpoint_every=every, progress=lambda s: seen.append(s.epoch)
        )
    assert "resuming from epoch 2 of 4" in caplog.text  # the last checkpoint, at or before the kill
    assert seen == [3, 4]  # only the epochs that were still to run
    _assert_same_model(resumed, uninterrupted)
    assert tmp_path.is_dir() and list(tmp_path.iterdir()) == []  # the checkpoint is removed, the folder kept


def test_resume_is_exact_on_every_column_kind(mixed_frame: pd.DataFrame, tmp_path: Path) -> None:
    params = {**SMALL, "batch_size": 50}
    whole = TabularSynthesizer(seed=1, **params).fit(mixed_frame)
    with pytest.raises(Killed):
        TabularSynthesizer(seed=1, **params).fit(
            mixed_frame, checkpoint_dir=tmp_path, checkpoint_every=1, progress=_kill_after(1)
        )
    resumed = TabularSynthesizer(seed=1, **params).fit(mixed_frame, checkpoint_dir=tmp_path, checkpoint_every=1)
    _assert_same_model(resumed, whole)


def test_without_a_seed_the_resumed_fit_keeps_the_first_draw(frame: pd.DataFrame, tmp_path: Path) -> None:
    first = TabularSynthesizer(**SMALL)
    with pytest.raises(Killed):
        first.fit(frame, checkpoint_dir=tmp_path, checkpoint_every=1, progress=_kill_after(1))
    seen: list[int] = []
    resumed = TabularSynthesizer(**SMALL).fit(
        frame, checkpoint_dir=tmp_path, checkpoint_every=1, progress=lambda s: seen.append(s.epoch)
    )
    assert resumed.seed_ == first.seed_ and seen == [2, 3, 4]


@pytest.mark.parametrize("change", ["settings", "seed", "data"])
def test_a_checkpoint_of_another_fit_is_not_used(
    frame: pd.DataFrame, tmp_path: Path, caplog: pytest.LogCaptureFixture, change: str
) -> None:
    with pytest.raises(Killed):
        TabularSynthesizer(seed=3, **SMALL).fit(
            frame, checkpoint_dir=tmp_path, checkpoint_every=1, progress=_kill_after(2)
        )
    params: dict[str, Any] = {**SMALL, "seed": 3}
    if change == "settings":
        params["learning_rate"] = 1e-3
    if change == "seed":
        params["seed"] = 4
    data = frame.iloc[1:] if change == "data" else frame
    seen: list[int] = []
    with caplog.at_level(logging.WARNING, logger="synth"):
        TabularSynthesizer(**params).fit(
            data, checkpoint_dir=tmp_path, checkpoint_every=1, progress=lambda s: seen.append(s.epoch)
        )
    assert seen == [1, 2, 3, 4] and "made with other settings or data" in caplog.text
    assert list(tmp_path.iterdir()) == []  # overwritten by the new fit's own checkpoints, then removed


def test_a_corrupt_checkpoint_is_ignored(
    frame: pd.DataFrame, uninterrupted: TabularSynthesizer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / CHECKPOINT_FILE).write_bytes(b"not a checkpoint")
    with caplog.at_level(logging.WARNING, logger="synth"):
        model = TabularSynthesizer(seed=3, **SMALL).fit(frame, checkpoint_dir=tmp_path, checkpoint_every=1)
    assert "ignoring unreadable checkpoint" in caplog.text
    _assert_same_model(model, uninterrupted)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_previous_checkpoint(
    frame: pd.DataFrame, uninterrupted: TabularSynthesizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_save = torch.save
    calls: list[int] = []

    def dies_on_the_second_write(payload: Any, out: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            out.write(b"half a checkpo")
            raise Killed
        real_save(payload, out)

    monkeypatch.setattr(checkpoint.torch, "save", dies_on_the_second_write)
    with pytest.raises(Killed):
        TabularSynthesizer(seed=3, **SMALL).fit(frame, checkpoint_dir=tmp_path, checkpoint_every=1)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == [CHECKPOINT_FILE]  # the epoch-1 one, and no partial file
    (tmp_path / f".{CHECKPOINT_FILE}.dead0000").write_bytes(b"left by a kill mid-write")
    seen: list[int] = []
    resumed = TabularSynthesizer(seed=3, **SMALL).fit(
        frame, checkpoint_dir=tmp_path, checkpoint_every=1, progress=lambda s: seen.append(s.epoch)
    )
    assert seen == [2, 3, 4]
    _assert_same_model(resumed, uninterrupted)
    assert list(tmp_path.iterdir()) == []


def test_no_checkpoint_dir_writes_nothing(frame: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    TabularSynthesizer(seed=3, **{**SMALL, "epochs": 2}).fit(frame, checkpoint_every=1)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("every", [0, -1, 1.5, True, "2"])
def test_checkpoint_every_must_be_a_positive_int(frame: pd.DataFrame, tmp_path: Path, every: object) -> None:
    with pytest.raises(ParameterError, match="checkpoint_every must be an int >= 1"):
        TabularSynthesizer(**SMALL).fit(frame, checkpoint_dir=tmp_path, checkpoint_every=every)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
