"""The VAE's networks: an MLP and a convolutional encoder/decoder pair.

Place in the tower: vae/ (imports NumPy, tinygen.functional and tinygen.nn). The objective
they are trained with, and one training step, are in vae/objective.py; a whole run for the
command line is runs/vae.py.

Every VAE here has the same interface, which the objective, the metrics and the figures use:
    encode(x: (N, C, H, W), y=None) -> (mu, logvar), each (N, latent)    the posterior q(z|x)
    decode(z: (N, latent), y=None)  -> logits (N, C, H, W)                the Bernoulli p(x|z)
    forward(x, y=None) -> (logits, mu, logvar), with z = mu + sigma * eps (reparameterize)

Conditional VAE (Sohn, Lee & Yan 2015), num_classes = K > 0: the label y (N,) in [0, K) is an
input of both networks, q(z|x, y) and p(x|z, y). Its embedding e(y) (N, label_dim), one
nn.Embedding shared by both, is concatenated to the encoder's features just before its hidden
Linear, and to z before the decoder's first Linear. label_dim is 64: with 16, z kept much of
the class and 85 % of prior samples read as their class; with 64, 92 % (see the README). Since the decoder is told the class, z is
free to code the rest (style: slant, thickness), and p(x|z, y) draws a chosen class.
Unconditional networks (K = 0, y = None) are built, initialised and saved exactly as before.
"""
from __future__ import annotations

import numpy as np

import tinygen as tg
from tinygen import functional as F
from tinygen import nn


class _Conditioning:
    """Shared by both VAEs: `num_classes`, the label embedding and concatenating it."""

    def _with_label(self, h, y):
        """h (N, F) -> [h, e(y)] (N, F + label_dim) when conditional; h when not."""
        if not self.num_classes:
            return h
        if y is None:
            raise ValueError(f"{type(self).__name__} is conditional on {self.num_classes} "
                             f"classes: pass labels y (N,)")
        return tg.concatenate([h, self.embed(y)], axis=1)


class MLPVAE(_Conditioning, nn.Module):
    """Fully connected VAE; the classic 784-400-20 with the defaults (Kingma & Welling 2014).

    encoder: flatten (N, C*H*W) [+ e(y)] -> Linear -> ReLU -> two Linear heads (mu, logvar)
    decoder: z (N, latent) [+ e(y)] -> Linear -> ReLU -> Linear -> logits (N, C, H, W)
    """

    def __init__(self, image_shape=(1, 28, 28), hidden=400, latent=20, num_classes=0,
                 label_dim=64):
        super().__init__()
        self.image_shape, self.latent, self.num_classes = tuple(image_shape), latent, num_classes
        pixels, extra = int(np.prod(image_shape)), label_dim if num_classes else 0
        self.enc = nn.Linear(pixels + extra, hidden)
        self.enc_mu, self.enc_logvar = nn.Linear(hidden, latent), nn.Linear(hidden, latent)
        self.dec1, self.dec2 = nn.Linear(latent + extra, hidden), nn.Linear(hidden, pixels)
        if num_classes:
            self.embed = nn.Embedding(num_classes, label_dim)

    def encode(self, x, y=None):
        h = self.enc(self._with_label(x.reshape(len(x), -1), y)).relu()
        return self.enc_mu(h), self.enc_logvar(h)

    def decode(self, z, y=None):
        h = self.dec1(self._with_label(z, y)).relu()
        return self.dec2(h).reshape(len(z), *self.image_shape)

    def forward(self, x, y=None):
        mu, logvar = self.encode(x, y)
        return self.decode(F.reparameterize(mu, logvar), y), mu, logvar


class ConvVAE(_Conditioning, nn.Module):
    """Convolutional VAE for images whose height and width are multiples of 4.

    encoder: Conv2d(C, 32, 4, s2, p1) -> ReLU -> Conv2d(32, 64, 4, s2, p1) -> ReLU  (H/4, W/4)
             -> flatten [+ e(y)] -> Linear(64*H/4*W/4, hidden) -> ReLU -> heads (mu, logvar)
    decoder: z [+ e(y)] -> Linear(latent, hidden) -> ReLU -> Linear(hidden, 64*H/4*W/4) -> ReLU -> unflatten
             -> ConvTranspose2d(64, 32, 4, s2, p1) -> ReLU -> ConvTranspose2d(32, C, 4, s2, p1)
    """

    def __init__(self, image_shape=(1, 28, 28), hidden=256, latent=20, num_classes=0,
                 label_dim=64):
        super().__init__()
        c, h, w = image_shape
        if h % 4 or w % 4:
            raise ValueError(f"ConvVAE needs height and width divisible by 4, got {h}x{w}")
        self.image_shape, self.latent, self.grid = tuple(image_shape), latent, (64, h // 4, w // 4)
        self.num_classes, extra = num_classes, label_dim if num_classes else 0
        self.conv1, self.conv2 = nn.Conv2d(c, 32, 4, 2, 1), nn.Conv2d(32, 64, 4, 2, 1)
        self.enc = nn.Linear(int(np.prod(self.grid)) + extra, hidden)
        self.enc_mu, self.enc_logvar = nn.Linear(hidden, latent), nn.Linear(hidden, latent)
        self.dec1 = nn.Linear(latent + extra, hidden)
        self.dec2 = nn.Linear(hidden, int(np.prod(self.grid)))
        self.deconv1 = nn.ConvTranspose2d(64, 32, 4, 2, 1)
        self.deconv2 = nn.ConvTranspose2d(32, c, 4, 2, 1)
        if num_classes:
            self.embed = nn.Embedding(num_classes, label_dim)

    def encode(self, x, y=None):
        h = self.conv2(self.conv1(x).relu()).relu()
        h = self.enc(self._with_label(h.reshape(len(x), -1), y)).relu()
        return self.enc_mu(h), self.enc_logvar(h)

    def decode(self, z, y=None):
        h = self.dec2(self.dec1(self._with_label(z, y)).relu()).relu()
        return self.deconv2(self.deconv1(h.reshape(len(z), *self.grid)).relu())

    def forward(self, x, y=None):
        mu, logvar = self.encode(x, y)
        return self.decode(F.reparameterize(mu, logvar), y), mu, logvar


def build_model(kind: str, image_shape, latent: int = 20, hidden: int | None = None,
                num_classes: int = 0):
    """'mlp' -> MLPVAE (hidden 400 by default), 'conv' -> ConvVAE (hidden 256 by default);
    num_classes > 0: the conditional VAE on that many classes."""
    if kind == "mlp":
        return MLPVAE(image_shape, hidden or 400, latent, num_classes)
    if kind == "conv":
        return ConvVAE(image_shape, hidden or 256, latent, num_classes)
    raise ValueError(f"unknown VAE model {kind!r}; expected 'mlp' or 'conv'")
