"""Writing a matplotlib figure to a PNG file atomically.

Place in the tower: plots/ (imports tinygen.io). A reader of the run directory never sees half a
figure: the PNG is written under a temporary name, then renamed (tinygen.io.atomic_write).
"""
from __future__ import annotations

import os

from tinygen import io


def save_png(fig, path: str | os.PathLike, dpi: int = 100) -> None:
    """Save a matplotlib Figure as PNG under a temporary name, then rename it to `path`."""
    with io.atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=dpi)
