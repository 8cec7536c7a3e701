"""Labelled image sets from folders, .npz, IDX and Parquet, as uint8 arrays; PNG in and out.

Every reader returns an ``ImageSet``: ``uint8`` images shaped ``(N, H, W)`` (grayscale) or ``(N, H, W, 3)`` (RGB) and a
1-D label array of ``int64`` or of Python ``str`` (object dtype). Anything that cannot become that raises
``ImageDataError`` naming the file, the problem and the fix.
"""

from __future__ import annotations

import gzip
import io
import logging
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from PIL import Image, UnidentifiedImageError

from synth.errors import ImageDataError

__all__ = ["ImageSet", "check_image_set", "decode_image", "encode_png", "read_image_set"]

log = logging.getLogger(__name__)

_SUPPORTED = (
    "a folder with one sub-folder of PNG/JPEG files per class, a .npz file (images, labels), "
    "an IDX images file (*-images-idx3-ubyte, optionally .gz) or a .parquet file (image bytes and label columns)"
)
_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
_NPZ_NAMES = (("images", "labels"), ("x", "y"), ("x_train", "y_train"))
_IDX_IMAGES = re.compile(r"images([-.])idx3-ubyte(\.gz)?$", re.IGNORECASE)
_IDX_MAGIC_IMAGES = 0x00000803  # unsigned bytes, 3 dimensions
_IDX_MAGIC_LABELS = 0x00000801  # unsigned bytes, 1 dimension
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, Image.DecompressionBombError)


@dataclass(frozen=True, slots=True, eq=False)
class ImageSet:
    """Images and their labels, checked on construction (``eq=False``: arrays do not compare as one truth value).

    Attributes:
        images: ``uint8``, ``(N, H, W)`` for grayscale or ``(N, H, W, 3)`` for RGB.
        labels: ``(N,)``, ``int64`` or object dtype holding ``str``.
    """

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        check_image_set(self.images, self.labels)

    def __len__(self) -> int:
        return len(self.images)


def check_image_set(images: np.ndarray, labels: np.ndarray) -> None:
    """Raise ImageDataError unless ``images`` and ``labels`` form one labelled image set (see the module docstring)."""
    if not isinstance(images, np.ndarray) or not isinstance(labels, np.ndarray):
        got = f"{type(images).__name__} and {type(labels).__name__}"
        raise ImageDataError(f"images and labels must be numpy arrays, got {got}; convert them with np.asarray")
    if images.dtype != np.uint8:
        raise ImageDataError(
            f"images must be uint8, got {images.dtype}; scale them to 0..255 and cast with .astype(np.uint8)"
        )
    if not (images.ndim == 3 or (images.ndim == 4 and images.shape[-1] in (1, 3))):
        raise ImageDataError(
            f"images must be shaped (N, H, W) or (N, H, W, C) with C 1 or 3, got {images.shape}; "
            "convert RGBA or other channel counts to RGB or grayscale first"
        )
    if images.shape[0] == 0 or images.shape[1] == 0 or images.shape[2] == 0:
        raise ImageDataError(f"the image set is empty (images shaped {images.shape}); it needs at least one image")
    if labels.ndim != 1 or len(labels) != len(images):
        raise ImageDataError(
            f"labels must be 1-D with one label per image: got labels shaped {labels.shape} for {len(images)} images"
        )
    _check_label_values(labels)


def _check_label_values(labels: np.ndarray) -> None:
    if labels.dtype.kind in "iu" or labels.dtype.kind == "U":
        return
    if labels.dtype != object:
        raise ImageDataError(f"labels must be integers or strings, got dtype {labels.dtype}; cast them to int or str")
    kinds = {_label_kind(value) for value in labels.tolist()}
    if "none" in kinds:
        first = next(i for i, value in enumerate(labels.tolist()) if value is None)
        raise ImageDataError(f"label {first} is None; every image needs a label (drop unlabelled images)")
    if kinds - {"int", "str"}:
        bad = next(v for v in labels.tolist() if _label_kind(v) == "other")
        raise ImageDataError(f"labels must be integers or strings, got {type(bad).__name__} {bad!r}; cast them")
    if len(kinds) > 1:
        raise ImageDataError("labels mix integers and strings; make them all one or the other (e.g. all str)")


def _label_kind(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, str):
        return "str"
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        return "int"
    return "other"


def read_image_set(path: str | Path, *, image_column: str = "image", label_column: str = "label") -> ImageSet:
    """Read a labelled image set from a class folder, a .npz, an IDX images file or a Parquet file.

    Args:
        path: a folder with one sub-folder of PNG/JPEG files per class, named after the class (labels are ``int64``
            when every class folder's name is a decimal integer, else ``str``; colour anywhere makes all RGB; images
            ordered by class, then file name); a ``.npz`` with ``images``/``labels``
            (or ``x``/``y``, ``x_train``/``y_train``); an IDX images file such as ``train-images-idx3-ubyte[.gz]``
            whose ``*-labels-idx1-ubyte[.gz]`` lies beside it; or a ``.parquet`` file.
        image_column: the Parquet column holding PNG or JPEG bytes (a Hugging Face ``{bytes, path}`` struct works too).
        label_column: the Parquet column holding the labels.
    """
    source = Path(path)
    if not source.exists():
        raise ImageDataError(f"{source} does not exist; pass {_SUPPORTED}")
    name = source.name.lower()
    if source.is_dir():
        images, labels = _read_folder(source)
    elif name.endswith(".npz"):
        images, labels = _read_npz(source)
    elif _IDX_IMAGES.search(name):
        images, labels = _read_idx_pair(source)
    elif name.endswith(".parquet"):
        images, labels = _read_parquet(source, image_column=image_column, label_column=label_column)
    elif "idx1-ubyte" in name:
        raise ImageDataError(f"{source} is an IDX labels file; pass its images file (*-images-idx3-ubyte) instead")
    else:
        raise ImageDataError(f"{source} is not a supported image set; pass {_SUPPORTED}")
    image_set = ImageSet(images=images, labels=labels)
    n_classes = len(np.unique(labels))
    log.info("read %d images shaped %s in %d classes from %s", len(image_set), images.shape[1:], n_classes, source)
    return image_set


def encode_png(image: np.ndarray) -> bytes:
    """One uint8 image, ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)``, as lossless PNG bytes (mode L or RGB)."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        got = image.dtype if isinstance(image, np.ndarray) else type(image).__name__
        raise ImageDataError(f"encode_png needs a uint8 numpy array, got {got}; cast with .astype(np.uint8)")
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[-1] == 3)) or 0 in image.shape:
        raise ImageDataError(f"encode_png needs one image shaped (H, W), (H, W, 1) or (H, W, 3), got {image.shape}")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG")
    return buffer.getvalue()


def decode_image(data: bytes, *, where: str) -> np.ndarray:
    """PNG or JPEG bytes as uint8: ``(H, W)`` for grayscale (modes 1, L, LA, 16-bit), else ``(H, W, 3)`` RGB.

    Alpha is composited onto black, so a transparent pixel reads as black whatever colour it hides. 16-bit grayscale
    is scaled to 8 bits (Pillow's own conversion would clip everything above 255). ``where`` names the image in errors.
    """
    try:
        with Image.open(io.BytesIO(data), formats=("PNG", "JPEG")) as image:
            image.load()  # decodes every pixel now, so a truncated file fails here and not later
            return _pixels(image)
    except _DECODE_ERRORS as exc:
        detail = "not a PNG or JPEG" if isinstance(exc, UnidentifiedImageError) else f"{type(exc).__name__}: {exc}"
        raise ImageDataError(f"{where} is not a readable PNG or JPEG image ({detail}); replace or remove it") from exc


def _pixels(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode in ("1", "L"):
        return np.array(image.convert("L"))
    if mode.startswith("I"):  # 16-bit grayscale PNG
        wide = np.clip(np.array(image).astype(np.int64), 0, 65535)
        return ((wide + 128) // 257).astype(np.uint8)
    if mode == "LA":
        return _on_black(np.array(image))
    if mode in ("RGBA", "PA") or "transparency" in image.info:
        return _on_black(np.array(image.convert("RGBA")))
    return np.array(image.convert("RGB"))


def _on_black(pixels: np.ndarray) -> np.ndarray:
    """Composite colour channels with a trailing alpha channel onto black, dropping the alpha."""
    flat = (pixels[..., :-1].astype(np.uint16) * pixels[..., -1:] + 127) // 255
    flat = flat.astype(np.uint8)
    return flat[..., 0] if flat.shape[-1] == 1 else flat


def _stack(arrays: list[np.ndarray], names: list[str], source: Path) -> np.ndarray:
    """One array from decoded images: all RGB if any is colour, refusing images of different sizes."""
    first = arrays[0].shape[:2]
    for array, name in zip(arrays, names, strict=True):
        if array.shape[:2] != first:
            raise ImageDataError(
                f"images in {source} differ in size (width x height): {first[1]}x{first[0]} (e.g. {names[0]}) "
                f"and {array.shape[1]}x{array.shape[0]} (e.g. {name}); resize them to one size first"
            )
    if any(array.ndim == 3 for array in arrays):
        arrays = [np.repeat(a[:, :, None], 3, axis=2) if a.ndim == 2 else a for a in arrays]
    return np.stack(arrays)


def _read_folder(root: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one sub-folder per class; the sub-folder's name is the label.

    Labels are ``int64`` when every class folder's name is a decimal integer (``0`` ... ``9``), otherwise ``str``.
    Files ending ``.png``, ``.jpg`` or ``.jpeg`` (any case) are read; hidden files and folders (``.``-prefixed), other
    files and empty class folders are skipped. Images come ordered by class (numerically for integer labels), then by
    file name, so a folder always gives the same arrays. Grayscale stays ``(N, H, W)`` unless any image is colour,
    in which case all become RGB.
    """
    classes = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if not classes:
        raise ImageDataError(
            f"{root} has no class sub-folders; put each class's images in a sub-folder named after the class"
        )
    arrays: list[np.ndarray] = []
    names: list[str] = []
    image_labels: list[int | str] = []
    for label, class_dir in _class_labels(classes, root):
        files = sorted(f for f in class_dir.iterdir() if _is_image_file(f))
        if not files:
            log.warning("skipping class folder %s: it has no .png/.jpg/.jpeg files", class_dir)
        for file in files:
            arrays.append(_read_file(file))
            names.append(f"{class_dir.name}/{file.name}")
            image_labels.append(label)
    if not arrays:
        found = sorted(c.name for c in classes)
        raise ImageDataError(f"{root} has class sub-folders {found} but no .png/.jpg/.jpeg files in them")
    dtype = np.int64 if isinstance(image_labels[0], int) else object
    return _stack(arrays, names, root), np.array(image_labels, dtype=dtype)


def _class_labels(classes: list[Path], root: Path) -> list[tuple[int | str, Path]]:
    """Each class folder with its label, in label order (numeric when every name is a decimal integer)."""
    if not all(re.fullmatch(r"-?[0-9]+", c.name) for c in classes):
        return [(c.name, c) for c in sorted(classes, key=lambda c: c.name)]
    numbered = sorted(classes, key=lambda c: int(c.name))
    if len({int(c.name) for c in classes}) < len(classes):
        found = sorted(c.name for c in classes)
        raise ImageDataError(f"class folders in {root} name the same number twice ({found}); rename one")
    return [(int(c.name), c) for c in numbered]


def _is_image_file(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".") and path.suffix.lower() in _IMAGE_SUFFIXES


def _read_file(file: Path) -> np.ndarray:
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ImageDataError(f"cannot read {file}: {exc}") from exc
    return decode_image(data, where=str(file))


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Arrays ``images``/``labels`` (or ``x``/``y``, ``x_train``/``y_train``), loaded without pickle."""
    try:
        with open(path, "rb") as handle:  # our own handle: np.load leaks its file when the zip is corrupt
            archive = np.load(handle, allow_pickle=False)
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise ImageDataError(f"{path} holds one array, not an .npz archive; save with np.savez(path, ...)")
            present = list(archive.files)
            pair = next((p for p in _NPZ_NAMES if p[0] in present and p[1] in present), None)
            loaded = None if pair is None else (archive[pair[0]], archive[pair[1]])
    except ImageDataError:
        raise
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, ValueError) as exc:
        raise ImageDataError(
            f"{path} is not a readable .npz file ({exc}); save it with np.savez(path, images=..., labels=...) "
            "with string labels as a str array, not objects"
        ) from exc
    if loaded is None:
        raise ImageDataError(
            f"{path} has no image and label arrays: expected 'images' and 'labels' (or 'x'/'y', 'x_train'/'y_train'), "
            f"found {present}"
        )
    return _uint8_images(loaded[0], path), _label_array(loaded[1], path)


def _uint8_images(images: np.ndarray, source: Path) -> np.ndarray:
    if images.dtype.kind == "f":
        raise ImageDataError(
            f"images in {source} are {images.dtype}; scale them to 0..255 and store them as uint8 "
            "(e.g. (x * 255).round().astype(np.uint8) for values in 0..1)"
        )
    if images.dtype.kind not in "iu":
        raise ImageDataError(f"images in {source} have dtype {images.dtype}; store them as uint8 in 0..255")
    if images.dtype != np.uint8 and images.size:
        low, high = int(images.min()), int(images.max())
        if low < 0 or high > 255:
            raise ImageDataError(f"images in {source} hold values {low}..{high}; scale them to 0..255 uint8")
    images = images.astype(np.uint8, copy=False)
    return images[..., 0] if images.ndim == 4 and images.shape[-1] == 1 else images


def _label_array(labels: np.ndarray, source: Path) -> np.ndarray:
    if labels.ndim == 2 and labels.shape[1] == 1:  # Keras-style (N, 1)
        labels = labels[:, 0]
    if labels.dtype.kind in "iu":
        return labels.astype(np.int64)
    if labels.dtype.kind == "U":
        return np.array(labels.tolist(), dtype=object)
    if labels.dtype.kind == "S":
        return np.array([value.decode("utf-8", errors="replace") for value in labels.tolist()], dtype=object)
    raise ImageDataError(f"labels in {source} have dtype {labels.dtype}; store them as integers or strings")


def _read_idx_pair(images_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """An IDX images file (MNIST family) and the labels file beside it."""
    labels_path = _idx_labels_path(images_path)
    images = _read_idx(images_path, _IDX_MAGIC_IMAGES)
    labels = _read_idx(labels_path, _IDX_MAGIC_LABELS).astype(np.int64)
    if len(images) != len(labels):
        raise ImageDataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels; "
            "pair the images and labels files of the same split"
        )
    return images, labels


def _idx_labels_path(images_path: Path) -> Path:
    """``train-images-idx3-ubyte[.gz]`` -> ``train-labels-idx1-ubyte[.gz]``; same compression first, then the other."""
    same = _IDX_IMAGES.sub(lambda m: f"labels{m.group(1)}idx1-ubyte{m.group(2) or ''}", images_path.name)
    other = same[:-3] if same.lower().endswith(".gz") else f"{same}.gz"
    for name in (same, other):
        if images_path.with_name(name).is_file():
            return images_path.with_name(name)
    raise ImageDataError(
        f"the labels file for {images_path} is missing: expected {images_path.with_name(same)} (or {other}) beside it"
    )


def _read_idx(path: Path, magic: int) -> np.ndarray:
    data = _read_maybe_gzip(path)
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < 4:
        raise ImageDataError(f"{path} is truncated: {len(data)} bytes, shorter than an IDX magic number")
    found_magic = int.from_bytes(data[:4], "big")
    if found_magic != magic:
        raise ImageDataError(
            f"{path} has IDX magic number 0x{found_magic:08x}, expected 0x{magic:08x} (unsigned bytes, {ndim}-D); "
            "is it the right file?"
        )
    if len(data) < header:
        raise ImageDataError(f"{path} is truncated: {len(data)} bytes, shorter than its {header}-byte IDX header")
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected, found = int(np.prod(dims)), len(data) - header
    if found != expected:
        problem = "is truncated" if found < expected else "has trailing bytes"
        shape = "x".join(map(str, dims))
        raise ImageDataError(
            f"{path} {problem}: its header ({shape}) needs {expected} bytes of data, found {found}; download it again"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


def _read_maybe_gzip(path: Path) -> bytes:
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise ImageDataError(f"cannot read {path} ({type(exc).__name__}: {exc}); download it again") from exc


def _read_parquet(path: Path, *, image_column: str, label_column: str) -> tuple[np.ndarray, np.ndarray]:
    """A column of PNG/JPEG bytes and a label column; integer labels stay int64, string labels str."""
    try:
        columns = pq.read_schema(path).names
        missing = [c for c in (image_column, label_column) if c not in columns]
        table = None if missing else pq.read_table(path, columns=[image_column, label_column])
    except (pa.ArrowException, OSError) as exc:
        raise ImageDataError(f"{path} is not a readable Parquet file ({exc})") from exc
    if table is None:
        raise ImageDataError(
            f"{path} has no column(s) {missing}; its columns are {columns}; pass image_column= and label_column="
        )
    encoded = _image_bytes(table.column(image_column), path, image_column)
    labels = _parquet_labels(table.column(label_column), path, label_column)
    if not encoded:
        raise ImageDataError(f"{path} has no rows; it needs at least one image")
    arrays = [decode_image(data, where=f"{path} row {i}") for i, data in enumerate(encoded)]
    return _stack(arrays, [f"row {i}" for i in range(len(arrays))], path), labels


def _image_bytes(column: pa.ChunkedArray, path: Path, name: str) -> list[bytes]:
    kind = column.type
    if pa.types.is_struct(kind) and kind.get_field_index("bytes") >= 0:  # Hugging Face Image feature: {bytes, path}
        column = pc.struct_field(column, "bytes")
    if not (pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type)):
        raise ImageDataError(f"column '{name}' in {path} has type {kind}; it must hold PNG or JPEG bytes (binary)")
    if column.null_count:
        raise ImageDataError(f"{path} row {_first_null(column)} has no image ('{name}' is null); drop that row")
    return column.to_pylist()


def _parquet_labels(column: pa.ChunkedArray, path: Path, name: str) -> np.ndarray:
    if pa.types.is_dictionary(column.type):  # pandas categoricals arrive dictionary-encoded
        column = column.cast(column.type.value_type)
    if column.null_count:
        raise ImageDataError(f"{path} row {_first_null(column)} has no label ('{name}' is null); drop or fill that row")
    if pa.types.is_integer(column.type):
        return column.to_numpy().astype(np.int64)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return np.array(column.to_pylist(), dtype=object)
    raise ImageDataError(f"label column '{name}' in {path} has type {column.type}; labels must be integers or strings")


def _first_null(column: pa.ChunkedArray) -> int:
    return int(np.flatnonzero(pc.is_null(column).to_numpy())[0])
