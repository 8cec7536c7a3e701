"""The image pipeline's steps: an image set in as a canonical table (PNG bytes, label, width, height), the
class-conditional GAN trained or reused, images generated in part files, and measured by the image suite."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.config import GenerateConfig, ModelConfig, PrivacyConfig
from pipelines.contracts import ContractView, check_input_contract
from pipelines.errors import ConfigError, DataError
from pipelines.generation import batch_seed
from pipelines.intake import check_locations
from pipelines.measuring import write_report
from pipelines.model_cache import check_cached, seal
from pipelines.publish import missing_folders, remove_if_empty
from pipelines.refs import Augmented, EpochReport, ImageMeta, ModelRef, ReportRef, SourceRef, SplitRef, TableRef
from pipelines.settings import Augmenting, Intake, Measuring, Training
from pipelines.sources import file_sha256, read_table, write_table
from pipelines.training import model_key, model_ref, reused_model
from synth import ImageSynthesizer, SynthError, infer_schema
from synth.image.datasets import ImageSet, decode_image, encode_png, read_image_set
from synth.rebalance import SYNTHETIC_FLAG, plan_rebalance

__all__ = [
    "IMAGE_BATCH",
    "ImageKind",
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
    table = read_table(ref)
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


def load_image_source(intake: Intake, run_dir: Path) -> tuple[SourceRef, pa.Table]:
    """Read the image set (folder, .npz, IDX or Parquet) and write it as the canonical table the later steps read;
    its sha256 fingerprints the pixels and labels, whatever format they came in."""
    check_image_model(intake.model)
    try:
        found = read_image_set(intake.source)
    except SynthError as exc:
        raise DataError(str(exc)) from exc
    labels = np.asarray(found.labels)
    classes, counts = np.unique(labels, return_counts=True)
    scarce = [
        f"{c!r} ({n})" for c, n in zip(classes.tolist(), counts.tolist(), strict=True) if n < MIN_IMAGES_PER_CLASS
    ]
    if scarce:
        raise DataError(
            f"{intake.source}: class(es) {', '.join(scarce[:10])} have fewer than {MIN_IMAGES_PER_CLASS} images; "
            "add images or drop those classes"
        )
    label_type = "int64" if np.issubdtype(labels.dtype, np.integer) else "string"
    meta = ImageMeta(tuple(found.images.shape[1:]), tuple(classes.tolist()), label_type)
    table = image_table(found.images, labels, meta)
    return SourceRef(write_table(table, run_dir / "source.parquet"), meta), table


IMAGE_MODEL_PARTS = ("model", "classifier")  # the GAN and the CNN the image metrics measure with


def train_image_model(
    split: SplitRef, source: SourceRef, training: Training, progress: EpochReport | None = None
) -> ModelRef:
    """Train the GAN and the measuring classifier on the training split, or reuse both when trained before on
    exactly these inputs (``work_dir/models/<key>/model`` and ``.../classifier``)."""
    from validators import FeatureClassifier

    meta, model = _meta(source), training.model
    key = model_key(split, meta, {**model.estimator_params(), "classifier_epochs": model.classifier_epochs})
    folder = training.models_dir / key
    reusable, set_aside = check_cached(folder, IMAGE_MODEL_PARTS)
    if reusable:
        return reused_model(folder, key)
    train = read_images(split.train, meta)
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
    return model_ref(out, key, synthesizer.seed_, synthesizer.history_, set_aside=set_aside)


def generate_image_part(
    model: ModelRef, part: int, rows: int, generate: GenerateConfig, source: SourceRef, run_dir: Path
) -> TableRef:
    """Write ``rows`` generated images (the training class mix) to one part file, a row group per batch."""
    meta = _meta(source)
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
    split: SplitRef, sample: TableRef, produced_rows: int, model: ModelRef, measuring: Measuring, source: SourceRef,
    run_dir: Path,
) -> ReportRef:  # fmt: skip
    """The image suite on the measured sample, in the feature space of the classifier cached with the model."""
    import validators
    from validators import FeatureClassifier

    meta = _meta(source)
    train, holdout, synthetic = (read_images(ref, meta) for ref in (split.train, split.holdout, sample))
    classifier = FeatureClassifier.load(Path(model.path).parent / "classifier")
    report = validators.evaluate_images(
        train.images, train.labels, synthetic.images, synthetic.labels, holdout.images, holdout.labels,
        classifier=classifier, bounds=dict(measuring.bounds), enforce=measuring.enforce, seed=split.seed,
    )  # fmt: skip
    report = replace(report, context={**report.context, "synthetic_images_produced": produced_rows})
    return write_report(report, run_dir, title="Synthetic image set quality report")


class ImageKind:
    """Image sets: the canonical image table, the class-conditional GAN with its measuring classifier, the image
    suite, contracts on labels and sizes."""

    def load(self, intake: Intake, run_dir: Path) -> SourceRef:
        """Read and check the image set; it is written into ``run_dir`` as the canonical image table."""
        check_locations(intake)
        if intake.target is not None:
            raise ConfigError("target is for tables; an image set's label column is its target")
        source, table = load_image_source(intake, run_dir)
        check_input_contract(intake, image_frame(table))
        return source

    def train(self, split: SplitRef, source: SourceRef, training: Training, progress: EpochReport | None) -> ModelRef:
        return train_image_model(split, source, training, progress)

    def generate_part(
        self, model: ModelRef, part: int, rows: int, first_row: int, generate: GenerateConfig,
        privacy: PrivacyConfig | None, split: SplitRef, source: SourceRef, run_dir: Path,
    ) -> TableRef:  # fmt: skip
        return generate_image_part(model, part, rows, generate, source, run_dir)

    def measure(
        self, split: SplitRef, sample: TableRef, produced: int, model: ModelRef, measuring: Measuring,
        source: SourceRef, run_dir: Path,
    ) -> ReportRef:  # fmt: skip
        return measure_images(split, sample, produced, model, measuring, source, run_dir)

    def class_column(self, label: str | None) -> str:
        return "label"

    def contract_view(self, split: SplitRef, sample: TableRef, source: SourceRef, model: ModelRef) -> ContractView:
        train = image_frame(read_table(split.train))
        return ContractView(train, image_frame(read_table(sample)), infer_schema(train))

    def arrow_schema(self, source: SourceRef) -> pa.Schema:
        return _meta(source).arrow_schema()

    def described(self, source: SourceRef) -> Any:
        return _meta(source).to_dict()

    def augment_rows(
        self, model: ModelRef, split: SplitRef, augmenting: Augmenting, source: SourceRef
    ) -> tuple[pa.Table, dict[Any, int]]:
        """The training images plus the generated ones the balance needs, flagged; and the images added per class."""
        meta = _meta(source)
        train = read_images(split.train, meta)
        classes, counts = np.unique(train.labels, return_counts=True)
        plan = plan_rebalance(dict(zip(classes.tolist(), counts.tolist(), strict=True)), augmenting.balance)
        synthesizer = ImageSynthesizer.load(model.path)
        images, labels = synthesizer.sample(per_class={c: k for c, k in plan.items() if k > 0}, seed=augmenting.seed)
        real = read_table(split.train).append_column(SYNTHETIC_FLAG, pa.array(np.zeros(len(train), dtype=bool)))
        added = image_table(images, labels, meta)
        added = added.append_column(SYNTHETIC_FLAG, pa.array(np.ones(len(images), dtype=bool)))
        return pa.concat_tables([real, added]), plan

    def measure_added(
        self, split: SplitRef, same_classes: SplitRef, augmented: Augmented, sample: TableRef, model: ModelRef,
        measuring: Measuring, augmenting: Augmenting, source: SourceRef, run_dir: Path,
    ) -> ReportRef:  # fmt: skip
        """The image suite on the added images against the real images of their classes."""
        return measure_images(same_classes, sample, augmented.added.rows, model, measuring, source, run_dir)


def _meta(source: SourceRef) -> ImageMeta:
    assert isinstance(source.schema, ImageMeta)
    return source.schema
