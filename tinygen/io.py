"""Safe file writing and reading of `.npz` archives, and progress bars: the layer under
checkpoints, data and runs.

Place in the tower: a leaf beside the kernels. Python, NumPy and tqdm; imports nothing from
tinygen, so every floor above (data downloads, checkpoints, runs, figures) may use it.

Two promises:
- Writing is atomic. `atomic_write(path)` writes into a temporary file in the same directory,
  flushes and fsyncs it, then `os.replace`s it over `path` (an atomic rename on POSIX and
  Windows). If anything fails before the rename, the temporary file is deleted and the old
  `path` -- if there was one -- is left untouched: no half-written file ever carries the name.
- Reading never runs code. `load_npz` opens archives with `allow_pickle=False`; a file holding a
  pickled object array is refused with an error, as is a missing, truncated or non-npz file.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO, Iterator, Mapping

import numpy as np
from tqdm import tqdm

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with members / an empty zip
_NPY_MAGIC = b"\x93NUMPY"


class NpzError(ValueError):
    """A file that is not a readable, pickle-free `.npz` archive (the message names the file)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Context manager yielding a binary file (opened w+b) that becomes `path` only if the
    block succeeds.

    with atomic_write("model.npz") as f:
        f.write(...)
    On success: flush, fsync, rename over `path`. On any exception (including KeyboardInterrupt):
    the temporary file is removed, `path` keeps its old content (or stays absent), and the
    exception propagates.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w+b") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _check_arrays(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    if not isinstance(arrays, Mapping):
        raise TypeError(f"arrays must be a dict of name -> array, got {type(arrays).__name__}")
    checked = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"array names must be non-empty strings, got {name!r}")
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise TypeError(f"array {name!r} has dtype object, which cannot be saved without "
                            "pickle; convert it to a numeric, bool or string array")
        checked[name] = array
    return checked


def write_npz(f: BinaryIO, arrays: Mapping[str, np.ndarray], compressed: bool = False) -> None:
    """Write an .npz to the binary file `f`: a zip with one member "<name>.npy" per array.

    This is the format np.savez writes and np.load reads; written by hand so that any name --
    even "file" or "allow_pickle", which np.savez would take as its own arguments -- is kept.
    """
    compression = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with zipfile.ZipFile(f, "w", compression=compression, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def save_npz_atomic(path: str | os.PathLike, arrays: Mapping[str, np.ndarray],
                    compressed: bool = False) -> Path:
    """Save `arrays` (name -> array) as an `.npz` at exactly `path`, atomically.

    Object arrays are refused (they would need pickle to load). Names are kept verbatim
    (e.g. "encoder.fc1.weight"). Returns `path` as a Path. See `atomic_write` for the guarantee.
    """
    checked = _check_arrays(arrays)
    with atomic_write(path) as f:
        write_npz(f, checked, compressed)
    return Path(path)


def _read_magic(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(6)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise NpzError(f"{path}: is a directory, not an .npz file") from None


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load every array of the `.npz` at `path` into a dict, with allow_pickle=False.

    Raises FileNotFoundError for a missing file and NpzError (a ValueError) naming the file for
    an empty, truncated, corrupted or non-npz file, or one holding a pickled object array.
    """
    path = Path(path)
    magic = _read_magic(path)
    if magic.startswith(_NPY_MAGIC):
        raise NpzError(f"{path}: is a single-array .npy file, not an .npz archive")
    if not magic.startswith(_ZIP_MAGICS):
        what = "empty" if not magic else "not an .npz (zip) archive"
        raise NpzError(f"{path}: {what}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: _read_member(npz, name, path) for name in npz.files}
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        raise NpzError(f"{path}: truncated or corrupted .npz archive ({err})") from err


def _read_member(npz, name: str, path: Path) -> np.ndarray:
    try:
        return npz[name]
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise NpzError(f"{path}: array {name!r} is a pickled object array; tinygen never "
                           "unpickles files (loading one could run code)") from err
        raise NpzError(f"{path}: array {name!r} is corrupted ({err})") from err


def progress(iterable, total: int | None = None, desc: str = ""):
    """A tqdm progress bar on stderr (one line, refreshed at most once a second when logging
    to a file); TINYGEN_PROGRESS=0 turns it off."""
    disable = os.environ.get("TINYGEN_PROGRESS", "1") == "0"
    return tqdm(iterable, total=total, desc=desc, leave=False, file=sys.stderr,
                dynamic_ncols=True, mininterval=0.5 if sys.stderr.isatty() else 30,
                disable=disable)
