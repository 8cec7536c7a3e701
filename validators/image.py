"""Image metrics: conditional accuracy, Frechet distance, KID and PRDC in a classifier's feature space, and
memorisation in pixel space; each measured beside the real holdout's own figure.

Feature-space metrics take ``(N, D)`` features from validators.image_features.FeatureClassifier; FD and KID are
computed on features divided by one scalar, the root of the training features' mean per-dimension variance, so
their values mean the same whatever scale a classifier happened to learn.

Default bounds (validators.bounds), calibrated on Fashion-MNIST with 2,000 images per set: real unseen images
score FD 0.3-0.4 (holdout 0.44), KID ~0.03, PRDC 0.96-0.98, conditional accuracy within 0.02 of the holdout's
0.84; mode collapse (one image per class) FD 2.4, recall 0, coverage 0.22; a 2-pixel shift FD 5.7, coverage 0.67;
inverted images FD 158; noise FD 283. FD fails 5 units above the holdout (warns at 2), KID 0.5 (0.2).
Sampling noise grows as sets shrink: at 400 images per set the FD of real sets spreads by +-0.6 and KID by +-0.1;
at 50 by +-4 and +-0.8, where the gate is no longer reliable. Memorisation uses the tabular low_dcr_share marks
(fail above 5 %, warn above 3 %): for exchangeable real sets P(share > 3 %) is 2 % at 400 images, 0.05 % at 1,000.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from validators.baselines import mean_noise
from validators.bounds import DEFAULT_BOUNDS, Bound
from validators.distances import chunked_pairs, nearest_distances
from validators.diversity import _prdc
from validators.errors import MetricInputError
from validators.gate import decide
from validators.image_features import FeatureClassifier, check_images
from validators.image_plots import build_image_figures
from validators.records import MetricResult, make_record
from validators.report import Report

__all__ = [
    "MIN_IMAGES",
    "conditional_accuracy",
    "evaluate_images",
    "frechet_distance",
    "image_prdc",
    "kid",
    "memorisation_share",
]

log = logging.getLogger(__name__)

#: The least images a set may have: below it, no share or accuracy is worth reading.
MIN_IMAGES = 20
_PRDC = ("precision", "recall", "density", "coverage")


def _draw(rng: np.random.Generator, size: int, n: int) -> np.ndarray:
    """``n`` distinct indices out of ``size``, in ascending order."""
    return np.sort(rng.choice(size, size=n, replace=False))


def _equal_samples(rng: np.random.Generator, max_images: int, *arrays: np.ndarray) -> tuple[int, list[np.ndarray]]:
    """Indices of one equal-size sample per array (the smallest size, at most ``max_images``)."""
    n = min(min(len(a) for a in arrays), max_images)
    if n < 2:
        raise MetricInputError(f"each set needs at least 2 images to compare, got sizes {[len(a) for a in arrays]}")
    return n, [_draw(rng, len(a), n) for a in arrays]


def _label_key(label: Any) -> int | str:
    return int(label) if isinstance(label, int | np.integer) else str(label)


def conditional_accuracy(
    classifier: FeatureClassifier, synthetic_images: np.ndarray, synthetic_labels: np.ndarray,
    holdout_images: np.ndarray, holdout_labels: np.ndarray, *, bound: Bound | None = None,
) -> MetricResult:  # fmt: skip
    """Share of synthetic images the classifier assigns to the class they were generated for; the reference is its
    accuracy on the real holdout. ``details["ratio"]`` is value / reference (the issue aims at >= 0.9).
    """
    hits = classifier.predict(synthetic_images) == np.asarray(synthetic_labels)
    reference_hits = classifier.predict(holdout_images) == np.asarray(holdout_labels)
    value, reference = float(hits.mean()), float(reference_hits.mean())
    per_class = {}
    for label in classifier.classes_.tolist():
        mine, theirs = np.asarray(synthetic_labels) == label, np.asarray(holdout_labels) == label
        per_class[_label_key(label)] = {
            "value": float(hits[mine].mean()) if mine.any() else None,
            "reference": float(reference_hits[theirs].mean()) if theirs.any() else None,
        }
    details = {
        "ratio": value / reference if reference > 0 else None,
        "per_class": per_class,
        "images": len(hits),
        "holdout_images": len(reference_hits),
    }
    bound = bound or DEFAULT_BOUNDS["conditional_accuracy"]
    return make_record("conditional_accuracy", "fidelity", value, reference, bound, details)


def _scale(train: np.ndarray) -> float:
    """The root of the mean per-dimension variance of the training features (1 when they are constant)."""
    variance = float(np.var(train.astype(np.float64), axis=0).mean())
    return float(np.sqrt(variance)) if variance > 0 else 1.0


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    eigenvalues, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ vectors.T


def _frechet(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^1/2), in float64.

    tr((S_a S_b)^1/2) is the sum of the roots of the eigenvalues of S_a^1/2 S_b S_a^1/2, which is symmetric and
    positive semi-definite: no complex parts to drop and no failure on singular covariances.
    """
    a, b = a.astype(np.float64), b.astype(np.float64)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = _psd_sqrt(cov_a)
    middle = root @ cov_b @ root
    cross = float(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum())
    mean_term = float(np.sum((a.mean(axis=0) - b.mean(axis=0)) ** 2))
    return max(mean_term + float(np.trace(cov_a) + np.trace(cov_b)) - 2 * cross, 0.0)


def frechet_distance(
    train: np.ndarray, synthetic: np.ndarray, holdout: np.ndarray, *, seed: int = 0, max_images: int = 10_000,
    bound: Bound | None = None,
) -> MetricResult:  # fmt: skip
    """Frechet distance between Gaussians fitted to synthetic and training features (0: identical), in units of
    the training features' mean per-dimension variance; synthetic and holdout are compared on equal-size samples
    (the estimate's upward bias depends on sample size). Raw figures are in the details.
    """
    rng = np.random.default_rng(seed)
    train = train[_draw(rng, len(train), min(len(train), max_images))]
    n, (s, h) = _equal_samples(rng, max_images, synthetic, holdout)
    unit = _scale(train) ** 2
    raw, raw_reference = _frechet(synthetic[s], train), _frechet(holdout[h], train)
    details = {
        "raw_value": raw,
        "raw_reference": raw_reference,
        "feature_variance": unit,
        "images_per_set": n,
        "train_images": len(train),
    }
    bound = bound or DEFAULT_BOUNDS["frechet_distance"]
    return make_record("frechet_distance", "fidelity", raw / unit, raw_reference / unit, bound, details)


def _mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 of two equal-size samples with the kernel k(a, b) = (a.b / d + 1)^3."""
    m, d = len(x), x.shape[1]
    k_xx, k_yy, k_xy = ((x @ x.T) / d + 1) ** 3, ((y @ y.T) / d + 1) ** 3, ((x @ y.T) / d + 1) ** 3
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2 * k_xy.mean())


def kid(
    train: np.ndarray, synthetic: np.ndarray, holdout: np.ndarray, *, seed: int = 0, subsets: int = 10,
    subset_size: int = 1_000, bound: Bound | None = None,
) -> MetricResult:  # fmt: skip
    """Kernel Inception Distance in the classifier's feature space: unbiased MMD^2 (cubic polynomial kernel) between
    synthetic and training features, averaged over seeded subsets; about 0 for sets from one distribution (it can
    dip below 0). Synthetic and holdout are sampled to one size, so the reference sees the same subset sizes.
    """
    rng = np.random.default_rng(seed)
    n, (s, h) = _equal_samples(rng, len(synthetic), synthetic, holdout)
    synthetic, holdout = synthetic[s].astype(np.float64), holdout[h].astype(np.float64)
    size = min(subset_size, len(train), n)
    scale = _scale(train)
    values, references = [], []
    for _ in range(subsets):
        real = train[_draw(rng, len(train), size)].astype(np.float64) / scale
        pick = _draw(rng, n, size)  # the same positions in both equal-size samples
        values.append(_mmd2(synthetic[pick] / scale, real))
        references.append(_mmd2(holdout[pick] / scale, real))
    details = {
        "subsets": subsets,
        "subset_size": size,
        "std": float(np.std(values)),
        "reference_std": float(np.std(references)),
    }
    bound = bound or DEFAULT_BOUNDS["kid"]
    return make_record("kid", "fidelity", float(np.mean(values)), float(np.mean(references)), bound, details)


def _per_class_prdc(rng: np.random.Generator, k: int, sets: list[tuple[np.ndarray, np.ndarray]]) -> dict[Any, Any]:
    """Per class of the training sample: PRDC of synthetic and of holdout on equal-size class samples."""
    (train, train_labels), (synthetic, synthetic_labels), (holdout, holdout_labels) = sets
    out: dict[Any, Any] = {}
    for label in np.unique(train_labels).tolist():
        members = [np.flatnonzero(labels == label) for labels in (train_labels, synthetic_labels, holdout_labels)]
        n = min(len(m) for m in members)
        entry: dict[str, Any] = {"images": int(n), "synthetic_images": len(members[1])}
        if n <= k:
            entry["reason"] = f"fewer than {k + 1} images of this class in a set"
            out[_label_key(label)] = {**entry, **{name: {"value": None, "reference": None} for name in _PRDC}}
            continue
        real, fake, other = (
            x[rng.choice(m, size=n, replace=False)] for x, m in zip((train, synthetic, holdout), members, strict=True)
        )
        values, references = _prdc(real, fake, k), _prdc(real, other, k)
        out[_label_key(label)] = {
            **entry,
            **{
                name: {"value": float(values[name].mean()), "reference": float(references[name].mean())}
                for name in _PRDC
            },
        }
    return out


def image_prdc(
    train: np.ndarray, synthetic: np.ndarray, holdout: np.ndarray, *, train_labels: np.ndarray,
    synthetic_labels: np.ndarray, holdout_labels: np.ndarray, k: int = 5, seed: int = 0, max_images: int = 10_000,
    bounds: Mapping[str, Bound] | None = None,
) -> list[MetricResult]:  # fmt: skip
    """Four records, image_precision / recall / density / coverage (Naeem et al. 2020) in feature space on
    equal-size samples, overall and per class (``details["per_class"][label][name]``): mode collapse shows as low
    coverage and recall, a missing class as a per-class entry without value.
    """
    rng = np.random.default_rng(seed)
    n, (t, s, h) = _equal_samples(rng, max_images, train, synthetic, holdout)
    if n <= k:
        raise MetricInputError(f"PRDC with k={k} needs more than {k} images per set, got {n}")
    labelled = [
        (train[t], np.asarray(train_labels)[t]),
        (synthetic[s], np.asarray(synthetic_labels)[s]),
        (holdout[h], np.asarray(holdout_labels)[h]),
    ]
    values, references = _prdc(labelled[0][0], labelled[1][0], k), _prdc(labelled[0][0], labelled[2][0], k)
    per_class = _per_class_prdc(rng, k, labelled)
    marks = {**DEFAULT_BOUNDS, **(bounds or {})}
    records = []
    for name in _PRDC:
        classes = {
            label: {"value": entry[name]["value"], "reference": entry[name]["reference"], "images": entry["images"]}
            for label, entry in per_class.items()
        }
        details = {"k": k, "images_per_set": n, "per_class": classes}
        value, reference = float(values[name].mean()), float(references[name].mean())
        noise = mean_noise(values[name], references[name])
        records.append(
            make_record(f"image_{name}", "diversity", value, reference, marks[f"image_{name}"], details, noise=noise)
        )
    return records


def _digests(images: np.ndarray) -> set[bytes]:
    return {hashlib.blake2b(image.tobytes(), digest_size=16).digest() for image in images}


def _pixels(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


def memorisation_share(
    train: np.ndarray, synthetic: np.ndarray, holdout: np.ndarray, *, seed: int = 0, percentile: float = 1.0,
    max_images: int = 10_000, pairs: int = 8, bound: Bound | None = None,
) -> MetricResult:  # fmt: skip
    """Share of synthetic images nearer a training image (L2 over pixels in [0, 1]) than the 1st percentile of
    holdout-to-train distances. Real images fall below that line about 1 % of the time; the reference measures one
    half of the holdout against the line set by the other half. Details: the line, exact copies of a training
    image, and the closest synthetic-train pairs (indices into the arrays given).

    Synthetic and holdout are compared on equal-size samples (at most ``max_images``), each against the whole
    training set: a sample of it would miss the copies of every image left out.
    """
    if not train.shape[1:] == synthetic.shape[1:] == holdout.shape[1:]:
        raise MetricInputError(f"images of one shape are needed, got {train.shape}, {synthetic.shape}, {holdout.shape}")
    rng = np.random.default_rng(seed)
    n, (s, h) = _equal_samples(rng, max_images, synthetic, holdout)
    reference_set = _pixels(train)
    to_train = nearest_distances(_pixels(synthetic[s]), reference_set)
    holdout_to_train = nearest_distances(_pixels(holdout[h]), reference_set)
    line = float(np.percentile(holdout_to_train, percentile))
    value = float(np.mean(to_train <= line))
    halves = rng.permutation(n)  # random halves: the holdout may come ordered, say by class
    first, second = holdout_to_train[halves[: n // 2]], holdout_to_train[halves[n // 2 : 2 * (n // 2)]]
    reference = float(np.mean(second <= np.percentile(first, percentile)))
    copies = _digests(train)
    closest = np.argsort(to_train, kind="stable")[:pairs]
    nearest_train = np.empty(len(closest), dtype=np.int64)
    for start, block in chunked_pairs(_pixels(synthetic[s[closest]]), reference_set):
        nearest_train[start : start + len(block)] = block.argmin(dim=1).cpu().numpy()
    details = {
        "line": line,
        "percentile": percentile,
        "exact_copies": sum(digest in copies for digest in _digests(synthetic[s])),
        "images_per_set": n,
        "train_images": len(train),
        "closest_pairs": [
            {"synthetic_index": int(s[i]), "train_index": int(j), "distance": float(to_train[i])}
            for i, j in zip(closest, nearest_train, strict=True)
        ],
    }
    bound = bound or DEFAULT_BOUNDS["memorisation_share"]
    return make_record("memorisation_share", "leakage", value, reference, bound, details)


def _check_inputs(sets: dict[str, tuple[np.ndarray, np.ndarray]], classifier: FeatureClassifier | None) -> None:
    """Refuse sets no metric can compare honestly: one clear error, never a silently skipped metric."""
    shapes = {}
    for name, (images, labels) in sets.items():
        check_images(images, f"{name} images")
        shapes[name] = images.shape[1:]
        labels = np.asarray(labels)
        if labels.ndim != 1 or len(labels) != len(images):
            raise MetricInputError(
                f"the {name} labels must be 1-D with one per image ({len(images)}), got shape {labels.shape}"
            )
        if len(images) < MIN_IMAGES:
            raise MetricInputError(f"the {name} set has {len(images)} images; at least {MIN_IMAGES} are needed")
    if len(set(shapes.values())) > 1:
        raise MetricInputError(f"every set must hold images of one shape, got {shapes}; resize them first")
    real = set(np.asarray(sets["train"][1]).tolist())
    for name in ("synthetic", "holdout"):
        unknown = sorted(map(repr, set(np.asarray(sets[name][1]).tolist()) - real))
        if unknown:
            raise MetricInputError(
                f"the {name} labels hold classes the real training data does not have: {', '.join(unknown[:5])}"
            )
    if classifier is not None:
        if not hasattr(classifier, "classes_"):
            raise MetricInputError("the FeatureClassifier given is not fitted; call fit() or load() first")
        if tuple(classifier.image_shape_) != tuple(shapes["train"]):
            raise MetricInputError(
                f"the classifier was trained on images shaped {classifier.image_shape_}, these are {shapes['train']}"
            )
        missing = sorted(map(repr, real - set(classifier.classes_.tolist())))
        if missing:
            raise MetricInputError(f"the classifier does not know the classes {', '.join(missing[:5])}")


def evaluate_images(
    train_images: np.ndarray, train_labels: np.ndarray, synthetic_images: np.ndarray, synthetic_labels: np.ndarray,
    holdout_images: np.ndarray, holdout_labels: np.ndarray, *, classifier: FeatureClassifier | None = None,
    bounds: Mapping[str, Bound] | None = None, enforce: bool = True, seed: int = 0, max_images: int = 10_000,
) -> Report:  # fmt: skip
    """Measure generated images against the real training images, with the real holdout as every reference.

    Without ``classifier`` a FeatureClassifier (``seed``) is trained on the training images. Synthetic and holdout
    sets are compared on equal-size samples (at most ``max_images``), drawn with ``seed``; the training set is
    sampled down to ``max_images`` as well. ``bounds`` override the default pass marks by metric name.
    """
    started = time.perf_counter()
    sets = {
        "train": (train_images, train_labels),
        "synthetic": (synthetic_images, synthetic_labels),
        "holdout": (holdout_images, holdout_labels),
    }
    _check_inputs(sets, classifier)
    marks = {**DEFAULT_BOUNDS, **(bounds or {})}
    trained_here = classifier is None
    if classifier is None:
        classifier = FeatureClassifier(seed=seed).fit(train_images, train_labels)
    rng = np.random.default_rng(seed)
    t = _draw(rng, len(train_images), min(len(train_images), max_images))
    n, (s, h) = _equal_samples(rng, max_images, synthetic_images, holdout_images)
    log.info(
        "measuring %d synthetic images against %d training images: %d per set, seed %d",
        len(synthetic_images),
        len(train_images),
        n,
        seed,
    )
    labels = {name: np.asarray(pair[1]) for name, pair in sets.items()}
    features = [classifier.features(x) for x in (train_images[t], synthetic_images[s], holdout_images[h])]
    metrics: list[MetricResult] = [
        conditional_accuracy(
            classifier,
            synthetic_images[s],
            labels["synthetic"][s],
            holdout_images[h],
            labels["holdout"][h],
            bound=marks["conditional_accuracy"],
        ),
        frechet_distance(*features, seed=seed, max_images=max_images, bound=marks["frechet_distance"]),
        kid(*features, seed=seed, bound=marks["kid"]),
        *image_prdc(
            *features,
            train_labels=labels["train"][t],
            synthetic_labels=labels["synthetic"][s],
            holdout_labels=labels["holdout"][h],
            seed=seed,
            max_images=max_images,
            bounds=marks,
        ),
        _remap_pairs(
            memorisation_share(
                train_images,
                synthetic_images[s],
                holdout_images[h],
                seed=seed,
                max_images=max_images,
                bound=marks["memorisation_share"],
            ),
            s,
        ),
    ]
    figures = build_image_figures(
        train_images,
        labels["train"],
        synthetic_images,
        labels["synthetic"],
        metrics[-1].details["closest_pairs"],
        seed=seed,
    )
    context = {
        "train_images": len(train_images),
        "synthetic_images": len(synthetic_images),
        "holdout_images": len(holdout_images),
        "image_shape": list(train_images.shape[1:]),
        "sample_images": n,
        "train_sample_images": len(t),
        "classes": len(classifier.classes_),
        "classifier_holdout_accuracy": round(metrics[0].reference, 4),
        "classifier_trained_here": trained_here,
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return Report(metrics=tuple(metrics), verdict=decide(metrics, enforce=enforce), context=context, figures=figures)


def _remap_pairs(record: MetricResult, synthetic_index: np.ndarray) -> MetricResult:
    """Closest pairs indexed into the caller's synthetic array rather than the sample it was measured on."""
    pairs = [
        {**pair, "synthetic_index": int(synthetic_index[pair["synthetic_index"]])}
        for pair in record.details["closest_pairs"]
    ]
    return replace(record, details={**record.details, "closest_pairs": pairs})
