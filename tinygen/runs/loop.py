"""The one run loop behind `tinygen train`, and the restore behind `tinygen eval` and `sample`.

Place in the tower: runs/ (imports tinygen, checkpoint, data, runs/directory.py). Every model
trains through `train` below; a model's driver (runs/vae.py, runs/gan.py) supplies only what
differs. A driver is a module with

    KIND            "vae" or "gan": the "kind" of its run directories
    DATASET         the default --dataset
    CONFIG_FLAGS    the config.json keys that come from flags (flag --kl-warmup: key kl_warmup)
    RESUMABLE       those a --resume may change (the training budget)
    add_arguments(parser)              its own `tinygen train KIND` flags, all defaulting to None
    load_data(source) -> data          the data named by a config (or a new run's flags: dataset,
                                       image_size, channels, skip_bad, limit), or a one-line
                                       ValueError before anything is written
    make_config(flags, data) -> dict   a new run's config.json from the given flags and the data
    set_budget(config, flags)          the budget (--epochs, --steps) of a new or resumed run
    Trainer(config)   .models, .optimizers, .train_epoch(epoch, data, log) -> record,
                      .figures(epoch, data, run_dir), .figures_every (--figures-every's
                      default), .epoch_line(epoch, record) -> str, .checkpoint_meta(epoch) -> dict
    evaluate(run_dir, args) -> dict,  sample(run_dir, n, seed, label) -> np.ndarray
                      (the GAN's also takes code=C, an InfoGAN run's code)
    encode(run_dir, dataset, split) -> {"mu", ["y"]}    (VAE only: a GAN has no encoder)

The loop, in the order it happens (the order matters: it fixes which random numbers each part
of a run draws, so a run is reproducible and a resumed run continues the same stream):

    config, data   flags checked and the data loaded first: bad input fails before any write
    run            open_run: a new run directory, or the old one (--resume), or wiped (--force)
    seed           tg.random.manual_seed(seed): initial weights and every draw in training
    trainer        networks and optimizers; resume_from loads last.npz when there is one
    each epoch     train_epoch -> "seconds" -> end_epoch (metrics line + checkpoint)
                   -> figures (every --figures-every epochs and at the end) -> one printed line

Memory: a matplotlib figure is a web of reference cycles, freed only by Python's cyclic garbage
collector, whose full collections are rare; the figures of each epoch (~8,000 objects) would
pile up for several epochs (the peak RSS of `tinygen train vae` grew 12 MiB over its first five
epochs). A full gc.collect() frees them but costs 100-200 ms in a process that has loaded
numba (hundreds of thousands of tracked objects). So the loop draws each epoch's figures inside
`figure_garbage_collected()`: gc.freeze() first (every object that already exists leaves the
collector's generations), one gc.collect() after the figures (it walks only what they made:
5-10 ms), then gc.unfreeze() (everything goes back to the oldest generation, as before). This
touches the whole process's collector for the length of the figures; nothing stays changed
afterwards, and when the process already has frozen objects (someone called gc.freeze()) the
loop neither freezes nor unfreezes, it only collects. Opt-out: TINYGEN_NO_FIGURE_GC=1 draws the
figures without any of this (glibc and Python's defaults otherwise; see also kernels/memory.py
for TINYGEN_NO_MALLOPT).
"""
from __future__ import annotations

import contextlib
import gc
import os
import sys
import time
from pathlib import Path

import tinygen as tg
from tinygen.checkpoint import load_checkpoint
from tinygen.data import load_dataset
from tinygen.runs.directory import CHECKPOINT, RunError, load_config, open_run


def load_split(source: dict, split: str):
    """One split of the data named by a config (or the flags of a new run): its dataset and
    the data flags (image size, channels, skip-bad), the first `limit` examples. The data
    floor's one-line notes (files skipped, arrays transposed, cache used) go to stderr."""
    data = load_dataset(source["dataset"], split, image_size=source.get("image_size"),
                        channels=source.get("channels"), skip_bad=bool(source.get("skip_bad")))
    for note in data.notes:
        print(f"tinygen: {note}", file=sys.stderr)
    limit = source.get("limit")
    return data.subset(slice(0, limit)) if limit else data


def given_flags(driver, args) -> dict:
    """{config key: value} of the config flags given on the command line (not None)."""
    return {key: getattr(args, key) for key in driver.CONFIG_FLAGS
            if getattr(args, key, None) is not None}


def resumed_config(driver, run_dir, flags: dict) -> dict:
    """The saved config of run_dir with a --resume's changes: only driver.RESUMABLE keys may
    change; any other flag must repeat the saved value, or RunError names both values."""
    config = load_config(run_dir)
    if config["kind"] != driver.KIND:
        raise RunError(f"{os.fspath(run_dir)!r} is a {config['kind']} run, not {driver.KIND}")
    for key, value in flags.items():
        if key not in driver.RESUMABLE and config.get(key) != value:
            flag = "--" + key.replace("_", "-")
            raise RunError(f"{flag} {value} contradicts the run's {key} = {config.get(key)} "
                           f"(its config.json); --resume may change only "
                           f"{', '.join('--' + k for k in driver.RESUMABLE)}")
    driver.set_budget(config, flags)
    return config


def train(driver, args) -> None:
    """`tinygen train KIND ...`: train (or resume) the run in args.out, with figures."""
    flags = given_flags(driver, args)
    saved = resumed_config(driver, args.out, flags) if args.resume else None
    data = driver.load_data(saved or {"dataset": driver.DATASET, **flags})
    config = saved or driver.make_config(flags, data)
    run = open_run(args.out, config, resume=args.resume, force=args.force)
    cfg = run.config

    tg.random.manual_seed(cfg["seed"])
    trainer = driver.Trainer(cfg)
    start = run.resume_from(trainer.models, trainer.optimizers)
    every = trainer.figures_every if args.figures_every is None else args.figures_every
    for epoch in range(start, cfg["epochs"]):
        t0 = time.perf_counter()
        record = trainer.train_epoch(epoch, data, run.log)
        record["seconds"] = time.perf_counter() - t0
        run.end_epoch(epoch, record, trainer.models, trainer.optimizers,
                      **trainer.checkpoint_meta(epoch))
        if every > 0 and ((epoch + 1) % every == 0 or epoch + 1 == cfg["epochs"]):
            with figure_garbage_collected():
                trainer.figures(epoch, data, run.dir)
        print(trainer.epoch_line(epoch, record), flush=True)
    if start >= cfg["epochs"]:
        print(f"{run.dir} already has {start} epochs (asked for {cfg['epochs']}); nothing to do")


FIGURE_GC_OPT_OUT = "TINYGEN_NO_FIGURE_GC"


@contextlib.contextmanager
def figure_garbage_collected():
    """Free the garbage that the body makes (matplotlib's figure cycles) when it ends, with a
    gc.collect() that walks only the objects made inside (module docstring: freeze, collect,
    unfreeze). Does nothing when the environment sets TINYGEN_NO_FIGURE_GC=1."""
    if os.environ.get(FIGURE_GC_OPT_OUT, "0") not in ("", "0"):
        yield
        return
    freeze = gc.get_freeze_count() == 0     # someone else's frozen objects: leave them frozen
    if freeze:
        gc.freeze()
    try:
        yield
        gc.collect()
    finally:
        if freeze:
            gc.unfreeze()


def restore(run_dir, kind: str, trainer_class):
    """trainer_class(config) of a run directory of this kind, with its last checkpoint's
    weights loaded (optimizer and random states are not needed to evaluate or sample)."""
    config = load_config(run_dir)
    if config["kind"] != kind:
        raise RunError(f"{os.fspath(run_dir)!r} is a {config['kind']} run, not a {kind} run")
    path = Path(run_dir) / CHECKPOINT
    if not path.is_file():
        raise RunError(f"{os.fspath(run_dir)!r} has no checkpoint yet ({CHECKPOINT})")
    trainer = trainer_class(config)
    load_checkpoint(path, trainer.models, restore_rng=False)
    return trainer
