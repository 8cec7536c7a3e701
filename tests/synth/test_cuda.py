"""The tabular and image synthesizers on a CUDA GPU: seeded runs repeat there, and saves move between the GPU and
the CPU. Marked ``cuda``: skipped without a GPU; ``make test-gpu`` runs them where there is one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from synth import ImageSynthesizer, TabularSynthesizer
from synth.schema import table_to_frame
from tests.conftest import ADULT

pytestmark = pytest.mark.cuda

SMALL: dict[str, Any] = {
    "epochs": 2,
    "batch_size": 200,
    "generator_dims": (32,),
    "discriminator_dims": (32,),
    "seed": 0,
}


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    table = pq.read_table(ADULT)
    return table_to_frame(table.take(np.arange(2000)))


def test_a_seeded_tabular_fit_repeats_on_the_gpu(adult: pd.DataFrame) -> None:
    first = TabularSynthesizer(device="cuda", **SMALL).fit(adult)
    second = TabularSynthesizer(device="cuda", **SMALL).fit(adult)
    assert first.device_.type == "cuda"
    pd.testing.assert_frame_equal(first.sample(300, seed=1), second.sample(300, seed=1))


def test_a_tabular_save_moves_from_the_gpu_to_the_cpu_and_back(adult: pd.DataFrame, tmp_path: Path) -> None:
    model = TabularSynthesizer(device="cuda", **SMALL).fit(adult)
    on_cpu = TabularSynthesizer.load(model.save(tmp_path / "gpu"), device="cpu")
    rows = on_cpu.sample(300, seed=1)
    assert len(rows) == 300 and list(rows.dtypes) == list(adult.dtypes)
    back = TabularSynthesizer.load(on_cpu.save(tmp_path / "cpu"), device="cuda")
    pd.testing.assert_frame_equal(back.sample(300, seed=1), model.sample(300, seed=1))


def test_a_seeded_image_fit_repeats_on_the_gpu_and_loads_on_the_cpu(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, size=(256, 28, 28)).astype(np.uint8)
    labels = np.arange(256) % 4
    settings: dict[str, Any] = {"epochs": 1, "batch_size": 64, "seed": 0, "device": "cuda"}
    first = ImageSynthesizer(**settings).fit(images, labels)
    second = ImageSynthesizer(**settings).fit(images, labels)
    drawn, drawn_labels = first.sample(32, seed=1)
    again, again_labels = second.sample(32, seed=1)
    np.testing.assert_array_equal(drawn, again)
    np.testing.assert_array_equal(drawn_labels, again_labels)
    on_cpu = ImageSynthesizer.load(first.save(tmp_path / "gan"), device="cpu")
    cpu_images, _ = on_cpu.sample(32, seed=1)
    assert cpu_images.shape == drawn.shape and cpu_images.dtype == np.uint8
