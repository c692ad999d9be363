"""The GAN networks: an MLP pair for 2D points and the DCGAN pair for 28x28 images.

Place in the tower: gan/ (imports tinygen.nn and tinygen.nn.init only). The training step that
plays them against each other is in gan/objective.py.

Both discriminators output one logit per example, D_logit(x): (N, 1); the probability that x is
real is D(x) = sigmoid(D_logit(x)), and every loss is computed from the logits (stable).
Generators map noise z: (N, latent_dim) to samples; the DCGAN generator ends in tanh, so its
images live in [-1, 1] (the data is rescaled x -> 2x - 1 to match).
"""
from __future__ import annotations

from tinygen import nn
from tinygen.nn import init


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
    """DCGAN generator for 28x28 (Radford et al. 2016, sized for MNIST):

    z (N, latent) -> Linear -> BN -> ReLU -> (N, 128, 7, 7)
      -> ConvT 128->64, k4 s2 p1 -> BN -> ReLU -> (N, 64, 14, 14)
      -> ConvT 64->channels, k4 s2 p1 -> tanh -> (N, channels, 28, 28) in [-1, 1]
    """

    def __init__(self, latent_dim: int = 100, channels: int = 1, width: int = 64):
        super().__init__()
        self.latent_dim = latent_dim
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 2 * width * 7 * 7), nn.BatchNorm1d(2 * width * 7 * 7),
            nn.ReLU(), nn.Unflatten(1, (2 * width, 7, 7)),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1),
            nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, channels, 4, stride=2, padding=1), nn.Tanh())

    def forward(self, z):
        return self.net(z)


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator for 28x28 (no batch norm, so R1 and the per-example gradient
    penalties see each example on its own):

    x (N, channels, 28, 28) -> Conv k4 s2 p1 -> LeakyReLU 0.2 -> (N, 64, 14, 14)
      -> Conv k4 s2 p1 -> LeakyReLU 0.2 -> (N, 128, 7, 7) -> Flatten -> Linear -> logits (N, 1)
    """

    def __init__(self, channels: int = 1, width: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1))

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


def build_models(model: str, latent_dim: int, hidden: int = 256, channels: int = 1):
    """Step 1 of the GAN recipe: randomly initialise G and D (from tg.random) -> (G, D)."""
    if model == "mlp":
        return (MLPGenerator(latent_dim, hidden), MLPDiscriminator(2, hidden))
    if model == "dcgan":
        return (dcgan_init_(DCGANGenerator(latent_dim, channels)),
                dcgan_init_(DCGANDiscriminator(channels)))
    raise ValueError(f"unknown GAN model {model!r}; expected 'mlp' or 'dcgan'")
