"""Chapter 3, reference solution: Softsign as a tinygen Function."""
import numpy as np

import tinygen as tg


class Softsign(tg.Function):
    """y = x / (1 + |x|);   dy/dx = 1 / (1 + |x|)^2"""

    @staticmethod
    def forward(ctx, x):
        return x / (1 + np.abs(x))

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.inputs
        d = 1 + x.abs()              # tensor ops, so the gradient can be differentiated again
        return grad / (d * d)
