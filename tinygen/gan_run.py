"""A whole GAN run for `tinygen train|eval|sample`: data, schedule, logs, checkpoints, figures.

Place in the tower: vae/gan floor, driver side (imports gan, gan_models, optim, data, runs, and
-- lazily -- metrics and plots). The step itself is tinygen.gan.train_step; this file only feeds
it batches and noise, schedules the learning rate, keeps the EMA generator, and writes the run
directory (see tinygen.runs): config.json, metrics.jsonl (one line per LOG_EVERY steps with
"step", one per epoch), last.npz, loss.png, samples.png (images: also samples_epochNNN.png;
2D: the latest generated points) and, for 2D data, density.png / density.gif and
snapshots.npz (the generated points behind them, one set per epoch).

Defaults per kind of data (DEFAULTS; chosen by measurement, see the GAN notes): 2D points
train an MLP GAN on fresh samples of the mixture with R1, a linearly decaying learning rate
and an EMA generator, an "epoch" being `steps_per_epoch` steps; images train the DCGAN on the
training split with a lazy R1 penalty and an EMA generator (DiffAugment is a flag).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import tinygen as tg
from tinygen import io, optim, runs
from tinygen.gan import (GANLoss, diff_augment, recalibrate_batchnorm, train_step,
                         update_ema)
from tinygen.gan_models import build_models

DEFAULTS = {
    "points": dict(model="mlp", latent=2, hidden=128, batch_size=512, lr=1e-3, lr_final=0.01,
                   beta1=0.5, beta2=0.99, r1=1.0, ema=0.99, real_label=1.0, augment=False,
                   steps=4000, steps_per_epoch=500, lr_d_ratio=1.0, r1_every=1),
    "images": dict(model="dcgan", latent=100, hidden=0, batch_size=32, lr=4e-4, lr_final=1.0,
                   beta1=0.0, beta2=0.99, r1=0.01, ema=0.995, real_label=1.0, augment=False,
                   epochs=36, lr_d_ratio=1.0, r1_every=4),
}
# images, seed 0, conv judge (97.7%), classifier IS of 5000 EMA samples (CPU s: 1 thread):
# Adam(0.5, 0.999): batch 64 lr 2e-4 20 ep 5.44; batch 32: 6.11; lr 4e-4: 6.11; both: 6.55;
# + D lr x2 (TTUR), 28 ep: 6.78 (40 ep: 6.86); lr decay to 0.1x: worse; EMA 0.999, real label
# 0.9, R1 0.1, Adam beta2 0.99 alone, DiffAugment (40 ep: 6.72), batch 16: no better.
# Adam(0, 0.99) (StyleGAN2's betas, Karras et al. 2020), D lr x2: 28 ep 6.92, 40 ep 6.96;
# D lr x1: 20 ep 6.84, 28 ep 6.99, 32 ep 7.09, 36 ep 7.13 (520 CPU s) -- the default.
LOG_EVERY = 25
STEPS = {"grid25": 8000}   # 2D budgets that differ from DEFAULTS["points"]["steps"] (measured)


def add_train_arguments(p) -> None:
    """Extra `tinygen train gan` flags (None = the default for the kind of data)."""
    p.add_argument("--latent", type=int, default=None, help="noise dimension")
    p.add_argument("--hidden", type=int, default=None, help="MLP width (2D)")
    p.add_argument("--r1", type=float, default=None, help="R1 penalty weight gamma")
    p.add_argument("--r1-every", type=int, default=None, help="apply R1 every k steps")
    p.add_argument("--ema", type=float, default=None, help="generator EMA decay (0 = off)")
    p.add_argument("--real-label", type=float, default=None, help="one-sided label smoothing")
    p.add_argument("--lr-final", type=float, default=None,
                   help="final learning rate as a fraction of --lr (linear decay)")
    p.add_argument("--lr-d-ratio", type=float, default=None, help="D's lr / G's lr (TTUR)")
    p.add_argument("--beta1", type=float, default=None, help="Adam beta1 (both networks)")
    p.add_argument("--beta2", type=float, default=None, help="Adam beta2 (both networks)")
    p.add_argument("--augment", type=int, choices=(0, 1), default=None, help="DiffAugment")
    p.add_argument("--steps-per-epoch", type=int, default=None, help="2D: steps per epoch")
    p.add_argument("--figures-every", type=int, default=1, help="epochs between figures")


def _load(dataset: str, limit=None):
    from tinygen.data import load_dataset
    data = load_dataset(dataset, "train")
    if limit:
        data.x, data.y = data.x[:limit], None if data.y is None else data.y[:limit]
    return data


def make_config(args) -> dict:
    """config.json of a new run: the flags, with None replaced by the defaults of the data."""
    data = _load(args.dataset, args.limit)  # a bad --dataset fails before anything is written
    config = {"kind": "gan", "dataset": args.dataset, "data_kind": data.kind,
              "shape": list(data.x.shape[1:]), "loss": args.loss, "seed": args.seed,
              "limit": args.limit, **DEFAULTS[data.kind]}
    if data.kind == "points":
        config["steps"] = STEPS.get(args.dataset, config["steps"])
    for key in ("model", "batch_size", "lr", "latent", "hidden", "r1", "r1_every", "ema",
                "real_label", "beta1", "beta2", "lr_final", "lr_d_ratio", "augment",
                "steps_per_epoch", "steps", "epochs"):
        value = getattr(args, key, None)
        if value is not None:
            config[key] = value
    if data.kind == "points":  # 2D budgets are in steps; an epoch is steps_per_epoch steps
        if getattr(args, "epochs", None):
            config["steps"] = args.epochs * config["steps_per_epoch"]
        config["epochs"] = -(-config["steps"] // config["steps_per_epoch"])
    elif getattr(args, "steps", None):
        raise ValueError("--steps is for 2D data; image runs count --epochs")
    if config["model"] != DEFAULTS[data.kind]["model"]:
        raise ValueError(f"--model {config['model']} does not fit {args.dataset!r} "
                         f"({data.kind}); use --model {DEFAULTS[data.kind]['model']}")
    _check_ranges(config)
    return config


def _check_ranges(config: dict) -> None:
    """Flags out of range -> ValueError naming the flag."""
    checks = {"r1": config["r1"] >= 0, "ema": 0 <= config["ema"] < 1,
              "lr-final": 0 < config["lr_final"] <= 1, "lr-d-ratio": config["lr_d_ratio"] > 0,
              "r1-every": config["r1_every"] >= 1, "latent": config["latent"] >= 1,
              "real-label": 0 < config["real_label"] <= 1,
              "beta1": 0 <= config["beta1"] < 1, "beta2": 0 <= config["beta2"] < 1,
              "steps-per-epoch": config.get("steps_per_epoch", 1) >= 1}
    for flag, ok in checks.items():
        if not ok:
            value = config[flag.replace("-", "_")]
            raise ValueError(f"--{flag} {value} is out of range")


class GANRun:
    """The models, optimizers and data of one run, built from its config."""

    def __init__(self, cfg: dict):
        self.cfg = cfg
        channels = cfg["shape"][0] if cfg["data_kind"] == "images" else 1
        # Step 1: randomly initialize the weights of the generator and the discriminator.
        self.G, self.D = build_models(cfg["model"], cfg["latent"], cfg["hidden"], channels)
        self.G_ema = build_models(cfg["model"], cfg["latent"], cfg["hidden"], channels)[0]
        self.G_ema.load_state_dict(self.G.state_dict())
        betas = (cfg["beta1"], cfg["beta2"])
        self.opt_G = optim.Adam(self.G.parameters(), lr=cfg["lr"], betas=betas)
        self.opt_D = optim.Adam(self.D.parameters(), lr=cfg["lr"] * cfg["lr_d_ratio"],
                                betas=betas)
        self.models = {"G": self.G, "D": self.D, "G_ema": self.G_ema}
        self.optimizers = {"G": self.opt_G, "D": self.opt_D}
        self.loss = GANLoss(cfg["loss"], cfg["real_label"], cfg["r1"],
                            r1_every=cfg.get("r1_every", 1))

    @property
    def sampler(self):
        """The generator used for samples and evaluation: the EMA one when EMA is on."""
        return self.G_ema if self.cfg["ema"] > 0 else self.G

    def generate(self, z) -> np.ndarray:
        """Samples for noise z (N, latent): points (N, 2) or images (N, C, H, W) in [0, 1]."""
        G = self.sampler.eval()
        if G is self.G_ema:  # its own batch-norm statistics, from 1000 fixed noise vectors
            z_bn = np.random.default_rng([self.cfg["seed"], 2]).standard_normal(
                (1000, self.cfg["latent"]))
            recalibrate_batchnorm(G, z_bn.astype(np.float32))
        with tg.no_grad():
            x = np.concatenate([G(tg.tensor(z[i:i + 500].astype(np.float32))).data
                                for i in range(0, len(z), 500)])
        G.train()
        return x if self.cfg["data_kind"] == "points" else (x + 1) / 2

    def set_lr(self, progress: float) -> None:
        """Linear decay from lr to lr * lr_final over the run (progress in [0, 1])."""
        factor = 1 - (1 - self.cfg["lr_final"]) * progress
        self.opt_G.param_groups[0]["lr"] = self.cfg["lr"] * factor
        self.opt_D.param_groups[0]["lr"] = self.cfg["lr"] * self.cfg["lr_d_ratio"] * factor


def _real_batches(data, cfg, rng):
    """An endless stream of real batches: fresh mixture samples (2D toys) or shuffled passes
    over the training set, rescaled to [-1, 1] for images."""
    from tinygen.data import iterate_batches
    while True:
        if data.mixture is not None:
            yield data.mixture.sample(cfg["batch_size"], rng)
            continue
        x = data.x if data.kind == "points" else data.x * 2 - 1
        yield from iterate_batches(x, cfg["batch_size"], rng, drop_last=len(x) >= cfg["batch_size"])


def _steps_per_epoch(data, cfg) -> int:
    if data.kind == "points":
        return cfg["steps_per_epoch"]
    return max(1, len(data.x) // cfg["batch_size"])


def train_epoch(gr: GANRun, batches, rng, epoch: int, steps: int, total: int, log) -> dict:
    """`steps` calls of train_step; logs every LOG_EVERY steps; returns the epoch's means."""
    cfg, sums = gr.cfg, {}
    augment = diff_augment if cfg["augment"] else None
    for i in runs.progress(range(steps), total=steps, desc=f"epoch {epoch + 1}"):
        step = epoch * steps + i
        gr.set_lr(step / max(1, total - 1))
        z = rng.standard_normal((cfg["batch_size"], cfg["latent"])).astype(np.float32)
        stats = train_step(gr.G, gr.D, gr.opt_G, gr.opt_D, next(batches), z, gr.loss, augment,
                           rng, track=(step % LOG_EVERY == 0), step=step)
        runs.check_finite(stats["loss_d"], f"step {step + 1} (discriminator loss)")
        runs.check_finite(stats["loss_g"], f"step {step + 1} (generator loss)")
        if cfg["ema"] > 0:  # warm-up: early on the average forgets the random start faster
            update_ema(gr.G_ema, gr.G, min(cfg["ema"], (1 + step) / (10 + step)))
        if "d_fake_after" in stats:
            log({"epoch": epoch, "step": step, **stats})
        for key, value in stats.items():
            sums[key] = sums.get(key, 0.0) + value
    return {k: v / steps for k, v in sums.items() if k != "d_fake_after"}


def _figures(gr: GANRun, run_dir: Path, data, fixed_z, epoch: int) -> None:
    from tinygen.plots import save_curves
    x = gr.generate(fixed_z)
    steps = [r for r in runs.read_metrics(run_dir) if "step" in r]
    save_curves(steps, run_dir / "loss.png", [
        ("losses", ["loss_d", "loss_g"]),
        ("D output (probability of real)", ["d_real", "d_fake", "d_fake_g", "d_fake_after"])],
        x_key="step", x_offset=0)
    if data.kind == "images":
        from tinygen.plots import save_image_grid
        for name in ("samples.png", f"samples_epoch{epoch + 1:03d}.png"):
            save_image_grid(x[:64], run_dir / name, title=f"epoch {epoch + 1}")
        return
    from tinygen.plots.points import save_density, save_density_gif
    path = run_dir / "snapshots.npz"
    snaps = dict(io.load_npz(path)) if path.exists() else {}
    snaps[f"epoch{epoch + 1:03d}"] = x.astype(np.float32)
    io.save_npz_atomic(path, snaps)
    step_of = lambda name: f"step {int(name[5:]) * gr.cfg['steps_per_epoch']}"  # noqa: E731
    frames = [(step_of(k), snaps[k]) for k in sorted(snaps)]
    save_density(data.x[:2000], frames, run_dir / "density.png")
    save_density(data.x[:2000], frames[-1:], run_dir / "samples.png")
    save_density_gif(data.x[:2000], frames, run_dir / "density.gif")


def train_from_args(args) -> None:
    """`tinygen train gan ...`: train (or resume) the run in args.out, with figures."""
    config = runs.load_config(args.out) if args.resume else make_config(args)
    if args.resume:
        for key in ("steps", "epochs"):
            if getattr(args, key, None):
                config[key] = getattr(args, key)
        if config["data_kind"] == "points":
            config["epochs"] = -(-config["steps"] // config["steps_per_epoch"])
    run = runs.open_run(args.out, config, resume=args.resume, force=args.force)
    cfg = run.config
    if not args.resume:  # --force: the 2D figures' history of an old run must not leak in
        for name in ("snapshots.npz", "density.gif"):
            (run.dir / name).unlink(missing_ok=True)
    data = _load(cfg["dataset"], cfg["limit"])
    tg.random.manual_seed(cfg["seed"])
    gr = GANRun(cfg)
    start = run.resume_from(gr.models, gr.optimizers)
    fixed_z = np.random.default_rng([cfg["seed"], 1]).standard_normal(
        (2000 if data.kind == "points" else 64, cfg["latent"]))
    steps = _steps_per_epoch(data, cfg)
    total = cfg["epochs"] * steps
    every = getattr(args, "figures_every", 1)
    for epoch in range(start, cfg["epochs"]):
        t0 = time.perf_counter()
        rng = np.random.default_rng([cfg["seed"], epoch])  # resumable: one stream per epoch
        record = train_epoch(gr, _real_batches(data, cfg, rng), rng, epoch, steps, total,
                             run.log)
        record["seconds"] = time.perf_counter() - t0
        run.end_epoch(epoch, record, gr.models, gr.optimizers, step=(epoch + 1) * steps)
        if every > 0 and ((epoch + 1) % every == 0 or epoch + 1 == cfg["epochs"]):
            _figures(gr, run.dir, data, fixed_z, epoch)
        print(f"epoch {epoch + 1}/{cfg['epochs']}  loss_d {record['loss_d']:.3f}  "
              f"loss_g {record['loss_g']:.3f}  D(x) {record['d_real']:.2f}  "
              f"D(G(z)) {record['d_fake']:.2f}/{record['d_fake_g']:.2f}  "
              f"{record['seconds']:.0f}s", flush=True)
    if start >= cfg["epochs"]:
        print(f"{run.dir} already has {start} epochs (asked for {cfg['epochs']}); nothing to do")


def restore(run_dir) -> GANRun:
    """The GANRun of a run directory with its last checkpoint loaded (models only)."""
    from tinygen.checkpoint import load_checkpoint
    cfg = runs.load_config(run_dir)
    if cfg["kind"] != "gan":
        raise runs.RunError(f"{run_dir!r} is a {cfg['kind']} run, not a gan run")
    path = Path(run_dir) / runs.CHECKPOINT
    if not path.is_file():
        raise runs.RunError(f"{run_dir!r} has no checkpoint yet ({runs.CHECKPOINT})")
    gr = GANRun(cfg)
    load_checkpoint(path, gr.models, restore_rng=False)
    return gr


def sample_run(run_dir, n: int, seed: int = 0) -> np.ndarray:
    """`tinygen sample`: n samples float32, points (n, 2) or images (n, C, H, W) in [0, 1]."""
    gr = restore(run_dir)
    z = np.random.default_rng(seed).standard_normal((n, gr.cfg["latent"]))
    x = gr.generate(z).astype(np.float32)
    return x if gr.cfg["data_kind"] == "points" else np.clip(x, 0, 1)


def evaluate_run(run_dir, args) -> dict:
    """`tinygen eval DIR`: 2D -> modes, hq_pct, reverse_kl (tinygen.metrics.modes);
    images -> classifier_is, label_kl, classes (tinygen.metrics.classifier)."""
    cfg = runs.load_config(run_dir)
    n = getattr(args, "n_samples", None) or (2500 if cfg["data_kind"] == "points" else 5000)
    x = sample_run(run_dir, n, getattr(args, "seed", 0))
    if cfg["data_kind"] == "points":
        from tinygen.metrics.modes import mode_metrics
        if cfg["dataset"] not in ("ring8", "grid25"):
            raise ValueError(f"2D metrics need a known mixture (ring8, grid25), not "
                             f"{cfg['dataset']!r}")
        return mode_metrics(x, cfg["dataset"])
    from tinygen.metrics.classifier import classifier_metrics
    return classifier_metrics(x)
