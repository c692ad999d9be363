"""Run directories: the bookkeeping shared by every model that `tinygen train` can train.

Place in the tower: runs/ (imports io, checkpoint and the standard library; never a model).
A run directory holds

    config.json     {"kind": "vae" | "gan", ...every flag of the run...}   (written once)
    metrics.jsonl   one JSON object per line, appended per epoch (or per logged step)
    last.npz        the checkpoint of the last finished epoch (tinygen.checkpoint, atomic)
    *.png           figures (written atomically, see tinygen.plots)

Life of a run (what runs/loop.py's `train` does with this file):

    run = open_run(args.out, config, resume=args.resume, force=args.force)
    start = run.resume_from(models, optimizers)        # 0 for a new run
    for epoch in range(start, epochs):
        record = trainer.train_epoch(...)              # calls check_finite(loss, ...) per step
        run.end_epoch(epoch, record, models, optimizers)   # metrics line + checkpoint

A non-finite loss raises NonFiniteLossError before the epoch is recorded, so `last.npz` still
holds the last good epoch. User mistakes (an existing run directory without --resume/--force, a
missing run, a different kind of run) raise RunError, a ValueError whose message is one line.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

from tinygen import io
from tinygen.checkpoint import load_checkpoint, save_checkpoint

CONFIG = "config.json"
METRICS = "metrics.jsonl"
CHECKPOINT = "last.npz"
RUN_FILES = (CONFIG, METRICS, CHECKPOINT, "snapshots.npz", "density.gif")  # --force removes


class RunError(ValueError):
    """A run directory that cannot be used as asked (the message says which and why)."""


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss; the last good checkpoint is kept."""


def check_finite(value: float, where: str) -> float:
    """Return value as a float, or raise NonFiniteLossError naming where it happened."""
    value = float(value)
    if not math.isfinite(value):
        raise NonFiniteLossError(f"non-finite loss ({value}) at {where}; stopping, the last "
                                 "good checkpoint is kept (try a smaller --lr)")
    return value


def write_json_atomic(path: str | os.PathLike, obj) -> None:
    with io.atomic_write(path) as f:
        f.write((json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def load_config(run_dir: str | os.PathLike) -> dict:
    """The run's config.json as a dict (with at least "kind"); RunError if it is not a run."""
    path = Path(run_dir) / CONFIG
    if not Path(run_dir).is_dir():
        raise RunError(f"run directory {os.fspath(run_dir)!r} does not exist")
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise RunError(f"{os.fspath(run_dir)!r} is not a tinygen run (no {CONFIG})") from None
    except (OSError, ValueError) as e:
        raise RunError(f"cannot read {path}: {e}") from None
    if not isinstance(config, dict) or "kind" not in config:
        raise RunError(f"{path} has no \"kind\" entry")
    return config


def read_metrics(run_dir: str | os.PathLike) -> list[dict]:
    """Every record of metrics.jsonl, in order ([] when there is none yet)."""
    path = Path(run_dir) / METRICS
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Run:
    """An open run directory: append metrics, save and restore the per-epoch checkpoint."""

    def __init__(self, directory: Path, config: dict):
        self.dir = directory
        self.config = config

    @property
    def checkpoint_path(self) -> Path:
        return self.dir / CHECKPOINT

    def log(self, record: dict) -> None:
        """Append one JSON line to metrics.jsonl."""
        with open(self.dir / METRICS, "a") as f:
            f.write(json.dumps(record) + "\n")

    def save(self, models: dict, optimizers: dict, meta: dict) -> None:
        save_checkpoint(self.checkpoint_path, models, optimizers, {**meta, "config": self.config})

    def resume_from(self, models: dict, optimizers: dict) -> int:
        """Load last.npz if there is one; return the number of finished epochs (0 if new).

        metrics.jsonl lines written after the checkpoint (an epoch that died) are dropped, so
        the file and the checkpoint agree.
        """
        if not self.checkpoint_path.exists():
            return 0
        meta = load_checkpoint(self.checkpoint_path, models, optimizers)
        done = int(meta["epoch"])
        kept = [r for r in read_metrics(self.dir) if r.get("epoch", 0) < done]
        with io.atomic_write(self.dir / METRICS) as f:
            f.write("".join(json.dumps(r) + "\n" for r in kept).encode())
        return done

    def end_epoch(self, epoch: int, record: dict, models: dict, optimizers: dict,
                  **meta) -> None:
        """Record a finished epoch (0-based): one metrics line, then last.npz (epoch + 1 done)."""
        for key, value in record.items():
            if isinstance(value, float):
                check_finite(value, f"epoch {epoch + 1} ({key})")
        self.log({"epoch": epoch, **record})
        self.save(models, optimizers, {"epoch": epoch + 1, **meta})


def open_run(out: str | os.PathLike, config: dict, resume: bool = False,
             force: bool = False) -> Run:
    """Create (or reopen with resume=True) the run directory `out` and write config.json.

    new run:  `out` must not hold a run yet (RunError), unless force=True, which deletes the
              old run's files (RUN_FILES and *.png) and nothing else.
    resume:   `out` must hold a run of the same kind; `config` is its saved config with the
              changes a resume may make (runs.loop.resumed_config checks those).
    """
    out = Path(out)
    if resume and force:
        raise RunError("--resume and --force contradict each other; pick one")
    if resume:
        saved = load_config(out)
        if saved["kind"] != config["kind"]:
            raise RunError(f"{os.fspath(out)!r} is a {saved['kind']} run, not {config['kind']}")
        write_json_atomic(out / CONFIG, config)
        return Run(out, config)
    if out.exists() and not out.is_dir():
        raise RunError(f"--out {os.fspath(out)!r} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise RunError(f"run directory {os.fspath(out)!r} already exists and is not empty; "
                           "use --resume to continue it or --force to overwrite it")
        for path in [*(out / name for name in RUN_FILES), *out.glob("*.png")]:
            path.unlink(missing_ok=True)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunError(f"cannot create run directory {os.fspath(out)!r}: {e.strerror}") from None
    write_json_atomic(out / CONFIG, config)
    return Run(out, config)
