"""Variational autoencoders: the models, the ELBO, one training step, and a run for the CLI.

Place in the tower: above nn / optim / data (imports tinygen, functional, nn, optim, data, runs;
metrics and plots only inside the run functions at the bottom).

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
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import tinygen as tg
from tinygen import functional as F
from tinygen import nn


# -- models: encode(x) -> (mu, logvar) each (N, latent); decode(z) -> logits (N, C, H, W) ------
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


# -- the ELBO ----------------------------------------------------------------------------------
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


def elbo_terms(model, x, beta: float = 1.0, free_bits: float = 0.0) -> ELBOTerms:
    """-ELBO of a batch x (N, C, H, W) in [0, 1], per example, with one reparameterized z.

        recon = sum_pixels BCE(logits, x)                 = -log p(x|z)
        kl    = sum_j 1/2 (mu^2 + sigma^2 - 1 - log sigma^2)  = KL(q(z|x) || N(0, I))
        loss  = mean_batch recon + beta * KL term, where the KL term is mean_batch kl, or with
                free bits lambda > 0: sum_j max(lambda, mean_batch kl_j).
    """
    n = len(x)
    logits, mu, logvar = model(x)
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / n
    kl_units = F.gaussian_kl(mu, logvar, reduction="none").mean(axis=0)  # (latent,) nats
    kl = kl_units.sum()
    penalty = tg.maximum(kl_units, free_bits).sum() if free_bits > 0 else kl
    return ELBOTerms(recon + beta * penalty, recon.item(), kl.item())


def train_step(model, optimizer, x, beta: float = 1.0, free_bits: float = 0.0) -> ELBOTerms:
    """One gradient step on -ELBO of the batch x: forward, backward, update."""
    optimizer.zero_grad()
    terms = elbo_terms(model, tg.tensor(x), beta, free_bits)
    terms.loss.backward()
    optimizer.step()
    return terms


def kl_weight(beta: float, warmup_epochs: float, epoch_progress: float) -> float:
    """Linear KL warm-up: beta * min(1, epochs done / warmup_epochs); beta when no warm-up."""
    if warmup_epochs <= 0:
        return beta
    return beta * min(1.0, epoch_progress / warmup_epochs)


def train_epoch(model, optimizer, x, batch_size: int, rng, epoch: int = 0, beta: float = 1.0,
                kl_warmup: float = 0.0, free_bits: float = 0.0, progress=None) -> dict:
    """One pass over x (N, C, H, W) in shuffled batches; returns the per-example means
    {"train_loss" (= -ELBO), "train_recon", "train_kl", "beta"} (beta at the epoch's end).

    rng orders the batches; progress(iterable, total, desc) wraps the batches (a bar) if given.
    Stops with runs.NonFiniteLossError at the first non-finite loss.
    """
    from tinygen.data import iterate_batches
    from tinygen.runs import check_finite
    model.train()
    steps = -(-len(x) // batch_size)
    batches = iterate_batches(x, batch_size, rng)
    if progress is not None:
        batches = progress(batches, total=steps, desc=f"epoch {epoch + 1}")
    sums, weight = np.zeros(2), beta
    for i, xb in enumerate(batches):
        weight = kl_weight(beta, kl_warmup, epoch + (i + 1) / steps)
        terms = train_step(model, optimizer, xb, weight, free_bits)
        check_finite(terms.loss.item(), f"epoch {epoch + 1}, step {i + 1}")
        sums += len(xb) * np.array([terms.recon, terms.kl])
        if progress is not None:
            batches.set_postfix(loss=f"{terms.neg_elbo:.1f}", refresh=False)
    recon, kl = sums / len(x)
    return {"train_loss": float(recon + kl), "train_recon": float(recon), "train_kl": float(kl),
            "beta": float(weight)}


def evaluate(model, x, batch_size: int = 500) -> dict:
    """Test -ELBO with one z per image, no gradients: {"test_loss", "test_recon", "test_kl"}."""
    model.eval()
    sums = np.zeros(2)
    with tg.no_grad():
        for i in range(0, len(x), batch_size):
            terms = elbo_terms(model, tg.tensor(x[i:i + batch_size]))
            sums += len(x[i:i + batch_size]) * np.array([terms.recon, terms.kl])
    recon, kl = sums / len(x)
    return {"test_loss": float(recon + kl), "test_recon": float(recon), "test_kl": float(kl)}


def decode_images(model, z) -> np.ndarray:
    """Bernoulli means sigmoid(logits(z)) as float32 (N, C, H, W) in [0, 1]."""
    model.eval()
    with tg.no_grad():
        return model.decode(tg.tensor(np.asarray(z, dtype=np.float32))).sigmoid().numpy()


# -- runs: what tinygen.cli calls (see the contract in cli.py) ---------------------------------
TRAIN_KEYS = ("dataset", "model", "latent", "hidden", "epochs", "batch_size", "lr", "beta",
              "kl_warmup", "free_bits", "seed", "limit")


def _load_data(config: dict):
    """((x_train, y_train), (x_test, y_test)) of config["dataset"], the first config["limit"]
    of each. A user's file is a single split: it serves as train and test set."""
    from tinygen.data import load_dataset
    train = load_dataset(config["dataset"], "train")
    test = load_dataset(config["dataset"], "test") if config["dataset"] in ("mnist-5k", "mnist") \
        else train
    if train.kind != "images":
        raise ValueError(f"the VAE trains on images; dataset {config['dataset']!r} holds "
                         f"{train.kind}")
    n = config.get("limit")
    return (train.x[:n], train.y), (test.x[:n], None if test.y is None else test.y[:n])


def _restore(run_dir):
    """The model of a finished run directory, with its last checkpoint loaded."""
    from tinygen.checkpoint import load_checkpoint
    from tinygen.runs import CHECKPOINT, RunError, load_config
    config = load_config(run_dir)
    if config["kind"] != "vae":
        raise RunError(f"{run_dir!r} is a {config['kind']} run, not a vae run")
    path = Path(run_dir) / CHECKPOINT
    if not path.is_file():
        raise RunError(f"{os.fspath(run_dir)!r} has no checkpoint yet ({CHECKPOINT})")
    model = build_model(config["model"], config["image_shape"], config["latent"],
                        config["hidden"])
    load_checkpoint(path, {"model": model}, restore_rng=False)
    return model, config


def train_from_args(args) -> None:
    """`tinygen train vae ...`: train (or resume) the run in args.out, with figures."""
    from tinygen import optim, runs
    from tinygen.plots import save_vae_curves, vae_figures
    config = {"kind": "vae", **{k: getattr(args, k) for k in TRAIN_KEYS}}
    if args.resume:
        config = {**runs.load_config(args.out), "epochs": args.epochs}
    (x_train, _), (x_test, y_test) = _load_data(config)  # bad dataset: fail before writing
    config["image_shape"] = list(x_train.shape[1:])
    run = runs.open_run(args.out, config, resume=args.resume, force=args.force)
    cfg = run.config

    tg.random.manual_seed(cfg["seed"])
    model = build_model(cfg["model"], cfg["image_shape"], cfg["latent"], cfg["hidden"])
    optimizer = optim.Adam(model.parameters(), lr=cfg["lr"])
    start = run.resume_from({"model": model}, {"optimizer": optimizer})
    prior_z = np.random.default_rng(cfg["seed"]).standard_normal((64, cfg["latent"]))
    for epoch in range(start, cfg["epochs"]):
        t0 = time.perf_counter()
        record = train_epoch(model, optimizer, x_train, cfg["batch_size"],
                             np.random.default_rng([cfg["seed"], epoch]), epoch, cfg["beta"],
                             cfg["kl_warmup"], cfg["free_bits"], runs.progress)
        record.update(evaluate(model, x_test), seconds=time.perf_counter() - t0)
        run.end_epoch(epoch, record, {"model": model}, {"optimizer": optimizer})
        every = getattr(args, "figures_every", 1)
        if every > 0 and ((epoch + 1) % every == 0 or epoch + 1 == cfg["epochs"]):
            vae_figures(run.dir, model, x_test, y_test, prior_z,
                        lambda z: decode_images(model, z))
            save_vae_curves(runs.read_metrics(run.dir), run.dir / "loss.png")
        print(f"epoch {epoch + 1}/{cfg['epochs']}  train -ELBO {record['train_loss']:.2f}  "
              f"test -ELBO {record['test_loss']:.2f} (recon {record['test_recon']:.2f}, "
              f"KL {record['test_kl']:.2f})  {record['seconds']:.0f}s", flush=True)
    if start >= cfg["epochs"]:
        print(f"{run.dir} already has {start} epochs (asked for {cfg['epochs']}); nothing to do")


def evaluate_run(run_dir, args) -> dict:
    """`tinygen eval DIR`: test -ELBO, importance-weighted NLL (args.iw_samples), active units."""
    from tinygen.metrics import active_units, iw_nll, negative_elbo
    model, config = _restore(run_dir)
    _, (x_test, _) = _load_data({**config, "limit": getattr(args, "limit", None)
                                 or config.get("limit")})
    rng = np.random.default_rng(args.seed)
    tg.random.manual_seed(args.seed)
    return {"test_neg_elbo": negative_elbo(model, x_test),
            "test_nll_iw": iw_nll(model, x_test, k=args.iw_samples, rng=rng),
            "iw_samples": args.iw_samples,
            "active_units": active_units(model, x_test),
            "latent": config["latent"], "n_test": len(x_test)}


def sample_run(run_dir, n: int, seed: int = 0) -> np.ndarray:
    """`tinygen sample`: n images decoded from z ~ N(0, I), float32 (n, C, H, W) in [0, 1]."""
    model, config = _restore(run_dir)
    z = np.random.default_rng(seed).standard_normal((n, config["latent"]))
    return np.concatenate([decode_images(model, z[i:i + 1000]) for i in range(0, n, 1000)])
