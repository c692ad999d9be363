"""The GAN networks: an MLP pair for 2D points and the DCGAN pair for images of any size.

Place in the tower: gan/ (imports tinygen.nn only). The training step that
plays them against each other is in gan/objective.py.

Both discriminators output one logit per example, D_logit(x): (N, 1); the probability that x is
real is D(x) = sigmoid(D_logit(x)), and every loss is computed from the logits (stable).
Generators map noise z: (N, latent_dim) to samples; the DCGAN generator ends in tanh, so its
images live in [-1, 1] (the data is rescaled x -> 2x - 1 to match).
"""
from __future__ import annotations

from tinygen import nn
from tinygen.nn import init
from tinygen.nn.stages import conv_stages


class MLPGenerator(nn.Module):
    """z (N, latent_dim) -> x (N, out_dim): `depth` ReLU layers of width `hidden`, then linear."""

    def __init__(self, latent_dim: int = 2, hidden: int = 256, depth: int = 3, out_dim: int = 2):
        super().__init__()
        self.latent_dim = latent_dim
        layers, width = [], latent_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(width, out_dim))

    def forward(self, z):
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """x (N, in_dim) -> logits (N, 1): `depth` LeakyReLU(0.2) layers of width `hidden`."""

    def __init__(self, in_dim: int = 2, hidden: int = 256, depth: int = 3):
        super().__init__()
        layers, width = [], in_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(width, 1))

    def forward(self, x):
        return self.net(x)


class DCGANGenerator(nn.Module):
    """DCGAN generator (Radford et al. 2016) for images of any `image_shape` (C, H, W) that
    conv_stages accepts: k stride-2 stages up from an H0 x W0 grid, channels halving per stage
    from width * 2^(k-1) to width, then a last stage to C channels and tanh.

    z (N, latent) -> Linear -> BN -> ReLU -> (N, width*2^(k-1), H0, W0)
      -> [ConvT c->c/2, k4 s2 p1 -> BN -> ReLU] x (k - 1)
      -> ConvT width->C, k4 s2 p1 -> tanh -> (N, C, H, W) in [-1, 1]

        (1, 28, 28): 128x7x7 -> 64x14x14 -> 1x28x28            (sized for MNIST)
        (3, 32, 32): 256x4x4 -> 128x8x8 -> 64x16x16 -> 3x32x32  (Radford et al.'s 32x32 net)
        (3, 64, 64): 512x4x4 -> 256x8x8 -> 128x16x16 -> 64x32x32 -> 3x64x64
    """

    def __init__(self, latent_dim: int = 100, channels: int = 1, width: int = 64,
                 image_shape=None):
        super().__init__()
        image_shape = tuple(image_shape or (channels, 28, 28))
        stages, h0, w0 = conv_stages(image_shape)
        self.latent_dim, c = latent_dim, width * 2 ** (stages - 1)
        layers = [nn.Linear(latent_dim, c * h0 * w0), nn.BatchNorm1d(c * h0 * w0), nn.ReLU(),
                  nn.Unflatten(1, (c, h0, w0))]
        for _ in range(stages - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, stride=2, padding=1),
                       nn.BatchNorm2d(c // 2), nn.ReLU()]
            c //= 2
        layers += [nn.ConvTranspose2d(c, image_shape[0], 4, stride=2, padding=1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator, the generator's mirror (no batch norm, so R1 and the per-example
    gradient penalties see each example on its own):

    x (N, C, H, W) -> Conv C->width, k4 s2 p1 -> LeakyReLU 0.2
      -> [Conv c->2c, k4 s2 p1 -> LeakyReLU 0.2] x (k - 1) -> (N, width*2^(k-1), H0, W0)
      -> Flatten -> Linear -> logits (N, 1)

        (1, 28, 28): 64x14x14 -> 128x7x7 -> 1;   (3, 32, 32): 64x16x16 -> 128x8x8 -> 256x4x4 -> 1
    """

    def __init__(self, channels: int = 1, width: int = 64, image_shape=None):
        super().__init__()
        image_shape = tuple(image_shape or (channels, 28, 28))
        stages, h0, w0 = conv_stages(image_shape)
        layers, c = [nn.Conv2d(image_shape[0], width, 4, stride=2, padding=1),
                     nn.LeakyReLU(0.2)], width
        for _ in range(stages - 1):
            layers += [nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            c *= 2
        self.net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * h0 * w0, 1))

    def forward(self, x):
        return self.net(x)


def dcgan_init_(module: nn.Module) -> nn.Module:
    """DCGAN initialisation (Radford et al. 2016): conv and linear weights ~ N(0, 0.02),
    batch-norm scales ~ N(1, 0.02), every bias 0. Draws from tg.random; returns module."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            init.normal_(m.weight, 1.0, 0.02)
        else:
            continue
        if m.bias is not None:
            init.zeros_(m.bias)
    return module


def build_models(model: str, latent_dim: int, hidden: int = 256, shape=None):
    """Step 1 of the GAN recipe: randomly initialise G and D (from tg.random) -> (G, D).

    shape: one example's shape: (2,) for 2D points (the MLP's default), (C, H, W) for images
    (the DCGAN's default (1, 28, 28); see conv_stages for the sizes it builds)."""
    shape = tuple(shape or ((2,) if model == "mlp" else (1, 28, 28)))
    if model == "mlp":
        return (MLPGenerator(latent_dim, hidden, out_dim=shape[0]),
                MLPDiscriminator(shape[0], hidden))
    if model == "dcgan":
        return (dcgan_init_(DCGANGenerator(latent_dim, image_shape=shape)),
                dcgan_init_(DCGANDiscriminator(image_shape=shape)))
    raise ValueError(f"unknown GAN model {model!r}; expected 'mlp' or 'dcgan'")
