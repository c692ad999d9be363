"""`tinygen train vae`, and `eval` / `sample` of a VAE run: what a VAE run adds to the one loop.

Place in the tower: runs/ (imports tinygen, optim, data, io, vae, metrics, nn.stages and
runs/directory, flags, labels, loop, scores; plots inside the figure functions, see there). The
loop itself is runs/loop.py; the model and its step are tinygen/vae/. This file supplies the
VAE's flags and defaults, its data (images: a train split to learn from, a test split to
report), one epoch of train_step over shuffled batches followed by the test -ELBO, and the
figures:

    samples.png          decoded from a fixed z ~ N(0, I), the same 64 codes every epoch
    reconstructions.png  test images over their reconstructions
    latent.png           test posterior means by label (PCA when the latent has > 2 units)
    manifold.png         a decoded grid over the latent plane (latent size 2 only)
    interpolations.png   decoded straight lines between the posterior means of test pairs
    traversals.png       one latent unit at a time from -3 to +3, the most active units first
    loss.png             -ELBO, reconstruction and KL, train and test, per epoch

--conditional (labelled images) trains the conditional VAE of Sohn et al. 2015 (vae/networks.py):
every batch comes with its labels, samples.png shows a row per class, and the figures decode
under the images' own labels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import tinygen as tg
from tinygen import optim, vae
from tinygen.data import as_float, iterate_batches
from tinygen.io import progress
from tinygen.metrics import active_units, iw_nll, posterior_means
from tinygen.metrics.latent import knn_accuracy, lerp, traversals
from tinygen.nn.stages import conv_stages
from tinygen.runs.directory import check_finite, load_config, read_metrics
from tinygen.runs.flags import nonnegative_float, positive_int
from tinygen.runs.labels import label_config, num_classes, resolve_label, sample_labels
from tinygen.runs.loop import load_split, restore
from tinygen.runs.scores import image_scores

KIND = "vae"
DATASET = "mnist-5k"
DEFAULTS = dict(dataset=DATASET, model="mlp", latent=20, hidden=None, epochs=50,
                batch_size=128, lr=1e-3, beta=1.0, kl_warmup=0.0, free_bits=0.0, seed=0,
                limit=None, image_size=None, channels=None, skip_bad=False, conditional=False)
CONFIG_FLAGS = tuple(DEFAULTS)
RESUMABLE = ("epochs",)


def add_arguments(p) -> None:
    """The `tinygen train vae` flags beyond the shared ones (runs/flags.py)."""
    p.add_argument("--model", choices=("mlp", "conv"), default=None,
                   help="mlp (default) or conv")
    p.add_argument("--latent", type=positive_int, default=None, help="latent size (20)")
    p.add_argument("--hidden", type=positive_int, default=None,
                   help="hidden width (default 400 for mlp, 256 for conv)")
    p.add_argument("--epochs", type=positive_int, default=None, help="epochs (50)")
    p.add_argument("--beta", type=nonnegative_float, default=None,
                   help="KL weight (beta-VAE; 1)")
    p.add_argument("--kl-warmup", type=nonnegative_float, default=None, metavar="EPOCHS",
                   help="raise the KL weight linearly from 0 to beta over this many epochs")
    p.add_argument("--free-bits", type=nonnegative_float, default=None, metavar="NATS",
                   help="KL floor per latent unit (batch average), Kingma et al. 2016")
    p.add_argument("--conditional", action="store_const", const=True, default=None,
                   help="conditional VAE q(z|x, y), p(x|z, y) (labelled images)")


@dataclass
class Splits:
    """A VAE run's data: training and test images (N, C, H, W), uint8 (scaled to [0, 1] a batch
    at a time), with labels (N,) or None; the class names; how the split was made."""
    x: np.ndarray
    y: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray | None
    classes: list | None = None
    split_rule: str = ""


def load_data(source: dict) -> Splits:
    """The train and test splits of the data a config (or a new run's flags) names, the first
    `limit` of each. A user's folder or file without its own test split: its held-out share
    (tinygen.data) is the test set, so no test number is computed on a training image."""
    train, test = load_split(source, "train"), load_split(source, "test")
    if train.kind != "images":
        raise ValueError(f"the VAE trains on images; dataset {source['dataset']!r} holds "
                         f"{train.kind}")
    return Splits(train.x, train.y, test.x, test.y, train.classes, train.split_rule)


def make_config(flags: dict, data: Splits) -> dict:
    """config.json of a new run: the defaults, the given flags, what the images are (shape,
    channels, split) and their labels."""
    labels = label_config("images", data.y, data.classes, flags.get("conditional", False),
                          flags.get("dataset", DATASET))
    config = {"kind": KIND, **DEFAULTS, **flags, "image_shape": list(data.x.shape[1:]),
              "channels": int(data.x.shape[1]), "split_rule": data.split_rule, **labels}
    if config["model"] == "conv":
        conv_stages(config["image_shape"])   # a size it cannot build fails here, before writing
    return config


def set_budget(config: dict, flags: dict) -> None:
    """--resume --epochs N trains on to N epochs."""
    config["epochs"] = flags.get("epochs", config["epochs"])


class Trainer:
    """A VAE run's model and optimizer, built from its config; one epoch, figures, logs."""

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.k = num_classes(cfg)                       # 0: unconditional
        self.model = vae.build_model(cfg["model"], cfg["image_shape"], cfg["latent"],
                                     cfg["hidden"], self.k)
        self.optimizer = optim.Adam(self.model.parameters(), lr=cfg["lr"])
        self.models, self.optimizers = {"model": self.model}, {"optimizer": self.optimizer}
        self.figures_every = 1
        self.prior_z = np.random.default_rng(cfg["seed"]).standard_normal((64, cfg["latent"]))
        self.prior_y = None
        if self.k:   # samples.png: a row per class, the same 10 codes in each row
            self.prior_z = np.tile(self.prior_z[:10], (self.k, 1))
            self.prior_y = np.repeat(np.arange(self.k), 10)

    def train_epoch(self, epoch: int, data, log=None) -> dict:
        """One shuffled pass of vae.train_step over the training images (KL weight warmed up
        per step), then the test -ELBO. Returns per-image means: train_loss (= -ELBO),
        train_recon, train_kl, beta (at the epoch's end), test_loss, test_recon, test_kl."""
        cfg, x = self.cfg, data.x
        self.model.train()
        steps = -(-len(x) // cfg["batch_size"])
        rng = np.random.default_rng([cfg["seed"], epoch])   # resumable: one stream per epoch
        batches = iterate_batches((x, data.y) if self.k else x, cfg["batch_size"], rng)
        batches = progress(batches, total=steps, desc=f"epoch {epoch + 1}")
        sums, weight = np.zeros(2), cfg["beta"]
        for i, batch in enumerate(batches):
            xb, yb = batch if self.k else (batch, None)
            weight = vae.kl_weight(cfg["beta"], cfg["kl_warmup"], epoch + (i + 1) / steps)
            terms = vae.train_step(self.model, self.optimizer, as_float(xb), weight,
                                   cfg["free_bits"], yb)
            check_finite(terms.loss.item(), f"epoch {epoch + 1}, step {i + 1}")
            sums += len(xb) * np.array([terms.recon, terms.kl])
            batches.set_postfix(loss=f"{terms.neg_elbo:.1f}", refresh=False)
        recon, kl = sums / len(x)
        test = vae.evaluate(self.model, data.x_test, y=self.labels(data.y_test))
        return {"train_loss": float(recon + kl), "train_recon": float(recon),
                "train_kl": float(kl), "beta": float(weight), "test_loss": test["neg_elbo"],
                "test_recon": test["recon"], "test_kl": test["kl"]}

    def labels(self, y):
        """y for the conditional model's calls, None for an unconditional one."""
        return y if self.k else None

    def decode(self, z, y=None) -> np.ndarray:
        return vae.decode_images(self.model, z, y)

    def figures(self, epoch: int, data, run_dir) -> None:
        # plots imported here, not at the top: matplotlib adds ~0.2 s to every CLI start
        from tinygen import plots
        x_test, y_test = as_float(data.x_test[:32]), data.y_test
        plots.save_image_grid(self.decode(self.prior_z, self.prior_y), run_dir / "samples.png",
                              "decoded from fixed z ~ N(0, I)"
                              + (", a row per class" if self.k else ""), ncol=10 if self.k else 8)
        y32 = self.labels(None if y_test is None else y_test[:32])
        with tg.no_grad():
            mu, _ = self.model.encode(tg.tensor(x_test), y32)
        plots.save_reconstructions(x_test, self.decode(mu.numpy(), y32),
                                   run_dir / "reconstructions.png")
        means = posterior_means(self.model, data.x_test, y=self.labels(y_test))
        if y_test is not None:
            plots.save_latent_scatter(means, y_test, run_dir / "latent.png", data.classes)
        if self.cfg["latent"] == 2:
            plots.save_manifold(self.decode(plots.manifold_grid(15)), 15,
                                run_dir / "manifold.png")
        self.latent_figures(means, y_test, run_dir)
        plots.save_vae_curves(read_metrics(run_dir), run_dir / "loss.png")

    def latent_figures(self, means, y_test, run_dir, rows: int = 8, steps: int = 10) -> None:
        """interpolations.png: straight lines between the posterior means of test pairs (a
        test image and the next one of another class); traversals.png: test image 0's mean
        with one unit at a time set to -3 .. +3 (prior standard deviations), units in order
        of activity (variance of the posterior means over the test set), most active first.
        A conditional model decodes each row under its first image's label."""
        from tinygen import plots
        starts, ends = [], []
        for i in range(len(means) - 1):
            j = i + 1
            if y_test is not None:
                others = np.flatnonzero(y_test[i + 1:] != y_test[i])
                j = i + 1 + others[0] if len(others) else i + 1
            if j not in ends and i not in ends:
                starts, ends = starts + [i], ends + [j]
            if len(starts) == rows:
                break
        t = np.linspace(0, 1, steps)
        z = np.concatenate([lerp(means[i], means[j], t) for i, j in zip(starts, ends)])
        y = self.labels(None if y_test is None else np.repeat(y_test[starts], steps))
        plots.save_image_grid(self.decode(z, y), run_dir / "interpolations.png",
                              "lines between the posterior means of two test images", ncol=steps)
        order = np.argsort(-means.astype(np.float64).var(axis=0))[:rows]
        values = np.linspace(-3, 3, 11)
        z = traversals(means[0], order, values)
        y = self.labels(None if y_test is None else np.full(len(z), y_test[0]))
        plots.save_image_grid(self.decode(z, y), run_dir / "traversals.png",
                              f"latent units {', '.join(map(str, order))} (rows) from -3 to +3",
                              ncol=len(values))

    def epoch_line(self, epoch: int, r: dict) -> str:
        return (f"epoch {epoch + 1}/{self.cfg['epochs']}  train -ELBO {r['train_loss']:.2f}  "
                f"test -ELBO {r['test_loss']:.2f} (recon {r['test_recon']:.2f}, "
                f"KL {r['test_kl']:.2f})  {r['seconds']:.0f}s")

    def checkpoint_meta(self, epoch: int) -> dict:
        return {}


def evaluate(run_dir, args) -> dict:
    """`tinygen eval DIR`: test -ELBO, importance-weighted NLL (args.iw_samples), active units;
    on labelled data knn_accuracy (5-NN of test posterior means among the training ones) and
    knn_accuracy_pixels (the same on raw pixels); on MNIST-shaped data the sample scores of
    runs/scores.py (fid_classifier, ...; label_agreement for a conditional run)."""
    trainer = restore(run_dir, KIND, Trainer)
    cfg, model = trainer.cfg, trainer.model
    data = load_data({**cfg, "limit": args.limit or cfg["limit"]})
    x_test, y_test = data.x_test, trainer.labels(data.y_test)
    tg.random.manual_seed(args.seed)
    results = {"test_neg_elbo": vae.evaluate(model, x_test, y=y_test)["neg_elbo"],
               "test_nll_iw": iw_nll(model, x_test, k=args.iw_samples,
                                     rng=np.random.default_rng(args.seed), y=y_test),
               "iw_samples": args.iw_samples,
               "active_units": active_units(model, x_test, y=y_test),
               "latent": cfg["latent"], "n_test": len(x_test)}
    if data.y is not None and data.y_test is not None:
        train_mu = posterior_means(model, data.x, y=trainer.labels(data.y))
        results["knn_accuracy"] = knn_accuracy(train_mu, data.y,
                                               posterior_means(model, x_test, y=y_test),
                                               data.y_test)
        results["knn_accuracy_pixels"] = knn_accuracy(
            as_float(data.x).reshape(len(data.x), -1), data.y,
            as_float(x_test).reshape(len(x_test), -1), data.y_test)
    if cfg["image_shape"] == [1, 28, 28]:
        n = args.n_samples or 5000
        z = np.random.default_rng(args.seed).standard_normal((n, cfg["latent"]))
        y = sample_labels(cfg, n)
        results.update(image_scores(cfg, _decode_all(trainer, z, y), y))
    return results


def _decode_all(trainer, z, y=None) -> np.ndarray:
    return np.concatenate([trainer.decode(z[i:i + 1000], None if y is None else y[i:i + 1000])
                           for i in range(0, len(z), 1000)])


def sample(run_dir, n: int, seed: int = 0, label=None) -> np.ndarray:
    """`tinygen sample`: n images decoded from z ~ N(0, I), float32 (n, C, H, W) in [0, 1];
    a conditional run decodes class `label` (index or name), or cycles through the classes."""
    cfg = load_config(run_dir)
    y = sample_labels(cfg, n, resolve_label(cfg, label))
    trainer = restore(run_dir, KIND, Trainer)
    z = np.random.default_rng(seed).standard_normal((n, trainer.cfg["latent"]))
    return _decode_all(trainer, z, y)


def encode(run_dir, dataset: str | None = None, split: str = "test") -> dict:
    """`tinygen encode`: the posterior means {"mu": (N, latent) float32} of a dataset's split
    (the run's dataset by default), and {"y": (N,) int64} when the data is labelled. A
    conditional model needs the labels: it encodes q(z | x, y)."""
    trainer = restore(run_dir, KIND, Trainer)
    cfg = trainer.cfg
    data = load_split({**cfg, "dataset": dataset or cfg["dataset"], "limit": None}, split)
    if data.kind != "images" or list(data.x.shape[1:]) != trainer.cfg["image_shape"]:
        raise ValueError(f"dataset {data.name!r} holds {data.kind} {list(data.x.shape[1:])}; "
                         f"this run encodes images {trainer.cfg['image_shape']}")
    if trainer.k and data.y is None:
        raise ValueError(f"this conditional VAE encodes (x, y): dataset {data.name!r} has "
                         f"no labels")
    out = {"mu": posterior_means(trainer.model, data.x, y=trainer.labels(data.y))}
    if data.y is not None:
        out["y"] = data.y.astype(np.int64)
    return out
