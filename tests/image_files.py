"""Helpers for the tests of image folders: tiny image files written with Pillow, a private cache.

Imported by test_data_folder.py and test_data_cache.py (not a test module itself).
"""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinygen.data import load_dataset


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Each test gets an empty cache directory of its own and no progress bars."""
    monkeypatch.setenv("TINYGEN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TINYGEN_PROGRESS", "0")
    return tmp_path / "cache" / "folders"


def save(path, array, mode=None, **params):
    """Write `array` (H, W) or (H, W, C) uint8 as an image file at `path` (parents made)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8), mode).save(path, **params)
    return path


def grey(value, size=(8, 8)):
    return np.full(size, value, np.uint8)


def flat_folder(root, n, start=0):
    """n grey 8x8 PNGs whose single pixel value is their index (start + i)."""
    for i in range(n):
        save(root / f"img{i:02d}.png", grey(start + i))
    return root


def load(root, split="train", **kw):
    return load_dataset(root, split, progress=False, **kw)
