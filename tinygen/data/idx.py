"""Read and write the IDX file format of MNIST (gzipped or not).

Place in the tower: data/. Imports NumPy, tinygen.io (atomic writes) and data.errors.

The format (LeCun, Cortes, Burges, "THE MNIST DATABASE of handwritten digits"):

    bytes 0-1   0x00 0x00
    byte  2     type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                           0x0D float32, 0x0E float64
    byte  3     ndim, the number of dimensions
    next        ndim sizes, each a big-endian uint32
    payload     prod(sizes) values, big-endian, C order

A file starting with the gzip magic bytes 1f 8b is decompressed first. The reader checks every
field and that the payload holds exactly prod(sizes) values; anything else raises DataError
naming the file and the fault.
"""
from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from ..io import atomic_write
from .errors import DataError

IDX_DTYPES = {  # type code -> big-endian dtype
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"


def _decompress(raw: bytes, path) -> bytes:
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        raise DataError(f"{path}: truncated or corrupted gzip stream ({err})") from err


def _parse_header(data: bytes, path) -> tuple[np.dtype, tuple[int, ...], int]:
    """-> (dtype, shape, header length in bytes) of the IDX bytes `data`."""
    if len(data) < 4:
        raise DataError(f"{path}: only {len(data)} bytes, too short for an IDX header")
    if data[0] != 0 or data[1] != 0:
        raise DataError(f"{path}: not an IDX file (magic number {data[:4].hex()} does not "
                        "start with 00 00)")
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        raise DataError(f"{path}: unknown IDX type code 0x{code:02X} (expected one of "
                        + ", ".join(f"0x{c:02X}" for c in IDX_DTYPES) + ")")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DataError(f"{path}: truncated IDX header ({len(data)} bytes, {ndim} dims need "
                        f"{header_len})")
    shape = tuple(int(s) for s in np.frombuffer(data, ">u4", ndim, offset=4))
    return IDX_DTYPES[code], shape, header_len


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzipped or not) -> array of its shape, in native byte order.

    Raises FileNotFoundError if `path` is missing and DataError naming the file for a bad
    magic number, unknown type code, truncated header or a payload that is not exactly
    prod(shape) values (truncated, or with extra bytes).
    """
    path = Path(path)
    raw = path.read_bytes()
    data = _decompress(raw, path) if raw.startswith(GZIP_MAGIC) else raw
    dtype, shape, header_len = _parse_header(data, path)
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header_len
    if actual != expected:
        fault = "truncated payload" if actual < expected else "extra bytes after the payload"
        raise DataError(f"{path}: {fault}: shape {shape} of {dtype.name} needs {expected} "
                        f"bytes, found {actual}")
    array = np.frombuffer(data, dtype, offset=header_len).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # a writable native-order copy


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write `array` (ndim >= 1, a dtype listed in IDX_DTYPES) as an IDX file, atomically.

    compress=None gzips when `path` ends in ".gz". Returns `path` as a Path.
    """
    path, array = Path(path), np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise TypeError(f"IDX cannot store dtype {array.dtype}; use one of "
                        + ", ".join(str(d) for d in codes))
    if array.ndim == 0 or array.ndim > 255 or any(s >= 2**32 for s in array.shape):
        raise ValueError(f"IDX cannot store an array of shape {array.shape}")
    header = bytes([0, 0, codes[native], array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    data = header + np.ascontiguousarray(array, IDX_DTYPES[codes[native]]).tobytes()
    if path.name.endswith(".gz") if compress is None else compress:
        data = gzip.compress(data, mtime=0)
    with atomic_write(path) as f:
        f.write(data)
    return path
