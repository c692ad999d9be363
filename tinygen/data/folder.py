"""A folder of image files, as a list: which files are images, their labels, their split.

Place in the tower: data/. Imports the standard library, NumPy and data.errors. Nothing here
opens an image (that is data.decode); this file only reads directory entries.

The rules, applied to the folder DIR:
- Searched recursively. An image is a file whose suffix (any case) is in IMAGE_SUFFIXES.
  Hidden entries (a name starting with '.', such as .DS_Store or .ipynb_checkpoints) and the
  clutter in IGNORED_NAMES (Thumbs.db, desktop.ini, __MACOSX) are passed over without a word;
  any other file (README.txt, labels.csv, ...) is skipped and listed in `skipped`, which the
  loader reports in one note. A file with an image suffix that Pillow cannot read is an error
  (see data.decode), not skipped.
- Labels: the first-level sub-folders of DIR name the classes, sorted by name -> labels
  0..K-1; an image anywhere below DIR/cat/ has the class 'cat'. Images directly in DIR are
  unlabelled. A folder holding both is refused, naming one loose file and one sub-folder:
  a loose file would silently have no label (and a lone class folder would label everything).
- Splits: when DIR holds `train/` and `test/`, they are the splits, each laid out as above
  (test's classes must be among train's; labels come from train's sorted class names).
  Either one without the other, or images beside them, is an error. Without them, the caller
  holds out a seeded share of the files (data.split).
Paths are kept relative to DIR, with '/' separators, and sorted: the list, hence the split,
depends on the folder's contents only.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError

IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
IGNORED_NAMES = frozenset({"Thumbs.db", "desktop.ini", "__MACOSX"})
SPLIT_DIRS = ("train", "test")


@dataclass
class FolderListing:
    """files: sorted relative paths of the images; labels int64 (N,) or None; classes: the
    sorted class names or None; split: 'train'/'test' per file when DIR has train/ and test/,
    else None; skipped: relative paths of the non-image files passed over."""
    root: Path
    files: list[str]
    labels: np.ndarray | None
    classes: list[str] | None
    split: list[str] | None
    skipped: list[str]


def _hidden(name: str) -> bool:
    return name.startswith(".") or name in IGNORED_NAMES


def _walk(root: Path) -> tuple[list[str], list[str]]:
    """-> (image paths, other files), relative to root, '/'-separated, sorted."""
    images, others = [], []
    for directory, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not _hidden(d))   # prune: do not descend
        rel_dir = Path(directory).relative_to(root)
        for name in names:
            if _hidden(name):
                continue
            rel = (rel_dir / name).as_posix()
            (images if Path(name).suffix.lower() in IMAGE_SUFFIXES else others).append(rel)
    return sorted(images), sorted(others)


def _top(rel: str) -> str | None:
    """The first-level sub-folder of a relative path, or None for a file directly in DIR."""
    head, sep, _ = rel.partition("/")
    return head if sep else None


def _labelled(files: list[str], where: Path) -> tuple[list[str] | None, np.ndarray | None]:
    """Classes and labels of images relative to `where` (module rules), or (None, None)."""
    tops = [_top(f) for f in files]
    loose = [f for f, t in zip(files, tops) if t is None]
    folders = sorted({t for t in tops if t is not None})
    if not folders:
        return None, None
    if loose:
        raise DataError(f"{where}: mixes unlabelled images ({loose[0]}) with class sub-folders "
                        f"({folders[0]}/); move the loose images into a class folder, or the "
                        "class folders' images up, so that all or none are labelled")
    index = {name: k for k, name in enumerate(folders)}
    return folders, np.array([index[t] for t in tops], np.int64)


def _split_layout(root: Path, images: list[str]) -> FolderListing:
    """DIR/train and DIR/test as the splits (module rules)."""
    present = {_top(f) for f in images}
    for name in SPLIT_DIRS:
        if name not in present:
            other = next(n for n in SPLIT_DIRS if n != name)
            raise DataError(f"{root}: has images in {other}/ but none in {name}/; give both "
                            "train/ and test/ folders, or neither (then a share is held out)")
    stray = [f for f in images if _top(f) not in SPLIT_DIRS]
    if stray:
        raise DataError(f"{root}: has train/ and test/ folders, and also {stray[0]} outside "
                        "them; move it into train/ or test/")
    parts = {name: [f.partition("/")[2] for f in images if _top(f) == name] for name in SPLIT_DIRS}
    classes, train_labels = _labelled(parts["train"], root / "train")
    test_classes, test_labels = _labelled(parts["test"], root / "test")
    if (classes is None) != (test_classes is None):
        labelled = "train" if classes is not None else "test"
        raise DataError(f"{root}: {labelled}/ has class sub-folders but the other split does "
                        "not; label both splits the same way")
    if classes is not None:
        unknown = sorted(set(test_classes) - set(classes))
        if unknown:
            raise DataError(f"{root / 'test' / unknown[0]}: class {unknown[0]!r} has no "
                            "folder in train/; the test classes must be among the train ones")
        test_labels = np.array([classes.index(test_classes[k]) for k in test_labels], np.int64)
    files = [f"train/{f}" for f in parts["train"]] + [f"test/{f}" for f in parts["test"]]
    labels = None if classes is None else np.concatenate([train_labels, test_labels])
    split = ["train"] * len(parts["train"]) + ["test"] * len(parts["test"])
    return FolderListing(root, files, labels, classes, split, [])


def list_folder(root: str | os.PathLike) -> FolderListing:
    """The images of the folder `root`, their labels and splits (module docstring) -> listing.

    Raises DataError naming the folder for: no such folder, no image files, unlabelled images
    beside class folders, and a train/ or test/ layout that is incomplete or has strays.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder")
    images, others = _walk(root)
    if not images:
        found = f"; found only {len(others)} other files, e.g. {others[0]}" if others else ""
        raise DataError(f"{root}: no image files (looked for {', '.join(IMAGE_SUFFIXES)} in it"
                        f" and its sub-folders){found}")
    if any(_top(f) in SPLIT_DIRS for f in images):
        listing = _split_layout(root, images)
    else:
        classes, labels = _labelled(images, root)
        listing = FolderListing(root, images, labels, classes, None, [])
    listing.skipped = others
    return listing
