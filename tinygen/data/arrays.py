"""A user's own data from a .npy or .npz file: images or 2D points, validated.

Place in the tower: data/. Imports NumPy, tinygen.io and data.errors.

Accepted layouts (N >= 1 examples):
    images  (N, H, W) or (N, C, H, W), C in {1, 2, 3, 4}: uint8 in 0..255, or float in [0, 1]
    points  (N, 2): float (any real dtype), finite
A .npy holds the data array alone. A .npz (read with allow_pickle=False) holds either a single
array, or the data under 'x', 'images' or 'points' and optionally the labels under 'y' or
'labels': integers, shape (N,). No other keys are accepted, so a misspelt key is an error rather
than silently ignored.

The result is what load_dataset needs: x float32 -- images as (N, C, H, W) scaled to [0, 1],
points as (N, 2) -- and y int64 (N,) or None.
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


def _as_images(x: np.ndarray, path: Path) -> np.ndarray:
    if x.ndim == 3:
        x = x[:, None]
    if not 1 <= x.shape[1] <= 4:
        hint = " (channels last? transpose to (N, C, H, W))" if x.shape[3] <= 4 else ""
        raise DataError(f"{path}: images {x.shape} must be (N, C, H, W) with C <= 4{hint}")
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255)
    if not np.issubdtype(x.dtype, np.floating):
        raise DataError(f"{path}: images must be uint8 or float in [0, 1], got {x.dtype}")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{path}: images contain NaN or inf")
    if x.min() < 0 or x.max() > 1:
        raise DataError(f"{path}: float images must lie in [0, 1], found values in "
                        f"[{x.min()}, {x.max()}]")
    return x.astype(np.float32)


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
    return y.astype(np.int64)


def load_arrays(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Load and validate a user's .npy/.npz -> (x float32, y int64 (N,) or None, kind).

    kind is 'images' (x: (N, C, H, W) in [0, 1]) or 'points' (x: (N, 2)). Raises DataError
    naming the file and the offending shape, dtype, key or value range.
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
                        "(N, C, H, W) nor points (N, 2)")
    if x.size == 0:
        raise DataError(f"{path}: holds no data (shape {x.shape})")
    x = _as_points(x, path) if kind == "points" else _as_images(x, path)
    return x, None if y is None else _as_labels(y, len(x), path), kind
