"""The VAE's networks: an MLP and a convolutional encoder/decoder pair.

Place in the tower: vae/ (imports NumPy, tinygen.functional and tinygen.nn). The objective
they are trained with, and one training step, are in vae/objective.py; a whole run for the
command line is runs/vae.py.

Every VAE here has the same interface, which the objective, the metrics and the figures use:
    encode(x: (N, C, H, W)) -> (mu, logvar), each (N, latent)    the posterior q(z|x)
    decode(z: (N, latent))  -> logits (N, C, H, W)                the Bernoulli p(x|z)
    forward(x) -> (logits, mu, logvar), with z = mu + sigma * eps drawn by reparameterize
"""
from __future__ import annotations

import numpy as np

from tinygen import functional as F
from tinygen import nn


class MLPVAE(nn.Module):
    """Fully connected VAE; the classic 784-400-20 with the defaults (Kingma & Welling 2014).

    encoder: flatten (N, C*H*W) -> Linear -> ReLU -> two Linear heads (mu, logvar)
    decoder: z (N, latent) -> Linear -> ReLU -> Linear -> logits reshaped to (N, C, H, W)
    """

    def __init__(self, image_shape=(1, 28, 28), hidden=400, latent=20):
        super().__init__()
        self.image_shape, self.latent = tuple(image_shape), latent
        pixels = int(np.prod(image_shape))
        self.enc = nn.Linear(pixels, hidden)
        self.enc_mu, self.enc_logvar = nn.Linear(hidden, latent), nn.Linear(hidden, latent)
        self.dec1, self.dec2 = nn.Linear(latent, hidden), nn.Linear(hidden, pixels)

    def encode(self, x):
        h = self.enc(x.reshape(len(x), -1)).relu()
        return self.enc_mu(h), self.enc_logvar(h)

    def decode(self, z):
        return self.dec2(self.dec1(z).relu()).reshape(len(z), *self.image_shape)

    def forward(self, x):
        mu, logvar = self.encode(x)
        return self.decode(F.reparameterize(mu, logvar)), mu, logvar


class ConvVAE(nn.Module):
    """Convolutional VAE for images whose height and width are multiples of 4.

    encoder: Conv2d(C, 32, 4, s2, p1) -> ReLU -> Conv2d(32, 64, 4, s2, p1) -> ReLU  (H/4, W/4)
             -> flatten -> Linear(64*H/4*W/4, hidden) -> ReLU -> heads (mu, logvar)
    decoder: Linear(latent, hidden) -> ReLU -> Linear(hidden, 64*H/4*W/4) -> ReLU -> unflatten
             -> ConvTranspose2d(64, 32, 4, s2, p1) -> ReLU -> ConvTranspose2d(32, C, 4, s2, p1)
    """

    def __init__(self, image_shape=(1, 28, 28), hidden=256, latent=20):
        super().__init__()
        c, h, w = image_shape
        if h % 4 or w % 4:
            raise ValueError(f"ConvVAE needs height and width divisible by 4, got {h}x{w}")
        self.image_shape, self.latent, self.grid = tuple(image_shape), latent, (64, h // 4, w // 4)
        self.conv1, self.conv2 = nn.Conv2d(c, 32, 4, 2, 1), nn.Conv2d(32, 64, 4, 2, 1)
        self.enc = nn.Linear(int(np.prod(self.grid)), hidden)
        self.enc_mu, self.enc_logvar = nn.Linear(hidden, latent), nn.Linear(hidden, latent)
        self.dec1, self.dec2 = nn.Linear(latent, hidden), nn.Linear(hidden, int(np.prod(self.grid)))
        self.deconv1 = nn.ConvTranspose2d(64, 32, 4, 2, 1)
        self.deconv2 = nn.ConvTranspose2d(32, c, 4, 2, 1)

    def encode(self, x):
        h = self.conv2(self.conv1(x).relu()).relu()
        h = self.enc(h.reshape(len(x), -1)).relu()
        return self.enc_mu(h), self.enc_logvar(h)

    def decode(self, z):
        h = self.dec2(self.dec1(z).relu()).relu().reshape(len(z), *self.grid)
        return self.deconv2(self.deconv1(h).relu())

    def forward(self, x):
        mu, logvar = self.encode(x)
        return self.decode(F.reparameterize(mu, logvar)), mu, logvar


def build_model(kind: str, image_shape, latent: int = 20, hidden: int | None = None):
    """'mlp' -> MLPVAE (hidden 400 by default), 'conv' -> ConvVAE (hidden 256 by default)."""
    if kind == "mlp":
        return MLPVAE(image_shape, hidden or 400, latent)
    if kind == "conv":
        return ConvVAE(image_shape, hidden or 256, latent)
    raise ValueError(f"unknown VAE model {kind!r}; expected 'mlp' or 'conv'")
