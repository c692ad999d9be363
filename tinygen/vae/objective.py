"""The VAE's objective: the negative ELBO, one training step, and the ELBO of a whole data set.

Place in the tower: vae/ (imports NumPy, tinygen, functional, data; the networks are in
vae/networks.py, a whole run for the command line in runs/vae.py).

The model (Kingma & Welling 2014). An image x is explained by a latent z ~ p(z) = N(0, I):
    encoder  q(z|x) = N(mu(x), diag(exp(logvar(x))))     the posterior's parameters mu, sigma
    decoder  p(x|z) = Bernoulli(sigmoid(logits(z)))       one coin per pixel, targets in [0, 1]
and trained by maximising the evidence lower bound, per example,
    ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || N(0, I)) <= log p(x)
The loss is -ELBO = reconstruction (summed BCE over pixels, one reparameterized z) + KL (closed
form, summed over latent units), averaged over the batch: "nats per image".

Options: beta weights the KL (beta-VAE, Higgins et al. 2017); a linear warm-up raises that
weight from 0 over the first epochs (Bowman et al. 2016); free bits keep lambda nats per latent
unit out of the penalty (Kingma et al. 2016): KL term = sum_j max(lambda, mean_batch KL_j).

Conditional VAE (Sohn et al. 2015): the same bound with every distribution also given the label
y, ELBO(x | y) = E_q(z|x,y)[log p(x|z, y)] - KL(q(z|x, y) || N(0, I)) <= log p(x | y); every
function below takes the labels y (N,) as an optional last argument (None: unconditional).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import tinygen as tg
from tinygen import functional as F
from tinygen.data import as_float


@dataclass
class ELBOTerms:
    """loss: the Tensor to minimise (with beta and free bits); recon, kl: per-example means of
    the two terms of -ELBO as floats (recon + kl = the negative ELBO, whatever beta is)."""
    loss: tg.Tensor
    recon: float
    kl: float

    @property
    def neg_elbo(self) -> float:
        return self.recon + self.kl


def elbo_terms(model, x, beta: float = 1.0, free_bits: float = 0.0, y=None) -> ELBOTerms:
    """-ELBO of a batch x (N, C, H, W) in [0, 1], per example, with one reparameterized z.

        recon = sum_pixels BCE(logits, x)                 = -log p(x|z)
        kl    = sum_j 1/2 (mu^2 + sigma^2 - 1 - log sigma^2)  = KL(q(z|x) || N(0, I))
        loss  = mean_batch recon + beta * KL term, where the KL term is mean_batch kl, or with
                free bits lambda > 0: sum_j max(lambda, mean_batch kl_j).
    """
    n = len(x)
    logits, mu, logvar = model(x) if y is None else model(x, y)
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / n
    kl_units = F.gaussian_kl(mu, logvar, reduction="none").mean(axis=0)  # (latent,) nats
    kl = kl_units.sum()
    penalty = tg.maximum(kl_units, free_bits).sum() if free_bits > 0 else kl
    return ELBOTerms(recon + beta * penalty, recon.item(), kl.item())


def train_step(model, optimizer, x, beta: float = 1.0, free_bits: float = 0.0,
               y=None) -> ELBOTerms:
    """One gradient step on -ELBO of the batch x (N, C, H, W) [labels y (N,)]: forward,
    backward, update."""
    optimizer.zero_grad()
    terms = elbo_terms(model, tg.tensor(x), beta, free_bits, y)
    terms.loss.backward()
    optimizer.step()
    return terms


def kl_weight(beta: float, warmup_epochs: float, epoch_progress: float) -> float:
    """Linear KL warm-up: beta * min(1, epochs done / warmup_epochs); beta when no warm-up."""
    if warmup_epochs <= 0:
        return beta
    return beta * min(1.0, epoch_progress / warmup_epochs)


def evaluate(model, x, batch_size: int = 500, y=None) -> dict:
    """-ELBO of a whole data set x (N, C, H, W) -- float32 in [0, 1], or uint8 scaled a batch
    at a time -- (with labels y (N,) for a conditional model), one z per image (drawn from
    tg.random), no gradients: {"neg_elbo", "recon", "kl"}, per-image means in nats. The one
    definition of the number: the training log's test -ELBO and `tinygen eval`'s
    test_neg_elbo both come from here."""
    model.eval()
    sums = np.zeros(2)
    with tg.no_grad():
        for i in range(0, len(x), batch_size):
            terms = elbo_terms(model, tg.tensor(as_float(x[i:i + batch_size])),
                               y=None if y is None else y[i:i + batch_size])
            sums += len(x[i:i + batch_size]) * np.array([terms.recon, terms.kl])
    recon, kl = sums / len(x)
    return {"neg_elbo": float(recon + kl), "recon": float(recon), "kl": float(kl)}


def decode_images(model, z, y=None) -> np.ndarray:
    """Bernoulli means sigmoid(logits(z, y)) as float32 (N, C, H, W) in [0, 1]."""
    model.eval()
    with tg.no_grad():
        z = tg.tensor(np.asarray(z, dtype=np.float32))
        return (model.decode(z) if y is None else model.decode(z, y)).sigmoid().numpy()
