"""A user's own data from a .npy or .npz file: images or 2D points, validated.

Place in the tower: data/. Imports NumPy, tinygen.io and data.errors.

Accepted layouts (N >= 1 examples):
    images  (N, H, W), (N, C, H, W) with C in 1..4, or channels-last (N, H, W, C) with C in
            {1, 3, 4} -- taken as channels-last only when it cannot be (N, C, H, W), that is
            when the second axis is not a channel count (> 4) and the last axis is; the loader
            then transposes and says so in a note. uint8 in 0..255, or float in [0, 1], which is
            stored as round(255 x) in uint8 (8 bits per channel, like an image file).
    points  (N, 2): float (any real dtype), finite
A .npy holds the data array alone. A .npz (read with allow_pickle=False) holds either a single
array, or the data under 'x', 'images' or 'points' and optionally the labels under 'y' or
'labels': integers >= 0, shape (N,). No other keys are accepted, so a misspelt key is an error
rather than silently ignored.

The result is what load_dataset needs: images as uint8 (N, C, H, W), C in 1..4 as in the file
(data.pixels then composites alpha and sets the channels), points as float32 (N, 2), labels as
int64 (N,) or None, and the notes to show the user.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..io import NpzError, load_npz
from .errors import DataError

DATA_KEYS = ("x", "images", "points")
LABEL_KEYS = ("y", "labels")


def _load_npy(path: Path) -> np.ndarray:
    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":
            raise DataError(f"{path}: not a .npy file (no NUMPY magic bytes)")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise DataError(f"{path}: holds a pickled object array; only plain numeric "
                            "arrays are loaded (loading pickles could run code)") from err
        raise DataError(f"{path}: not a readable .npy file ({err})") from err
    except (OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable .npy file ({err})") from err


def _pick(found: dict, keys: tuple[str, ...], path: Path, what: str):
    hits = [k for k in keys if k in found]
    if len(hits) > 1:
        raise DataError(f"{path}: several {what} arrays {hits}; keep exactly one")
    return found[hits[0]] if hits else None


def _split_npz(arrays: dict, path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    if len(arrays) == 1:
        return next(iter(arrays.values())), None
    unknown = sorted(set(arrays) - set(DATA_KEYS) - set(LABEL_KEYS))
    if unknown or not arrays:
        raise DataError(f"{path}: keys {sorted(arrays)} not understood; expected one data "
                        f"array under {DATA_KEYS} and optional labels under {LABEL_KEYS}")
    x = _pick(arrays, DATA_KEYS, path, "data")
    if x is None:
        raise DataError(f"{path}: no data array; expected a key among {DATA_KEYS}")
    return x, _pick(arrays, LABEL_KEYS, path, "label")


def _as_nchw(x: np.ndarray, path: Path) -> tuple[np.ndarray, list[str]]:
    """(N, H, W), (N, C, H, W) or channels-last (N, H, W, C) -> ((N, C, H, W) view, notes)."""
    if x.ndim == 3:
        return x[:, None], []
    if 1 <= x.shape[1] <= 4:
        return x, []
    if x.shape[3] in (1, 3, 4):
        nchw = x.transpose(0, 3, 1, 2)
        return nchw, [f"{path}: images {x.shape} read as channels-last (N, H, W, C) and "
                      f"transposed to (N, C, H, W) = {nchw.shape}"]
    raise DataError(f"{path}: images {x.shape} are neither (N, C, H, W) with C <= 4 nor "
                    "channels-last (N, H, W, C) with C in 1, 3 or 4")


def _as_images(x: np.ndarray, path: Path) -> tuple[np.ndarray, list[str]]:
    """Images of any accepted layout and dtype -> (uint8 (N, C, H, W) contiguous, notes)."""
    x, notes = _as_nchw(x, path)
    if x.dtype == np.uint8:
        return np.ascontiguousarray(x), notes
    if not np.issubdtype(x.dtype, np.floating):
        raise DataError(f"{path}: images must be uint8 or float in [0, 1], got {x.dtype}")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{path}: images contain NaN or inf")
    if x.min() < 0 or x.max() > 1:
        raise DataError(f"{path}: float images must lie in [0, 1], found values in "
                        f"[{x.min()}, {x.max()}]")
    return np.ascontiguousarray(np.rint(x * 255).astype(np.uint8)), notes


def _as_points(x: np.ndarray, path: Path) -> np.ndarray:
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise DataError(f"{path}: points must be real numbers, got {x.dtype}")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{path}: points (N, 2) contain NaN or inf")
    return x.astype(np.float32)


def _as_labels(y: np.ndarray, n: int, path: Path) -> np.ndarray:
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{path}: labels must be integers of shape ({n},), "
                        f"got {y.dtype} {y.shape}")
    if y.size and y.min() < 0:
        raise DataError(f"{path}: labels must be >= 0 (class indices), found {y.min()}")
    return y.astype(np.int64)


def load_arrays(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None, str, list[str]]:
    """Load and validate a user's .npy/.npz -> (x, y int64 (N,) or None, kind, notes).

    kind is 'images' (x: uint8 (N, C, H, W), C in 1..4) or 'points' (x: float32 (N, 2));
    notes are one-line remarks for the user (a channels-last array transposed). Raises
    DataError naming the file and the offending shape, dtype, key or value range.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix == ".npy":
        x, y = _load_npy(path), None
    elif path.suffix == ".npz":
        try:
            x, y = _split_npz(load_npz(path), path)
        except NpzError as err:
            raise DataError(str(err)) from err
    else:
        raise DataError(f"{path}: expected a .npy or .npz file, got suffix {path.suffix!r}")
    if x.ndim == 2 and x.shape[1] == 2:
        kind = "points"
    elif x.ndim in (3, 4):
        kind = "images"
    else:
        raise DataError(f"{path}: data of shape {x.shape} is neither images (N, H, W) / "
                        "(N, C, H, W) / (N, H, W, C) nor points (N, 2)")
    if x.size == 0:
        raise DataError(f"{path}: holds no data (shape {x.shape})")
    x, notes = (_as_points(x, path), []) if kind == "points" else _as_images(x, path)
    return x, None if y is None else _as_labels(y, len(x), path), kind, notes
