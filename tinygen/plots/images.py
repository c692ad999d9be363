"""Image figures: sample grids, reconstructions, latent maps, the 2D latent manifold.

Place in the tower: plots/ (imports NumPy, matplotlib's object API -- Figure, never pyplot, so
no global backend or state -- and plots/save.py). Each save_* function takes arrays and writes
one PNG atomically (temporary name, then rename).
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .save import save_figure


def image_grid(images, ncol: int = 8, pad: int = 1) -> np.ndarray:
    """Tile images (N, C, H, W) in [0, 1] into one (rows*(H+pad)+pad, ncol*(W+pad)+pad[, 3])
    array, filled row by row, separated by `pad` pixels of 0.5 grey."""
    images = np.asarray(images, dtype=np.float32)
    n, c, h, w = images.shape
    rows = -(-n // ncol)
    grid = np.full((c, rows * (h + pad) + pad, ncol * (w + pad) + pad), 0.5, np.float32)
    for i, img in enumerate(images):
        r, q = divmod(i, ncol)
        top, left = pad + r * (h + pad), pad + q * (w + pad)
        grid[:, top:top + h, left:left + w] = img
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def _show(ax, grid, title: str) -> None:
    """Draw a grid (H, W) grey or (H, W, 3) RGB in [0, 1], nearest-neighbour, with a title.

    Memory: matplotlib resamples the picture to the axes' pixels (~500 x 500 for 64 MNIST
    digits). Given a 2-D array it would colour-map it first and resample float64 RGBA; with
    interpolation_stage="data" it resamples the one grey channel and colour-maps the result
    to bytes (for nearest-neighbour the two orders give the same pixels). An RGB grid is handed
    over as float32 RGBA, which matplotlib resamples as it is (from RGB it would stack a
    float64 alpha plane, making the whole picture float64). Same PNG either way; the peak of
    drawing a 64-digit grid falls from ~21 to ~7 MiB (benchmarks/RESULTS.md)."""
    if grid.ndim == 2:
        ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest",
                  interpolation_stage="data")
    else:
        rgba = np.ones(grid.shape[:2] + (4,), np.float32)
        rgba[..., :3] = grid
        ax.imshow(rgba, interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.axis("off")


def save_image_grid(images, path, title: str = "", ncol: int = 8) -> None:
    """One grid of images (N, C, H, W) in [0, 1] -> PNG."""
    fig = Figure(figsize=(ncol * 0.6 + 0.2, -(-len(images) // ncol) * 0.6 + 0.5))
    fig.subplots_adjust(0.01, 0.01, 0.99, 1 - 0.3 / fig.get_figheight())
    _show(fig.add_subplot(), image_grid(images, ncol), title)
    save_figure(fig, path)


def save_reconstructions(originals, reconstructions, path, ncol: int = 8) -> None:
    """Rows of test images, each followed by the row of their reconstructions."""
    originals, reconstructions = np.asarray(originals), np.asarray(reconstructions)
    pairs = []
    for i in range(0, len(originals), ncol):
        pairs += [originals[i:i + ncol], reconstructions[i:i + ncol]]
    save_image_grid(np.concatenate(pairs), path,
                    "test images (odd rows) over their reconstructions (even rows)", ncol)


def pca_2d(z) -> tuple[np.ndarray, np.ndarray]:
    """Project z (N, D) on its two principal axes: (N, 2), and the variance fraction of each."""
    z = np.asarray(z, np.float64) - np.mean(z, axis=0)
    if z.shape[1] <= 2:
        return z, np.ones(z.shape[1]) / z.shape[1]
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    return z @ vt[:2].T, (s[:2] ** 2) / np.sum(s ** 2)


def save_latent_scatter(means, labels, path, class_names=None) -> None:
    """Posterior means (N, D) coloured by label (0..K-1, named by class_names if given); PCA
    to 2D when D > 2."""
    points, explained = pca_2d(means)
    k = max(int(np.max(labels)) + 1, len(class_names or ()))
    fig = Figure(figsize=(6.4, 5.4))
    fig.subplots_adjust(0.12, 0.1, 0.98, 0.93)
    ax = fig.add_subplot()
    if points.shape[1] == 1:
        points = np.column_stack([points[:, 0], np.zeros(len(points))])
    scatter = ax.scatter(points[:, 0], points[:, 1], c=labels, s=6, alpha=0.8, vmin=-0.5,
                         vmax=k - 0.5, cmap="tab10" if k <= 10 else "tab20" if k <= 20 else None)
    bar = fig.colorbar(scatter, ax=ax, ticks=range(k) if k <= 20 else None, label="class")
    if class_names and k <= 20:
        bar.ax.set_yticklabels(class_names)
    pca = means.shape[1] > 2
    ax.set_xlabel(f"PC 1 ({explained[0]:.0%} of variance)" if pca else "z1")
    ax.set_ylabel(f"PC 2 ({explained[1]:.0%} of variance)" if pca else "z2")
    ax.set_title(f"test posterior means mu(x), latent size {means.shape[1]}"
                 + (" (PCA)" if pca else ""), fontsize=10)
    save_figure(fig, path)


def manifold_grid(n: int = 15, extent: float = 2.5) -> np.ndarray:
    """Latent points (n*n, 2) on a regular grid over [-extent, extent]^2, rows top to bottom
    from high z2 to low z2 (so the picture is oriented like a plot)."""
    ticks = np.linspace(-extent, extent, n)
    z1, z2 = np.meshgrid(ticks, ticks[::-1])
    return np.column_stack([z1.ravel(), z2.ravel()]).astype(np.float32)


def save_manifold(images, n: int, path, extent: float = 2.5) -> None:
    """Decodings of manifold_grid(n, extent) (n*n, C, H, W) as one n x n picture."""
    fig = Figure(figsize=(7, 7.3))
    fig.subplots_adjust(0.01, 0.01, 0.99, 0.95)
    _show(fig.add_subplot(), image_grid(images, n, pad=0),
          f"decoded 2D latent grid, z in [-{extent}, {extent}]^2")
    save_figure(fig, path)
