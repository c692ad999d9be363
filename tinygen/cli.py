"""`tinygen train|eval|sample`: the command line, a thin layer over the model modules.

Top floor of the tower: parses flags and calls the modules below; computes nothing itself.

    tinygen train vae [--dataset mnist-5k] [--model mlp|conv] [--latent 20] [--epochs 50] ...
    tinygen train gan [--dataset ring8] [--model mlp|dcgan] [--loss non_saturating] ...
    tinygen eval DIR [--iw-samples K] [--json]
    tinygen sample DIR -n N --out FILE.npy [--seed S]

The contract with a model module (tinygen.vae, tinygen.gan), imported only when needed:
    train_from_args(args) -> None       trains into args.out (a run directory, see tinygen.runs)
    evaluate_run(run_dir, args) -> dict  JSON-serialisable numbers; args has the eval flags
    sample_run(run_dir, n, seed) -> np.ndarray float32 (N, C, H, W) in [0, 1] or points (N, 2)
    add_train_arguments(parser)          optional: extra `train <kind>` flags of that module
`eval` and `sample` find the module from the "kind" in the run's config.json.

Errors: every user mistake (a bad flag value, a missing directory or file, an unknown dataset,
an existing run directory) ends with one line on stderr and exit status 1 (argparse's own
errors exit 2); a non-finite loss exits 3, keeping the last good checkpoint. TINYGEN_DEBUG=1
re-raises instead, with the traceback.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

import numpy as np

MODEL_MODULES = {"vae": "tinygen.vae", "gan": "tinygen.gan"}


def _model_module(kind: str):
    if kind not in MODEL_MODULES:
        raise ValueError(f"unknown run kind {kind!r}; expected one of {sorted(MODEL_MODULES)}")
    return importlib.import_module(MODEL_MODULES[kind])


# -- flag types: reject bad values while parsing, with the flag's name in the message ----------
def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def nonnegative_float(text: str) -> float:
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit status 2), not the usage text."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _add_run_flags(p, default_out: str) -> None:
    """Flags every `train` subcommand shares."""
    p.add_argument("--dataset", default=None, help="dataset name or a .npy/.npz path")
    p.add_argument("--batch-size", type=positive_int, default=None)
    p.add_argument("--lr", type=positive_float, default=None, help="learning rate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=default_out, help="run directory (default: %(default)s)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--force", action="store_true", help="overwrite an existing run in --out")
    p.add_argument("--limit", type=positive_int, default=None,
                   help="use only the first N train and N test examples (quick tries, tests)")


def _add_vae_flags(p) -> None:
    p.set_defaults(dataset="mnist-5k", batch_size=128, lr=1e-3)
    p.add_argument("--model", choices=("mlp", "conv"), default="mlp")
    p.add_argument("--latent", type=positive_int, default=20, help="latent size")
    p.add_argument("--hidden", type=positive_int, default=None,
                   help="hidden width (default 400 for mlp, 256 for conv)")
    p.add_argument("--epochs", type=positive_int, default=50)
    p.add_argument("--beta", type=nonnegative_float, default=1.0, help="KL weight (beta-VAE)")
    p.add_argument("--kl-warmup", type=nonnegative_float, default=0.0, metavar="EPOCHS",
                   help="raise the KL weight linearly from 0 to beta over this many epochs")
    p.add_argument("--free-bits", type=nonnegative_float, default=0.0, metavar="NATS",
                   help="KL floor per latent unit (batch average), Kingma et al. 2016")
    p.add_argument("--figures-every", type=int, default=1, metavar="EPOCHS",
                   help="write the figures every this many epochs and at the end (0: never)")


def _add_gan_flags(p) -> None:
    p.set_defaults(dataset="ring8")
    p.add_argument("--model", choices=("mlp", "dcgan"), default=None)
    p.add_argument("--loss", choices=("non_saturating", "minimax", "wgan-gp"),
                   default="non_saturating")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=positive_int, default=None)
    budget.add_argument("--epochs", type=positive_int, default=None)


def _add_model_extras(kind: str, p) -> None:
    """Let the model module add its own train flags, if it exists and wants to."""
    try:
        module = _model_module(kind)
    except ImportError:
        return  # the subcommand still parses; running it reports the missing module
    if hasattr(module, "add_train_arguments"):
        module.add_train_arguments(p)


def build_parser(with_extras: tuple = ()) -> argparse.ArgumentParser:
    parser = OneLineParser(prog="tinygen", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model into a run directory")
    kinds = train.add_subparsers(dest="kind", required=True)
    for kind, add_flags in (("vae", _add_vae_flags), ("gan", _add_gan_flags)):
        p = kinds.add_parser(kind, help=f"train a {kind.upper()}")
        _add_run_flags(p, default_out=f"runs/{kind}")
        add_flags(p)
        if kind in with_extras:
            _add_model_extras(kind, p)

    ev = commands.add_parser("eval", help="evaluate a run; --json makes the last line JSON")
    ev.add_argument("run_dir")
    ev.add_argument("--iw-samples", type=positive_int, default=5000,
                    help="VAE: importance samples per test image (Burda et al. 2016)")
    ev.add_argument("--n-samples", type=positive_int, default=None,
                    help="GAN: number of generated samples to score")
    ev.add_argument("--limit", type=positive_int, default=None,
                    help="evaluate on the first N test examples only")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--json", action="store_true")

    sa = commands.add_parser("sample", help="write N generated samples to a .npy file")
    sa.add_argument("run_dir")
    sa.add_argument("-n", type=positive_int, required=True, help="number of samples")
    sa.add_argument("--out", required=True, help="output .npy file")
    sa.add_argument("--seed", type=int, default=0)
    return parser


def _train(args) -> None:
    _model_module(args.kind).train_from_args(args)


def _eval(args) -> None:
    from tinygen.runs import load_config
    kind = load_config(args.run_dir)["kind"]
    results = _model_module(kind).evaluate_run(args.run_dir, args)
    if not args.json:
        for key, value in results.items():
            print(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")
    else:
        print(json.dumps(results))


def _sample(args) -> None:
    from tinygen import io
    from tinygen.runs import load_config
    if not args.out.endswith(".npy"):
        raise ValueError(f"--out must name a .npy file, got {args.out!r}")
    parent = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(parent):
        raise ValueError(f"--out {args.out!r}: directory {parent!r} does not exist")
    kind = load_config(args.run_dir)["kind"]
    samples = _model_module(kind).sample_run(args.run_dir, args.n, args.seed)
    assert samples.dtype == np.float32 and len(samples) == args.n, (samples.dtype, samples.shape)
    with io.atomic_write(args.out) as f:
        np.save(f, samples, allow_pickle=False)
    print(f"wrote {args.n} samples {samples.shape} to {args.out}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tinygen` script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    extras = (argv[1],) if len(argv) > 1 and argv[0] == "train" else ()
    args = build_parser(with_extras=extras).parse_args(argv)
    from tinygen.runs import NonFiniteLossError
    try:
        {"train": _train, "eval": _eval, "sample": _sample}[args.command](args)
    except NonFiniteLossError as e:
        print(f"tinygen: {e}", file=sys.stderr)
        return 3
    except (ImportError, ValueError, OSError) as e:
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
