"""Generation calibrated after training: conditions drawn so that a fitted generator writes each discrete column's
levels in the real shares, and each warped number's generated scores mapped so its values come out in the real
values' shares."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from synth import TabularSynthesizer
from synth.schema import table_to_frame
from synth.tabular.calibration import calibrated_shares, slot_shares
from synth.tabular.codecs import NumericCodec
from tests.conftest import ADULT

WIDTHS = [3, 2]
TARGET = np.array([0.90, 0.09, 0.01, 0.5, 0.5])


def _biased_generator(shares: np.ndarray) -> np.ndarray:
    """A generator that writes a column's condition when conditioned on it (half the rows) and otherwise its own
    biased shares, which drop the rare level and favour the second."""
    own = np.array([0.85, 0.15, 0.00, 0.6, 0.4])
    return shares / len(WIDTHS) + own * (1 - 1 / len(WIDTHS))


def test_the_calibrated_shares_bring_a_biased_generator_to_the_real_shares() -> None:
    before = np.abs(_biased_generator(TARGET) - TARGET).sum()
    shares = calibrated_shares(TARGET, WIDTHS, _biased_generator)
    after = np.abs(_biased_generator(shares) - TARGET).sum()
    assert before > 0.15 and after < 0.05 * before
    assert _biased_generator(shares)[2] > 0.009  # the dropped level comes out in about its real share
    np.testing.assert_allclose([shares[:3].sum(), shares[3:].sum()], [1.0, 1.0])
    assert (shares >= 0).all()


def test_a_generator_already_on_the_real_shares_keeps_them_and_no_round_makes_it_worse() -> None:
    assert calibrated_shares(TARGET, WIDTHS, lambda shares: TARGET.copy()) is TARGET
    # a generator that ignores its conditions cannot be moved: the real shares, the first tried, are kept
    ignoring = np.array([0.5, 0.3, 0.2, 0.9, 0.1])
    assert calibrated_shares(TARGET, WIDTHS, lambda shares: ignoring) is TARGET

    # one where a condition moves its level's generated share five times as far as the calibration assumes (other
    # columns follow it): a half step overshoots, and the calibration backs off instead of running away
    def overshooting(shares: np.ndarray) -> np.ndarray:
        return 5 * _biased_generator(shares) - 4 * TARGET

    shares = calibrated_shares(TARGET, WIDTHS, overshooting)
    assert np.abs(overshooting(shares) - TARGET).sum() < np.abs(overshooting(TARGET) - TARGET).sum() / 4


def test_slot_shares_are_each_columns_shares_of_the_drawn_rows() -> None:
    slots = np.array([[0, 1], [0, 0], [2, 1], [0, 1]])
    np.testing.assert_allclose(slot_shares(slots, WIDTHS), [0.75, 0.0, 0.25, 0.25, 0.75])


def _level_gaps(real: pd.DataFrame, generated: pd.DataFrame, columns: list[str]) -> float:
    """Mean total variation between the real and the generated shares of each column's levels."""
    gaps = []
    for column in columns:
        real_shares = real[column].astype(object).value_counts(normalize=True, dropna=False)
        generated_shares = generated[column].astype(object).value_counts(normalize=True, dropna=False)
        gaps.append(0.5 * real_shares.subtract(generated_shares, fill_value=0).abs().sum())
    return float(np.mean(gaps))


@pytest.fixture(scope="module")
def briefly_fitted() -> tuple[TabularSynthesizer, pd.DataFrame]:
    """Ten quick epochs on 2,000 Adult rows: a generator that follows its conditions but not yet the real shares."""
    frame = table_to_frame(pq.read_table(ADULT).slice(0, 2000))
    return TabularSynthesizer(epochs=10, batch_size=100, learning_rate=1e-3, seed=0).fit(frame), frame


def test_a_fitted_model_samples_each_columns_levels_closer_to_the_real_shares(
    briefly_fitted: tuple[TabularSynthesizer, pd.DataFrame],
) -> None:
    model, frame = briefly_fitted
    columns = [c.name for c in model.schema_ if c.kind in ("categorical", "boolean")]
    calibrated = model.sample(20_000, seed=1)
    model.generation_shares_, kept = model._generation_sampler(None).count_shares.tolist(), model.generation_shares_
    try:
        uncalibrated = model.sample(20_000, seed=1)
    finally:
        model.generation_shares_ = kept
    before, after = _level_gaps(frame, uncalibrated, columns), _level_gaps(frame, calibrated, columns)
    assert after < 0.8 * before, (before, after)


def _value_gaps(real: pd.DataFrame, generated: pd.DataFrame, columns: list[str]) -> float:
    """Mean total variation between the real and the generated shares of 20 bins of each column's real values."""
    gaps = []
    for column in columns:
        edges = np.unique(np.quantile(real[column], np.linspace(0, 1, 21)[1:-1]))
        shares = [
            np.bincount(np.searchsorted(edges, f[column]), minlength=len(edges) + 1) / len(f) for f in (real, generated)
        ]
        gaps.append(0.5 * np.abs(shares[0] - shares[1]).sum())
    return float(np.mean(gaps))


def _warped(model: TabularSynthesizer) -> dict[str, NumericCodec]:
    return {
        spec.name: codec
        for spec, codec in zip(model.schema_, model.transformer_.encoders, strict=True)
        if isinstance(codec, NumericCodec) and codec.warp is not None
    }


def test_a_fitted_model_samples_each_numbers_values_closer_to_the_real_shares(
    briefly_fitted: tuple[TabularSynthesizer, pd.DataFrame],
) -> None:
    model, frame = briefly_fitted
    warped = _warped(model)
    smooth = ["age", "fnlwgt"]  # the others are mostly spikes, too few pilot rows off them for a map
    assert all(warped[name].generated_warp is not None for name in smooth)
    calibrated = model.sample(20_000, seed=1)
    kept = {name: codec.generated_warp for name, codec in warped.items()}
    try:
        for codec in warped.values():
            codec.generated_warp = None
        uncalibrated = model.sample(20_000, seed=1)
    finally:
        for name, codec in warped.items():
            codec.generated_warp = kept[name]
    before, after = _value_gaps(frame, uncalibrated, smooth), _value_gaps(frame, calibrated, smooth)
    assert after < 0.7 * before, (before, after)  # 0.079 and 0.033


def test_the_calibration_is_seeded_and_kept_with_the_model(
    briefly_fitted: tuple[TabularSynthesizer, pd.DataFrame], tmp_path: Path
) -> None:
    model, _ = briefly_fitted
    rows = model.sample(1_000, seed=2)
    warps = {name: codec.generated_warp for name, codec in _warped(model).items()}
    model._calibrate()
    assert model.generation_shares_ != model._generation_sampler(None).count_shares.tolist()
    assert sum(warp is not None for warp in warps.values()) >= 2
    for name, codec in _warped(model).items():
        before, again = warps[name], codec.generated_warp
        assert (before is None) == (again is None)
        if before is not None and again is not None:
            np.testing.assert_array_equal(again.values, before.values)
    model.save(tmp_path / "model")
    loaded = TabularSynthesizer.load(tmp_path / "model")
    assert loaded.generation_shares_ == model.generation_shares_
    pd.testing.assert_frame_equal(loaded.sample(1_000, seed=2), rows)
