"""Image sets through the same flow, gate and catalog as tables: an image source in, a Parquet image set (PNG bytes,
label, width, height) published, pulled back, the model reused; bad image input stopped before anything is written."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from PIL import Image
from sklearn.datasets import load_digits

from pipelines.catalog import load_published
from pipelines.cli import main
from pipelines.config import PipelineConfig, load_config
from pipelines.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
TINY_IMAGE_MODEL = "model: {kind: image, epochs: 1, batch_size: 64, seed: 0, channels: 8, classifier_epochs: 1}"


@pytest.fixture(scope="module")
def digits_npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    digits = load_digits()
    images = (digits.images * 255 / 16).round().astype(np.uint8)
    path = tmp_path_factory.mktemp("digits") / "digits.npz"
    np.savez(path, images=images, labels=digits.target.astype(np.int64))
    return path


def _config(tmp_path: Path, source: Path, extra: str = "") -> PipelineConfig:
    path = tmp_path / "images.yaml"
    path.write_text(
        f"name: digits\nsource: {source}\n{TINY_IMAGE_MODEL}\n"
        f"generate: {{rows: 300, seed: 1, partitions: 2, batch_rows: 100}}\noutput: {tmp_path / 'published'}\n"
        f"work_dir: {tmp_path / 'work'}\ngate: {{enforce: false}}\n{extra}"
    )
    return load_config(path)


@pytest.mark.usefixtures("prefect_harness")
def test_image_flow_publishes_png_rows_and_reuses_the_model(tmp_path: Path, digits_npz: Path) -> None:
    from pipelines.flow import synthesize

    config = _config(tmp_path, digits_npz)
    result = synthesize(config)
    assert result.published.version == "v1" and not result.model_reused
    folder = Path(result.published.path)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["rows"] == 300 and manifest["schema"]["kind"] == "image"
    assert manifest["schema"]["image_shape"] == [8, 8] and manifest["schema"]["classes"] == list(range(10))
    assert {"conditional_accuracy", "frechet_distance", "kid", "image_coverage", "memorisation_share"} <= set(
        manifest["metrics"]
    )
    parts = sorted(folder.glob("part-*.parquet"))
    assert [pq.read_metadata(p).num_rows for p in parts] == [150, 150]
    assert [pq.read_metadata(p).num_row_groups for p in parts] == [2, 2]  # 100 images in memory at a time
    table = pq.read_table(parts[0])
    assert table.column_names == ["image", "label", "width", "height"]
    image = Image.open(io.BytesIO(table["image"][0].as_py()))
    assert image.format == "PNG" and image.size == (8, 8) and image.mode == "L"
    assert set(table["width"].to_pylist()) == {8} and set(table["height"].to_pylist()) == {8}
    report = (folder / "report.html").read_text()
    assert "data:image/png;base64," in report and "<script" not in report

    frame = load_published("digits", root=config.output)
    assert len(frame) == 300 and str(frame["label"].dtype) == "int64"
    # the class mix of the training split, exactly: each class holds its share of the 300 images
    counts = frame["label"].value_counts()
    assert counts.sum() == 300 and counts.min() >= 25

    again = synthesize(config)
    assert again.model_reused and again.published.version == "v2"
    second = pq.read_table(Path(again.published.path) / "part-00001.parquet")
    assert second.equals(pq.read_table(parts[1]))  # same model, same seeds: the same images


def test_bad_image_source_stops_before_anything_is_written(tmp_path: Path) -> None:
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 not really a zip file")
    config = tmp_path / "images.yaml"
    config.write_text(
        f"name: digits\nsource: {broken}\n{TINY_IMAGE_MODEL}\noutput: {tmp_path / 'published'}\n"
        f"work_dir: {tmp_path / 'work'}\n"
    )
    result = CliRunner().invoke(main, ["run", str(config)])
    assert result.exit_code == 2, result.output
    assert "broken.npz" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "published").exists() and not (tmp_path / "work").exists()


def test_settings_of_the_other_kind_are_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: a\nsource: x.npz\nmodel: {kind: tabular, channels: 8}\n")
    with pytest.raises(ConfigError, match="channels is for kind: image"):
        load_config(path)
    path.write_text("name: a\nsource: x.npz\nmodel: {kind: image, generator_dims: [8]}\n")
    with pytest.raises(ConfigError, match="generator_dims is for kind: tabular"):
        load_config(path)


def test_shipped_fashion_mnist_config_reads_the_bundled_images(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from pipelines.kinds import kind_of
    from pipelines.settings import Intake

    monkeypatch.chdir(ROOT)
    config = load_config("configs/fashion_mnist.yaml")
    assert config.model.kind == "image" and config.gate.enforce
    intake = Intake.of(config.model_copy(update={"output": str(tmp_path / "published")}))
    source = kind_of(config.model.kind).load(intake, tmp_path)
    assert source.table.rows == 10_000
    assert source.schema.describe().startswith("images 28x28 grayscale, 10 classes")
