"""`tinygen train gan`, and `eval` / `sample` of a GAN run: what a GAN run adds to the one loop.

Place in the tower: runs/ (imports gan, metrics, nn.stages and runs/directory, flags,
gan_trainer, labels, loop, scores). The loop itself is runs/loop.py; the networks and the step
are tinygen/gan/; the Trainer that feeds gan.train_step batches and noise, schedules the
learning rate, keeps the EMA generator and logs every LOG_EVERY steps is runs/gan_trainer.py;
the figures (loss.png, samples.png, interpolations.png, codes.png, clusters.png, the 2D
densities) are runs/gan_figures.py. This file supplies the GAN's flags, its defaults and the
config.json they make, and the scores and samples of a trained run. With --conditional (labelled
images), G and D see class labels (gan/networks.py), the fake batch asks for uniformly drawn
classes, and samples.png shows one row per class. With --codes K (InfoGAN), G also takes one of
K categorical codes, drawn uniformly, that D's code head must recover; codes.png shows one row
per code, and `tinygen sample --code C` draws one. With --clusters K, G and D are conditioned as
in a conditional run, but on the k-means cluster of each training image's deskewed pixels,
smoothed over its nearest neighbours (data/clusters.py), instead of a label: no labels are used;
fakes ask for uniformly drawn clusters, samples draw them at their share of the training images,
and clusters.png shows one row per cluster (`--code C` draws cluster C).

Defaults per kind of data (DEFAULTS; chosen by measurement, see the README's GAN results): 2D
points train an MLP GAN on fresh samples of the mixture with R1, a linearly decaying learning
rate and an EMA generator, an "epoch" being `steps_per_epoch` steps; images train the DCGAN (G
at 3/4 of Radford et al.'s width with a 3x3 convolution at its last hidden stage, D at 1/2,
and on grey images D also seeing the ink footprint of its input (gan.networks.InkView) and
both conditioned on 100 k-means clusters of the deskewed, neighbour-smoothed images, fewer on
a small set) on the training split for 40 epochs with a lazy R1 penalty, a linearly
decaying learning rate, an EMA generator and DiffAugment's translation (conditional runs: the
same, labels in place of the clusters, 60 epochs; unconditional colour images: COLOUR's
overrides). 40 epochs: what keeps the grey default's scores within ten minutes here (README).
"""
from __future__ import annotations

import numpy as np

from tinygen.gan import AUGMENTS, LOSSES, truncated_noise
from tinygen.gan.networks import D_CONDITIONINGS, default_grid
from tinygen.metrics.classifier import classifier_metrics
from tinygen.metrics.modes import mode_metrics
from tinygen.nn.stages import conv_stages
from tinygen.runs.directory import load_config
from tinygen.runs.flags import positive_int
from tinygen.runs.gan_trainer import CLUSTERS_BEFORE, CODES_BEFORE, Trainer
from tinygen.runs.labels import cluster_config, label_config, resolve_label, sample_labels
from tinygen.runs.loop import load_split, restore
from tinygen.runs.scores import clean_scores, image_scores

KIND = "gan"
DATASET = "ring8"
DEFAULTS = {
    "points": dict(model="mlp", latent=2, hidden=128, batch_size=512, lr=2e-3, lr_final=0.01,
                   beta1=0.5, beta2=0.99, r1=1.0, ema=0.99, real_label=1.0, augment="none",
                   steps=4000, steps_per_epoch=500, lr_d_ratio=1.0, r1_every=1, lecam=0.0),
    "images": dict(model="dcgan", latent=100, hidden=0, batch_size=24, lr=6.9e-4, lr_final=0.25,
                   beta1=0.0, beta2=0.99, r1=0.01, ema=0.999, real_label=1.0,
                   augment="translation", epochs=40, lr_d_ratio=1.0, r1_every=4,
                   g_width=48, d_width=32, g_refine=1, d_ink=10.0, lecam=0.0, codes=0,
                   info=0.5, clusters=100),
}
IMAGES_PER_CLUSTER = 40   # the default's K shrinks to keep this many images a cluster (a rule:
                          # K = 100 was measured on mnist-5k's 4000, 40 a cluster)
# conditional image runs: the grey images' recipe, with the labels in place of the clusters;
# it beat the earlier conditional recipe (Radford et al.'s widths, no augmentation, batches of
# 32 at a constant 4e-4, EMA 0.995, 36 epochs) on every score in seeds 0-2, and on the padded
# 32x32 grid it draws digits as clean as real ones (README: conditional generation)
# D's ink view on conditional runs: cleaner strokes, agreement 0.5-0.9 points lower (a trade on
# two seeds, docs/gan-trials.md); 40 epochs not measured there.
CONDITIONAL = {"clusters": 0, "d_ink": 0.0, "epochs": 60}
# Unconditional colour images (README, the colour-digit folder): InfoGAN's codes took the easiest
# factor to read back, the colour, and cost shape (IS 7.13 with them, 7.63 without); k-means on
# colour pixels would group by colour too (not measured), so colour runs take no clusters
# (`--clusters K` asks for them on any images); batches of 24 were chosen on grey digits and
# scored 7.50 on the colour ones, so colour keeps 32 and lr 8e-4; and the 60 epochs it was
# measured with (the grey default's 40 were not measured on colour), no ink view (grey only).
COLOUR = {"clusters": 0, "batch_size": 32, "lr": 8e-4, "epochs": 60, "d_ink": 0.0}
# Every variant tried on the way to these defaults, with its number: docs/gan-trials.md.
STEPS = {"grid25": 8000}   # 2D budgets that differ from DEFAULTS["points"]["steps"] (measured)
CONFIG_FLAGS = ("dataset", "image_size", "channels", "skip_bad", "loss", "seed", "limit",
                "model", "batch_size", "lr", "latent", "hidden", "r1", "r1_every", "ema",
                "real_label", "beta1", "beta2", "lr_final", "lr_d_ratio", "augment",
                "steps_per_epoch", "steps", "epochs", "conditional", "d_conditioning",
                "g_width", "d_width", "g_refine", "d_ink", "lecam", "codes", "info", "clusters")
RESUMABLE = ("steps", "epochs")


def add_arguments(p) -> None:
    """The `tinygen train gan` flags beyond the shared ones (None: the data's default)."""
    p.add_argument("--model", choices=("mlp", "dcgan"), default=None)
    p.add_argument("--loss", choices=LOSSES, default=None,
                   help="non_saturating (default), minimax or wgan-gp")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=positive_int, default=None)
    budget.add_argument("--epochs", type=positive_int, default=None)
    p.add_argument("--latent", type=int, default=None, help="noise dimension")
    p.add_argument("--hidden", type=int, default=None, help="MLP width (2D)")
    p.add_argument("--g-width", type=positive_int, default=None,
                   help="DCGAN: channels of G's last stage (doubling per stage before it)")
    p.add_argument("--d-width", type=positive_int, default=None,
                   help="DCGAN: channels of D's first stage (doubling per stage after it)")
    p.add_argument("--g-refine", type=int, default=None,
                   help="DCGAN: 3x3 convolutions in G's last hidden stage (images' default 1)")
    p.add_argument("--d-ink", type=float, default=None,
                   help="DCGAN: D also sees the ink footprint 1 - 2 exp(-K u) of its input, "
                        "faint ink as loud as strokes (gan.networks.InkView; grey images' "
                        "default 10, colour and conditional runs 0: off)")
    p.add_argument("--r1", type=float, default=None, help="R1 penalty weight gamma")
    p.add_argument("--r1-every", type=int, default=None, help="apply R1 every k steps")
    p.add_argument("--lecam", type=float, default=None,
                   help="LeCam penalty weight on D (Tseng et al. 2021; default 0: off)")
    p.add_argument("--codes", type=int, default=None,
                   help="DCGAN: K categorical latent codes beside the noise (InfoGAN, Chen et "
                        "al. 2016; default 0, none; given, they replace the default clusters)")
    p.add_argument("--clusters", type=int, default=None,
                   help="DCGAN: condition G and D on K k-means clusters of the training "
                        "images' deskewed, neighbour-smoothed pixels, no labels needed (grey "
                        "images' default 100, at most one per 40 images; colour: 0, off)")
    p.add_argument("--info", type=float, default=None,
                   help="weight of InfoGAN's code loss (images' default 0.5)")
    p.add_argument("--ema", type=float, default=None, help="generator EMA decay (0 = off)")
    p.add_argument("--real-label", type=float, default=None, help="one-sided label smoothing")
    p.add_argument("--lr-final", type=float, default=None,
                   help="final learning rate as a fraction of --lr (linear decay)")
    p.add_argument("--lr-d-ratio", type=float, default=None, help="D's lr / G's lr (TTUR)")
    p.add_argument("--beta1", type=float, default=None, help="Adam beta1 (both networks)")
    p.add_argument("--beta2", type=float, default=None, help="Adam beta2 (both networks)")
    p.add_argument("--augment", choices=tuple(AUGMENTS), default=None,
                   help="DiffAugment of D's inputs: none (2D default), translation (images' "
                        "default) or translation-cutout")
    p.add_argument("--steps-per-epoch", type=int, default=None, help="2D: steps per epoch")
    p.add_argument("--conditional", action="store_const", const=True, default=None,
                   help="class-conditional G(z, y) and D(x, y) (labelled images)")
    p.add_argument("--d-conditioning", choices=D_CONDITIONINGS, default=None,
                   help="how a conditional D sees y: projection (default) or concat")


def load_data(source: dict):
    """The training split (2D points, or images kept uint8), the first `limit` examples."""
    return load_split(source, "train")


def make_config(flags: dict, data) -> dict:
    """config.json of a new run: the defaults for the kind of data, then the given flags."""
    dataset = flags.get("dataset", DATASET)
    config = {"kind": KIND, "dataset": dataset, "data_kind": data.kind,
              "shape": list(data.x.shape[1:]), "loss": "non_saturating", "seed": 0,
              "limit": None, "image_size": None, "skip_bad": False, **DEFAULTS[data.kind],
              "channels": int(data.x.shape[1]) if data.kind == "images" else None,
              "split_rule": data.split_rule}
    if data.kind == "points":
        config["steps"] = STEPS.get(dataset, config["steps"])
    config.update({k: v for k, v in flags.items() if k not in RESUMABLE})
    config.update(label_config(data.kind, data.y, data.classes,
                               flags.get("conditional", False), dataset))
    if config["conditional"]:
        config.setdefault("d_conditioning", "projection")
        config.update({k: v for k, v in CONDITIONAL.items() if k not in flags})
    elif "d_conditioning" in flags:
        raise ValueError("--d-conditioning is for a --conditional run")
    set_budget(config, flags)
    if data.kind == "images" and config["channels"] != 1 and not config["conditional"]:
        config.update({k: v for k, v in COLOUR.items() if k not in flags})
    if flags.get("codes") and config["conditional"]:
        raise ValueError("--codes is for an unconditional run (a conditional one has labels)")
    for key in ("g_width", "d_width", "g_refine", "d_ink", "codes"):
        if key in flags and data.kind != "images":
            raise ValueError(f"--{key.replace('_', '-')} is for the DCGAN (image data)")
    if config["model"] != DEFAULTS[data.kind]["model"]:
        raise ValueError(f"--model {config['model']} does not fit {dataset!r} "
                         f"({data.kind}); use --model {DEFAULTS[data.kind]['model']}")
    _check_ranges(config)
    if config.get("clusters"):   # after the cheap checks: k-means takes seconds
        config.update(cluster_config(config, flags, data, IMAGES_PER_CLUSTER))
    if config["model"] == "dcgan":
        conv_stages(config["shape"])   # a size it cannot build fails here, before writing
        config["grid"] = list(default_grid(config["shape"]))
    return config


def set_budget(config: dict, flags: dict) -> None:
    """The training budget from --steps or --epochs (a new run, or a --resume going on).
    2D runs count steps, an epoch being steps_per_epoch steps; image runs count epochs."""
    if config["data_kind"] == "points":
        if "epochs" in flags:
            config["steps"] = flags["epochs"] * config["steps_per_epoch"]
        config["steps"] = flags.get("steps", config["steps"])
        config["epochs"] = -(-config["steps"] // config["steps_per_epoch"])
    elif "steps" in flags:
        raise ValueError("--steps is for 2D data; image runs count --epochs")
    else:
        config["epochs"] = flags.get("epochs", config["epochs"])


def _check_ranges(config: dict) -> None:
    """Flags out of range -> ValueError naming the flag."""
    checks = {"r1": config["r1"] >= 0, "ema": 0 <= config["ema"] < 1,
              "lr-final": 0 < config["lr_final"] <= 1, "lr-d-ratio": config["lr_d_ratio"] > 0,
              "r1-every": config["r1_every"] >= 1, "latent": config["latent"] >= 1,
              "real-label": 0 < config["real_label"] <= 1,
              "beta1": 0 <= config["beta1"] < 1, "beta2": 0 <= config["beta2"] < 1,
              "steps-per-epoch": config.get("steps_per_epoch", 1) >= 1,
              "g-refine": config.get("g_refine", 0) >= 0, "d-ink": config.get("d_ink", 0) >= 0,
              "lecam": config.get("lecam", 0) >= 0,
              "codes": config.get("codes", 0) == 0 or config.get("codes", 0) >= 2,
              "info": config.get("info", 1.0) >= 0}
    for flag, ok in checks.items():
        if not ok:
            value = config[flag.replace("-", "_")]
            raise ValueError(f"--{flag} {value} is out of range")




def _samples(trainer, n: int, seed: int, y=None, truncation=None) -> np.ndarray:
    z = truncated_noise(np.random.default_rng(seed), n, trainer.cfg["latent"], truncation)
    x = trainer.generate(z, y).astype(np.float32)
    return x if trainer.cfg["data_kind"] == "points" else np.clip(x, 0, 1)


def sample(run_dir, n: int, seed: int = 0, label=None, code=None,
           truncation=None) -> np.ndarray:
    """`tinygen sample`: n samples float32, points (n, 2) or images (n, C, H, W) in [0, 1].
    A conditional run draws class `label` (an index or a class name), an InfoGAN run code
    `code` (0..K-1), a cluster run cluster `code`; each cycles through its classes or codes
    evenly when None (clusters: drawn at their share of the training images, by `seed` as
    the noise is, so another seed is another set of clusters). `label` on an
    unconditional run, or `code` on a run without codes or clusters, is a ValueError.
    truncation: see gan.truncated_noise."""
    cfg = load_config(run_dir)
    label = resolve_label(cfg, label)
    k = cfg.get("codes", CODES_BEFORE) or cfg.get("clusters", CLUSTERS_BEFORE)
    if code is not None and not k:
        raise ValueError(f"--code {code}: this run has no categorical codes or clusters "
                         f"(train it with --codes K or --clusters K to sample a chosen one)")
    if code is not None and not 0 <= code < k:
        raise ValueError(f"--code {code}: this run's codes are 0..{k - 1}")
    trainer = restore(run_dir, KIND, Trainer)
    y = trainer.generator_labels(n, label if k == 0 else code, seed)
    return _samples(trainer, n, seed, y, truncation)


def digit_view(x) -> np.ndarray:
    """Images (N, C, H, W) as the MNIST judge sees them: (N, 1, 28, 28), the per-pixel maximum
    over channels (a colour digit on black is its brightest channel), centre-cropped to 28x28."""
    n, c, h, w = x.shape
    if h < 28 or w < 28:
        raise ValueError(f"the MNIST judge needs images of at least 28x28, got {h}x{w}")
    top, left = (h - 28) // 2, (w - 28) // 2
    return x.max(axis=1, keepdims=True)[:, :, top:top + 28, left:left + 28]


def evaluate(run_dir, args) -> dict:
    """`tinygen eval DIR`: 2D -> modes, hq_pct, reverse_kl (tinygen.metrics.modes);
    MNIST-shaped images -> classifier_is, label_kl, classes, fid_classifier, kid_classifier,
    one_piece, crisp, clean, clean_crisp, and label_agreement (+ per class) for a conditional
    run (runs/scores.py); images of another shape: the judge's scores and one_piece, crisp,
    clean and clean_crisp of their digit_view. args.truncation (if given): the samples' noise
    is truncated (truncated_noise) and the result says so."""
    trainer = restore(run_dir, KIND, Trainer)
    cfg = trainer.cfg
    if cfg["data_kind"] == "points" and cfg["dataset"] not in ("ring8", "grid25"):
        raise ValueError(f"2D metrics need a known mixture (ring8, grid25), not "
                         f"{cfg['dataset']!r}")
    n = args.n_samples or (2500 if cfg["data_kind"] == "points" else 5000)
    y = sample_labels(cfg, n)                   # a conditional run's labels, else None
    truncation = getattr(args, "truncation", None)
    x = _samples(trainer, n, args.seed, trainer.generator_labels(n), truncation)
    if cfg["data_kind"] == "points":
        scores = mode_metrics(x, cfg["dataset"])
    elif x.shape[1:] == (1, 28, 28):
        scores = image_scores(cfg, x, y)
    else:
        digits = digit_view(x)
        scores = {**classifier_metrics(digits), **clean_scores(digits),
                  "judged_on": "channel maximum, centre 28x28"}
    if truncation is not None:
        scores["truncation"] = truncation
    return scores
