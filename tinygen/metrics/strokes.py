"""Is a digit drawn in one piece, and with a pen? Judges of broken strokes and grey smudges that
are not a classifier.

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

A pen leaves a stroke with a full core and a thin faint rim (the scanner's blur): in a real
digit nearly every faint pixel touches a full one. A generator also puts faint ink where no
stroke is -- a grey smudge beside a stroke, a grey blotch in a loop, the ghost of a second
stroke, a speck -- which blind readers fail (docs/gan-trials.md: in generated digits the
readers' failures for grey outnumbered every other kind, 8.7 a grid of 64 against 0.2 in real
digits) but which neither the 0.5 threshold above nor the classifier sees. So:

    smudges        the pixels above `faint` (0.1) with no pixel above `dark` (0.8) among their
                   8 neighbours or themselves: ink away from any stroke's core
    crisp          smudges <= SMUDGE_LIMIT (2): true of 93 % of mnist-5k's test digits, and of
                   its training digits
"""
from __future__ import annotations

import numpy as np

SMUDGE_LIMIT = 2   # smudge pixels a crisp digit may have: 93.3 % of mnist-5k's test digits have
                   # at most 2 (86.7 % at most 1, 95.3 % at most 3)


def _planes(x, name: str) -> np.ndarray:
    """Images (N, 1, H, W) or (N, H, W) -> (N, H, W); a ValueError naming `name` otherwise."""
    x = np.asarray(x)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3:
        raise ValueError(f"{name} needs one-channel images (N, 1, H, W) or (N, H, W), got "
                         f"shape {x.shape}")
    return x


def ink_pieces(x, threshold: float = 0.5) -> np.ndarray:
    """Images x (N, 1, H, W) (or (N, H, W)) -> (N,) int64: the 8-connected pieces of ink
    (pixels > threshold) in each image."""
    x = _planes(x, "ink_pieces")
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


def smudges(x, faint: float = 0.1, dark: float = 0.8) -> np.ndarray:
    """Images x (N, 1, H, W) (or (N, H, W)) in [0, 1] -> (N,) int64: the pixels above `faint`
    whose 3x3 neighbourhood (themselves included) has no pixel above `dark`."""
    x = _planes(x, "smudges")
    n, h, w = x.shape
    padded = np.pad(x > dark, ((0, 0), (1, 1), (1, 1)))
    near_dark = np.zeros((n, h, w), bool)
    for dy in range(3):
        for dx in range(3):
            near_dark |= padded[:, dy:dy + h, dx:dx + w]
    return ((x > faint) & ~near_dark).sum(axis=(1, 2))


def crisp(x, limit: int = SMUDGE_LIMIT) -> np.ndarray:
    """(N,) bool: image i has at most `limit` smudge pixels."""
    return smudges(x) <= limit
