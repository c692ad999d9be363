"""metrics/strokes.py: pieces of ink and smudges are counted as their definitions say, on
hand-drawn pictures, against a flood fill or a pixel-by-pixel loop on random images, and on real,
broken and smudged digits."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygen.data import as_float, load_dataset
from tinygen.metrics.classifier import broken_strokes
from tinygen.metrics.strokes import SMUDGE_LIMIT, crisp, ink_pieces, one_piece, smudges


def picture(rows):
    """A (1, 1, H, W) image from strings: '#' ink (1.0), '+' faint ink (0.4), '.' background."""
    values = {"#": 1.0, "+": 0.4, ".": 0.0}
    return np.array([[[[values[c] for c in row] for row in rows]]], np.float32)


@pytest.mark.parametrize("rows, pieces", [
    (["....", "....", "...."], 0),                           # no ink
    (["....", ".##.", "...."], 1),
    (["#...", "....", "...#"], 2),                           # two specks
    (["#...", ".#..", "..#."], 1),                           # corners touch: 8-connected
    (["#.#", "#.#", "###"], 1),                              # a U: joined only at the bottom
    (["#+#", "...", "..."], 2),                              # faint ink is below the threshold
    (["##.##", "#...#", "#.#.#", "#...#", "#####"], 2),      # a ring with a dot inside
])
def test_pieces_of_hand_drawn_pictures(rows, pieces):
    assert ink_pieces(picture(rows)).tolist() == [pieces]
    assert ink_pieces(picture(rows)[:, 0]).tolist() == [pieces]   # (N, H, W) works too


def test_the_threshold_decides_what_is_ink():
    x = picture(["#+#", "...", "..."])
    assert ink_pieces(x, threshold=0.3).tolist() == [1]       # now the faint pixel joins them
    assert one_piece(x, threshold=0.3).tolist() == [True] and one_piece(x).tolist() == [False]


def flood_fill_pieces(mask) -> int:
    """The plain twin: a depth-first search from each unseen ink pixel over its 8 neighbours."""
    h, w = mask.shape
    seen, count = np.zeros_like(mask), 0
    for start in zip(*np.nonzero(mask)):
        if seen[start]:
            continue
        count, stack = count + 1, [start]
        seen[start] = True
        while stack:
            i, j = stack.pop()
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    a, b = i + di, j + dj
                    if 0 <= a < h and 0 <= b < w and mask[a, b] and not seen[a, b]:
                        seen[a, b] = True
                        stack.append((a, b))
    return count


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(1, 12), st.integers(1, 12), st.floats(0.2, 0.8),
       st.integers(0, 2**31 - 1))
def test_pieces_match_a_flood_fill_on_random_masks(n, h, w, density, seed):
    x = (np.random.default_rng(seed).random((n, 1, h, w)) < density).astype(np.float32)
    assert ink_pieces(x).tolist() == [flood_fill_pieces(m[0] > 0.5) for m in x]


def test_images_with_more_than_one_channel_are_refused():
    with pytest.raises(ValueError, match=r"one-channel.*\(2, 3, 4, 4\)"):
        ink_pieces(np.zeros((2, 3, 4, 4)))


def test_real_digits_are_in_one_piece_and_broken_strokes_are_not():
    real = as_float(load_dataset("mnist-5k", "test").x)
    assert one_piece(real).mean() > 0.9                      # 96.3 % when this was written
    broken = broken_strokes(real)
    # a blob erased or a stroke cut leaves 43 % and 35 % in one piece; an extra stroke 97 %
    for kind in (0, 1):
        assert one_piece(broken[kind::3]).mean() < one_piece(real).mean() - 0.3


@pytest.mark.parametrize("rows, count", [
    (["....", "....", "...."], 0),                           # no ink
    (["+##+", "+##+", "...."], 0),                           # a stroke's faint rim touches it
    (["+...", ".#..", "...."], 0),                           # corners touch too
    (["+...", "....", "..##"], 1),                           # a faint speck away from the stroke
    (["++++", "....", "..##"], 4),                           # a ghost stroke
    (["++..", "++..", "...#"], 4),                           # a grey blotch: no core anywhere
    (["+.+", "...", "+.+"], 4),                              # faint ink alone is all smudge
])
def test_smudges_of_hand_drawn_pictures(rows, count):
    assert smudges(picture(rows)).tolist() == [count]
    assert smudges(picture(rows)[:, 0]).tolist() == [count]
    assert crisp(picture(rows)).tolist() == [count <= SMUDGE_LIMIT]


def test_faint_and_dark_decide_what_is_a_smudge():
    x = picture(["+...", "....", "...#"])                    # the faint pixel is 0.4
    assert smudges(x, faint=0.5).tolist() == [0]             # too faint to count
    assert smudges(x, dark=0.3).tolist() == [0]              # now a core itself
    assert smudges(x, dark=1.0).tolist() == [2]              # no pixel is above 1: both count


def loop_smudges(im, faint, dark):
    """smudges of one (H, W) image, pixel by pixel."""
    h, w = im.shape
    count = 0
    for i in range(h):
        for j in range(w):
            block = im[max(i - 1, 0):i + 2, max(j - 1, 0):j + 2]
            count += bool(im[i, j] > faint and not (block > dark).any())
    return count


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(1, 12), st.integers(1, 12), st.floats(0, 0.5),
       st.floats(0.5, 1), st.integers(0, 2**31 - 1))
def test_smudges_match_a_pixel_loop_on_random_images(n, h, w, faint, dark, seed):
    x = np.random.default_rng(seed).random((n, 1, h, w)) ** 3   # mostly faint, some dark
    assert smudges(x, faint, dark).tolist() == [loop_smudges(m[0], faint, dark) for m in x]


def test_smudges_refuse_images_with_more_than_one_channel():
    with pytest.raises(ValueError, match=r"one-channel.*\(2, 3, 4, 4\)"):
        smudges(np.zeros((2, 3, 4, 4)))


def test_real_digits_are_crisp_and_a_grey_blotch_is_not():
    real = as_float(load_dataset("mnist-5k", "test").x)
    assert crisp(real).mean() > 0.9                          # 93.3 % when this was written
    blotched = real.copy()
    blotched[:, :, 1:4, 1:4] = np.maximum(blotched[:, :, 1:4, 1:4], 0.4)   # grey, top left
    empty_corner = (real[:, 0, :5, :5] <= 0.8).all(axis=(1, 2))   # no stroke core near it
    assert empty_corner.mean() > 0.9
    assert (smudges(blotched)[empty_corner] >= 9).all()
    assert crisp(blotched)[empty_corner].mean() < 0.05
