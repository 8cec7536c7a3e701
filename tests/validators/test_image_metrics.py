"""Image metrics with known answers: identical sets score best, disjoint sets worst, copies of train are flagged."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits

from validators import DEFAULT_BOUNDS, ClassifierFileError, FeatureClassifier, MetricInputError, evaluate_images
from validators.image import conditional_accuracy, frechet_distance, image_prdc, kid, memorisation_share

Split = dict[str, np.ndarray]


@pytest.fixture(scope="module")
def digits() -> Split:
    """sklearn's 8x8 digits as uint8, split 1200 train / 300 holdout / 297 other real images."""
    data = load_digits()
    images = (data.images * 255 / 16).round().astype(np.uint8)
    order = np.random.default_rng(0).permutation(len(images))
    images, labels = images[order], data.target[order].astype(np.int64)
    return {
        "train": images[:1200], "train_labels": labels[:1200],
        "holdout": images[1200:1500], "holdout_labels": labels[1200:1500],
        "other": images[1500:], "other_labels": labels[1500:],
    }  # fmt: skip


@pytest.fixture(scope="module")
def classifier(digits: Split) -> FeatureClassifier:
    return FeatureClassifier(epochs=3, seed=0).fit(digits["train"], digits["train_labels"])


@pytest.fixture(scope="module")
def features(digits: Split, classifier: FeatureClassifier) -> Split:
    return {name: classifier.features(digits[name]) for name in ("train", "holdout", "other")}


def _noise(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 8, 8)).astype(np.uint8)


def test_classifier_learns_and_round_trips(digits: Split, classifier: FeatureClassifier, tmp_path: Path) -> None:
    assert np.mean(classifier.predict(digits["holdout"]) == digits["holdout_labels"]) > 0.9
    assert classifier.features(digits["holdout"]).dtype == np.float32
    same = FeatureClassifier.load(classifier.save(tmp_path / "clf"))
    assert same.get_params() == classifier.get_params()
    np.testing.assert_array_equal(same.features(digits["holdout"]), classifier.features(digits["holdout"]))
    np.testing.assert_array_equal(same.predict(digits["holdout"]), classifier.predict(digits["holdout"]))


def test_classifier_is_seeded_and_keeps_string_labels(digits: Split, tmp_path: Path) -> None:
    images, labels = digits["train"][:200], np.array([f"digit {v}" for v in digits["train_labels"][:200]], dtype=object)
    torch_state, numpy_state = torch.random.get_rng_state(), np.random.get_state()
    first = FeatureClassifier(epochs=1, seed=3, device="cpu").fit(images, labels)
    second = FeatureClassifier(epochs=1, seed=3, device="cpu").fit(images, labels)
    assert torch.equal(torch.random.get_rng_state(), torch_state)  # global RNGs untouched
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])
    np.testing.assert_array_equal(first.features(images), second.features(images))
    predicted = FeatureClassifier.load(first.save(tmp_path / "str")).predict(images[:5])
    assert predicted.dtype == object and all(p.startswith("digit ") for p in predicted)


@pytest.mark.parametrize("shape", [(5, 7, 3), (12, 9, 1), (3, 3)])
def test_classifier_takes_rgb_and_odd_sizes(shape: tuple[int, ...]) -> None:
    images = np.random.default_rng(0).integers(0, 256, size=(40, *shape)).astype(np.uint8)
    labels = np.arange(40) % 2
    model = FeatureClassifier(epochs=1, device="cpu").fit(images, labels)
    assert model.features(images).shape == (40, 128) and set(model.predict(images)) <= {0, 1}
    with pytest.raises(MetricInputError, match="channel"):
        model.features(np.zeros((2, 5, 7, 3 if len(shape) == 2 or shape[2] == 1 else 1), dtype=np.uint8))


def test_classifier_refuses_bad_input_and_damaged_files(digits: Split, tmp_path: Path) -> None:
    with pytest.raises(MetricInputError, match="epochs"):
        FeatureClassifier(epochs=0).fit(digits["train"], digits["train_labels"])
    with pytest.raises(MetricInputError, match="uint8"):
        FeatureClassifier().fit(digits["train"].astype(np.float32), digits["train_labels"])
    with pytest.raises(MetricInputError, match="not fitted"):
        FeatureClassifier().features(digits["train"])
    with pytest.raises(ClassifierFileError, match="missing"):
        FeatureClassifier.load(tmp_path / "nowhere")
    folder = FeatureClassifier(epochs=1).fit(digits["train"][:100], digits["train_labels"][:100]).save(tmp_path / "c")
    (folder / "weights.pt").write_bytes(b"not a state dict")
    with pytest.raises(ClassifierFileError, match=r"weights\.pt"):
        FeatureClassifier.load(folder)
    (folder / "classifier.json").write_text("{")
    with pytest.raises(ClassifierFileError, match="malformed"):
        FeatureClassifier.load(folder)


def test_conditional_accuracy(digits: Split, classifier: FeatureClassifier) -> None:
    holdout, labels = digits["holdout"], digits["holdout_labels"]
    same = conditional_accuracy(classifier, holdout, labels, holdout, labels)
    assert same.value == same.reference > 0.9 and same.details["ratio"] == 1.0 and same.status == "pass"
    shuffled = np.random.default_rng(0).permutation(labels)
    wrong = conditional_accuracy(classifier, holdout, shuffled, holdout, labels)
    assert wrong.value < 0.3 and wrong.status == "fail"
    assert set(wrong.details["per_class"]) == set(range(10))


def test_frechet_distance_and_kid(features: Split) -> None:
    train, holdout, other = features["train"], features["holdout"], features["other"]
    identical = frechet_distance(train, train, train)
    assert identical.value == pytest.approx(0.0, abs=1e-6) and identical.status == "pass"
    real = frechet_distance(train, other, holdout)
    assert real.status == "pass" and real.value < real.reference + 2
    as_holdout = frechet_distance(train, holdout, holdout)
    assert as_holdout.value == pytest.approx(as_holdout.reference)
    # about 0; a little below when the subsets share images (unbiased MMD counts a shared image as a near pair)
    assert abs(kid(train, train, train).value) < 0.1
    assert kid(train, other, holdout).status == "pass"
    one_class = train[:300][np.argsort(np.linalg.norm(train[:300] - train[0], axis=1))[:60]]  # 60 look-alikes
    collapsed = frechet_distance(train, one_class, holdout)
    assert collapsed.value > collapsed.reference + 10 and collapsed.status == "fail"
    assert kid(train, one_class, holdout).status == "fail"


def test_prdc_identical_disjoint_and_mode_collapse(
    digits: Split, classifier: FeatureClassifier, features: Split
) -> None:
    train, holdout = features["train"], features["holdout"]
    train_labels, holdout_labels = digits["train_labels"], digits["holdout_labels"]

    def prdc(synthetic: np.ndarray, synthetic_labels: np.ndarray, real: np.ndarray = holdout) -> dict[str, Any]:
        labels = train_labels if real is train else holdout_labels
        records = image_prdc(train, synthetic, real, train_labels=train_labels, synthetic_labels=synthetic_labels,
                             holdout_labels=labels)  # fmt: skip
        return {r.name.removeprefix("image_"): r for r in records}

    identical = prdc(train, train_labels, real=train)
    for name in ("precision", "recall", "coverage"):
        assert identical[name].value == 1.0 and identical[name].status == "pass"
        assert all(entry["value"] == 1.0 for entry in identical[name].details["per_class"].values())
    assert identical["density"].value == pytest.approx(1.2, abs=0.01)  # each point sits in its own ball: 1 + 1/k
    disjoint = prdc(classifier.features(_noise(300)), holdout_labels)
    assert disjoint["coverage"].value < 0.2 and disjoint["recall"].value < 0.2
    assert all(r.status == "fail" for r in disjoint.values())
    # Mode collapse: one image per class, repeated 30 times.
    firsts = np.array([np.flatnonzero(holdout_labels == c)[0] for c in range(10)]).repeat(30)
    collapsed = prdc(holdout[firsts], holdout_labels[firsts])
    assert collapsed["coverage"].value < 0.3 and collapsed["recall"].value < 0.1
    assert collapsed["coverage"].status == "fail" and collapsed["recall"].status == "fail"
    assert all(entry["value"] < 0.5 for entry in collapsed["coverage"].details["per_class"].values())
    # A missing class gets a per-class entry without a value, not a crash.
    no_fours = holdout_labels != 4
    missing = prdc(holdout[no_fours], holdout_labels[no_fours])["coverage"].details["per_class"]
    assert missing[4]["value"] is None and missing[3]["value"] is not None


def test_memorisation_flags_copies_and_not_real_images(digits: Split) -> None:
    train, holdout = digits["train"], digits["holdout"]
    copied = memorisation_share(train, train[:300], holdout)
    assert copied.value == 1.0 and copied.status == "fail"
    assert copied.details["exact_copies"] == 300
    pairs = copied.details["closest_pairs"]
    assert len(pairs) == 8 and all(p["distance"] == 0.0 for p in pairs)
    assert all(np.array_equal(train[p["train_index"]], train[p["synthetic_index"]]) for p in pairs)
    real = memorisation_share(train, holdout, holdout)
    assert real.value == pytest.approx(0.01, abs=0.005)  # the holdout against its own 1st percentile
    assert real.status == "pass" and real.reference < 0.05 and real.details["exact_copies"] == 0
    fresh = memorisation_share(train, digits["other"], holdout)
    assert fresh.status != "fail"  # 297 real images: 9 fall below the line (3 %, a warning) by sampling noise alone
    distances = [p["distance"] for p in fresh.details["closest_pairs"]]
    assert distances == sorted(distances) and distances[0] > 0


def _verdict_failures(report_failures: tuple[str, ...]) -> set[str]:
    return {line.split(" ")[0] for line in report_failures}


def test_evaluate_images_verdicts(digits: Split, classifier: FeatureClassifier) -> None:
    real = (digits["train"], digits["train_labels"])
    holdout = (digits["holdout"], digits["holdout_labels"])
    passed = evaluate_images(*real, *holdout, *holdout, classifier=classifier)
    assert passed.verdict.status == "passed", passed.to_text()
    assert [m.name for m in passed.metrics] == [
        "conditional_accuracy", "frechet_distance", "kid", "image_precision", "image_recall", "image_density",
        "image_coverage", "memorisation_share",
    ]  # fmt: skip
    assert passed.context["sample_images"] == 300 and passed.context["classifier_holdout_accuracy"] > 0.9
    copied = evaluate_images(
        *real, digits["train"][:400], digits["train_labels"][:400], *holdout, classifier=classifier
    )
    assert copied.verdict.status == "failed"
    assert "memorisation_share" in _verdict_failures(copied.verdict.failures)
    noise = evaluate_images(*real, _noise(300), digits["holdout_labels"], *holdout, classifier=classifier)
    assert noise.verdict.status == "failed"
    assert {"conditional_accuracy", "frechet_distance", "kid", "image_coverage"} <= _verdict_failures(
        noise.verdict.failures
    )
    warned = evaluate_images(
        *real, _noise(300), digits["holdout_labels"], *holdout, classifier=classifier, enforce=False
    )
    assert warned.verdict.status == "warned"


def test_evaluate_images_trains_its_own_classifier_on_string_labels(digits: Split) -> None:
    def named(labels: np.ndarray) -> np.ndarray:
        return np.array([f"digit {v}" for v in labels], dtype=object)

    real = (digits["train"][:600], named(digits["train_labels"][:600]))
    holdout = (digits["holdout"], named(digits["holdout_labels"]))
    report = evaluate_images(*real, digits["other"], named(digits["other_labels"]), *holdout, seed=1)
    assert report.context["classifier_trained_here"] is True
    assert report.verdict.status in ("passed", "warned"), report.to_text()
    assert set(report.metric("image_coverage").details["per_class"]) == {f"digit {v}" for v in range(10)}
    json.loads(report.to_json())


def test_evaluate_images_refuses_inputs_it_cannot_compare(digits: Split, classifier: FeatureClassifier) -> None:
    train, labels = digits["train"], digits["train_labels"]
    holdout, holdout_labels = digits["holdout"], digits["holdout_labels"]
    rgb = np.repeat(holdout[..., None], 3, axis=3)
    bad = {
        "uint8": (holdout.astype(np.float32), holdout_labels),
        "one shape": (rgb, holdout_labels),
        "at least 20": (holdout[:19], holdout_labels[:19]),
        "does not have": (holdout, np.where(holdout_labels == 3, 11, holdout_labels)),
        "one per image": (holdout, holdout_labels[:-1]),
    }
    for message, (images, image_labels) in bad.items():
        with pytest.raises(MetricInputError, match=message):
            evaluate_images(train, labels, images, image_labels, holdout, holdout_labels, classifier=classifier)
    with pytest.raises(MetricInputError, match="does not have"):
        evaluate_images(train, labels, holdout, holdout_labels.astype(str).astype(object), holdout, holdout_labels,
                        classifier=classifier)  # fmt: skip
    with pytest.raises(MetricInputError, match="trained on images shaped"):
        evaluate_images(np.repeat(train[..., None], 3, axis=3), labels, rgb, holdout_labels, rgb, holdout_labels,
                        classifier=classifier)  # fmt: skip


def _decode(uri: str) -> np.ndarray:
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri[len(prefix) :]))))


def test_report_shows_sample_grids_and_closest_pairs(digits: Split, classifier: FeatureClassifier) -> None:
    real = (digits["train"], digits["train_labels"])
    report = evaluate_images(*real, digits["train"][:300], digits["train_labels"][:300],
                             digits["holdout"], digits["holdout_labels"], classifier=classifier)  # fmt: skip
    grids = report.figures["sample_grids"]
    assert set(grids) == {str(v) for v in range(10)}
    tiles = _decode(grids["3"]["synthetic"])
    assert tiles.dtype == np.uint8 and tiles.shape == (48, 8 * 48 + 7 * 2)  # 8 images enlarged to 48 px, 2 px gaps
    pair = report.figures["closest_pairs"][0]
    assert pair["distance"] == 0.0 and _decode(pair["image"]).shape == (48 * 2 + 2, 48)
    page = report.to_html(title="Digits")
    assert page.count("data:image/png;base64,") == 2 * 10 + 8
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "Closest generated-training pairs" in page and "Not measured" not in page
    assert "memorisation_share" in report.to_text()


def test_image_bounds_are_defaults_the_gate_finds() -> None:
    names = ("conditional_accuracy", "frechet_distance", "kid", "image_precision", "image_recall", "image_density",
             "image_coverage", "memorisation_share")  # fmt: skip
    assert all(name in DEFAULT_BOUNDS for name in names)
