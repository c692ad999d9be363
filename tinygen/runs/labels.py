"""Class labels of a run: what `--conditional` stores in config.json and what `--label` means.

Place in the tower: runs/ (imports NumPy only). Shared by the VAE and GAN drivers and cli.py.

config.json of every new run carries
    "conditional"   bool: the networks take class labels y as a second input
    "num_classes"   K, the number of classes of the training data (null when unlabelled)
    "classes"       the class names (a labelled folder's sub-folders) or null (then 0..K-1)
K is len(classes) when the dataset names its classes, else max(y) + 1 (10 for MNIST). Runs
written before conditioning existed have no "conditional" key: they are unconditional.
"""
from __future__ import annotations

import numpy as np

DIGITS = [str(k) for k in range(10)]


def label_config(data_kind: str, y, classes, conditional: bool, dataset: str) -> dict:
    """{"conditional", "num_classes", "classes"} for a new run on data with labels y (N,) or
    None; ValueError (one line, before anything is written) for --conditional on data
    without labels, or on 2D points."""
    if conditional and (data_kind != "images" or y is None):
        what = "2D points" if data_kind != "images" else "images without labels"
        raise ValueError(f"--conditional needs labelled images; dataset {dataset!r} holds "
                         f"{what}")
    if y is None or data_kind != "images":
        return {"conditional": False, "num_classes": None, "classes": None}
    classes = list(classes) if classes is not None else None
    k = len(classes) if classes is not None else int(np.max(y)) + 1
    return {"conditional": bool(conditional), "num_classes": k, "classes": classes}


def num_classes(cfg: dict) -> int:
    """K for a conditional run's networks, 0 for an unconditional (or old) run."""
    return int(cfg["num_classes"]) if cfg.get("conditional", False) else 0


def resolve_label(cfg: dict, label: str | int | None) -> int | None:
    """`--label L` -> a class index: L a class index 0..K-1 or one of the run's class names.
    None stays None. ValueError naming the run's classes for anything else."""
    if label is None:
        return None
    if not cfg.get("conditional", False):
        raise ValueError(f"--label {label}: this run is not conditional (train it with "
                         f"--conditional to sample a chosen class)")
    k, names = int(cfg["num_classes"]), cfg.get("classes")
    text = str(label)
    if names is not None and text in names:
        return names.index(text)
    if text.lstrip("-").isdigit() and 0 <= int(text) < k:
        return int(text)
    known = f"names {', '.join(names)} or " if names is not None else ""
    raise ValueError(f"--label {text}: unknown class; this run knows {known}indices 0..{k - 1}")


def sample_labels(cfg: dict, n: int, label: int | None = None):
    """Labels for n samples of a conditional run: all `label`, or cycling 0, 1, ..., K-1, 0, ...
    (every class equally often); None for an unconditional run."""
    k = num_classes(cfg)
    if not k:
        return None
    return np.full(n, label, np.int64) if label is not None else np.arange(n, dtype=np.int64) % k


def is_digits(cfg: dict) -> bool:
    """True when the run's images are MNIST-shaped (1, 28, 28): the project's classifier can
    judge them. Label agreement also needs the classes to be the digits 0..9."""
    shape = cfg.get("shape") or cfg.get("image_shape")
    return list(shape or []) == [1, 28, 28]


def classes_are_digits(cfg: dict) -> bool:
    return (is_digits(cfg) and cfg.get("num_classes") == 10
            and cfg.get("classes") in (None, DIGITS))
