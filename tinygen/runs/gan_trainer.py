"""A GAN run's Trainer: its networks, optimizers and EMA generator, and an epoch of gan.train_step.

Place in the tower: runs/ (imports tinygen, io, optim, data, gan, runs/directory, gan_figures
and labels). runs/gan.py, the driver, builds a run's config.json and hands it to the Trainer
here; the one loop (runs/loop.py) calls its train_epoch, figures, epoch_line and
checkpoint_meta; `eval` and `sample` (runs/gan.py) restore it and call `generate`.

An epoch, a step at a time: the learning rate of the linear schedule (set_lr), noise z, a real
batch (and its labels or clusters when G and D are conditioned), labels or clusters or codes
drawn for the fakes, one gan.train_step (its nine steps: tinygen/gan/objective.py), a check
that both losses are finite, and the EMA generator's update (decay min(ema, (1 + step) /
(10 + step)): early on the average forgets the random start faster). Every LOG_EVERY steps
train_step also measures D's output on the fakes after G's step; that step's numbers become a
line of metrics.jsonl with "step".
"""
from __future__ import annotations

import numpy as np

import tinygen as tg
from tinygen import io, optim
from tinygen.data import as_float, iterate_batches
from tinygen.gan import (GANLoss, augmentation, build_models, recalibrate_batchnorm,
                         train_step, update_ema)
from tinygen.runs import gan_figures
from tinygen.runs.directory import check_finite
from tinygen.runs.labels import cluster_ids, num_classes, sample_clusters, sample_labels

LOG_EVERY = 25
# what a config.json written before a flag existed means (its key is absent)
WIDTH_BEFORE = 64   # G and D width of image runs made before the widths were flags
REFINE_BEFORE = 0   # G's 3x3 refining convolutions in image runs made before the flag
LECAM_BEFORE = 0.0  # the LeCam weight of runs made before the flag
INK_BEFORE = 0.0    # D's ink view (gan.networks.InkView) in runs made before the flag
CODES_BEFORE = 0    # InfoGAN's categorical codes in runs made before the flag
CLUSTERS_BEFORE = 0  # k-means clusters in runs made before the flag
CLUSTER_FEATURES_BEFORE = "pixels"   # cluster runs made before the deskewing: raw pixels (and
                                     # runs before the smoothing say "deskewed" in config.json)


def _real_batches(data, cfg, rng, labels=None):
    """An endless stream of real batches (x, y): fresh mixture samples (2D toys) or shuffled
    passes over the training set, images scaled from uint8 to [-1, 1] a batch at a time; y,
    the batch's `labels` (N,) -- a conditional run's classes, a cluster run's clusters --
    when given (else None)."""
    scale = (lambda xb: xb) if data.kind == "points" else (lambda xb: as_float(xb) * 2 - 1)
    while True:
        if data.mixture is not None:
            yield data.mixture.sample(cfg["batch_size"], rng), None
            continue
        drop_last = len(data.x) >= cfg["batch_size"]
        if labels is not None:
            for xb, yb in iterate_batches((data.x, labels), cfg["batch_size"], rng,
                                          drop_last=drop_last):
                yield scale(xb), yb
        else:
            for xb in iterate_batches(data.x, cfg["batch_size"], rng, drop_last=drop_last):
                yield scale(xb), None


class Trainer:
    """A GAN run's networks (G, D and the EMA copy of G) and optimizers, built from its config."""

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.k = num_classes(cfg)                       # 0: unconditional
        self.clusters = cfg.get("clusters", CLUSTERS_BEFORE)   # > 0: conditioned on clusters
        self.codes = cfg.get("codes", CODES_BEFORE)     # K > 0: InfoGAN's categorical codes
        # a run made before the networks had a grid (no "grid" in its config) works on its shape,
        # one made before the widths were flags has Radford et al.'s 64 and 64, one made before
        # g_refine has no refining convolution, and one made before d_ink no ink view
        self.groups = self.k or self.clusters           # what G and D are conditioned on
        arch = (cfg["model"], cfg["latent"], cfg["hidden"], cfg["shape"], self.groups,
                cfg.get("d_conditioning", "projection"), cfg.get("grid", cfg["shape"]),
                (cfg.get("g_width", WIDTH_BEFORE), cfg.get("d_width", WIDTH_BEFORE)),
                cfg.get("g_refine", REFINE_BEFORE), self.codes, cfg.get("d_ink", INK_BEFORE))
        # Step 1: randomly initialize the weights of the generator and the discriminator.
        self.G, self.D = build_models(*arch)
        self.G_ema = build_models(*arch)[0]
        self.G_ema.load_state_dict(self.G.state_dict())
        betas = (cfg["beta1"], cfg["beta2"])
        self.opt_G = optim.Adam(self.G.parameters(), lr=cfg["lr"], betas=betas)
        self.opt_D = optim.Adam(self.D.parameters(), lr=cfg["lr"] * cfg["lr_d_ratio"],
                                betas=betas)
        self.optimizers = {"G": self.opt_G, "D": self.opt_D}
        self.loss = GANLoss(cfg["loss"], cfg["real_label"], cfg["r1"],
                            r1_every=cfg.get("r1_every", 1), lecam=cfg.get("lecam", LECAM_BEFORE),
                            info=cfg.get("info", 1.0))
        self.models = {"G": self.G, "D": self.D, "G_ema": self.G_ema}
        if self.loss.anchors is not None:   # LeCam's running means: saved, so a resume goes on
            self.models["lecam"] = self.loss.anchors
        self.steps = cfg.get("steps_per_epoch", 1)   # images: set from the data by train_epoch
        # figures every 5th epoch of an image run: each costs ~1 s (the EMA generator's batch
        # norm recalibrated on 1000 noise vectors, the loss curves, clusters.png's 800 samples),
        # ~11 % of an MNIST epoch
        self.figures_every = 5 if cfg["data_kind"] == "images" else 1
        self.fixed_z = np.random.default_rng([cfg["seed"], 1]).standard_normal(
            (2000 if cfg["data_kind"] == "points" else 64, cfg["latent"]))
        self.fixed_y = None
        if self.k:   # samples.png: a row per class, the same 10 noise vectors in each row
            self.fixed_z = np.tile(self.fixed_z[:10], (self.k, 1))
            self.fixed_y = np.repeat(np.arange(self.k), 10)
        elif self.codes or self.clusters:   # the 64 samples' codes or clusters
            self.fixed_y = self.generator_labels(len(self.fixed_z))

    def generator_labels(self, n: int, label=None, seed=None):
        """What G takes beside the noise for n samples: a conditional run's labels (all `label`,
        or cycling through the classes), an InfoGAN's codes (all `label`, or cycling through
        them), a cluster run's clusters (all `label`, or drawn at their share of the training
        images by `seed`, default the run's), or None."""
        if self.clusters:
            return sample_clusters(self.cfg, n, label, seed)
        if self.codes:
            return np.full(n, label, np.int64) if label is not None else \
                np.arange(n, dtype=np.int64) % self.codes
        return sample_labels(self.cfg, n, label)

    @property
    def sampler(self):
        """The generator used for samples and evaluation: the EMA one when EMA is on."""
        return self.G_ema if self.cfg["ema"] > 0 else self.G

    def generate(self, z, y=None, fresh_stats: bool = True) -> np.ndarray:
        """Samples for noise z (N, latent) [and labels y (N,), conditional runs]: points (N, 2)
        or images (N, C, H, W) in [0, 1]. fresh_stats=False: the EMA generator keeps the
        batch-norm statistics of the previous call (its weights have not moved since)."""
        G = self.sampler.eval()
        if G is self.G_ema and fresh_stats:  # its own statistics, from 1000 fixed noise vectors
            z_bn = np.random.default_rng([self.cfg["seed"], 2]).standard_normal(
                (1000, self.cfg["latent"]))
            recalibrate_batchnorm(G, z_bn.astype(np.float32), self.generator_labels(1000))
        with tg.no_grad():
            x = np.concatenate([G(tg.tensor(z[i:i + 500].astype(np.float32)),
                                  None if y is None else y[i:i + 500]).data
                                for i in range(0, len(z), 500)])
        G.train()
        return x if self.cfg["data_kind"] == "points" else (x + 1) / 2

    def set_lr(self, progress: float) -> None:
        """Linear decay from lr to lr * lr_final over the run (progress in [0, 1])."""
        factor = 1 - (1 - self.cfg["lr_final"]) * progress
        self.opt_G.param_groups[0]["lr"] = self.cfg["lr"] * factor
        self.opt_D.param_groups[0]["lr"] = self.cfg["lr"] * self.cfg["lr_d_ratio"] * factor

    def train_epoch(self, epoch: int, data, log) -> dict:
        """`steps` calls of gan.train_step; logs every LOG_EVERY steps; returns the means."""
        cfg, sums = self.cfg, {}
        if data.kind == "images":
            self.steps = max(1, len(data.x) // cfg["batch_size"])
        steps, total = self.steps, cfg["epochs"] * self.steps
        rng = np.random.default_rng([cfg["seed"], epoch])  # resumable: one stream per epoch
        labels = data.y if self.k else self.cluster_labels(data)   # None: unconditional
        batches = _real_batches(data, cfg, rng, labels)
        augment = augmentation(cfg["augment"])
        for i in io.progress(range(steps), total=steps, desc=f"epoch {epoch + 1}"):
            step = epoch * steps + i
            self.set_lr(step / max(1, total - 1))
            z = rng.standard_normal((cfg["batch_size"], cfg["latent"])).astype(np.float32)
            x_real, y_real = next(batches)          # after z: the order of the draws from rng
            y_fake = rng.integers(0, self.groups, size=len(z)) if self.groups else None
            codes = rng.integers(0, self.codes, size=len(z)) if self.codes else None
            stats = train_step(self.G, self.D, self.opt_G, self.opt_D, x_real, z,
                               self.loss, augment, rng, track=(step % LOG_EVERY == 0),
                               step=step, y_real=y_real, y_fake=y_fake, codes=codes)
            check_finite(stats["loss_d"], f"step {step + 1} (discriminator loss)")
            check_finite(stats["loss_g"], f"step {step + 1} (generator loss)")
            if cfg["ema"] > 0:  # warm-up: early on the average forgets the random start faster
                update_ema(self.G_ema, self.G, min(cfg["ema"], (1 + step) / (10 + step)))
            if "d_fake_after" in stats:
                log({"epoch": epoch, "step": step, **stats})
            for key, value in stats.items():
                sums[key] = sums.get(key, 0.0) + value
        return {k: v / steps for k, v in sums.items() if k != "d_fake_after"}

    def cluster_labels(self, data):
        """A cluster run's cluster (N,) of each training image (None for other runs); a
        ValueError if they are not the clusters the run began with (the data changed)."""
        if not self.clusters:
            return None
        features = self.cfg.get("cluster_features", CLUSTER_FEATURES_BEFORE)
        ids = cluster_ids(data, self.clusters, self.cfg["seed"], features)
        sizes = np.bincount(ids, minlength=self.clusters).tolist()
        if sizes != self.cfg["cluster_sizes"]:
            raise ValueError(f"the training images' {self.clusters} k-means clusters are not "
                             f"the run's (sizes {sizes[:5]}... against "
                             f"{self.cfg['cluster_sizes'][:5]}...): the data changed")
        return ids

    def figures(self, epoch: int, data, run_dir) -> None:
        gan_figures.write(self, epoch, data, run_dir)   # runs/gan_figures.py: what each shows

    def epoch_line(self, epoch: int, r: dict) -> str:
        return (f"epoch {epoch + 1}/{self.cfg['epochs']}  loss_d {r['loss_d']:.3f}  "
                f"loss_g {r['loss_g']:.3f}  D(x) {r['d_real']:.2f}  "
                f"D(G(z)) {r['d_fake']:.2f}/{r['d_fake_g']:.2f}  {r['seconds']:.0f}s")

    def checkpoint_meta(self, epoch: int) -> dict:
        return {"step": (epoch + 1) * self.steps}
