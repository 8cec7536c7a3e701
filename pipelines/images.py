"""The image pipeline's steps: an image set in as a canonical table (PNG bytes, label, width, height), the
class-conditional GAN trained or reused, images generated in part files, and measured by the image suite."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.config import GenerateConfig, ModelConfig, PipelineConfig
from pipelines.errors import ConfigError, DataError
from pipelines.model_cache import check_cached, seal
from pipelines.publish import missing_folders, remove_if_empty
from pipelines.refs import ModelRef, ReportRef, SourceRef, SplitRef, TableRef
from pipelines.sources import file_sha256
from pipelines.steps import batch_seed, gate_bounds, model_key, reused_model, write_report
from synth import ImageSynthesizer, SynthError
from synth.image.datasets import ImageSet, decode_image, encode_png, read_image_set

__all__ = [
    "IMAGE_BATCH",
    "ImageMeta",
    "check_image_model",
    "generate_image_part",
    "image_frame",
    "image_table",
    "load_image_source",
    "measure_images",
    "read_images",
    "train_image_model",
]

log = logging.getLogger(__name__)

#: Images generated and held at once (one Parquet row group) unless ``generate.batch_rows`` says otherwise.
IMAGE_BATCH = 2_000
#: Fewer images than this per class cannot be split into a training part and a holdout worth measuring.
MIN_IMAGES_PER_CLASS = 4


@dataclass(frozen=True, slots=True)
class ImageMeta:
    """What an image table holds, kept as the source's ``schema_json`` and in the manifest."""

    image_shape: tuple[int, ...]
    classes: tuple[int | str, ...]
    label_type: str  # "int64" or "string"

    def to_json(self) -> str:
        return json.dumps(
            {"kind": "image", "image_shape": list(self.image_shape), "classes": list(self.classes),
             "label_type": self.label_type}
        )  # fmt: skip

    @classmethod
    def from_json(cls, text: str) -> ImageMeta:
        data = json.loads(text)
        return cls(tuple(data["image_shape"]), tuple(data["classes"]), data["label_type"])

    def arrow_schema(self) -> pa.Schema:
        label = pa.int64() if self.label_type == "int64" else pa.string()
        return pa.schema(
            [("image", pa.binary()), ("label", label), ("width", pa.int32()), ("height", pa.int32())]
        )  # fmt: skip

    def describe(self) -> str:
        shape = "x".join(map(str, self.image_shape[:2]))
        colour = "RGB" if len(self.image_shape) == 3 and self.image_shape[2] == 3 else "grayscale"
        shown = ", ".join(map(str, self.classes[:20])) + (", ..." if len(self.classes) > 20 else "")
        return f"images {shape} {colour}, {len(self.classes)} classes ({self.label_type} labels): {shown}"


def image_table(images: np.ndarray, labels: np.ndarray, meta: ImageMeta) -> pa.Table:
    """One row per image: lossless PNG bytes, the label, width and height."""
    height, width = images.shape[1], images.shape[2]
    n = len(images)
    label_values = labels.astype(np.int64) if meta.label_type == "int64" else labels.astype(str).astype(object)
    return pa.table(
        {
            "image": pa.array([encode_png(image) for image in images], pa.binary()),
            "label": pa.array(label_values, meta.arrow_schema().field("label").type),
            "width": pa.array(np.full(n, width, dtype=np.int32)),
            "height": pa.array(np.full(n, height, dtype=np.int32)),
        },
        schema=meta.arrow_schema(),
    )


def read_images(ref: TableRef, meta: ImageMeta) -> ImageSet:
    """Decode an image table a step wrote, refusing one whose bytes changed since."""
    path = Path(ref.path)
    if not path.is_file() or file_sha256(path) != ref.sha256:
        raise DataError(f"{path} is gone or changed after it was written")
    table = pq.read_table(path)
    images = np.stack(
        [decode_image(data, where=f"{path} row {i}") for i, data in enumerate(table["image"].to_pylist())]
    )
    if len(meta.image_shape) == 3 and meta.image_shape[2] == 1:
        images = images[..., None]
    labels = table["label"].to_numpy(zero_copy_only=False)
    return ImageSet(images, labels.astype(np.int64) if meta.label_type == "int64" else labels.astype(object))


def image_frame(table: pa.Table) -> pd.DataFrame:
    """The table without its image bytes: what the data contract checks (labels, sizes, row count)."""
    return table.drop_columns(["image"]).to_pandas()


def check_image_model(model: ModelConfig) -> None:
    """Refuse model settings the image synthesizer would refuse, before any data is read or written."""
    try:
        ImageSynthesizer(**model.estimator_params()).validate_params()
    except SynthError as exc:
        raise ConfigError(f"model: {exc}") from exc


def load_image_source(config: PipelineConfig, run_dir: Path) -> tuple[SourceRef, pa.Table]:
    """Read the image set (folder, .npz, IDX or Parquet) and write it as the canonical table the later steps read;
    its sha256 fingerprints the pixels and labels, whatever format they came in."""
    check_image_model(config.model)
    try:
        found = read_image_set(config.source)
    except SynthError as exc:
        raise DataError(str(exc)) from exc
    labels = np.asarray(found.labels)
    classes, counts = np.unique(labels, return_counts=True)
    scarce = [
        f"{c!r} ({n})" for c, n in zip(classes.tolist(), counts.tolist(), strict=True) if n < MIN_IMAGES_PER_CLASS
    ]
    if scarce:
        raise DataError(
            f"{config.source}: class(es) {', '.join(scarce[:10])} have fewer than {MIN_IMAGES_PER_CLASS} images; "
            "add images or drop those classes"
        )
    label_type = "int64" if np.issubdtype(labels.dtype, np.integer) else "string"
    meta = ImageMeta(tuple(found.images.shape[1:]), tuple(classes.tolist()), label_type)
    table = image_table(found.images, labels, meta)
    path = run_dir / "source.parquet"
    pq.write_table(table, path)
    return SourceRef(TableRef(str(path), file_sha256(path), table.num_rows), meta.to_json()), table


IMAGE_MODEL_PARTS = ("model", "classifier")  # the GAN and the CNN the image metrics measure with


def train_image_model(
    split: SplitRef, meta_json: str, model: ModelConfig, work_dir: Path, progress: Callable[[Any], None] | None = None
) -> ModelRef:
    """Train the GAN and the measuring classifier on the training split, or reuse both when trained before on
    exactly these inputs (``work_dir/models/<key>/model`` and ``.../classifier``)."""
    from validators import FeatureClassifier

    key = model_key(split, meta_json, {**model.estimator_params(), "classifier_epochs": model.classifier_epochs})
    folder = work_dir / "models" / key
    reusable, set_aside = check_cached(folder, IMAGE_MODEL_PARTS)
    if reusable:
        return reused_model(folder, key)
    train = read_images(split.train, ImageMeta.from_json(meta_json))
    created = missing_folders(folder)
    try:
        synthesizer = ImageSynthesizer(**model.estimator_params()).fit(train.images, train.labels, progress=progress)
    except SynthError as exc:
        remove_if_empty(created)
        raise DataError(f"cannot train on {split.train.path}: {exc}") from exc
    classifier = FeatureClassifier(epochs=model.classifier_epochs, seed=synthesizer.seed_ % (2**31), device="auto")
    classifier.fit(train.images, train.labels).save(folder / "classifier")
    out = synthesizer.save(folder / "model")
    seal(folder, IMAGE_MODEL_PARTS)
    seconds = float(sum(s.seconds for s in synthesizer.history_))
    return ModelRef(path=str(out), seed=synthesizer.seed_, seconds=seconds, key=key, reused=False, set_aside=set_aside)


def generate_image_part(
    model: ModelRef, part: int, rows: int, generate: GenerateConfig, meta_json: str, run_dir: Path
) -> TableRef:
    """Write ``rows`` generated images (the training class mix) to one part file, a row group per batch."""
    meta = ImageMeta.from_json(meta_json)
    synthesizer = ImageSynthesizer.load(model.path)
    batch_rows = generate.batch_rows or IMAGE_BATCH
    path = run_dir / f"synthetic-{part:05d}.parquet"
    with pq.ParquetWriter(path, meta.arrow_schema()) as writer:
        for batch, start in enumerate(range(0, rows, batch_rows)):
            images, labels = synthesizer.sample(
                min(batch_rows, rows - start), seed=batch_seed(generate.seed, part, batch)
            )
            writer.write_table(image_table(images, labels, meta))
    return TableRef(path=str(path), sha256=file_sha256(path), rows=rows)


def measure_images(
    split: SplitRef, sample: TableRef, produced_rows: int, model: ModelRef, config: PipelineConfig, meta_json: str,
    run_dir: Path,
) -> ReportRef:  # fmt: skip
    """The image suite on the measured sample, in the feature space of the classifier cached with the model."""
    import validators
    from validators import FeatureClassifier

    meta = ImageMeta.from_json(meta_json)
    train, holdout, synthetic = (read_images(ref, meta) for ref in (split.train, split.holdout, sample))
    classifier = FeatureClassifier.load(Path(model.path).parent / "classifier")
    report = validators.evaluate_images(
        train.images, train.labels, synthetic.images, synthetic.labels, holdout.images, holdout.labels,
        classifier=classifier, bounds=gate_bounds(config), enforce=config.gate.enforce, seed=split.seed,
    )  # fmt: skip
    report = replace(report, context={**report.context, "synthetic_images_produced": produced_rows})
    return write_report(report, run_dir, title="Synthetic image set quality report")
