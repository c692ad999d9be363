"""`tinygen train vae`, and `eval` / `sample` of a VAE run: what a VAE run adds to the one loop.

Place in the tower: runs/ (imports tinygen, optim, data, vae, metrics, runs.directory and
runs.loop; plots inside the figure function, see there). The loop itself is runs/loop.py; the
model and its step are tinygen/vae/. This file supplies the VAE's flags and defaults, its data
(images: a train split to learn from, a test split to report), one epoch of train_step over
shuffled batches followed by the test -ELBO, and the figures:

    samples.png          decoded from a fixed z ~ N(0, I), the same 64 codes every epoch
    reconstructions.png  test images over their reconstructions
    latent.png           test posterior means by label (PCA when the latent has > 2 units)
    manifold.png         a decoded grid over the latent plane (latent size 2 only)
    loss.png             -ELBO, reconstruction and KL, train and test, per epoch
"""
from __future__ import annotations

import numpy as np

import tinygen as tg
from tinygen import optim, vae
from tinygen.data import iterate_batches, load_dataset
from tinygen.io import progress
from tinygen.metrics import active_units, iw_nll, posterior_means
from tinygen.runs.directory import check_finite, read_metrics
from tinygen.runs.flags import nonnegative_float, positive_int
from tinygen.runs.loop import restore

KIND = "vae"
DATASET = "mnist-5k"
DEFAULTS = dict(dataset=DATASET, model="mlp", latent=20, hidden=None, epochs=50,
                batch_size=128, lr=1e-3, beta=1.0, kl_warmup=0.0, free_bits=0.0, seed=0,
                limit=None)
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


def load_data(dataset: str, limit: int | None):
    """((x_train, y_train), (x_test, y_test)) of the dataset, the first `limit` of each.
    A user's file is a single split: it serves as train and test set."""
    train = load_dataset(dataset, "train")
    test = load_dataset(dataset, "test") if dataset in ("mnist-5k", "mnist") else train
    if train.kind != "images":
        raise ValueError(f"the VAE trains on images; dataset {dataset!r} holds {train.kind}")
    return ((train.x[:limit], None if train.y is None else train.y[:limit]),
            (test.x[:limit], None if test.y is None else test.y[:limit]))


def make_config(flags: dict, data) -> dict:
    """config.json of a new run: the defaults, the given flags, and the images' shape."""
    (x_train, _), _ = data
    return {"kind": KIND, **DEFAULTS, **flags, "image_shape": list(x_train.shape[1:])}


def set_budget(config: dict, flags: dict) -> None:
    """--resume --epochs N trains on to N epochs."""
    config["epochs"] = flags.get("epochs", config["epochs"])


class Trainer:
    """A VAE run's model and optimizer, built from its config; one epoch, figures, logs."""

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.model = vae.build_model(cfg["model"], cfg["image_shape"], cfg["latent"],
                                     cfg["hidden"])
        self.optimizer = optim.Adam(self.model.parameters(), lr=cfg["lr"])
        self.models, self.optimizers = {"model": self.model}, {"optimizer": self.optimizer}
        self.prior_z = np.random.default_rng(cfg["seed"]).standard_normal((64, cfg["latent"]))

    def train_epoch(self, epoch: int, data, log=None) -> dict:
        """One shuffled pass of vae.train_step over the training images (KL weight warmed up
        per step), then the test -ELBO. Returns per-image means: train_loss (= -ELBO),
        train_recon, train_kl, beta (at the epoch's end), test_loss, test_recon, test_kl."""
        cfg, (x, _), (x_test, _) = self.cfg, *data
        self.model.train()
        steps = -(-len(x) // cfg["batch_size"])
        rng = np.random.default_rng([cfg["seed"], epoch])   # resumable: one stream per epoch
        batches = progress(iterate_batches(x, cfg["batch_size"], rng), total=steps,
                           desc=f"epoch {epoch + 1}")
        sums, weight = np.zeros(2), cfg["beta"]
        for i, xb in enumerate(batches):
            weight = vae.kl_weight(cfg["beta"], cfg["kl_warmup"], epoch + (i + 1) / steps)
            terms = vae.train_step(self.model, self.optimizer, xb, weight, cfg["free_bits"])
            check_finite(terms.loss.item(), f"epoch {epoch + 1}, step {i + 1}")
            sums += len(xb) * np.array([terms.recon, terms.kl])
            batches.set_postfix(loss=f"{terms.neg_elbo:.1f}", refresh=False)
        recon, kl = sums / len(x)
        test = vae.evaluate(self.model, x_test)
        return {"train_loss": float(recon + kl), "train_recon": float(recon),
                "train_kl": float(kl), "beta": float(weight), "test_loss": test["neg_elbo"],
                "test_recon": test["recon"], "test_kl": test["kl"]}

    def decode(self, z) -> np.ndarray:
        return vae.decode_images(self.model, z)

    def figures(self, epoch: int, data, run_dir) -> None:
        # plots imported here, not at the top: matplotlib adds ~0.2 s to every CLI start
        from tinygen import plots
        _, (x_test, y_test) = data
        plots.save_image_grid(self.decode(self.prior_z), run_dir / "samples.png",
                              "decoded from fixed z ~ N(0, I)")
        with tg.no_grad():
            mu, _ = self.model.encode(tg.tensor(x_test[:32]))
        plots.save_reconstructions(x_test[:32], self.decode(mu.numpy()),
                                   run_dir / "reconstructions.png")
        if y_test is not None:
            plots.save_latent_scatter(posterior_means(self.model, x_test), y_test,
                                      run_dir / "latent.png")
        if self.cfg["latent"] == 2:
            plots.save_manifold(self.decode(plots.manifold_grid(15)), 15,
                                run_dir / "manifold.png")
        plots.save_vae_curves(read_metrics(run_dir), run_dir / "loss.png")

    def epoch_line(self, epoch: int, r: dict) -> str:
        return (f"epoch {epoch + 1}/{self.cfg['epochs']}  train -ELBO {r['train_loss']:.2f}  "
                f"test -ELBO {r['test_loss']:.2f} (recon {r['test_recon']:.2f}, "
                f"KL {r['test_kl']:.2f})  {r['seconds']:.0f}s")

    def checkpoint_meta(self, epoch: int) -> dict:
        return {}


def evaluate(run_dir, args) -> dict:
    """`tinygen eval DIR`: test -ELBO, importance-weighted NLL (args.iw_samples), active units."""
    trainer = restore(run_dir, KIND, Trainer)
    cfg = trainer.cfg
    _, (x_test, _) = load_data(cfg["dataset"], args.limit or cfg["limit"])
    tg.random.manual_seed(args.seed)
    return {"test_neg_elbo": vae.evaluate(trainer.model, x_test)["neg_elbo"],
            "test_nll_iw": iw_nll(trainer.model, x_test, k=args.iw_samples,
                                  rng=np.random.default_rng(args.seed)),
            "iw_samples": args.iw_samples,
            "active_units": active_units(trainer.model, x_test),
            "latent": cfg["latent"], "n_test": len(x_test)}


def sample(run_dir, n: int, seed: int = 0) -> np.ndarray:
    """`tinygen sample`: n images decoded from z ~ N(0, I), float32 (n, C, H, W) in [0, 1]."""
    trainer = restore(run_dir, KIND, Trainer)
    z = np.random.default_rng(seed).standard_normal((n, trainer.cfg["latent"]))
    return np.concatenate([trainer.decode(z[i:i + 1000]) for i in range(0, n, 1000)])
