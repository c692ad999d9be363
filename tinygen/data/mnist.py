"""MNIST: the bundled 5k subset, and full MNIST from a data directory (downloaded if allowed).

Place in the tower: data/. Imports NumPy, tqdm, the standard library, tinygen.io and data.idx
(urllib, http.client and tqdm only when downloading: they cost ~3 MB of memory otherwise).

MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges (CC BY-SA 3.0).

- load_mnist5k(split): the real subset bundled as package data (4000 train / 1000 test images,
  400 / 100 per digit, in the original IDX files), so everything works offline.
- load_mnist(split, data_dir, download): the full set (60000 / 10000) from the four original
  files in a data directory: the `data_dir` argument, else $TINYGEN_DATA, else
  $XDG_CACHE_HOME/tinygen/mnist (default ~/.cache/tinygen/mnist). Each file may be gzipped
  (as published) or not. Missing files are downloaded when `download` is true: each mirror in
  MIRRORS is tried in turn, the bytes are checked against the published SHA-256 and only then
  renamed into place, so a failed or corrupted download leaves nothing behind.

`fetch(url, out)` -- writing the bytes at `url` into the binary file `out` -- is a parameter,
so tests (and users behind a proxy) can supply their own; the default streams with urllib and
shows a tqdm progress bar.
"""
from __future__ import annotations

import hashlib
import os
from importlib import resources
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np

from ..io import atomic_write
from .errors import DataError
from .idx import read_idx

SPLITS = ("train", "test")
FILES = {  # split -> (images file, labels file), the published names
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
# SHA-256 of the published .gz files, identical in many independent projects' download
# scripts (e.g. the ossci-datasets / cvdf-datasets mirrors used by torchvision and TensorFlow).
SHA256 = {  # sizes: 9912422, 28881, 1648877, 4542 bytes
    "train-images-idx3-ubyte.gz":
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz":
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz":
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz":
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)
Fetch = Callable[[str, BinaryIO], None]


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise DataError(f"unknown MNIST split {split!r}; expected one of {SPLITS}")


def _read_pair(images_path, labels_path) -> tuple[np.ndarray, np.ndarray]:
    """Read and cross-check an images/labels IDX pair -> (uint8 (N, 28, 28), uint8 (N,))."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"{images_path}: expected uint8 images (N, H, W), "
                        f"got {images.dtype} {images.shape}")
    if labels.shape != images.shape[:1] or labels.dtype != np.uint8:
        raise DataError(f"{labels_path}: expected {len(images)} uint8 labels to match "
                        f"{images_path}, got {labels.dtype} {labels.shape}")
    if labels.size and labels.max() > 9:
        raise DataError(f"{labels_path}: labels must be digits 0-9, found {labels.max()}")
    return images, labels


def load_mnist5k(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """The bundled MNIST subset -> (images uint8 (N, 28, 28), labels uint8 (N,)).

    N = 4000 for 'train' and 1000 for 'test', 400 / 100 images of each digit, shuffled.
    """
    _check_split(split)
    root = resources.files("tinygen.data") / "mnist5k"
    images_name, labels_name = FILES[split]
    with resources.as_file(root / images_name) as images, \
            resources.as_file(root / labels_name) as labels:
        return _read_pair(images, labels)


def default_data_dir() -> Path:
    """$TINYGEN_DATA, else $XDG_CACHE_HOME/tinygen/mnist, else ~/.cache/tinygen/mnist."""
    if os.environ.get("TINYGEN_DATA"):
        return Path(os.environ["TINYGEN_DATA"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "tinygen" / "mnist"


def _find(directory: Path, name: str) -> Path | None:
    """The file `name` (.gz) in `directory`, or its unzipped twin, or None."""
    for candidate in (directory / name, directory / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def fetch_url(url: str, out: BinaryIO, timeout: float = 30.0) -> None:
    """Stream the bytes at `url` into `out`, with a tqdm progress bar (the default fetch)."""
    import urllib.request  # here, not at the top: with ssl, ~3 MB that only a download needs
    from tqdm.auto import tqdm
    request = urllib.request.Request(url, headers={"User-Agent": "tinygen"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1]) as bar:
            while chunk := response.read(1 << 16):
                out.write(chunk)
                bar.update(len(chunk))


def _sha256(f: BinaryIO) -> str:
    """SHA-256 hex digest of everything in the (readable, seekable) file `f`."""
    f.seek(0)
    digest = hashlib.sha256()
    while chunk := f.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def _download_one(name: str, directory: Path, fetch: Fetch) -> list[str]:
    """Try each mirror until `name` lands verified in `directory` -> list of failures seen."""
    import http.client  # imported when downloading only (it brings in ssl)
    failures = []
    for mirror in MIRRORS:
        try:
            with atomic_write(directory / name) as out:
                fetch(mirror + name, out)
                digest = _sha256(out)
                if digest != SHA256[name]:
                    raise DataError(f"SHA-256 mismatch: got {digest}, expected {SHA256[name]}")
            return []
        except (OSError, http.client.HTTPException, DataError) as err:  # URLError is an OSError
            failures.append(f"{mirror + name}: {err}")
    return failures


def _download(names: list[str], directory: Path, fetch: Fetch) -> list[str]:
    """Download `names` into `directory`, stopping at the first file no mirror could give."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        return [f"cannot create {directory}: {err}"]
    for name in names:
        if failures := _download_one(name, directory, fetch):
            return failures
    return []


def _missing_message(directory: Path, missing: list[str], failures: list[str]) -> str:
    lines = [f"MNIST files missing from {directory}: {', '.join(missing)}."]
    if failures:
        lines += ["The download failed:"] + [f"  {f}" for f in failures]
    lines += [f"Put the files (gzipped or not) in {directory}, or point --data-dir or "
              "$TINYGEN_DATA at a directory holding them. They are published at "
              + " or ".join(MIRRORS) + ". The bundled subset 'mnist-5k' needs no download."]
    return "\n".join(lines)


def load_mnist(split: str = "train", data_dir: str | os.PathLike | None = None,
               download: bool = True, fetch: Fetch | None = None,
               ) -> tuple[np.ndarray, np.ndarray]:
    """Full MNIST -> (images uint8 (N, 28, 28), labels uint8 (N,)); N = 60000 or 10000.

    Files missing from the data directory (see the module docstring) are downloaded with
    `fetch` (default `fetch_url`) when `download` is true; otherwise, or if every mirror fails,
    DataError says which files to put in which directory.
    """
    _check_split(split)
    directory = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    names = FILES[split]
    missing = [n for n in names if _find(directory, n) is None]
    failures = []
    if missing and download:
        failures = _download(missing, directory, fetch or fetch_url)
        missing = [n for n in names if _find(directory, n) is None]
    if missing:
        raise DataError(_missing_message(directory, missing, failures))
    return _read_pair(*(_find(directory, n) for n in names))
