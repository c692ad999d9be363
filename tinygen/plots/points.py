"""2D GAN figures: real and generated points at several moments of training.

Place in the tower: plots/ (imports NumPy, matplotlib's object API -- Figure, never pyplot --
Pillow for the GIF, tinygen.io and plots/save.py). Arrays in, PNG (and GIF) out.
"""
from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from tinygen import io

from .save import save_figure


def _scatter(ax, real, fake, title: str, limit: float) -> None:
    ax.scatter(real[:, 0], real[:, 1], s=2, c="0.6", alpha=0.5, label="real", linewidths=0)
    ax.scatter(fake[:, 0], fake[:, 1], s=2, c="tab:red", alpha=0.5, label="generated",
               linewidths=0)
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)


def save_density(real, snapshots, path, max_panels: int = 6) -> None:
    """density.png: real points (n, 2) in grey and generated points in red, one panel per
    moment of training. snapshots: list of (label, points (m, 2)); at most `max_panels`, evenly
    spaced and always including the last, are drawn."""
    if not snapshots:
        raise ValueError("save_density: no snapshots of generated points to draw")
    picks = np.unique(np.linspace(0, len(snapshots) - 1, min(max_panels, len(snapshots)))
                      .round().astype(int))
    limit = 1.25 * float(np.abs(real).max())
    fig = Figure(figsize=(2.6 * len(picks), 2.8))
    for i, k in enumerate(picks):
        label, fake = snapshots[k]
        _scatter(fig.add_subplot(1, len(picks), i + 1), real, np.asarray(fake), label, limit)
    fig.tight_layout()
    save_figure(fig, path)


def save_density_gif(real, snapshots, path, ms_per_frame: int = 400) -> None:
    """density.gif: one frame per snapshot (label, points (m, 2))."""
    limit = 1.25 * float(np.abs(real).max())
    frames = []
    for label, fake in snapshots:
        fig = Figure(figsize=(3.2, 3.2), dpi=80)
        _scatter(fig.add_subplot(1, 1, 1), real, np.asarray(fake), label, limit)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        frames.append(Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3]))
    with io.atomic_write(path) as f:  # a reader never sees half a GIF
        frames[0].save(f, format="GIF", save_all=True, append_images=frames[1:],
                       duration=ms_per_frame, loop=0)
