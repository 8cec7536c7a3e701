"""Benchmark of the image GAN on Fashion-MNIST: training and sampling images/s, and the image suite's figures after
a fixed budget of epochs.

Trains on the 60,000-image training split from ../shared/data/fashion-mnist when it is there (else on 8,000 of the
bundled 10,000 test images) and measures against the official test split (else the other 2,000). Prints one JSON line
per measurement (name, device, rows, seconds, peak_mem_mb, versions, git_sha, ...). Run with
`python bench/bench_image.py --epochs 10`. Never collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from record import emit

import validators
from synth import ImageSynthesizer
from synth.image.datasets import ImageSet, read_image_set

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz"
SHARED = ROOT.parent / "shared" / "data" / "fashion-mnist" / "train-images-idx3-ubyte.gz"


def _subset(found: ImageSet, index: np.ndarray) -> ImageSet:
    return ImageSet(found.images[index], found.labels[index])


def _data(train_images: int | None) -> tuple[ImageSet, ImageSet, str]:
    """(train, holdout, where they came from)."""
    test = read_image_set(BUNDLED)
    if SHARED.is_file():
        train, holdout, origin = read_image_set(SHARED), test, "fashion-mnist train (60k) vs test (10k)"
    else:
        order = np.random.default_rng(0).permutation(len(test))
        train, holdout = _subset(test, np.sort(order[2000:])), _subset(test, np.sort(order[:2000]))
        origin = "bundled fashion-mnist test split: 8,000 train vs 2,000 holdout"
    if train_images is not None and train_images < len(train):
        train = _subset(train, np.sort(np.random.default_rng(1).choice(len(train), train_images, replace=False)))
    return train, holdout, origin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--train-images", type=int, default=None, help="a seeded subset of the training images")
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=None, help="default: the model's own")
    parser.add_argument("--augment", default=None, help='DiffAugment policy, e.g. "translation"; "" for none')
    parser.add_argument("--ema-decay", type=float, default=None, help="default: the model's own")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sample-images", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    train, holdout, origin = _data(args.train_images)
    print(json.dumps({"data": origin, "train_images": len(train), "holdout_images": len(holdout)}), flush=True)
    tuned = {"learning_rate": args.learning_rate, "augment": args.augment, "ema_decay": args.ema_decay}
    model = ImageSynthesizer(
        epochs=args.epochs, batch_size=args.batch_size, channels=args.channels, seed=args.seed, device=args.device,
        **{name: value for name, value in tuned.items() if value is not None},
    )  # fmt: skip
    started = time.perf_counter()
    model.fit(train.images, train.labels)
    if model.device_.type == "cuda":
        torch.cuda.synchronize()
    fit_total = time.perf_counter() - started
    device = str(model.device_)
    epoch_seconds = [s.seconds for s in model.history_]
    steady = float(np.median(epoch_seconds[1:] if len(epoch_seconds) > 1 else epoch_seconds))
    params = {name: value for name, value in model.get_params().items() if name != "device"}
    emit("image_fit_total", device, len(train), fit_total, **params)
    emit("image_seconds_per_epoch", device, len(train), steady, training_images_per_s=round(len(train) / steady))

    model.sample(256, seed=0)  # warm-up
    started = time.perf_counter()
    model.sample(args.sample_images, seed=1)
    if model.device_.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    emit("image_sample", device, args.sample_images, seconds, images_per_s=round(args.sample_images / seconds))

    started = time.perf_counter()
    classifier = validators.FeatureClassifier(epochs=5, seed=0, device=args.device).fit(train.images, train.labels)
    emit("feature_classifier_fit", device, len(train), time.perf_counter() - started)
    synthetic_images, synthetic_labels = model.sample(len(holdout), seed=2)
    started = time.perf_counter()
    report = validators.evaluate_images(
        train.images, train.labels, synthetic_images, synthetic_labels, holdout.images, holdout.labels,
        classifier=classifier, seed=0,
    )  # fmt: skip
    evaluate_seconds = time.perf_counter() - started
    for metric in report.metrics:
        ratio = metric.value / metric.reference if metric.reference else float("nan")
        emit(
            f"metric_{metric.name}", device, len(synthetic_images), evaluate_seconds, value=round(metric.value, 4),
            reference=round(metric.reference, 4), ratio_to_reference=round(ratio, 3), status=metric.status,
        )  # fmt: skip
    emit("peak_memory", device, len(train), 0.0)


if __name__ == "__main__":
    main()
