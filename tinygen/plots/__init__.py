"""tinygen.plots: matplotlib figures written into run directories.

Place in the tower: above metrics, below cli. Uses matplotlib's object API (Figure), never
pyplot, so importing tinygen never changes the user's backend; files are written atomically.
    images.py   image grids, reconstructions, latent scatter (PCA), the 2D manifold; vae_figures
    curves.py   training curves from metrics.jsonl records
    points.py   2D samples and densities (GAN)
"""
from .curves import save_curves, save_vae_curves
from .images import (image_grid, manifold_grid, pca_2d, save_image_grid, save_latent_scatter,
                     save_manifold, save_reconstructions, vae_figures)

__all__ = ["image_grid", "manifold_grid", "pca_2d", "save_curves", "save_image_grid",
           "save_latent_scatter", "save_manifold", "save_reconstructions", "save_vae_curves",
           "vae_figures"]
