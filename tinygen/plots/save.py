"""Writing a matplotlib figure to a PNG file atomically.

Place in the tower: plots/ (imports tinygen.io). A reader of the run directory never sees half a
figure: the PNG is written under a temporary name, then renamed (tinygen.io.atomic_write).

Memory: a matplotlib Figure is a web of reference cycles (figure <-> canvas, figure <-> axes <->
artists), so dropping the last reference does not free it; only Python's cyclic garbage
collector does, and its full collections are rare in a training run. The save_* functions,
whose figures nobody sees again, therefore clear each one once its PNG is written
(save_figure): its axes, images and texts are then freed by reference counting, and only the
empty figure waits for the collector. (A gc.collect() per figure freed a little more but is
slow in a process that has loaded numba: benchmarks/RESULTS.md.)
"""
from __future__ import annotations

import os

from tinygen import io


def save_png(fig, path: str | os.PathLike, dpi: int = 100) -> None:
    """Save a matplotlib Figure as PNG under a temporary name, then rename it to `path`."""
    with io.atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=dpi)


def save_figure(fig, path: str | os.PathLike, dpi: int = 100) -> None:
    """save_png, then clear the figure (its axes, images and texts freed now: see above). For
    a figure made only to be written; the save_* functions end with it."""
    save_png(fig, path, dpi)
    fig.clear()
