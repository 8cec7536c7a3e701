"""Pictures for the image report as PNG data URIs: per-class sample grids and the closest synthetic-train pairs.

Data URIs keep the HTML page self-contained (nothing to fetch, no scripts).
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import numpy as np
from PIL import Image

__all__ = ["build_image_figures", "png_data_uri"]

_PER_CLASS = 8
_GAP_PX = 2
_MIN_TILE_PX = 48


def png_data_uri(image: np.ndarray) -> str:
    """One uint8 (H, W), (H, W, 1) or (H, W, 3) array as a ``data:image/png;base64,...`` URI (lossless)."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _grid(rows: list[np.ndarray]) -> np.ndarray:
    """Images laid out in rows (each row a stack of same-shaped images), enlarged to at least 48 px a side."""
    height, width = rows[0].shape[1:3]
    factor = max(1, math.ceil(_MIN_TILE_PX / max(height, width)))
    columns = max(len(row) for row in rows)
    tile_h, tile_w = height * factor + _GAP_PX, width * factor + _GAP_PX
    shape = (len(rows) * tile_h - _GAP_PX, columns * tile_w - _GAP_PX, *rows[0].shape[3:])
    canvas = np.full(shape, 128, dtype=np.uint8)
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            big = image.repeat(factor, axis=0).repeat(factor, axis=1)
            canvas[r * tile_h : r * tile_h + height * factor, c * tile_w : c * tile_w + width * factor] = big
    return canvas


def _class_samples(rng: np.random.Generator, images: np.ndarray, labels: np.ndarray, label: Any) -> np.ndarray:
    members = np.flatnonzero(labels == label)
    return images[np.sort(rng.choice(members, size=min(_PER_CLASS, len(members)), replace=False))]


def build_image_figures(
    train_images: np.ndarray, train_labels: np.ndarray, synthetic_images: np.ndarray, synthetic_labels: np.ndarray,
    closest_pairs: list[dict[str, Any]], *, seed: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """``sample_grids``: per class, up to 8 generated and 8 real training images (URIs, None when a set has none
    of the class); ``closest_pairs``: per pair, one image (synthetic above, training below) with its distance.
    """
    rng = np.random.default_rng(seed)
    train_labels, synthetic_labels = np.asarray(train_labels), np.asarray(synthetic_labels)
    grids: dict[str, dict[str, str | None]] = {}
    for label in np.unique(train_labels).tolist():
        pictures: dict[str, str | None] = {}
        for name, images, labels in (
            ("synthetic", synthetic_images, synthetic_labels),
            ("real", train_images, train_labels),
        ):
            chosen = _class_samples(rng, images, labels, label)
            pictures[name] = png_data_uri(_grid([chosen])) if len(chosen) else None
        grids[str(label)] = pictures
    pairs = [
        {
            **pair,
            "image": png_data_uri(
                _grid([synthetic_images[[pair["synthetic_index"]]], train_images[[pair["train_index"]]]])
            ),
        }
        for pair in closest_pairs
    ]
    return {"sample_grids": grids, "closest_pairs": pairs}
