"""Command-line flags every `tinygen train KIND` shares, and flag types that check values.

Place in the tower: runs/ (imports argparse only). A bad value is refused while parsing, with
the flag's name in the one-line message. Config flags default to None: the driver fills in its
defaults, and `--resume` can tell a flag that was given from one that was not.
"""
from __future__ import annotations

import argparse


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


def add_run_flags(p, default_dataset: str, default_out: str) -> None:
    """Flags every `train` subcommand shares."""
    p.add_argument("--dataset", default=None,
                   help=f"mnist-5k, mnist, ring8, grid25, a folder of images (class "
                        f"sub-folders are labels) or a .npy/.npz file (default: {default_dataset})")
    p.add_argument("--image-size", type=positive_int, default=None, metavar="S",
                   help="resize images: shorter side to S, centre crop S x S (default: keep)")
    p.add_argument("--channels", type=int, choices=(1, 3), default=None,
                   help="1 (grey) or 3 (RGB); default: 1 when every image is grey, else 3")
    p.add_argument("--skip-bad", action="store_true", default=None,
                   help="leave unreadable image files out (counted) instead of stopping")
    p.add_argument("--batch-size", type=positive_int, default=None)
    p.add_argument("--lr", type=positive_float, default=None, help="learning rate")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: 0)")
    p.add_argument("--limit", type=positive_int, default=None,
                   help="use only the first N train and N test examples (quick tries, tests)")
    p.add_argument("--out", default=default_out, help="run directory (default: %(default)s)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--force", action="store_true", help="overwrite an existing run in --out")
    p.add_argument("--figures-every", type=int, default=None, metavar="EPOCHS",
                   help="write the figures every this many epochs and at the end (0: never; "
                        "default 1, image GANs 5)")

