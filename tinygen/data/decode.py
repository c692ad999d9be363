"""Image files -> uint8 (N, C, H, W), with Pillow: a survey of the headers, then the pixels.

Place in the tower: data/. Imports the standard library, NumPy, data.errors and data.pixels;
Pillow and tqdm inside the functions that use them (with PIL.Image ~8 ms and tqdm ~25 ms
that `import tinygen` need not pay; only a folder of images needs them).

Two passes over the files, so that every check comes before the long part:
1. survey: open each file (Pillow reads the header only) for its size and whether it is grey;
   a file Pillow cannot identify fails here. From the survey, `resolve_shape` decides the
   channels (1 when every image is grey, else 3) and the size (image_size, else the images'
   one common size) -- across both splits, so train and test always agree.
2. decode: read each image's pixels (a truncated file fails here), apply the rules of
   data.pixels (alpha onto black, grey <-> RGB, resize + centre crop) and write it into one
   preallocated uint8 array: N x C x H x W bytes, nothing more.

How the file's mode becomes pixels: the first frame only (GIF, WebP, TIFF); grey modes
('1', 'L', 'I', 'F') become one channel, 16-bit grey ('I;16') scaled by 1/257; a palette image
('P') becomes RGB, or RGBA when it has a transparent colour, and counts as grey when every
palette entry is a grey; 'LA' and RGBA keep their alpha for data.pixels to composite onto
black; anything else (CMYK, YCbCr, ...) becomes RGB through Pillow's convert.
A file that cannot be read raises DataError naming it -- or, with skip_bad, is left out and
listed in the result, for the caller to count in one note.
"""
from __future__ import annotations

import os
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataError
from .pixels import check_size, convert_channels, resize_crop

GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "F", "I;16", "I;16B", "I;16L", "I;16N"})
SIXTEEN_BIT = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})
# what Pillow raises for a file it cannot identify or decode (DecompressionBombError is added
# in _read_errors): UnidentifiedImageError and "image file is truncated" are OSErrors
READ_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error)


def _read_errors() -> tuple[type[BaseException], ...]:
    from PIL import Image  # lazily: see the module docstring
    return READ_ERRORS + (Image.DecompressionBombError,)


def progress_bar(iterable, total: int, desc: str, enabled: bool = True):
    """A tqdm bar on stderr around `iterable`, unless disabled or TINYGEN_PROGRESS=0."""
    if not enabled or os.environ.get("TINYGEN_PROGRESS", "1") == "0":
        return iterable
    from tqdm import tqdm  # lazily: see the module docstring
    return tqdm(iterable, total=total, desc=desc, unit="img", leave=False, file=sys.stderr,
                dynamic_ncols=True, mininterval=0.5 if sys.stderr.isatty() else 30)


def bad_file_error(path: Path, err: BaseException) -> DataError:
    return DataError(f"{path}: cannot read this image ({err}); fix or remove the file, or pass "
                     "skip_bad=True (--skip-bad) to leave unreadable images out")


def _is_grey(image) -> bool:
    if image.mode in GREY_MODES:
        return True
    if image.mode in ("P", "PA") and image.palette is not None:
        entries = np.frombuffer(image.palette.palette, np.uint8)
        width = len(image.palette.mode)
        if width >= 3 and len(entries) % width == 0:
            rgb = entries.reshape(-1, width)[:, :3]
            return bool(np.all(rgb == rgb[:, :1]))
    return False


@dataclass
class Survey:
    """Per file: size (H, W) and grey or not; bad: index -> reason for files Pillow refused."""
    sizes: list[tuple[int, int] | None] = field(default_factory=list)
    grey: list[bool] = field(default_factory=list)
    bad: dict[int, str] = field(default_factory=dict)


def survey(root: Path, files: list[str], skip_bad: bool, progress: bool = True) -> Survey:
    """Open every file's header (pass 1 of the module docstring) -> Survey."""
    from PIL import Image  # lazily: see the module docstring
    errors, result = _read_errors(), Survey()
    for i, rel in enumerate(progress_bar(files, len(files), f"scanning {root.name}", progress)):
        try:
            with Image.open(root / rel) as image:
                result.sizes.append((image.height, image.width))
                result.grey.append(_is_grey(image))
        except errors as err:
            if not skip_bad:
                raise bad_file_error(root / rel, err) from err
            result.sizes.append(None)
            result.grey.append(False)
            result.bad[i] = str(err)
    return result


def resolve_shape(root: Path, files: list[str], found: Survey, image_size: int | None,
                  channels: int | None) -> tuple[int, int, int]:
    """-> (C, H, W) every image will have, by the rules of the module docstring.

    Raises DataError when no file is readable, when sizes differ and image_size is None
    (naming two files and their sizes), and when the common size is out of range.
    """
    good = [i for i in range(len(files)) if i not in found.bad]
    if not good:
        first = min(found.bad)
        raise DataError(f"{root}: none of the {len(files)} image files can be read (e.g. "
                        f"{files[first]}: {found.bad[first]})")
    if channels is None:
        channels = 1 if all(found.grey[i] for i in good) else 3
    if image_size is not None:
        return channels, image_size, image_size
    first_of_size = {}
    for i in good:
        first_of_size.setdefault(found.sizes[i], i)
    if len(first_of_size) > 1:
        (size_a, a), (size_b, b) = list(first_of_size.items())[:2]
        raise DataError(f"{root}: images differ in size: {files[a]} is {size_a[0]}x{size_a[1]} "
                        f"(HxW), {files[b]} is {size_b[0]}x{size_b[1]}; pass image_size=S "
                        "(--image-size S) to resize each one's shorter side to S and crop S x S")
    height, width = found.sizes[good[0]]
    check_size(height, width, str(root / files[good[0]]))
    return channels, height, width


def _pixels(image) -> np.ndarray:
    """A Pillow image (first frame) -> uint8 (C, H, W), C in 1..4 (module docstring)."""
    if image.mode in SIXTEEN_BIT:
        wide = np.asarray(image).astype(np.uint32)
        return ((wide + 128) // 257).astype(np.uint8)[None]
    has_alpha = image.mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in image.info
    grey = image.mode in GREY_MODES
    mode = ("LA" if has_alpha else "L") if grey else ("RGBA" if has_alpha else "RGB")
    array = np.asarray(image.convert(mode))
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def read_image(path: Path, channels: int, image_size: int | None) -> np.ndarray:
    """Decode one file -> uint8 (channels, H, W); H = W = image_size when given."""
    from PIL import Image  # lazily: see the module docstring
    with Image.open(path) as image:
        pixels = _pixels(image)
    pixels = convert_channels(pixels[None], channels)[0]
    return pixels if image_size is None else resize_crop(pixels, image_size)


def decode(root: Path, files: list[str], shape: tuple[int, int, int], image_size: int | None,
           skip_bad: bool, progress: bool = True) -> tuple[np.ndarray, dict[int, str]]:
    """Decode `files` (pass 2) -> (x uint8 (n, C, H, W), bad: index -> reason).

    x holds the readable files in order; with skip_bad, unreadable ones are left out and named
    in `bad`, otherwise the first one raises DataError naming it.
    """
    errors = _read_errors()
    x = np.empty((len(files),) + tuple(shape), np.uint8)
    bad = {}
    for i, rel in enumerate(progress_bar(files, len(files), f"decoding {root.name}", progress)):
        try:
            x[i] = read_image(root / rel, shape[0], image_size)
        except errors as err:
            if not skip_bad:
                raise bad_file_error(root / rel, err) from err
            bad[i] = str(err)
    if bad:
        x = np.delete(x, list(bad), axis=0)
    return x, bad
