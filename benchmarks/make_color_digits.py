"""A folder of colour digits for the quality floor of `tinygen train gan --dataset FOLDER`.

Benchmarks sit outside the tower: this uses the public API (tinygen.data) and Pillow.

    python benchmarks/make_color_digits.py OUT [--limit N] [--seed 0]

writes the bundled MNIST training digits (4000, or the first N) as 32x32 RGB PNG files into
OUT/0/ .. OUT/9/ (the class sub-folders load_dataset turns into labels 0..9), OUT/<digit>/
<index>.png. Each digit is padded by 2 black pixels on every side (28 -> 32) and drawn in its
own random colour on black:

    image[c] = digit * colour[c],   colour = u / max(u),  u ~ Uniform(0, 1)^3

so the brightest channel of the colour is 1 and the per-pixel maximum over the channels gives
back the original grey digit exactly -- which is how the project's classifier reads samples.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from tinygen.data import load_mnist5k


def color_digits(limit: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """-> (images uint8 (N, 32, 32, 3), labels uint8 (N,)): the module docstring's recipe."""
    digits, labels = load_mnist5k("train")
    digits, labels = digits[:limit], labels[:limit]
    colours = np.random.default_rng(seed).random((len(digits), 3))
    colours /= colours.max(axis=1, keepdims=True)
    padded = np.pad(digits, ((0, 0), (2, 2), (2, 2))).astype(np.float64)
    images = np.rint(padded[..., None] * colours[:, None, None, :]).astype(np.uint8)
    return images, labels


def write_color_digits(out: str | Path, limit: int | None = None, seed: int = 0) -> int:
    """Write the folder OUT/<digit>/<index>.png (module docstring) -> number of files."""
    out = Path(out)
    images, labels = color_digits(limit, seed)
    for digit in range(10):
        (out / str(digit)).mkdir(parents=True, exist_ok=True)
    for i, (image, label) in enumerate(zip(images, labels)):
        Image.fromarray(image, "RGB").save(out / str(label) / f"{i:05d}.png")
    return len(images)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="folder to write (class sub-folders 0..9)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N digits")
    parser.add_argument("--seed", type=int, default=0, help="seed of the colours")
    args = parser.parse_args(argv)
    n = write_color_digits(args.out, args.limit, args.seed)
    print(f"wrote {n} 32x32 RGB digits to {args.out}/0 .. {args.out}/9")
    return 0


if __name__ == "__main__":
    sys.exit(main())
