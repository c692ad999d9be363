"""tinygen.plots: matplotlib figures, arrays in and PNG files out.

Place in the tower: above metrics, below runs (imports NumPy, matplotlib and tinygen.io only:
the figures know nothing of models). Uses matplotlib's object API (Figure), never pyplot, so
importing tinygen never changes the user's backend; files are written atomically (save.py).
    images.py   image grids, reconstructions, latent scatter (PCA), the 2D manifold
    curves.py   training curves from metrics.jsonl records
    points.py   2D samples and densities (GAN)
"""
from .curves import save_curves, save_vae_curves
from .images import (image_grid, manifold_grid, pca_2d, save_image_grid, save_latent_scatter,
                     save_manifold, save_reconstructions)
from .points import save_density, save_density_gif
from .save import save_png

__all__ = ["image_grid", "manifold_grid", "pca_2d", "save_curves", "save_density",
           "save_density_gif", "save_image_grid", "save_latent_scatter", "save_manifold",
           "save_png", "save_reconstructions", "save_vae_curves"]
