"""Likelihood metrics of a VAE: importance-weighted NLL, posterior means, active latent units.

Place in the tower: metrics/ (imports tinygen, functional, data and NumPy; takes any model with
encode(x) -> (mu, logvar) and decode(z) -> logits). Images x (N, C, H, W) are float32 in [0, 1],
or uint8 scaled a batch at a time (tinygen.data.as_float). The test -ELBO itself is
tinygen.vae's `evaluate`, the one definition of that number. All functions here run under
no_grad and return floats in nats per image, arrays, or a count.

Importance-weighted bound (Burda, Grosse & Salakhutdinov 2016), for K samples z_k ~ q(z|x):
    log p(x) >= L_K = log (1/K) sum_k w_k,    log w_k = log p(x|z_k) + log p(z_k) - log q(z_k|x)
L_1 is the ELBO; L_K increases with K towards log p(x); Burda et al. report K = 5000.
A conditional VAE takes the labels y (N,) as well (every function's optional last argument), and
the bound is then on log p(x | y).
"""
from __future__ import annotations

import math

import numpy as np

import tinygen as tg
from tinygen import functional as F
from tinygen.data import as_float

LOG_2PI = math.log(2 * math.pi)


def _encode(model, x, y):
    """model.encode(x), or model.encode(x, y) for a conditional model (labels y not None)."""
    return model.encode(x) if y is None else model.encode(x, y)


def _log_weights(model, xb, mu, logvar, eps, yb=None):
    """log w = log p(x|z) + log p(z) - log q(z|x) for z = mu + sigma eps.

    xb: (B, C, H, W); mu, logvar: (B, L) arrays; eps: (S, B, L) -> (S, B) float64.
    log q(z|x) = sum_j -1/2 (eps_j^2 + log 2pi + logvar_j);  log p(z) = sum_j -1/2 (z_j^2 + log 2pi)
    """
    s, b, latent = eps.shape
    z = mu + eps * np.exp(0.5 * logvar)
    labels = None if yb is None else np.tile(yb, s)          # row s * b + i is image i
    z_rows = tg.tensor(z.reshape(s * b, latent))
    logits = model.decode(z_rows) if labels is None else model.decode(z_rows, labels)
    target = np.broadcast_to(xb, (s, *xb.shape)).reshape(logits.shape)
    bce = F.binary_cross_entropy_with_logits(logits, tg.tensor(target), reduction="none")
    log_px_z = -bce.numpy().reshape(s, b, -1).sum(axis=2, dtype=np.float64)
    log_pz = -0.5 * (z.astype(np.float64) ** 2 + LOG_2PI).sum(axis=2)
    log_qz = -0.5 * (eps.astype(np.float64) ** 2 + LOG_2PI + logvar).sum(axis=2)
    return log_px_z + log_pz - log_qz


def iw_nll(model, x, k: int = 5000, rng=None, batch_size: int = 100,
           max_rows: int = 10_000, y=None) -> float:
    """Importance-weighted estimate of the mean -log p(x) over x (N, C, H, W), in nats.

    -L_K(x) = -(logsumexp_k log w_k - log K), with k samples per image drawn in chunks so that
    at most max_rows decoder rows (about max_rows * pixels floats) are alive at once; the
    running logsumexp over chunks is kept in float64 (np.logaddexp).
    """
    if k < 1:
        raise ValueError(f"iw_nll: k (importance samples) must be >= 1, got {k}")
    rng = rng if rng is not None else np.random.default_rng(0)
    total = 0.0
    with tg.no_grad():
        for i in range(0, len(x), batch_size):
            xb, yb = as_float(x[i:i + batch_size]), None if y is None else y[i:i + batch_size]
            mu, logvar = (t.numpy() for t in _encode(model, tg.tensor(xb), yb))
            chunk = max(1, min(k, max_rows // len(xb)))
            log_sum = np.full(len(xb), -np.inf)
            for done in range(0, k, chunk):
                eps = rng.standard_normal((min(chunk, k - done), *mu.shape), dtype=np.float32)
                log_w = _log_weights(model, xb, mu, logvar, eps, yb)
                log_sum = np.logaddexp(log_sum, np.logaddexp.reduce(log_w, axis=0))
            total += float(np.sum(log_sum - math.log(k)))
    return -total / len(x)


def posterior_means(model, x, batch_size: int = 500, y=None) -> np.ndarray:
    """mu(x) of q(z|x) [mu(x, y) of q(z|x, y)] for every image: (N, latent) float32."""
    with tg.no_grad():
        return np.concatenate([
            _encode(model, tg.tensor(as_float(x[i:i + batch_size])),
                    None if y is None else y[i:i + batch_size])[0].numpy()
            for i in range(0, len(x), batch_size)])


def active_units(model, x, threshold: float = 0.01, y=None) -> int:
    """Number of latent units u with Var_x( E_q(z|x)[z_u] ) > threshold (Burda et al. 2016).

    A unit whose posterior mean does not move with x carries no information about x.
    """
    means = posterior_means(model, x, y=y).astype(np.float64)
    return int(np.sum(means.var(axis=0) > threshold))
