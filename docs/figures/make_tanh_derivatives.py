"""tanh and its first seven derivatives, each one the gradient of the one before.

    PYTHONPATH=. python docs/figures/make_tanh_derivatives.py      # -> tanh_derivatives.png

Every op's backward is written with tinygen ops, so `tg.grad(..., create_graph=True)` returns
a gradient that is itself a Tensor in a graph, and can be differentiated again -- as often as
we like. For an elementwise y = f(x), d sum(y) / dx[i] = f'(x[i]), so one `grad` of the sum
gives the derivative at every point at once. The exact formulas (t = tanh x):

    tanh'    = 1 - t^2
    tanh''   = -2 t (1 - t^2)
    tanh'''  = -2 (1 - t^2)(1 - 3 t^2)
    tanh'''' = 8 t (1 - t^2)(2 - 3 t^2)

are checked against these curves in tests/test_tanh_derivatives.py (float64).
(The same picture opens HIPS autograd's README.)
"""
import os

import matplotlib
import numpy as np

import tinygen as tg

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)

HERE = os.path.dirname(os.path.abspath(__file__))


def derivatives(f, x, order):
    """[f(x), f'(x), ..., f^(order)(x)] as arrays, for an elementwise f of a Tensor.

    x: 1-D array (its dtype is kept: use float64 to compare with formulas). Each derivative is
    tg.grad of the sum of the previous one, with create_graph=True so it can be differentiated.
    """
    x = tg.tensor(np.asarray(x), requires_grad=True)
    ys = [f(x)]
    for _ in range(order):
        ys.append(tg.grad(ys[-1].sum(), x, create_graph=True)[0])
    return [y.data for y in ys]


TITLES = ["t = tanh x", "1st: 1 - t²", "2nd: -2t (1 - t²)", "3rd: -2 (1 - t²)(1 - 3t²)",
          "4th: 8t (1 - t²)(2 - 3t²)"]


def make_figure(path, order=7):
    """One panel per derivative (each on its own scale: the 6th reaches +-50), 0th to `order`."""
    x = np.linspace(-4, 4, 801)
    columns = 4
    rows = -(-(order + 1) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3 * columns, 2.3 * rows), dpi=110,
                             sharex=True, squeeze=False)
    for k, (ax, y) in enumerate(zip(axes.flat, derivatives(lambda t: t.tanh(), x, order))):
        ax.plot(x, y, lw=1.6, color="black" if k == 0 else f"C{k - 1}")
        ax.axhline(0, color="0.85", lw=0.8, zorder=0)
        ax.set_title(TITLES[k] if k < len(TITLES) else f"{k}th", fontsize=10)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    for ax in list(axes.flat)[order + 1:]:
        ax.set_visible(False)
    fig.suptitle(f"tanh and its first {order} derivatives, each tg.grad(previous.sum(), x, "
                 f"create_graph=True)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


if __name__ == "__main__":
    print(make_figure(os.path.join(HERE, "tanh_derivatives.png")))
