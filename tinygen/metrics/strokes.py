"""Is a digit drawn in one piece? A judge of broken and stray strokes that is not a classifier.

Place in the tower: metrics/ (imports NumPy only; it judges arrays of images, so any
generator's samples can be scored).

A handwritten digit is one pen stroke or strokes that touch: 96 % of mnist-5k's test digits have
exactly one piece of ink. A generated digit with a gap in a stroke, a stray speck or a
detached blob has two or more. For images x (N, 1, H, W) in [0, 1]:

    ink            the pixels brighter than `threshold` (0.5: half the ink of a pen stroke)
    pieces         the number of 8-connected components of the ink (pixels touching at an
                   edge or a corner are in the same piece); 0 for an image with no ink
    one_piece      the share of images with pieces == 1

Components by label propagation, whole batches at once: every ink pixel starts with its own
number, then takes the largest number among itself and its 8 ink neighbours, until nothing
changes; a component ends with the number of its largest member, so it is counted once as
the pixel whose number is still its own. Each pass works on the images that changed in the
last one; an image needs as many passes as the longest path through one of its pieces.
"""
from __future__ import annotations

import numpy as np


def ink_pieces(x, threshold: float = 0.5) -> np.ndarray:
    """Images x (N, 1, H, W) (or (N, H, W)) -> (N,) int64: the 8-connected pieces of ink
    (pixels > threshold) in each image."""
    x = np.asarray(x)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3:
        raise ValueError(f"ink_pieces needs one-channel images (N, 1, H, W) or (N, H, W), got "
                         f"shape {x.shape}")
    ink = x > threshold
    n, h, w = ink.shape
    own = np.arange(1, h * w + 1, dtype=np.int32).reshape(h, w)   # each pixel's own number
    label = np.where(ink, own, 0)
    active = np.arange(n)                  # the images still changing
    while len(active):
        before, inside = label[active], ink[active]
        padded = np.pad(before, ((0, 0), (1, 1), (1, 1)))
        after = before.copy()
        for dy in range(3):
            for dx in range(3):
                np.maximum(after, padded[:, dy:dy + h, dx:dx + w], out=after)
        after[~inside] = 0
        label[active] = after
        active = active[(after != before).any(axis=(1, 2))]
    return ((label == own) & ink).sum(axis=(1, 2))


def one_piece(x, threshold: float = 0.5) -> np.ndarray:
    """(N,) bool: image i has exactly one piece of ink (ink_pieces == 1)."""
    return ink_pieces(x, threshold) == 1
