"""The image metrics on a CUDA GPU: the feature classifier trains, saves and loads there, starts from the weights a
CPU would draw for its seed, and ``evaluate_images`` runs. Marked ``cuda``: skipped without a GPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from validators import FeatureClassifier, evaluate_images
from validators.image_features import _build

pytestmark = pytest.mark.cuda


def _digits() -> tuple[np.ndarray, np.ndarray]:
    data = load_digits()
    return (data.images * 255 / 16).round().astype(np.uint8), data.target.astype(np.int64)


def test_a_seed_draws_the_same_classifier_weights_on_the_gpu_as_on_the_cpu() -> None:
    cpu = _build(1, 10, torch.device("cpu"), torch.Generator().manual_seed(3))
    gpu = _build(1, 10, torch.device("cuda"), torch.Generator().manual_seed(3))
    for (name, a), (_, b) in zip(cpu.state_dict().items(), gpu.state_dict().items(), strict=True):
        assert b.device.type == "cuda", name
        torch.testing.assert_close(a, b.cpu())


def test_the_classifier_trains_saves_and_loads_on_the_gpu(tmp_path: Path) -> None:
    images, labels = _digits()
    model = FeatureClassifier(epochs=1, seed=0, device="cuda").fit(images[:600], labels[:600])
    loaded = FeatureClassifier.load(model.save(tmp_path / "classifier"), device="cuda")
    np.testing.assert_allclose(loaded.features(images[:50]), model.features(images[:50]), rtol=1e-4, atol=1e-4)
    on_cpu = FeatureClassifier.load(tmp_path / "classifier", device="cpu")
    np.testing.assert_allclose(on_cpu.features(images[:50]), model.features(images[:50]), rtol=1e-3, atol=1e-3)


def test_evaluate_images_runs_on_the_gpu() -> None:
    images, labels = _digits()
    classifier = FeatureClassifier(epochs=1, seed=0, device="cuda").fit(images[:1000], labels[:1000])
    report = evaluate_images(
        images[:1000], labels[:1000], images[1000:1400], labels[1000:1400], images[1400:], labels[1400:],
        classifier=classifier, enforce=False,
    )  # fmt: skip
    assert report.verdict.status in {"passed", "warned", "failed"} and len(report.metrics) > 5
