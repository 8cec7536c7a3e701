"""The ImageSynthesizer contract: estimator rules, input checks, exact class counts, shapes, save/load, determinism."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits

from synth import (
    ConditionError,
    ImageEpochStats,
    ImageSynthesizer,
    ModelFileError,
    NotFittedError,
    ParameterError,
)
from synth.errors import ImageDataError

FAST = {"epochs": 1, "batch_size": 32, "channels": 16, "noise_dim": 32, "device": "cpu"}


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """300 of scikit-learn's 8x8 digits as uint8 pixels, with int64 labels 0-9."""
    data = load_digits()
    images = (data.images[:300] * 255 / 16).round().astype(np.uint8)
    return images, data.target[:300].astype(np.int64)


@pytest.fixture(scope="module")
def fitted(digits: tuple[np.ndarray, np.ndarray]) -> ImageSynthesizer:
    return ImageSynthesizer(seed=0, **FAST).fit(*digits)


def _largest_remainder(n: int, counts: list[int]) -> list[int]:
    """The expected split, written independently: floors of the exact quotas, then +1 for the largest fractions."""
    quotas = [n * c / sum(counts) for c in counts]
    shares = [int(q) for q in quotas]
    order = sorted(range(len(counts)), key=lambda i: quotas[i] - shares[i], reverse=True)
    for i in order[: n - sum(shares)]:
        shares[i] += 1
    return shares


# the estimator contract
def test_defaults_params_and_clone() -> None:
    signature = inspect.signature(ImageSynthesizer)
    assert ImageSynthesizer().get_params() == {name: p.default for name, p in signature.parameters.items()}
    model = ImageSynthesizer(epochs=7, seed=3, augment="")
    copy = clone(model)
    assert copy.get_params() == model.get_params() and copy is not model
    assert model.set_params(channels=8).channels == 8
    with pytest.raises(ParameterError, match="unknown parameter"):
        model.set_params(colour=True)


def test_fit_returns_self_and_sample_before_fit_raises(digits: tuple[np.ndarray, np.ndarray]) -> None:
    model = ImageSynthesizer(seed=0, **FAST)
    with pytest.raises(NotFittedError, match="call fit"):
        model.sample(5)
    stats: list[ImageEpochStats] = []
    assert model.fit(*digits, progress=stats.append) is model
    assert stats == model.history_ and [s.epoch for s in stats] == [1]
    assert model.seed_ == 0 and str(model.device_) == "cpu"
    assert model.classes_ == list(range(10)) and all(type(c) is int for c in model.classes_)
    assert model.class_counts_ == np.bincount(digits[1]).tolist() and model.image_shape_ == (8, 8)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"channels": True}, "channels"),
        ({"noise_dim": -1}, "noise_dim"),
        ({"seed": -1}, "seed"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"ema_decay": 1.0}, "ema_decay"),
        ({"augment": "color,blur"}, "augment"),
        ({"augment": "color,color"}, "augment"),
        ({"augment": None}, "augment"),
        ({"device": "not-a-device"}, "device"),
    ],
)
def test_bad_params_raise_parameter_error(
    params: dict[str, Any], named: str, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    with pytest.raises(ParameterError, match=named):
        ImageSynthesizer(**{**FAST, **params}).fit(*digits)


_BAD_DATA: dict[str, tuple[Callable[[np.ndarray, np.ndarray], tuple[Any, Any]], str]] = {
    "float pixels": (lambda x, y: (x.astype(np.float32), y), "uint8"),
    "a list": (lambda x, y: (x.tolist(), y), "numpy uint8 array"),
    "flat images": (lambda x, y: (x.reshape(len(x), -1), y), "shape"),
    "four channels": (lambda x, y: (np.repeat(x[..., None], 4, axis=3), y), "alpha"),
    "too small": (lambda x, y: (x[:, :7, :7], y), "8 to 128"),
    "too large": (lambda x, y: (np.zeros((len(x), 8, 129), np.uint8), y), "8 to 128"),
    "too few images": (lambda x, y: (x[:9], y[:9]), "at least 10 images"),
    "label count": (lambda x, y: (x, y[:-1]), "one label per image"),
    "2-D labels": (lambda x, y: (x, y[:, None]), "1-D"),
    "mixed labels": (lambda x, y: (x, np.array([1, "a"] * (len(y) // 2), dtype=object)), "all ints or all strs"),
    "float labels": (lambda x, y: (x, y.astype(float)), "all ints or all strs"),
    "bool labels": (lambda x, y: (x, y % 2 == 0), "all ints or all strs"),
    "lonely class": (lambda x, y: (x, np.where(np.arange(len(y)) == 0, 99, y)), "at least 2 images"),
}


@pytest.mark.parametrize("case", sorted(_BAD_DATA))
def test_bad_images_raise_image_data_error(case: str, digits: tuple[np.ndarray, np.ndarray]) -> None:
    make, message = _BAD_DATA[case]
    with pytest.raises(ImageDataError, match=message):
        ImageSynthesizer(**FAST).fit(*make(*digits))


# sampling
def test_per_class_gives_exact_counts_in_order(fitted: ImageSynthesizer) -> None:
    images, labels = fitted.sample(per_class={3: 7, 8: 5}, seed=1)
    assert images.shape == (12, 8, 8) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and labels.tolist() == [3] * 7 + [8] * 5
    images, labels = fitted.sample(per_class={np.int64(0): 2, 1: 0}, seed=1)
    assert images.shape == (2, 8, 8) and labels.tolist() == [0, 0]
    images, labels = fitted.sample(per_class={}, seed=1)
    assert images.shape == (0, 8, 8) and labels.shape == (0,)


@pytest.mark.parametrize("n", [0, 1, 7, 101, 1234])
def test_n_follows_the_training_mix_by_largest_remainder(fitted: ImageSynthesizer, n: int) -> None:
    images, labels = fitted.sample(n, seed=2)
    assert images.shape == (n, 8, 8) and len(labels) == n
    counts = np.bincount(labels, minlength=10).tolist()
    assert counts == _largest_remainder(n, fitted.class_counts_)


def test_sampling_arguments_are_checked(fitted: ImageSynthesizer) -> None:
    for bad in [{}, {"n": 3, "per_class": {1: 1}}, {"n": -1}, {"n": 2.0}, {"per_class": {1: -1}}]:
        with pytest.raises(ParameterError):
            fitted.sample(**bad)
    with pytest.raises(ParameterError, match="per_class counts"):
        fitted.sample(per_class={1: 1.5})
    with pytest.raises(ParameterError, match="seed"):
        fitted.sample(3, seed=-2)
    with pytest.raises(ConditionError, match=r"unknown class 10 .*classes are \[0, 1, 2"):
        fitted.sample(per_class={10: 1})
    with pytest.raises(ConditionError, match="unknown class '3'"):
        fitted.sample(per_class={"3": 1})


def test_same_seed_same_images_and_fresh_seed_otherwise(fitted: ImageSynthesizer) -> None:
    first, labels = fitted.sample(50, seed=5)
    again, labels_again = fitted.sample(50, seed=5)
    assert np.array_equal(first, again) and np.array_equal(labels, labels_again)
    assert not np.array_equal(first, fitted.sample(50, seed=6)[0])
    assert not np.array_equal(fitted.sample(50)[0], fitted.sample(50)[0])


@pytest.mark.parametrize("shape", [(8, 8, 1), (28, 28, 3), (10, 13), (16, 9, 3)])
def test_output_has_the_input_shape_and_str_labels_round_trip(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (24, *shape), dtype=np.uint8)
    labels = np.array(["cat", "dog", "emu"] * 8, dtype=object if len(shape) == 2 else str)  # object or '<U3'
    model = ImageSynthesizer(seed=0, augment="color,translation", **{**FAST, "channels": 8, "batch_size": 8})
    model.fit(images, labels)
    assert model.classes_ == ["cat", "dog", "emu"] and model.image_shape_ == shape
    out, out_labels = model.sample(per_class={"emu": 2, "cat": 3}, seed=0)
    assert out.shape == (5, *shape) and out.dtype == np.uint8
    assert out_labels.dtype == object and out_labels.tolist() == ["emu"] * 2 + ["cat"] * 3
    assert model.sample(6, seed=0)[1].tolist().count("dog") == 2


def test_same_seed_fit_twice_gives_identical_samples(digits: tuple[np.ndarray, np.ndarray]) -> None:
    first = ImageSynthesizer(seed=4, **FAST).fit(*digits)
    second = ImageSynthesizer(seed=4, **FAST).fit(*digits)
    assert np.array_equal(first.sample(40, seed=1)[0], second.sample(40, seed=1)[0])
    assert [s.generator_loss for s in first.history_] == [s.generator_loss for s in second.history_]


def test_a_second_fit_replaces_the_first(fitted: ImageSynthesizer, digits: tuple[np.ndarray, np.ndarray]) -> None:
    model = clone(fitted)
    model.fit(*digits)
    keep = digits[1] < 3
    model.fit(digits[0][keep][..., None], digits[1][keep])
    assert model.classes_ == [0, 1, 2] and model.image_shape_ == (8, 8, 1)
    assert model.sample(4, seed=0)[0].shape == (4, 8, 8, 1)


def test_global_random_state_is_untouched(digits: tuple[np.ndarray, np.ndarray]) -> None:
    torch_state, numpy_state = torch.random.get_rng_state(), np.random.get_state()
    model = ImageSynthesizer(**FAST).fit(*digits)  # seed=None draws its own seed, not from the global RNGs
    model.sample(20, seed=1)
    model.sample(per_class={2: 3})
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    after = np.random.get_state()
    assert after[0] == numpy_state[0] and np.array_equal(after[1], numpy_state[1]) and after[2:] == numpy_state[2:]


# save / load
def test_save_load_reproduces_samples(fitted: ImageSynthesizer, tmp_path: Path) -> None:
    target = tmp_path / "digits-model"
    assert fitted.save(target) == target
    assert fitted.save(target) == target  # an existing save is replaced whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digits-model"]
    loaded = ImageSynthesizer.load(target)
    assert loaded.get_params() == fitted.get_params()
    assert loaded.classes_ == fitted.classes_ and loaded.class_counts_ == fitted.class_counts_
    assert loaded.image_shape_ == fitted.image_shape_ and loaded.seed_ == fitted.seed_
    assert loaded.history_ == fitted.history_
    for n, per_class in [(77, None), (None, {9: 4, 2: 3})]:
        expected, expected_labels = fitted.sample(n, per_class=per_class, seed=3)
        images, labels = loaded.sample(n, per_class=per_class, seed=3)
        assert np.array_equal(images, expected) and np.array_equal(labels, expected_labels)
    state = json.loads((target / "model.json").read_text())
    assert state["classes_"] == list(range(10)) and state["image_shape_"] == [8, 8]
    assert ImageSynthesizer.load(target, device="cpu").device == "cpu"


def test_missing_or_damaged_files_raise_model_file_error(fitted: ImageSynthesizer, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="missing"):
        ImageSynthesizer.load(tmp_path / "nowhere")
    target = fitted.save(tmp_path / "model")
    weights = (target / "generator.pt").read_bytes()
    (target / "generator.pt").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(ModelFileError, match=r"generator\.pt"):
        ImageSynthesizer.load(target)
    (target / "generator.pt").write_bytes(b"not a torch file")
    with pytest.raises(ModelFileError, match=r"generator\.pt"):
        ImageSynthesizer.load(target)
    fitted.save(target)
    params = json.loads((target / "params.json").read_text())
    (target / "params.json").write_text(json.dumps({**params, "channels": 8}))
    with pytest.raises(ModelFileError, match=r"generator\.pt"):  # weights of another width
        ImageSynthesizer.load(target)
    fitted.save(target)
    state = json.loads((target / "model.json").read_text())
    (target / "model.json").write_text(json.dumps({**state, "format_version": state["format_version"] + 1}))
    with pytest.raises(ModelFileError, match=r"by a newer synth-pipeline.*upgrade synth-pipeline"):
        ImageSynthesizer.load(target)
    (target / "model.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="malformed"):
        ImageSynthesizer.load(target)


def test_save_before_fit_raises(tmp_path: Path) -> None:
    with pytest.raises(NotFittedError):
        ImageSynthesizer().save(tmp_path / "model")
