"""The feature space for image metrics: a small CNN classifier trained on the real training images.

Pretrained Inception weights cannot be downloaded here, so the images are measured in the penultimate layer of a
classifier that saw only the real training split. It is saved as JSON plus a ``state_dict`` (no pickle).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any, Self

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from validators.errors import ClassifierFileError, MetricInputError

__all__ = ["FeatureClassifier", "check_images"]

log = logging.getLogger(__name__)

_FORMAT_VERSION = 1
_WIDTH = 32
_FEATURE_DIM = 128
_BATCH = 64
_EVAL_BATCH = 512
_LEARNING_RATE = 5e-3
_FILES = ("classifier.json", "weights.pt")


def check_images(images: Any, what: str) -> int:
    """The channel count of a uint8 ``(N, H, W)`` or ``(N, H, W, 1 | 3)`` array; a clear error for anything else."""
    if not isinstance(images, np.ndarray):
        raise MetricInputError(f"the {what} must be a numpy array, got {type(images).__name__}")
    if images.dtype != np.uint8:
        raise MetricInputError(f"the {what} must be uint8 (pixel values 0..255), got {images.dtype}; convert first")
    if images.ndim == 3:
        return 1
    if images.ndim == 4 and images.shape[3] in (1, 3):
        return int(images.shape[3])
    raise MetricInputError(f"the {what} must be shaped (N, H, W) or (N, H, W, 3), got {images.shape}")


def _to_device(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """A copy on ``device`` (the caller's array may be read-only, which torch will not wrap)."""
    return torch.from_numpy(np.array(images, dtype=np.uint8)).to(device)


def _as_input(x: torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W[, C]) to float (N, C, H, W) in [-1, 1] on the same device."""
    x = x[:, None] if x.ndim == 3 else x.permute(0, 3, 1, 2)
    return x.float().div_(127.5).sub_(1.0)


def _block(channels_in: int, channels_out: int, device: torch.device | str | None) -> list[nn.Module]:
    return [
        nn.Conv2d(channels_in, channels_out, 3, padding=1, device=device),
        nn.BatchNorm2d(channels_out, device=device),
        nn.ReLU(),
    ]


class _Network(nn.Module):
    """Three conv blocks, global average pooling, a 128-d ReLU layer (the features) and a linear head.

    Shape: input (N, C, H, W) for any H, W >= 1; ``embed`` gives (N, 128), ``forward`` (N, n_classes) logits.
    """

    def __init__(self, channels: int, n_classes: int, *, device: torch.device | str | None = None) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_block(channels, _WIDTH // 2, device), nn.MaxPool2d(2, ceil_mode=True),
            *_block(_WIDTH // 2, _WIDTH, device), nn.MaxPool2d(2, ceil_mode=True),
            *_block(_WIDTH, 2 * _WIDTH, device), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(2 * _WIDTH, _FEATURE_DIM, device=device), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Linear(_FEATURE_DIM, n_classes, device=device)

    def reset_parameters(self, generator: torch.Generator) -> None:
        """torch's default initialisation, drawn from ``generator`` instead of the global RNG."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
                bound = 1 / math.sqrt(module.weight[0].numel())
                if module.bias is not None:
                    nn.init.uniform_(module.bias, -bound, bound, generator=generator)
            elif isinstance(module, nn.BatchNorm2d):
                module.reset_parameters()

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def _build(channels: int, n_classes: int, device: torch.device, generator: torch.Generator) -> _Network:
    """A network whose weights come only from ``generator`` (a CPU one): built on the meta device, so building
    draws nothing, initialised on the CPU and then moved, so a seed gives the same weights on every device."""
    net = _Network(channels, n_classes, device="meta").to_empty(device="cpu")
    net.reset_parameters(generator)
    return net.to(device)


def _resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise MetricInputError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise MetricInputError(f"device {device!r} was asked for but CUDA is not available here; use 'auto' or 'cpu'")
    return resolved


def _classes(labels: Any, n_images: int) -> np.ndarray:
    """The sorted distinct labels, as int64 or an object array of str."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != n_images:
        raise MetricInputError(f"labels must be 1-D with one per image ({n_images}), got shape {labels.shape}")
    if labels.dtype.kind in "iu":
        return np.unique(labels.astype(np.int64))
    if labels.dtype.kind in "UO" and all(isinstance(v, str) for v in labels.tolist()):
        return np.array(sorted(set(labels.tolist())), dtype=object)
    raise MetricInputError(f"labels must be ints or strings, got dtype {labels.dtype}")


def _train(network: _Network, x: torch.Tensor, y: torch.Tensor, epochs: int, generator: torch.Generator) -> list[float]:
    """Adam with a cosine-decayed learning rate (the weights settle, so batch norm's running statistics match them at
    the end); batch order from ``generator``. Returns the mean loss per epoch.
    """
    optimiser = torch.optim.Adam(network.parameters(), lr=_LEARNING_RATE)
    steps = max(1, epochs * len(range(0, len(x) - 1, _BATCH)))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 0.5 * (1 + math.cos(math.pi * step / steps)))
    network.train()
    history = []
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=generator).to(x.device)
        total = torch.zeros((), device=x.device)
        for start in range(0, len(x) - 1, _BATCH):  # never a batch of one: batch norm needs two
            batch = order[start : start + _BATCH]
            loss = F.cross_entropy(network(_as_input(x[batch])), y[batch])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.detach() * len(batch)
        history.append(float(total) / len(x))
        log.debug("feature classifier epoch %d: loss %.4f", epoch + 1, history[-1])
    network.eval()
    return history


class FeatureClassifier:
    """A small CNN trained with cross-entropy on the real training images; its penultimate layer is the feature
    space of the image metrics.

    Args:
        epochs: passes over the training images.
        seed: seeds the weight initialisation and the batch order (a local ``torch.Generator``).
        device: "auto" (CUDA when present, else CPU), "cpu" or "cuda[:N]".

    Attributes (after ``fit`` or ``load``): ``classes_`` (sorted labels, int64 or object array of str),
    ``image_shape_`` (one image's shape), ``device_``, ``history_`` (mean training loss per epoch), ``network_``.
    """

    def __init__(self, *, epochs: int = 5, seed: int = 0, device: str = "auto") -> None:
        self.epochs = epochs
        self.seed = seed
        self.device = device

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"epochs": self.epochs, "seed": self.seed, "device": self.device}

    def set_params(self, **params: Any) -> Self:
        for name, value in params.items():
            if name not in self.get_params():
                raise MetricInputError(
                    f"FeatureClassifier has no parameter {name!r}; it has {sorted(self.get_params())}"
                )
            setattr(self, name, value)
        return self

    def _validate_params(self) -> None:
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise MetricInputError(f"epochs must be an int >= 1, got {self.epochs!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise MetricInputError(f"seed must be an int >= 0, got {self.seed!r}")
        if not isinstance(self.device, str):
            raise MetricInputError(f"device must be a string such as 'auto' or 'cpu', got {self.device!r}")

    def fit(self, images: np.ndarray, labels: np.ndarray) -> Self:
        """Train on the real training images; labels may be ints or strings (at least two classes)."""
        self._validate_params()
        channels = check_images(images, "training images")
        classes = _classes(labels, len(images))
        if len(classes) < 2:
            raise MetricInputError(f"the classifier needs at least two classes, got {classes.tolist()}")
        self.device_ = _resolve_device(self.device)
        self.classes_, self.image_shape_ = classes, tuple(int(s) for s in images.shape[1:])
        log.info("training the feature classifier: %d images %s, %d classes, %d epochs, device %s, seed %d",
                 len(images), self.image_shape_, len(classes), self.epochs, self.device_, self.seed)  # fmt: skip
        generator = torch.Generator().manual_seed(self.seed)
        self.network_ = _build(channels, len(classes), self.device_, generator)
        targets = torch.as_tensor(self._indices(labels), device=self.device_)
        self.history_ = _train(self.network_, _to_device(images, self.device_), targets, self.epochs, generator)
        self.network_.eval()
        return self

    def _indices(self, labels: np.ndarray) -> np.ndarray:
        lookup = {value: i for i, value in enumerate(self.classes_.tolist())}
        try:
            return np.array([lookup[value] for value in np.asarray(labels).tolist()], dtype=np.int64)
        except KeyError as exc:
            raise MetricInputError(f"label {exc.args[0]!r} is not a class the classifier knows") from exc

    def _check_fitted(self, images: np.ndarray) -> None:
        if not hasattr(self, "network_"):
            raise MetricInputError("FeatureClassifier is not fitted yet; call fit() or load() first")
        channels = check_images(images, "images")
        expected = 1 if len(self.image_shape_) == 2 else self.image_shape_[2]
        if channels != expected:
            raise MetricInputError(f"the classifier was trained on {expected}-channel images, got {channels}")

    def _forward(self, images: np.ndarray, features: bool) -> np.ndarray:
        self._check_fitted(images)
        self.network_.eval()
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), _EVAL_BATCH):
                x = _as_input(_to_device(images[start : start + _EVAL_BATCH], self.device_))
                out.append((self.network_.embed(x) if features else self.network_(x).argmax(dim=1)).cpu().numpy())
        if not out:
            return np.zeros((0, _FEATURE_DIM), dtype=np.float32) if features else np.zeros(0, dtype=np.int64)
        return np.concatenate(out)

    def features(self, images: np.ndarray) -> np.ndarray:
        """float32 (N, 128) penultimate-layer activations, computed in batches without gradients."""
        return self._forward(images, features=True).astype(np.float32)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """The predicted labels, in the original label values."""
        return self.classes_[self._forward(images, features=False)]

    def save(self, path: str | Path) -> Path:
        """Write ``classifier.json`` (parameters, classes, shape) and ``weights.pt`` (a state_dict) to a folder."""
        if not hasattr(self, "network_"):
            raise MetricInputError("FeatureClassifier is not fitted yet; call fit() before save()")
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        kind = "int" if self.classes_.dtype.kind == "i" else "str"
        state = {
            "format_version": _FORMAT_VERSION,
            "params": self.get_params(),
            "classes": self.classes_.tolist(),
            "label_kind": kind,
            "image_shape": list(self.image_shape_),
            "history": self.history_,
        }
        (folder / "classifier.json").write_text(json.dumps(state, indent=2))
        torch.save(self.network_.state_dict(), folder / "weights.pt")
        return folder

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None) -> FeatureClassifier:
        """A saved classifier (``device`` overrides the saved one); a missing or damaged file: ClassifierFileError."""
        folder = Path(path)
        missing = [name for name in _FILES if not (folder / name).is_file()]
        if missing:
            raise ClassifierFileError(f"{folder} is not a saved FeatureClassifier: missing {missing}")
        try:
            state = json.loads((folder / "classifier.json").read_text())
            version = state["format_version"]
            model = cls(**state["params"])
            dtype = np.int64 if state["label_kind"] == "int" else object
            model.classes_ = np.array(state["classes"], dtype=dtype)
            model.image_shape_ = tuple(int(s) for s in state["image_shape"])
            model.history_ = [float(v) for v in state["history"]]
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ClassifierFileError(
                f"{folder / 'classifier.json'} is malformed: {exc!r}; fit and save again"
            ) from exc
        if version != _FORMAT_VERSION:
            raise ClassifierFileError(f"{folder} holds classifier format {version}, expected {_FORMAT_VERSION}")
        model.device_ = _resolve_device(device if device is not None else model.device)
        channels = 1 if len(model.image_shape_) == 2 else model.image_shape_[2]
        model.network_ = _build(channels, len(model.classes_), model.device_, torch.Generator())
        try:
            weights = torch.load(folder / "weights.pt", map_location=model.device_, weights_only=True)
            model.network_.load_state_dict(weights)
        except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError... for a damaged file
            raise ClassifierFileError(f"{folder / 'weights.pt'} cannot be loaded: {exc}; fit and save again") from exc
        model.network_.eval()
        return model
