"""Class labels of a run: what `--conditional` stores in config.json and what `--label` means;
and the label-free groups a GAN run can condition on instead, k-means clusters (`--clusters`).

Place in the tower: runs/ (imports NumPy and tinygen.data.clusters). Shared by the VAE and GAN
drivers and cli.py.

config.json of every new run carries
    "conditional"   bool: the networks take class labels y as a second input
    "num_classes"   K, the number of classes of the training data (null when unlabelled)
    "classes"       the class names (a labelled folder's sub-folders) or null (then 0..K-1)
K is len(classes) when the dataset names its classes, else max(y) + 1 (10 for MNIST). Runs
written before conditioning existed have no "conditional" key: they are unconditional.
"""
from __future__ import annotations

import numpy as np

from tinygen.data.clusters import pixel_clusters

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


def cluster_config(config: dict, flags: dict, data, per_cluster: int) -> dict:
    """{"clusters", "codes", "cluster_sizes", "cluster_features"} of a GAN run on
    `config["clusters"]` k-means clusters of its training images (deskewed and smoothed over
    their nearest neighbours, data/clusters.py):
    a default K (not a flag) yields to --codes and shrinks to one cluster per `per_cluster`
    images (none below two clusters); config.json keeps each cluster's number of images, which
    samples are drawn by. ValueError naming the flag for a combination that does not fit."""
    k = config["clusters"]
    if "clusters" not in flags:
        k = 0 if flags.get("codes") else min(k, len(data.x) // per_cluster)
        if k < 2:
            return {"clusters": 0}
    if data.kind != "images":
        raise ValueError("--clusters is for the DCGAN (image data)")
    if config["conditional"]:
        raise ValueError("--clusters is for an unconditional run (a conditional one has labels)")
    if flags.get("codes"):
        raise ValueError("--clusters and --codes both give G a group to draw; use one")
    if not 2 <= k <= len(data.x):
        raise ValueError(f"--clusters {k} is out of range (2 to the {len(data.x)} training "
                         f"images)")
    sizes = np.bincount(cluster_ids(data, k, config["seed"]), minlength=k)
    return {"clusters": k, "codes": 0, "cluster_sizes": sizes.tolist(),
            "cluster_features": "smoothed"}


_CLUSTERS = {}


def cluster_ids(data, k: int, seed: int, features: str = "smoothed") -> np.ndarray:
    """The k-means cluster (N,) of each training image on `features` (data/clusters.py's
    pixel_clusters: "smoothed", or as older runs were clustered, "deskewed" or "pixels"),
    computed once per process for these images (the array itself is kept, so the key cannot be
    reused), k, seed and features: a new run's config and its first epoch both ask."""
    key = (id(data.x), k, seed, features)
    if key not in _CLUSTERS:
        _CLUSTERS.clear()
        _CLUSTERS[key] = (data.x, pixel_clusters(data.x, k, seed, features))
    return _CLUSTERS[key][1]


def sample_clusters(cfg: dict, n: int, cluster: int | None = None, seed: int | None = None):
    """Clusters for n samples of a cluster run: all `cluster`, or drawn at their share of the
    training images (cfg["cluster_sizes"]), seeded by `seed` (default: the run's seed)."""
    if cluster is not None:
        return np.full(n, cluster, np.int64)
    share = np.asarray(cfg["cluster_sizes"], np.float64)
    rng = np.random.default_rng([cfg["seed"] if seed is None else seed, 5])
    return rng.choice(len(share), size=n, p=share / share.sum())
