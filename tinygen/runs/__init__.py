"""tinygen.runs: the command line's drivers -- one run loop, and what each model adds to it.

Place in the tower: above plots, below cli (imports the models, data, metrics, plots, io and
checkpoint). Nothing below cli.py imports this package.
    directory.py  a run directory: config.json, metrics.jsonl, last.npz; resume and --force
    loop.py       the one training loop (config, data, seed, resume, epochs, checkpoint,
                  figures) and the restore behind `eval` and `sample`
    vae.py        the VAE's flags, data, epoch, figures, eval and sample
    gan.py        the GAN's flags, data, config, eval and sample
    gan_trainer.py  the GAN's Trainer: networks, optimizers, EMA generator, an epoch
    gan_figures.py  the GAN's figures (samples, interpolations, codes, 2D densities)
    labels.py     class labels: --conditional's config keys, --label, labels for sampling
    scores.py     the classifier scores of generated digits (IS, fid_classifier, agreement)
"""
from . import gan, vae
from .directory import (CHECKPOINT, CONFIG, METRICS, NonFiniteLossError, Run, RunError,
                        check_finite, load_config, open_run, read_metrics)
from .loop import restore, train

DRIVERS = {vae.KIND: vae, gan.KIND: gan}

__all__ = ["CHECKPOINT", "CONFIG", "DRIVERS", "METRICS", "NonFiniteLossError", "Run",
           "RunError", "check_finite", "gan", "load_config", "open_run", "read_metrics",
           "restore", "train", "vae"]
