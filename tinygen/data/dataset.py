"""The front door of the data floor: load_dataset(name or path) -> Dataset.

Place in the tower: data/. Imports NumPy and the other data modules.

    name       what                                                x                    y
    mnist-5k   bundled MNIST subset, 4000 train / 1000 test        (N, 1, 28, 28)       digit
    mnist      full MNIST from a data directory (see data.mnist)   (N, 1, 28, 28)       digit
    ring8      10000 points of the 8-Gaussian ring                 (N, 2)               mode
    grid25     10000 points of the 25-Gaussian grid                (N, 2)               mode
    a path     a user's .npy / .npz (see data.arrays)              images or points     file's

x is always float32 (images scaled to [0, 1]); y is int64 (N,) or None. The toy sets are fixed
draws (seed 0 for split 'train', seed 1 for 'test') so runs are comparable; a GAN can sample
fresh points instead through `dataset.mixture.sample(n, rng)`. A file is a single split: the
`split` argument is ignored for paths.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .arrays import load_arrays
from .errors import DataError
from .mnist import SPLITS, load_mnist, load_mnist5k
from .toy import MIXTURES, Mixture2D

DATASET_NAMES = ("mnist-5k", "mnist", "ring8", "grid25")
TOY_SIZE = 10_000
TOY_SEEDS = {"train": 0, "test": 1}


@dataclass(eq=False)
class Dataset:
    """x: float32 images (N, C, H, W) in [0, 1] or points (N, 2); y: int64 (N,) or None.

    kind is 'images' or 'points'; mixture is the generating Mixture2D for ring8 / grid25.
    """
    x: np.ndarray
    y: np.ndarray | None
    kind: str
    name: str
    mixture: Mixture2D | None = None

    def __post_init__(self):
        expected_ndim = {"images": 4, "points": 2}.get(self.kind)
        if expected_ndim is None or self.x.ndim != expected_ndim or self.x.dtype != np.float32:
            raise DataError(f"dataset {self.name!r}: kind {self.kind!r} does not fit x "
                            f"{self.x.dtype} {self.x.shape}")
        if self.y is not None and (self.y.shape != (len(self.x),) or self.y.dtype != np.int64):
            raise DataError(f"dataset {self.name!r}: y must be int64 ({len(self.x)},), "
                            f"got {self.y.dtype} {self.y.shape}")

    def __len__(self) -> int:
        return len(self.x)


def _mnist_dataset(name: str, images: np.ndarray, labels: np.ndarray) -> Dataset:
    x = images[:, None].astype(np.float32)
    x /= np.float32(255)  # in place: no second float32 copy of the split
    return Dataset(x, labels.astype(np.int64), "images", name)


def _toy_dataset(mixture: Mixture2D, split: str) -> Dataset:
    x, modes = mixture.sample_with_modes(TOY_SIZE, TOY_SEEDS[split])
    return Dataset(x, modes, "points", mixture.name, mixture)


def load_dataset(name_or_path: str | os.PathLike, split: str = "train",
                 data_dir: str | os.PathLike | None = None, download: bool = True) -> Dataset:
    """Load a named dataset (DATASET_NAMES) or a user's .npy/.npz file -> Dataset.

    split: 'train' or 'test'. data_dir and download apply to 'mnist' only (see load_mnist).
    Raises DataError for an unknown name or missing file (listing the valid names) and for
    any invalid data.
    """
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; expected one of {SPLITS}")
    name = os.fspath(name_or_path)
    if name == "mnist-5k":
        return _mnist_dataset(name, *load_mnist5k(split))
    if name == "mnist":
        return _mnist_dataset(name, *load_mnist(split, data_dir, download))
    if name in MIXTURES:
        return _toy_dataset(MIXTURES[name], split)
    path = Path(name).expanduser()
    if not path.is_file():
        raise DataError(f"unknown dataset {name!r}: not one of {', '.join(DATASET_NAMES)}, "
                        "and no .npy/.npz file at that path")
    x, y, kind = load_arrays(path)
    return Dataset(x, y, kind, path.stem)
