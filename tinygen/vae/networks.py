"""The VAE's networks: an MLP and a convolutional encoder/decoder pair.

Place in the tower: vae/ (imports NumPy, tinygen, tinygen.functional and tinygen.nn). The
MLP takes images of any size; the convolutional VAE the sizes of nn.stages.conv_stages. The
objective they are trained with, and one training step, are in vae/objective.py; a whole run
for the command line is runs/vae.py.

Every VAE here has the same interface, which the objective, the metrics and the figures use:
    encode(x: (N, C, H, W), y=None) -> (mu, logvar), each (N, latent)    the posterior q(z|x)
    decode(z: (N, latent), y=None)  -> logits (N, C, H, W)                the Bernoulli p(x|z)
    forward(x, y=None) -> (logits, mu, logvar), with z = mu + sigma * eps (reparameterize)

Conditional VAE (Sohn, Lee & Yan 2015), num_classes = K > 0: the label y (N,) in [0, K) is an
input of both networks, q(z|x, y) and p(x|z, y). Its embedding e(y) (N, label_dim), one
nn.Embedding shared by both, is concatenated to the encoder's features just before its hidden
Linear, and to z before the decoder's first Linear. label_dim is 64: with 16, z kept much of
the class and 85 % of prior samples read as their class; with 64, 92 % (see the README).
Since the decoder is told the class, z is free to code the rest (style: slant, thickness),
and p(x|z, y) draws a chosen class.
Unconditional networks (K = 0, y = None) are built, initialised and saved exactly as before.
"""
from __future__ import annotations

import numpy as np

import tinygen as tg
from tinygen import functional as F
from tinygen import nn
from tinygen.nn.stages import conv_stages


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
    """Convolutional VAE for images (C, H, W) that nn.stages.conv_stages accepts (H and W
    even, in 8..128): k stride-2 stages down to an H0 x W0 grid, channels doubling
    from 32 per stage, and the mirror image back up.

    encoder: [Conv2d c->c', 4, s2, p1 -> ReLU] x k, c' = 32, 64, ...  -> (N, 32*2^(k-1), H0, W0)
             -> flatten [+ e(y)] -> Linear(., hidden) -> ReLU -> heads (mu, logvar)
    decoder: z [+ e(y)] -> Linear(latent, hidden) -> ReLU -> Linear(hidden, .) -> ReLU
             -> unflatten -> [ConvTranspose2d c->c/2, 4, s2, p1 -> ReLU] x (k - 1)
             -> ConvTranspose2d 32->C

        (1, 28, 28): 32x14x14 -> 64x7x7;   (3, 32, 32): 32x16x16 -> 64x8x8 -> 128x4x4
        (3, 64, 64): 32x32x32 -> 64x16x16 -> 128x8x8 -> 256x4x4
    """

    def __init__(self, image_shape=(1, 28, 28), hidden=256, latent=20, num_classes=0,
                 label_dim=64):
        super().__init__()
        stages, h0, w0 = conv_stages(image_shape)
        self.image_shape, self.latent, self.stages = tuple(image_shape), latent, stages
        self.grid = (32 * 2 ** (stages - 1), h0, w0)
        self.num_classes, extra = num_classes, label_dim if num_classes else 0
        c = image_shape[0]
        for i in range(1, stages + 1):                      # conv1 .. convk
            setattr(self, f"conv{i}", nn.Conv2d(c, 32 * 2 ** (i - 1), 4, 2, 1))
            c = 32 * 2 ** (i - 1)
        self.enc = nn.Linear(int(np.prod(self.grid)) + extra, hidden)
        self.enc_mu, self.enc_logvar = nn.Linear(hidden, latent), nn.Linear(hidden, latent)
        self.dec1 = nn.Linear(latent + extra, hidden)
        self.dec2 = nn.Linear(hidden, int(np.prod(self.grid)))
        for i in range(1, stages + 1):                      # deconv1 .. deconvk
            out = image_shape[0] if i == stages else c // 2
            setattr(self, f"deconv{i}", nn.ConvTranspose2d(c, out, 4, 2, 1))
            c = out
        if num_classes:
            self.embed = nn.Embedding(num_classes, label_dim)

    def encode(self, x, y=None):
        h = x
        for i in range(1, self.stages + 1):
            h = getattr(self, f"conv{i}")(h).relu()
        h = self.enc(self._with_label(h.reshape(len(x), -1), y)).relu()
        return self.enc_mu(h), self.enc_logvar(h)

    def decode(self, z, y=None):
        h = self.dec2(self.dec1(self._with_label(z, y)).relu()).relu().reshape(len(z), *self.grid)
        for i in range(1, self.stages):
            h = getattr(self, f"deconv{i}")(h).relu()
        return getattr(self, f"deconv{self.stages}")(h)

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
