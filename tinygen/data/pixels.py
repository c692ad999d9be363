"""Pixels: uint8 images (N, C, H, W) brought to the shape the models take.

Place in the tower: data/. Imports NumPy and data.errors; Pillow (for resizing) is imported
inside `resize_crop`, because `import PIL.Image` costs ~8 ms that `import tinygen` need not pay.

Every image dataset reaches the models as uint8 (N, C, H, W), C in {1, 3}, 8 <= H, W <= 128
(the sizes the image models are built for). The rules, the same for a folder and for an array:

alpha       C = 2 (grey + alpha) or C = 4 (RGB + alpha) is composited onto black:
                c_out = round(c * a / 255)
            so a transparent pixel is black, whatever colour it stored, and a half-transparent
            one is half as bright. The alpha channel is then dropped.
colour      grey -> RGB repeats the grey value in the three channels; RGB -> grey is the ITU-R
            601-2 luma that Pillow's convert("L") computes, with its integer rounding:
                L = (19595 R + 38470 G + 7471 B + 2^15) >> 16     (0.299 R + 0.587 G + 0.114 B)
size        resize_crop(image, S): the shorter side resized to S with Pillow's LANCZOS filter
            (a windowed sinc over 3 lobes: antialiased when shrinking, sharp when enlarging), the
            other side in proportion (rounded), then the centre S x S crop.
"""
from __future__ import annotations

import numpy as np

from .errors import DataError

MIN_SIZE, MAX_SIZE = 8, 128   # the image sizes (H and W) the image models are built for
CHANNELS = (1, 3)
CHUNK = 4096                  # images per step in convert_channels: bounds the uint16 temporaries


def check_image_size(image_size: int | None) -> None:
    """Refuse an image_size (--image-size) outside MIN_SIZE..MAX_SIZE, naming the flag."""
    if image_size is None:
        return
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) \
            or not MIN_SIZE <= image_size <= MAX_SIZE:
        raise DataError(f"image_size (--image-size) must be an integer in {MIN_SIZE}..{MAX_SIZE}"
                        f" (the sizes the image models take), got {image_size!r}")


def check_channels(channels: int | None) -> None:
    """Refuse a channels (--channels) value other than None, 1 or 3, naming the flag."""
    if channels is not None and (isinstance(channels, bool) or channels not in CHANNELS):
        raise DataError(f"channels (--channels) must be 1 (grey) or 3 (RGB), got {channels!r}")


def check_size(height: int, width: int, where: str) -> None:
    """Refuse images whose H or W lies outside MIN_SIZE..MAX_SIZE; `where` names the source."""
    if MIN_SIZE <= height <= MAX_SIZE and MIN_SIZE <= width <= MAX_SIZE:
        return
    side = "smaller" if min(height, width) < MIN_SIZE else "larger"
    raise DataError(f"{where}: images are {height}x{width} px (HxW), {side} than the "
                    f"{MIN_SIZE}..{MAX_SIZE} px the image models take; pass image_size=S "
                    f"(--image-size S) with S in {MIN_SIZE}..{MAX_SIZE} to resize them")


def composite_on_black(x: np.ndarray) -> np.ndarray:
    """x: uint8 (..., C, H, W) with C = 2 or 4, alpha last -> (..., C - 1, H, W), c * a / 255."""
    colour, alpha = x[..., :-1, :, :].astype(np.uint16), x[..., -1:, :, :].astype(np.uint16)
    return ((colour * alpha + 127) // 255).astype(np.uint8)   # + 127: round to nearest


def rgb_to_grey(x: np.ndarray) -> np.ndarray:
    """x: uint8 (..., 3, H, W) -> (..., 1, H, W), Pillow's integer luma (module docstring)."""
    r, g, b = (x[..., c:c + 1, :, :].astype(np.uint32) for c in range(3))
    return ((19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16).astype(np.uint8)


def _convert_chunk(x: np.ndarray, channels: int) -> np.ndarray:
    if x.shape[-3] in (2, 4):
        x = composite_on_black(x)
    if x.shape[-3] == channels:
        return x
    if channels == 1:
        return rgb_to_grey(x)
    return np.repeat(x, 3, axis=-3)


def convert_channels(x: np.ndarray, channels: int) -> np.ndarray:
    """x: uint8 (N, C, H, W), C in 1..4 -> uint8 (N, channels, H, W) by the module's rules.

    Returns x itself when there is nothing to do; otherwise works CHUNK images at a time so
    the wider integer temporaries stay small next to the output.
    """
    check_channels(channels)
    if x.shape[1] == channels:
        return x
    out = np.empty((len(x), channels) + x.shape[2:], np.uint8)
    for start in range(0, len(x), CHUNK):
        out[start:start + CHUNK] = _convert_chunk(x[start:start + CHUNK], channels)
    return out


def resize_crop(image: np.ndarray, size: int) -> np.ndarray:
    """image: uint8 (C, H, W), C in {1, 3} -> uint8 (C, size, size): shorter side to `size`
    (LANCZOS), centre crop. An image already size x size is returned as it is."""
    from PIL import Image  # here, not at the top: ~8 ms that only resizing needs
    c, h, w = image.shape
    if (h, w) == (size, size):
        return image
    scale = size / min(h, w)
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    pil = Image.fromarray(image[0] if c == 1 else image.transpose(1, 2, 0))
    pil = pil.resize((new_w, new_h), Image.Resampling.LANCZOS)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    pil = pil.crop((left, top, left + size, top + size))
    out = np.asarray(pil)
    return out[None] if out.ndim == 2 else out.transpose(2, 0, 1)


def resize_all(x: np.ndarray, size: int) -> np.ndarray:
    """x: uint8 (N, C, H, W) -> uint8 (N, C, size, size), resize_crop on each image."""
    if x.shape[2:] == (size, size):
        return x
    out = np.empty((len(x), x.shape[1], size, size), np.uint8)
    for i, image in enumerate(x):
        out[i] = resize_crop(image, size)
    return out


def fit_images(x: np.ndarray, image_size: int | None, channels: int | None,
               where: str) -> np.ndarray:
    """An array's images x: uint8 (N, C, H, W), C in 1..4 -> uint8 (N, C', S, S) or (N, C', H, W).

    channels None keeps grey grey (C = 1, 2 -> 1) and colour colour (C = 3, 4 -> 3); image_size
    None keeps the size, which must then lie in MIN_SIZE..MAX_SIZE (DataError naming `where`).
    """
    check_image_size(image_size)
    check_channels(channels)
    if channels is None:
        channels = 1 if x.shape[1] <= 2 else 3
    x = convert_channels(x, channels)
    if image_size is not None:
        return resize_all(x, image_size)
    check_size(x.shape[2], x.shape[3], where)
    return x
