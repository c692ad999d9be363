"""The front door of the data floor: load_dataset(name or path, split) -> Dataset.

Place in the tower: data/. Imports the standard library, NumPy and the other data modules.

    source     what                                              x                      y
    mnist-5k   bundled MNIST subset, 4000 train / 1000 test      uint8 (N, 1, 28, 28)   digit
    mnist      full MNIST from a data directory (data.mnist)     uint8 (N, 1, 28, 28)   digit
    ring8      10000 points of the 8-Gaussian ring               float32 (N, 2)         mode
    grid25     10000 points of the 25-Gaussian grid              float32 (N, 2)         mode
    DIR        a folder of image files (data.folder, .decode)    uint8 (N, C, H, W)     class
    FILE       a user's .npy / .npz (data.arrays)                uint8 images or        the
                                                                 float32 points (N, 2)  file's
Images stay uint8 (0..255) in memory, a quarter of float32 -- 100,000 RGB 64x64 images take
1.2 GB, not 4.9 -- and become float32 in [0, 1] a batch at a time: `Dataset.batches`, or
`as_float(dataset.x[i:j])`. y is int64 (N,) with names in `classes`, or both are None.

Splits, never overlapping, so no test figure is computed on a training image:
- MNIST has its own; the toy sets are fixed draws (seed 0 for 'train', seed 1 for 'test'),
  and a GAN can sample fresh points through `dataset.mixture.sample(n, rng)`.
- A folder with train/ and test/ sub-folders uses them (data.folder).
- Any other folder or file: test_fraction of it (default 10 %) is held out by split_seed
  (data.split); the split depends on the seed and the list of files only.
image_size and channels apply to every image dataset, by the rules of data.pixels (alpha onto
black, grey <-> RGB, shorter side to image_size with LANCZOS then centre crop); the defaults
keep each image's size and grey or colour. A folder is decoded once, then read from the cache
(data.cache); `notes` holds one-line remarks for the user (files skipped, arrays transposed,
cache used) that the command line prints.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .arrays import load_arrays
from .batches import as_float, iterate_batches
from .cache import cache_dir, folder_key, read_cache, write_cache
from .decode import decode, resolve_shape, survey
from .errors import DataError
from .folder import FolderListing, list_folder
from .mnist import SPLITS, load_mnist, load_mnist5k
from .pixels import check_channels, check_image_size, fit_images
from .split import check_test_fraction, held_out
from .toy import MIXTURES, Mixture2D

DATASET_NAMES = ("mnist-5k", "mnist", "ring8", "grid25")
TOY_SIZE = 10_000
TOY_SEEDS = {"train": 0, "test": 1}


def _numbered(k: int) -> list[str]:
    return [str(i) for i in range(k)]


@dataclass(eq=False)
class Dataset:
    """One split of a dataset.

    x:       images uint8 (N, C, H, W), C in {1, 3}, 0..255; or points float32 (N, 2)
    y:       labels int64 (N,) in 0..K-1, or None
    kind:    'images' or 'points'
    name:    the dataset's name, or the folder's / file's name
    classes: the K label names (a folder's class sub-folders; '0'..'9' for MNIST; '0'..'K-1'
             for numeric labels; given y and no classes, the latter), or None without labels
    mixture: the generating Mixture2D for ring8 / grid25
    split_rule: how the train/test split was made, one line (for config.json)
    notes:   one-line remarks for the user (see the module docstring)
    """
    x: np.ndarray
    y: np.ndarray | None
    kind: str
    name: str
    classes: list[str] | None = None
    mixture: Mixture2D | None = None
    split_rule: str = ""
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        images = self.kind == "images" and self.x.ndim == 4 and self.x.dtype == np.uint8 \
            and self.x.shape[1] in (1, 3)
        points = self.kind == "points" and self.x.ndim == 2 and self.x.dtype == np.float32
        if not (images or points):
            raise DataError(f"dataset {self.name!r}: kind {self.kind!r} does not fit x "
                            f"{self.x.dtype} {self.x.shape} (images: uint8 (N, 1 or 3, H, W); "
                            "points: float32 (N, 2))")
        if self.y is None:
            if self.classes is not None:
                raise DataError(f"dataset {self.name!r}: classes given without labels y")
            return
        if self.y.shape != (len(self.x),) or self.y.dtype != np.int64:
            raise DataError(f"dataset {self.name!r}: y must be int64 ({len(self.x)},), "
                            f"got {self.y.dtype} {self.y.shape}")
        if self.classes is None:
            self.classes = _numbered(int(self.y.max()) + 1 if self.y.size else 0)
        if self.y.size and not 0 <= self.y.min() <= self.y.max() < len(self.classes):
            raise DataError(f"dataset {self.name!r}: labels must lie in 0..{len(self.classes) - 1}"
                            f" (one per class), found {self.y.min()}..{self.y.max()}")

    def __len__(self) -> int:
        return len(self.x)

    @property
    def shape(self) -> tuple[int, ...]:
        """One example's shape: (C, H, W) for images, (2,) for points."""
        return self.x.shape[1:]

    def subset(self, index) -> Dataset:
        """The examples x[index] (a slice or an index array), with everything else kept."""
        return Dataset(self.x[index], None if self.y is None else self.y[index], self.kind,
                       self.name, self.classes, self.mixture, self.split_rule, list(self.notes))

    def batches(self, batch_size: int, rng=None, *, shuffle: bool = True,
                drop_last: bool = False):
        """Minibatches (xb, yb): xb float32 -- images scaled to [0, 1] one batch at a time --
        and yb int64 (B,) or None. The order is drawn now, as by iterate_batches (same rules
        for rng, shuffle and drop_last)."""
        order = iterate_batches(len(self), batch_size, rng, shuffle=shuffle, drop_last=drop_last)
        return ((as_float(self.x[idx]), None if self.y is None else self.y[idx])
                for idx in order)


def _mnist_dataset(name: str, images: np.ndarray, labels: np.ndarray) -> Dataset:
    return Dataset(images[:, None], labels.astype(np.int64), "images", name, _numbered(10),
                   split_rule="MNIST's own train and test sets")


def _toy_dataset(mixture: Mixture2D, split: str) -> Dataset:
    x, modes = mixture.sample_with_modes(TOY_SIZE, TOY_SEEDS[split])
    return Dataset(x, modes, "points", mixture.name, _numbered(len(mixture.centres)), mixture,
                   split_rule=f"a fixed draw of {TOY_SIZE} points (seed {TOY_SEEDS[split]})")


def _held_out_rule(test_fraction: float, split_seed: int, n: int) -> str:
    return f"{test_fraction:g} of the {n} examples held out as test (split_seed {split_seed})"


def _load_file(path: Path, split: str, image_size, channels, test_fraction: float,
               split_seed: int) -> Dataset:
    """A .npy / .npz: validated (data.arrays), a share held out, images fitted (data.pixels)."""
    x, y, kind, notes = load_arrays(path)
    if kind == "points" and (image_size is not None or channels is not None):
        raise DataError(f"{path}: holds 2D points; image_size (--image-size) and channels "
                        "(--channels) apply to images only")
    n, classes = len(x), None if y is None else _numbered(int(y.max()) + 1)
    index = held_out(n, test_fraction, split_seed, str(path))[SPLITS.index(split)]
    x, y = x[index], None if y is None else y[index]
    if kind == "images":
        x = fit_images(x, image_size, channels, str(path))
    return Dataset(x, y, kind, path.stem, classes,
                   split_rule=_held_out_rule(test_fraction, split_seed, n), notes=notes)


def _decode_split(listing: FolderListing, chosen, image_size, channels, skip_bad: bool,
                  progress: bool) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Survey all the folder's files, decode the `chosen` ones (data.decode) -> (x, y, notes)."""
    root, files = listing.root, listing.files
    found = survey(root, files, skip_bad, progress)
    shape = resolve_shape(root, files, found, image_size, channels)
    readable = [int(i) for i in chosen if i not in found.bad]
    x, bad = decode(root, [files[i] for i in readable], shape, image_size, skip_bad, progress)
    kept = [i for j, i in enumerate(readable) if j not in bad]
    if not kept:
        raise DataError(f"{root}: no readable images in this split")
    reasons = {int(i): found.bad[i] for i in chosen if i in found.bad}
    reasons.update({readable[j]: why for j, why in bad.items()})
    notes = []
    if reasons:
        first = min(reasons)
        notes.append(f"{root}: skipped {len(reasons)} unreadable image file(s) (skip_bad), "
                     f"e.g. {files[first]}: {reasons[first]}")
    return x, None if listing.labels is None else listing.labels[kept], notes


def _load_folder(root: Path, split: str, image_size, channels, test_fraction: float,
                 split_seed: int, skip_bad: bool, progress: bool, cache: bool) -> Dataset:
    """A folder of images: listed (data.folder), split, then read from the cache or decoded."""
    listing = list_folder(root)
    options = {"split": split, "image_size": image_size, "channels": channels,
               "skip_bad": skip_bad}
    if listing.split is not None:
        chosen = [i for i, s in enumerate(listing.split) if s == split]
        rule = "the folder's train/ and test/ sub-folders"
    else:
        n = len(listing.files)
        chosen = held_out(n, test_fraction, split_seed, str(root))[SPLITS.index(split)]
        rule = _held_out_rule(test_fraction, split_seed, n)
        options.update(test_fraction=test_fraction, split_seed=split_seed)
    notes = []
    if listing.skipped:
        notes.append(f"{root}: skipped {len(listing.skipped)} file(s) without an image suffix, "
                     f"e.g. {listing.skipped[0]}")
    key = folder_key(root, listing.files, options) if cache else None
    entry = read_cache(key) if cache else None
    if entry is not None:
        x, y, decode_notes = entry["x"], entry["y"], entry["notes"]
        decode_notes.append(f"{root}: unchanged since it was decoded; images read from the "
                            f"cache {cache_dir() / key}.npz")
    else:
        x, y, decode_notes = _decode_split(listing, chosen, image_size, channels, skip_bad,
                                           progress)
        why = write_cache(key, x, y, listing.classes, decode_notes) if cache else None
        if cache and why:
            notes.append(f"{root}: could not write the folder cache ({why}); the next load "
                         "decodes again")
        elif cache:
            notes.append(f"{root}: {len(x)} decoded images kept ({x.nbytes / 2**20:.1f} MiB) "
                         f"in the cache {cache_dir() / key}.npz, for the next load")
    return Dataset(x, y, "images", root.resolve().name, listing.classes, split_rule=rule,
                   notes=notes + decode_notes)


def load_dataset(name_or_path: str | os.PathLike, split: str = "train",
                 data_dir: str | os.PathLike | None = None, download: bool = True, *,
                 image_size: int | None = None, channels: int | None = None,
                 test_fraction: float = 0.1, split_seed: int = 0, skip_bad: bool = False,
                 progress: bool = True, cache: bool = True) -> Dataset:
    """Load one split of a named dataset (DATASET_NAMES), a folder of images or a user's
    .npy / .npz file -> Dataset (see the module docstring).

    split:         'train' or 'test'.
    data_dir, download: for 'mnist' only (see data.mnist.load_mnist).
    image_size:    S in 8..128: every image's shorter side resized to S, centre crop S x S;
                   None keeps the images' size (a folder's images must then all be equal).
    channels:      1 or 3; None: 1 when every image is grey, else 3.
    test_fraction, split_seed: the held-out share for data without its own test split.
    skip_bad:      leave unreadable image files out (counted in a note) instead of raising.
    progress:      show a progress bar while decoding a folder (TINYGEN_PROGRESS=0: never).
    cache:         read and write the folder cache (data.cache).
    Raises DataError, one line naming the file, folder or argument, for anything it cannot use,
    before anything is written.
    """
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; expected one of {SPLITS}")
    check_image_size(image_size)
    check_channels(channels)
    check_test_fraction(test_fraction)
    name = os.fspath(name_or_path)
    if name in ("mnist-5k", "mnist"):
        data = _mnist_dataset(name, *(load_mnist5k(split) if name == "mnist-5k"
                                      else load_mnist(split, data_dir, download)))
        if image_size is not None or channels is not None:
            data.x = fit_images(data.x, image_size, channels, name)
        return data
    if name in MIXTURES:
        if image_size is not None or channels is not None:
            raise DataError(f"{name}: holds 2D points; image_size (--image-size) and channels "
                            "(--channels) apply to images only")
        return _toy_dataset(MIXTURES[name], split)
    path = Path(name).expanduser()
    if path.is_dir():
        return _load_folder(path, split, image_size, channels, test_fraction, split_seed,
                            skip_bad, progress, cache)
    if not path.is_file():
        raise DataError(f"unknown dataset {name!r}: not one of {', '.join(DATASET_NAMES)}, "
                        "and no folder or .npy/.npz file at that path")
    return _load_file(path, split, image_size, channels, test_fraction, split_seed)
