"""The folder cache: a folder's decoded images kept in one .npz, so that loading an unchanged
folder again reads that file instead of decoding every image.

Place in the tower: data/. Imports the standard library, NumPy and tinygen.io.

Where:  $TINYGEN_CACHE/folders/, else $XDG_CACHE_HOME/tinygen/folders/, else
        ~/.cache/tinygen/folders/; one file <key>.npz per folder, split and set of options.
Key:    the SHA-256 of the folder's resolved path, every image file's relative path, size in
        bytes, mtime and ctime (in ns) -- all the folder's images, both splits, since the
        channels and size are decided across them -- and the options that shape the result
        (split, image_size, channels, skip_bad, the held-out share and seed).
Never stale: editing, replacing, adding, removing or renaming an image changes the key, so the
        old entry is simply not found again. Rewriting a file with the same size and
        restoring its old mtime still changes its ctime, which only the OS can set.
Never required: a cache file that cannot be read (missing, corrupted, another key inside) is a
        miss, and a cache that cannot be written is skipped (write_cache returns the reason);
        the folder is then decoded as if there were no cache. Deleting the folder is always
        safe. Entries are read with allow_pickle=False (tinygen.io.load_npz) and written
        atomically (tinygen.io.save_npz_atomic), so a half-written entry never exists.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ..io import load_npz, save_npz_atomic
from .errors import DataError

FORMAT = 1   # bump when the decoding rules change: old entries then miss


def cache_dir() -> Path:
    """$TINYGEN_CACHE/folders, else $XDG_CACHE_HOME/tinygen/folders, else ~/.cache/..."""
    if os.environ.get("TINYGEN_CACHE"):
        return Path(os.environ["TINYGEN_CACHE"]).expanduser() / "folders"
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "tinygen" / "folders"


def _stat(path: Path) -> list[int]:
    try:
        st = os.stat(path)
    except OSError as err:
        raise DataError(f"{path}: cannot read this file ({err.strerror})") from None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def folder_key(root: Path, files: list[str], options: dict) -> str:
    """The cache key (module docstring) of `files` below `root` -> 64 hex digits."""
    entries = [[rel] + _stat(root / rel) for rel in files]
    text = json.dumps({"format": FORMAT, "root": str(root.resolve()), "files": entries,
                       "options": options}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def read_cache(key: str) -> dict | None:
    """The entry stored under `key` -> {'x', 'y' (or None), 'classes' (or None), 'notes'};
    None on any miss (no file, unreadable file, a file that does not hold this key)."""
    path = cache_dir() / f"{key}.npz"
    try:
        arrays = load_npz(path)
    except (OSError, ValueError):   # missing, truncated, corrupted: a miss, never an error
        return None
    x, stored_key = arrays.get("x"), arrays.get("key")
    if stored_key is None or str(stored_key) != key or x is None or x.dtype != np.uint8 \
            or x.ndim != 4:
        return None
    classes = arrays.get("classes")
    return {"x": x, "y": arrays.get("y"), "notes": [str(n) for n in arrays.get("notes", [])],
            "classes": None if classes is None else [str(c) for c in classes]}


def write_cache(key: str, x: np.ndarray, y: np.ndarray | None, classes: list[str] | None,
                notes: list[str]) -> str | None:
    """Store an entry under `key`, atomically -> None, or the reason it could not be written."""
    arrays = {"key": np.array(key), "x": x, "notes": np.array(notes, dtype=str)}
    if y is not None:
        arrays["y"] = y
    if classes is not None:
        arrays["classes"] = np.array(classes, dtype=str)
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        save_npz_atomic(directory / f"{key}.npz", arrays)
    except OSError as err:
        return f"{directory}: {err.strerror or err}"
    return None
