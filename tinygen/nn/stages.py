"""How many stride-2 stages an image network has, from the image's size.

Place in the tower: nn/ (imports nothing). Shared by the DCGAN pair (tinygen/gan/networks.py)
and the convolutional VAE (tinygen/vae/networks.py), so both build the same ladder of grids
for the same images: each stride-2 stage (kernel 4, stride 2, padding 1) halves or doubles H
and W exactly, so the grids must stay whole numbers all the way down.
"""
from __future__ import annotations


def conv_stages(image_shape) -> tuple[int, int, int]:
    """The stride-2 stages of an image network for images (C, H, W) -> (stages, H0, W0).

    Rule: halve H and W together while both are even and the smaller half stays >= 4, at most
    4 times; H0 x W0 is the grid the stages start from (generators, decoders) or end on
    (discriminators, encoders). At least one halving is needed, so H and W must be even, and
    both must lie in 8..128; anything else raises ValueError naming the size and a size that
    works. Sizes with more factors of 2 get more stages (and usually better samples).

        image (H, W)   8x8   28x28   30x30   32x32   48x48   64x64   128x128
        stages          1      2       1       3       3       4        4
        base grid      4x4    7x7    15x15    4x4     6x6     4x4      8x8
    """
    _, h, w = image_shape
    if not (8 <= h <= 128 and 8 <= w <= 128) or h % 2 or w % 2:
        near = sorted({max(8, min(128, 4 * round(v / 4))) for v in (h, w)})
        raise ValueError(f"the image models need an even height and width in 8..128, got "
                         f"{h}x{w}; resize the images, e.g. --image-size "
                         f"{' or '.join(map(str, near))}")
    stages = 0
    while stages < 4 and h % 2 == 0 and w % 2 == 0 and min(h, w) // 2 >= 4:
        h, w, stages = h // 2, w // 2, stages + 1
    return stages, h, w


def padded_grid(image_shape, multiple: int = 8) -> tuple[int, int, int]:
    """The size (C, Hp, Wp) a generative image network works at for images (C, H, W): H and W
    rounded up to a multiple of `multiple` (at most 128), so that sizes with few factors of 2
    get more stride-2 stages. The discriminator pads its input up to this grid, the generator
    crops its output down from it (DCGAN, tinygen/gan/networks.py).

        image (H, W)   28x28   30x30   32x32   48x48   64x64   100x100
        grid           32x32   32x32   32x32   48x48   64x64   104x104
        stages         2 -> 3  1 -> 3    3       3       4      2 -> 3

    MNIST's 28 x 28 is the case that matters: LeCun et al. 1998 also padded it to 32 x 32, and
    the 3-stage 32 x 32 DCGAN draws clearly better digits than the 2-stage 28 x 28 one (the
    README's GAN results)."""
    conv_stages(image_shape)   # the same sizes are refused, with the same message
    c, h, w = image_shape
    return (c, *(min(128, -(-v // multiple) * multiple) for v in (h, w)))

