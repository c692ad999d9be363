"""The VAE's networks: an MLP and a convolutional encoder/decoder pair.

Place in the tower: vae/ (imports NumPy, tinygen.functional and tinygen.nn).
The MLP takes images of any size; the convolutional VAE the sizes of nn.stages.conv_stages. The objective
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
from tinygen.nn.stages import conv_stages


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
    """Convolutional VAE for images (C, H, W) that nn.stages.conv_stages accepts (H and W
    even, in 8..128): k stride-2 stages down to an H0 x W0 grid, channels doubling
    from 32 per stage, and the mirror image back up.

    encoder: [Conv2d c->c', 4, s2, p1 -> ReLU] x k, c' = 32, 64, ...  -> (N, 32*2^(k-1), H0, W0)
             -> flatten -> Linear(., hidden) -> ReLU -> heads (mu, logvar)
    decoder: Linear(latent, hidden) -> ReLU -> Linear(hidden, .) -> ReLU -> unflatten
             -> [ConvTranspose2d c->c/2, 4, s2, p1 -> ReLU] x (k - 1) -> ConvTranspose2d 32->C

        (1, 28, 28): 32x14x14 -> 64x7x7;   (3, 32, 32): 32x16x16 -> 64x8x8 -> 128x4x4
        (3, 64, 64): 32x32x32 -> 64x16x16 -> 128x8x8 -> 256x4x4
    """

    def __init__(self, image_shape=(1, 28, 28), hidden=256, latent=20):
        super().__init__()
        stages, h0, w0 = conv_stages(image_shape)
        self.image_shape, self.latent, self.stages = tuple(image_shape), latent, stages
        self.grid = (32 * 2 ** (stages - 1), h0, w0)
        c = image_shape[0]
        for i in range(1, stages + 1):                      # conv1 .. convk
            setattr(self, f"conv{i}", nn.Conv2d(c, 32 * 2 ** (i - 1), 4, 2, 1))
            c = 32 * 2 ** (i - 1)
        self.enc = nn.Linear(int(np.prod(self.grid)), hidden)
        self.enc_mu, self.enc_logvar = nn.Linear(hidden, latent), nn.Linear(hidden, latent)
        self.dec1, self.dec2 = nn.Linear(latent, hidden), nn.Linear(hidden, int(np.prod(self.grid)))
        for i in range(1, stages + 1):                      # deconv1 .. deconvk
            out = image_shape[0] if i == stages else c // 2
            setattr(self, f"deconv{i}", nn.ConvTranspose2d(c, out, 4, 2, 1))
            c = out

    def encode(self, x):
        h = x
        for i in range(1, self.stages + 1):
            h = getattr(self, f"conv{i}")(h).relu()
        h = self.enc(h.reshape(len(x), -1)).relu()
        return self.enc_mu(h), self.enc_logvar(h)

    def decode(self, z):
        h = self.dec2(self.dec1(z).relu()).relu().reshape(len(z), *self.grid)
        for i in range(1, self.stages):
            h = getattr(self, f"deconv{i}")(h).relu()
        return getattr(self, f"deconv{self.stages}")(h)

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
