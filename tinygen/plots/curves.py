"""Training curves from metrics.jsonl records.

Place in the tower: plots/ (imports NumPy, matplotlib's Figure, plots/save.py).
"""
from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .save import save_figure


def save_curves(records: list[dict], path, panels, x_key: str = "epoch",
                x_offset: int = 1) -> None:
    """One subplot per panel; panels = [(title, [metric keys])]. Each key present in the
    records is drawn against record[x_key] + x_offset (epochs counted from 1)."""
    fig = Figure(figsize=(4.2 * len(panels), 3.4))
    for i, (title, keys) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        for key in keys:
            points = [(r[x_key] + x_offset, r[key]) for r in records if key in r]
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, marker="." if len(xs) < 30 else None, label=key)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(x_key)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


VAE_PANELS = [("-ELBO (nats per image)", ["train_loss", "test_loss"]),
              ("reconstruction -log p(x|z)", ["train_recon", "test_recon"]),
              ("KL(q(z|x) || p(z))", ["train_kl", "test_kl"])]


def save_vae_curves(records: list[dict], path) -> None:
    """loss.png of a VAE run: -ELBO, its reconstruction term and its KL term, train and test."""
    save_curves(records, path, VAE_PANELS)
