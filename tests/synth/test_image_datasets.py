"""Image set loaders: exact pixels and labels from folders, .npz, IDX and Parquet; clear errors on bad files."""

from __future__ import annotations

import gzip
import io
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from synth.errors import ImageDataError
from synth.image.datasets import ImageSet, check_image_set, decode_image, encode_png, read_image_set


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """40 of sklearn's 8x8 digits as uint8 (N, 8, 8), with int64 labels."""
    data = load_digits()
    images = (data.images[:40] * 255 / 16).round().astype(np.uint8)
    return images, data.target[:40].astype(np.int64)


@pytest.fixture(scope="module")
def colour() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(6, 8, 8, 3), dtype=np.uint8)


def _by_label(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The order a folder reader returns: by label, then by file name (= original index here)."""
    order = np.argsort(labels, kind="stable")
    return images[order], labels[order]


def _write_folder(root: Path, images: np.ndarray, labels: np.ndarray | list[str], suffix: str = ".png") -> Path:
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        if suffix == ".png":
            (root / str(label) / f"{i:03d}.png").write_bytes(encode_png(image))
        else:
            Image.fromarray(image).save(root / str(label) / f"{i:03d}{suffix}", format="JPEG", quality=95)
    return root


def _write_idx(path: Path, array: np.ndarray, magic: int) -> Path:
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def _write_parquet(path: Path, images: list[bytes | None], labels: list[int | None] | list[str | None]) -> Path:
    pq.write_table(pa.table({"image": pa.array(images, pa.binary()), "label": labels}), path)
    return path


# Folders


def test_png_folder_round_trips_pixels_and_int_labels(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = digits
    result = read_image_set(_write_folder(tmp_path / "digits", images, labels))
    expected_images, expected_labels = _by_label(images, labels)
    assert isinstance(result, ImageSet) and len(result) == len(images)
    assert result.images.dtype == np.uint8 and result.images.shape == (40, 8, 8)
    assert result.labels.dtype == np.int64
    np.testing.assert_array_equal(result.images, expected_images)
    np.testing.assert_array_equal(result.labels, expected_labels)


def test_folder_names_give_str_labels_and_skip_hidden_and_other_files(tmp_path: Path, colour: np.ndarray) -> None:
    root = _write_folder(tmp_path / "pets", colour, ["cat", "dog", "cat", "dog", "cat", "ant"])
    (root / ".cache").mkdir()
    (root / ".cache" / "x.png").write_bytes(encode_png(colour[0]))
    (root / "cat" / ".001.png").write_bytes(b"not an image")
    (root / "cat" / "notes.txt").write_text("ignored")
    (root / "README.md").write_text("ignored")
    result = read_image_set(root)
    assert result.labels.dtype == object
    assert result.labels.tolist() == ["ant", "cat", "cat", "cat", "dog", "dog"]
    assert all(type(label) is str for label in result.labels)
    np.testing.assert_array_equal(result.images, colour[[5, 0, 2, 4, 1, 3]])


def test_integer_class_folders_sort_numerically(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    images = digits[0][:2]
    result = read_image_set(_write_folder(tmp_path / "f", images, np.array([10, 2])))
    assert result.labels.tolist() == [2, 10]
    np.testing.assert_array_equal(result.images, images[::-1])


def test_jpeg_folder_reads_with_the_right_shape(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    gray = read_image_set(_write_folder(tmp_path / "gray", digits[0][:6], digits[1][:6], suffix=".JPG"))
    assert gray.images.shape == (6, 8, 8) and gray.images.dtype == np.uint8
    rgb = np.repeat(digits[0][:4, :, :, None], 3, axis=3)
    result = read_image_set(_write_folder(tmp_path / "rgb", rgb, ["a", "a", "b", "b"], suffix=".jpeg"))
    assert result.images.shape == (4, 8, 8, 3)
    assert np.abs(result.images.astype(int) - rgb.astype(int)).mean() < 20  # lossy, but the same picture


def test_folder_of_gray_and_colour_becomes_rgb(
    tmp_path: Path, digits: tuple[np.ndarray, np.ndarray], colour: np.ndarray
) -> None:
    root = _write_folder(tmp_path / "mixed", digits[0][:2], ["a", "a"])
    (root / "b").mkdir()
    (root / "b" / "c.png").write_bytes(encode_png(colour[0]))
    result = read_image_set(root)
    assert result.images.shape == (3, 8, 8, 3)
    for channel in range(3):
        np.testing.assert_array_equal(result.images[:2, :, :, channel], digits[0][:2])
    np.testing.assert_array_equal(result.images[2], colour[0])


def test_alpha_is_composited_on_black_and_16_bit_gray_is_scaled() -> None:
    rgba = np.zeros((1, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (200, 100, 50, 255)
    rgba[0, 1] = (200, 100, 50, 0)
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="PNG")
    np.testing.assert_array_equal(decode_image(buffer.getvalue(), where="rgba"), [[[200, 100, 50], [0, 0, 0]]])
    buffer = io.BytesIO()
    Image.fromarray(np.array([[0, 257 * 100, 65535]], dtype=np.uint16)).save(buffer, format="PNG")
    np.testing.assert_array_equal(decode_image(buffer.getvalue(), where="16-bit"), [[0, 100, 255]])


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 1), (5, 7, 3)])
def test_encode_png_decode_image_round_trip(shape: tuple[int, ...]) -> None:
    image = np.random.default_rng(1).integers(0, 256, size=shape, dtype=np.uint8)
    decoded = decode_image(encode_png(image), where="test")
    np.testing.assert_array_equal(decoded, image[..., 0] if shape[-1] == 1 else image)


def test_corrupt_png_in_a_folder_names_the_file(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    root = _write_folder(tmp_path / "f", digits[0][:3], digits[1][:3])
    (root / "1" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n but not really")
    with pytest.raises(ImageDataError, match=r"bad\.png is not a readable PNG or JPEG image"):
        read_image_set(root)


def test_truncated_png_names_the_file(tmp_path: Path, colour: np.ndarray) -> None:
    root = _write_folder(tmp_path / "f", colour[:2], ["a", "b"])
    data = encode_png(colour[2])
    (root / "b" / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageDataError, match=r"cut\.png is not a readable PNG or JPEG image \(OSError: .*truncated"):
        read_image_set(root)


def test_mixed_sizes_in_a_folder_name_both_sizes(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    root = _write_folder(tmp_path / "f", digits[0][:2], ["a", "a"])
    (root / "b").mkdir()
    (root / "b" / "big.png").write_bytes(encode_png(np.zeros((10, 12), dtype=np.uint8)))
    message = r"differ in size \(width x height\): 8x8 \(e\.g\. a/000\.png\) and 12x10 \(e\.g\. b/big\.png\); resize"
    with pytest.raises(ImageDataError, match=message):
        read_image_set(root)


def test_empty_folders_are_refused(tmp_path: Path) -> None:
    (tmp_path / "none").mkdir()
    with pytest.raises(ImageDataError, match="has no class sub-folders"):
        read_image_set(tmp_path / "none")
    (tmp_path / "empty" / "a").mkdir(parents=True)
    (tmp_path / "empty" / "a" / "notes.txt").write_text("x")
    with pytest.raises(ImageDataError, match=r"has class sub-folders \['a'\] but no \.png/\.jpg/\.jpeg files"):
        read_image_set(tmp_path / "empty")


def test_class_folders_naming_one_number_twice_are_refused(tmp_path: Path, colour: np.ndarray) -> None:
    root = _write_folder(tmp_path / "f", colour[:2], ["1", "01"])
    with pytest.raises(ImageDataError, match="name the same number twice"):
        read_image_set(root)


# .npz


def test_npz_round_trips(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = digits
    np.savez(tmp_path / "d.npz", images=images, labels=labels, extra=np.arange(3))
    result = read_image_set(tmp_path / "d.npz")
    np.testing.assert_array_equal(result.images, images)
    np.testing.assert_array_equal(result.labels, labels)
    assert result.labels.dtype == np.int64


def test_npz_alternative_names_channel_axis_int_pixels_and_str_labels(tmp_path: Path, colour: np.ndarray) -> None:
    gray = colour[..., 0]
    names = np.array(["a", "b", "a", "b", "a", "b"])
    np.savez(tmp_path / "xy.npz", x=gray[..., None].astype(np.int32), y=names)
    result = read_image_set(tmp_path / "xy.npz")
    assert result.images.dtype == np.uint8 and result.images.shape == (6, 8, 8)
    np.testing.assert_array_equal(result.images, gray)
    assert result.labels.dtype == object and result.labels.tolist() == names.tolist()
    np.savez_compressed(tmp_path / "train.npz", x_train=colour, y_train=np.arange(6, dtype=np.uint8)[:, None])
    result = read_image_set(tmp_path / "train.npz")
    np.testing.assert_array_equal(result.images, colour)
    assert result.labels.dtype == np.int64 and result.labels.tolist() == list(range(6))


def test_npz_without_images_lists_its_arrays(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", pixels=np.zeros((2, 8, 8), np.uint8), labels=np.arange(2))
    with pytest.raises(ImageDataError, match=r"expected 'images' and 'labels'.*found \['pixels', 'labels'\]"):
        read_image_set(tmp_path / "d.npz")


def test_npz_float_images_are_refused_with_the_fix(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", images=np.zeros((2, 8, 8), np.float32), labels=np.arange(2))
    with pytest.raises(ImageDataError, match=r"are float32; scale them to 0\.\.255 and store them as uint8"):
        read_image_set(tmp_path / "d.npz")
    np.savez(tmp_path / "e.npz", images=np.full((2, 8, 8), 300, np.int16), labels=np.arange(2))
    with pytest.raises(ImageDataError, match=r"hold values 300\.\.300"):
        read_image_set(tmp_path / "e.npz")


def test_corrupt_npz_is_refused(tmp_path: Path) -> None:
    (tmp_path / "d.npz").write_bytes(b"PK\x03\x04 broken zip")
    with pytest.raises(ImageDataError, match=r"d\.npz is not a readable \.npz file"):
        read_image_set(tmp_path / "d.npz")
    np.savez(tmp_path / "o.npz", images=np.zeros((2, 8, 8), np.uint8), labels=np.array(["a", None], dtype=object))
    with pytest.raises(ImageDataError, match="string labels as a str array, not objects"):
        read_image_set(tmp_path / "o.npz")
    with open(tmp_path / "one.npz", "wb") as handle:
        np.save(handle, np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(ImageDataError, match=r"holds one array, not an \.npz archive"):
        read_image_set(tmp_path / "one.npz")


# IDX


@pytest.mark.parametrize(
    ("images_name", "labels_name"),
    [
        ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
        ("train-images.idx3-ubyte", "train-labels.idx1-ubyte"),
        ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte"),
    ],
)
def test_idx_round_trips(
    tmp_path: Path, digits: tuple[np.ndarray, np.ndarray], images_name: str, labels_name: str
) -> None:
    images, labels = digits
    _write_idx(tmp_path / images_name, images, 0x803)
    _write_idx(tmp_path / labels_name, labels, 0x801)
    result = read_image_set(tmp_path / images_name)
    np.testing.assert_array_equal(result.images, images)
    np.testing.assert_array_equal(result.labels, labels)
    assert result.labels.dtype == np.int64 and result.images.flags.writeable


def test_truncated_idx_says_expected_and_found_bytes(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    path = _write_idx(tmp_path / "train-images-idx3-ubyte", digits[0][:10], 0x803)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", digits[1][:10], 0x801)
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(ImageDataError, match=r"is truncated: its header \(10x8x8\) needs 640 bytes of data, found 635"):
        read_image_set(path)


def test_wrong_idx_magic_is_refused(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    path = _write_idx(tmp_path / "train-images-idx3-ubyte", digits[0][:10], 0x801)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", digits[1][:10], 0x801)
    with pytest.raises(ImageDataError, match="magic number 0x00000801, expected 0x00000803"):
        read_image_set(path)


def test_missing_idx_labels_file_names_the_expected_path(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    path = _write_idx(tmp_path / "train-images-idx3-ubyte.gz", digits[0][:10], 0x803)
    expected = re.escape(str(tmp_path / "train-labels-idx1-ubyte.gz"))
    with pytest.raises(ImageDataError, match=f"labels file .* is missing: expected {expected}"):
        read_image_set(path)


def test_corrupt_gzip_idx_is_refused(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    path = _write_idx(tmp_path / "train-images-idx3-ubyte.gz", digits[0][:10], 0x803)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", digits[1][:10], 0x801)
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(ImageDataError, match=r"cannot read .*train-images-idx3-ubyte\.gz"):
        read_image_set(path)


# Parquet


def test_parquet_round_trips_int_and_str_labels(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = digits
    encoded: list[bytes | None] = [encode_png(image) for image in images]
    result = read_image_set(_write_parquet(tmp_path / "d.parquet", encoded, labels.tolist()))
    np.testing.assert_array_equal(result.images, images)
    np.testing.assert_array_equal(result.labels, labels)
    assert result.labels.dtype == np.int64
    names = [f"digit-{label}" for label in labels]
    table = pa.table({"png": pa.array(encoded, pa.binary()), "name": pa.array(names).dictionary_encode()})
    pq.write_table(table, tmp_path / "s.parquet")
    result = read_image_set(tmp_path / "s.parquet", image_column="png", label_column="name")
    np.testing.assert_array_equal(result.images, images)
    assert result.labels.dtype == object and result.labels.tolist() == names


def test_parquet_reads_hugging_face_image_structs(tmp_path: Path, colour: np.ndarray) -> None:
    rows = [{"bytes": encode_png(image), "path": None} for image in colour]
    pq.write_table(pa.table({"image": rows, "label": list(range(6))}), tmp_path / "hf.parquet")
    np.testing.assert_array_equal(read_image_set(tmp_path / "hf.parquet").images, colour)


def test_parquet_mixed_sizes_name_both(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    encoded: list[bytes | None] = [encode_png(digits[0][0]), encode_png(np.zeros((9, 9), np.uint8))]
    path = _write_parquet(tmp_path / "d.parquet", encoded, [0, 1])
    with pytest.raises(ImageDataError, match=r"differ in size .*: 8x8 \(e\.g\. row 0\) and 9x9 \(e\.g\. row 1\)"):
        read_image_set(path)


def test_parquet_missing_column_lists_the_columns(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    path = _write_parquet(tmp_path / "d.parquet", [encode_png(digits[0][0])], [0])
    with pytest.raises(ImageDataError, match=r"no column\(s\) \['target'\]; its columns are \['image', 'label'\]"):
        read_image_set(path, label_column="target")


def test_parquet_nulls_name_the_row(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    encoded: list[bytes | None] = [encode_png(image) for image in digits[0][:3]]
    with pytest.raises(ImageDataError, match=r"row 1 has no label \('label' is null\)"):
        read_image_set(_write_parquet(tmp_path / "a.parquet", encoded, [0, None, 2]))
    with pytest.raises(ImageDataError, match=r"row 2 has no image \('image' is null\)"):
        read_image_set(_write_parquet(tmp_path / "b.parquet", [*encoded[:2], None], [0, 1, 2]))


def test_parquet_corrupt_image_names_the_row(tmp_path: Path) -> None:
    path = _write_parquet(tmp_path / "d.parquet", [b"garbage"], [0])
    with pytest.raises(ImageDataError, match=r"d\.parquet row 0 is not a readable PNG or JPEG image"):
        read_image_set(path)


# Paths and check_image_set


def test_missing_and_unsupported_paths_name_the_supported_kinds(tmp_path: Path) -> None:
    with pytest.raises(ImageDataError, match="does not exist; pass a folder with one sub-folder"):
        read_image_set(tmp_path / "nowhere")
    (tmp_path / "data.csv").write_text("a,b\n")
    with pytest.raises(ImageDataError, match=r"data\.csv is not a supported image set; pass .*\.npz.*IDX.*\.parquet"):
        read_image_set(tmp_path / "data.csv")


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (np.zeros((3, 8, 8), np.uint8), np.arange(2), r"one label per image: got labels shaped \(2,\) for 3 images"),
        (np.zeros((2, 8, 8), np.float32), np.arange(2), "images must be uint8, got float32"),
        (np.zeros((2, 8, 8, 4), np.uint8), np.arange(2), r"\(N, H, W, C\) with C 1 or 3"),
        (np.zeros((0, 8, 8), np.uint8), np.arange(0), "the image set is empty"),
        (np.zeros((2, 8, 8), np.uint8), np.array(["a", None], dtype=object), "label 1 is None"),
        (np.zeros((2, 8, 8), np.uint8), np.array(["a", 1], dtype=object), "mix integers and strings"),
        (np.zeros((2, 8, 8), np.uint8), np.array([0.5, 1.0]), "must be integers or strings, got dtype float64"),
    ],
)
def test_check_image_set_refuses_bad_sets(images: np.ndarray, labels: np.ndarray, message: str) -> None:
    with pytest.raises(ImageDataError, match=message):
        check_image_set(images, labels)
    with pytest.raises(ImageDataError, match=message):
        ImageSet(images=images, labels=labels)


def test_check_image_set_accepts_good_sets() -> None:
    check_image_set(np.zeros((2, 8, 8, 1), np.uint8), np.array([3, 4], dtype=np.int32))
    check_image_set(np.zeros((2, 8, 8, 3), np.uint8), np.array(["a", "b"], dtype=object))
    assert len(ImageSet(images=np.zeros((2, 4, 4), np.uint8), labels=np.array([np.int64(1), 2], dtype=object))) == 2
