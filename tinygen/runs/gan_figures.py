"""The figures of a GAN run, drawn by Trainer.figures (runs/gan_trainer.py) every
--figures-every epochs and at the end: what a reader looks at while a GAN trains.

Place in the tower: runs/ (imports tinygen.io, metrics.latent and runs/directory; plots inside
write(), see there). Every picture comes from the sampler (the EMA generator when EMA is on) and
fixed noise, so one epoch's figure compares with the next, and drawing them draws no random
numbers from training's streams (a run is the same with or without figures).

    loss.png            the logged steps' losses and D's outputs (d_fake_after: after G's step)
    images:
      samples.png         64 samples (a row per class when conditional), also kept per epoch as
                          samples_epochNNN.png
      interpolations.png  8 rows of 10: slerp between two fixed noise vectors (one class or code
                          per row)
      codes.png           InfoGAN (--codes K): a row per code, the same 8 noise vectors per column
      clusters.png        --clusters K: the same, a row per cluster
    2D points:
      snapshots.npz       the generated points of every epoch (the frames below)
      density.png / .gif  the points over the data's density, epoch by epoch
      samples.png         the latest points
"""
from __future__ import annotations

import numpy as np

from tinygen import io
from tinygen.metrics.latent import slerp
from tinygen.runs.directory import read_metrics


def write(trainer, epoch: int, data, run_dir) -> None:
    """Draw the figures above into run_dir for the end of `epoch` (0-based)."""
    # plots imported here, not at the top: matplotlib adds ~0.2 s to every CLI start
    from tinygen import plots
    x = trainer.generate(trainer.fixed_z, trainer.fixed_y)
    steps = [r for r in read_metrics(run_dir) if "step" in r]
    plots.save_curves(steps, run_dir / "loss.png", [
        ("losses", ["loss_d", "loss_g"]),
        ("D output (probability of real)", ["d_real", "d_fake", "d_fake_g", "d_fake_after"])],
        x_key="step", x_offset=0)
    if data.kind == "images":
        k, codes = trainer.k, trainer.codes
        title = f"epoch {epoch + 1}" + (", a row per class" if k else "")
        this_epoch = run_dir / f"samples_epoch{epoch + 1:03d}.png"
        plots.save_image_grid(x[:64] if not k else x, this_epoch, title=title,
                              ncol=8 if not k else 10)
        with io.atomic_write(run_dir / "samples.png") as f:   # the same picture, copied
            f.write(this_epoch.read_bytes())
        groups = codes or trainer.clusters
        z, y = interpolation_path(trainer.cfg, k or groups)
        plots.save_image_grid(trainer.generate(z, y, fresh_stats=False),
                              run_dir / "interpolations.png",
                              "spherical interpolation between noise vectors (rows)", ncol=10)
        if groups:   # what each code (cluster) draws: a row each, the same noise per column
            z = np.tile(trainer.fixed_z[:8], (groups, 1))
            y = np.repeat(np.arange(groups), 8)
            name, what = (("codes.png", "categorical code (InfoGAN)") if codes else
                          ("clusters.png", "k-means cluster of the training images"))
            plots.save_image_grid(trainer.generate(z, y, fresh_stats=False), run_dir / name,
                                  f"a row per {what}", ncol=8)
        return
    path = run_dir / "snapshots.npz"
    snaps = dict(io.load_npz(path)) if path.exists() else {}
    snaps[f"epoch{epoch + 1:03d}"] = x.astype(np.float32)
    io.save_npz_atomic(path, snaps)
    frames = [(f"step {int(k[5:]) * trainer.steps}", snaps[k]) for k in sorted(snaps)]
    plots.save_density(data.x[:2000], frames, run_dir / "density.png")
    plots.save_density(data.x[:2000], frames[-1:], run_dir / "samples.png")
    plots.save_density_gif(data.x[:2000], frames, run_dir / "density.gif")


def interpolation_path(cfg: dict, k: int = 0, rows: int = 8, steps: int = 10):
    """Noise (rows * steps, latent) along great circles between pairs of fixed noise vectors
    (slerp: Gaussian noise lives near a sphere, and a straight line between two such points
    would pass through unlikely, low-norm noise), and what G takes beside it: with k classes
    (conditional), k codes (InfoGAN) or k clusters, row r keeps class, code or cluster r mod k;
    else None."""
    ends = np.random.default_rng([cfg["seed"], 3]).standard_normal((2 * rows, cfg["latent"]))
    t = np.linspace(0, 1, steps)
    z = np.concatenate([slerp(ends[2 * r], ends[2 * r + 1], t) for r in range(rows)])
    return z, (np.repeat(np.arange(rows) % k, steps) if k else None)
