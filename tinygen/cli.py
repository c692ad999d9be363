"""`tinygen train|eval|sample|encode`: the command line, a thin layer over tinygen.runs.

Top floor of the tower (imports tinygen.io and tinygen.runs): parses flags and calls the run
drivers; computes nothing itself.

    tinygen train vae [--dataset mnist-5k] [--model mlp|conv] [--latent 20] [--epochs 50] ...
    tinygen train gan [--dataset ring8] [--model mlp|dcgan] [--loss non_saturating] ...
    tinygen eval DIR [--iw-samples K] [--truncation T] [--json]
    tinygen sample DIR -n N --out FILE.npy|FILE.png [--seed S] [--label L | --code C]
                   [--truncation T]
    tinygen encode DIR [--dataset D] [--split train|test] --out FILE.npz      (VAE runs)

`train KIND` runs runs.train(runs.DRIVERS[KIND], args); `eval` and `sample` find the driver
from the "kind" in the run's config.json. Each driver (runs/vae.py, runs/gan.py) adds its own
`train` flags, evaluates and samples; `encode` (posterior means) is the VAE driver's.

Errors: every user mistake (a bad flag value, a missing directory or file, an unknown dataset,
an existing run directory, a --resume flag that contradicts the run) ends with one line on
stderr and exit status 1 (argparse's own errors exit 2); a non-finite loss exits 3, keeping the
last good checkpoint. TINYGEN_DEBUG=1 re-raises instead, with the traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from tinygen import io, runs
from tinygen.runs.flags import add_run_flags, positive_float, positive_int

TRUNCATION_HELP = ("GAN runs: draw every noise entry beyond +-T again (the truncation trick): "
                   "surer, less varied samples (default: no truncation)")


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit status 2), not the usage text."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="tinygen", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model into a run directory")
    kinds = train.add_subparsers(dest="kind", required=True)
    for kind, driver in runs.DRIVERS.items():
        p = kinds.add_parser(kind, help=f"train a {kind.upper()}")
        add_run_flags(p, driver.DATASET, default_out=f"runs/{kind}")
        driver.add_arguments(p)

    ev = commands.add_parser("eval", help="evaluate a run; --json makes the last line JSON")
    ev.add_argument("run_dir")
    ev.add_argument("--iw-samples", type=positive_int, default=5000,
                    help="VAE: importance samples per test image (Burda et al. 2016)")
    ev.add_argument("--n-samples", type=positive_int, default=None,
                    help="number of generated samples to score (default 5000; 2D: 2500)")
    ev.add_argument("--limit", type=positive_int, default=None,
                    help="evaluate on the first N test examples only")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--truncation", type=positive_float, default=None, metavar="T",
                    help=TRUNCATION_HELP + "; scores those samples")
    ev.add_argument("--json", action="store_true")

    sa = commands.add_parser("sample", help="write N generated samples to .npy (or a .png grid)")
    sa.add_argument("run_dir")
    sa.add_argument("-n", type=positive_int, required=True, help="number of samples")
    sa.add_argument("--out", required=True,
                    help="output .npy file: float32 (N, C, H, W) in [0, 1] or points (N, 2); "
                         "or .png: an image grid")
    sa.add_argument("--seed", type=int, default=0)
    sa.add_argument("--label", default=None,
                    help="conditional runs: the class to draw (index or class name); "
                         "default: cycle through the classes")
    sa.add_argument("--code", type=int, default=None,
                    help="InfoGAN runs (--codes K): the categorical code to draw, 0..K-1 "
                         "(cluster runs, --clusters K: the cluster); default: cycle through "
                         "the codes (draw the clusters at their share of the training images)")
    sa.add_argument("--truncation", type=positive_float, default=None, metavar="T",
                    help=TRUNCATION_HELP)

    en = commands.add_parser("encode", help="VAE: write posterior means (and labels) to .npz")
    en.add_argument("run_dir")
    en.add_argument("--dataset", default=None, help="default: the run's dataset")
    en.add_argument("--split", choices=("train", "test"), default="test")
    en.add_argument("--out", required=True, help="output .npz file (keys mu, y)")
    return parser


def _train(args) -> None:
    runs.train(runs.DRIVERS[args.kind], args)


def _driver(run_dir):
    kind = runs.load_config(run_dir)["kind"]
    if kind not in runs.DRIVERS:
        raise runs.RunError(f"{run_dir!r} is a {kind!r} run; tinygen knows "
                            f"{', '.join(runs.DRIVERS)}")
    return runs.DRIVERS[kind]


def _gan_only(args, driver) -> dict:
    """The GAN-only sampling flags that were given, as keyword arguments; a ValueError naming
    the flag on a run of another kind."""
    given = {k: v for k, v in (("code", getattr(args, "code", None)),
                               ("truncation", args.truncation)) if v is not None}
    if given and driver.KIND != "gan":
        flag = next(iter(given))
        hint = " trained with --codes or --clusters" if flag == "code" else ""
        raise ValueError(f"--{flag} is for a GAN run{hint}; {args.run_dir!r} is a "
                         f"{driver.KIND} run")
    return given


def _eval(args) -> None:
    driver = _driver(args.run_dir)
    _gan_only(args, driver)
    results = driver.evaluate(args.run_dir, args)
    if not args.json:
        for key, value in results.items():
            print(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")
    else:
        print(json.dumps(results))


def _check_out(path: str, *suffixes: str) -> None:
    if not path.endswith(suffixes):
        raise ValueError(f"--out must name a {' or a '.join(suffixes)} file, got {path!r}")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ValueError(f"--out {path!r}: directory {parent!r} does not exist")


def _sample(args) -> None:
    _check_out(args.out, ".npy", ".png")
    driver = _driver(args.run_dir)
    samples = driver.sample(args.run_dir, args.n, args.seed, args.label,
                            **_gan_only(args, driver))
    assert samples.dtype == np.float32 and len(samples) == args.n, (samples.dtype, samples.shape)
    if args.out.endswith(".png"):
        if samples.ndim != 4:
            raise ValueError(f"--out {args.out!r}: a .png grid is for image runs; this run "
                             f"makes points {samples.shape[1:]}, save them as .npy")
        # imported here, not at the top: matplotlib adds ~0.2 s to every CLI start
        from tinygen.plots import save_image_grid
        save_image_grid(samples, args.out, ncol=min(args.n, 8))
        print(f"wrote a grid of {args.n} samples {samples.shape[1:]} to {args.out}")
        return
    with io.atomic_write(args.out) as f:
        np.save(f, samples, allow_pickle=False)
    print(f"wrote {args.n} samples {samples.shape} to {args.out}")


def _encode(args) -> None:
    _check_out(args.out, ".npz")
    driver = _driver(args.run_dir)
    if not hasattr(driver, "encode"):
        raise ValueError(f"encode needs a VAE run; {args.run_dir!r} is a "
                         f"{driver.KIND} run (a GAN has no encoder)")
    arrays = driver.encode(args.run_dir, args.dataset, args.split)
    io.save_npz_atomic(args.out, arrays)
    print(f"wrote {', '.join(f'{k} {v.shape}' for k, v in arrays.items())} to {args.out}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tinygen` script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        {"train": _train, "eval": _eval, "sample": _sample,
         "encode": _encode}[args.command](args)
    except runs.NonFiniteLossError as e:
        print(f"tinygen: {e}", file=sys.stderr)
        return 3
    except (ValueError, OSError) as e:
        if os.environ.get("TINYGEN_DEBUG"):
            raise
        message = (str(e).strip().splitlines() or [type(e).__name__])[0]
        print(f"tinygen {args.command}: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tinygen: interrupted; the last finished epoch's checkpoint is kept",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
