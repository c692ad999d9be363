"""Chapter 3 exercise: Softsign as a tinygen Function.

    y = x / (1 + |x|)

Check:  python docs/exercises/check.py chapter3 this_file.py
(gradcheck, then gradgradcheck: write backward with tensor ops, not on .data)
"""
import numpy as np

import tinygen as tg


class Softsign(tg.Function):
    """y = x / (1 + |x|);   dy/dx = (work it out)"""

    @staticmethod
    def forward(ctx, x):
        raise NotImplementedError("your code here: x is a NumPy array")

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError("your code here: grad and ctx.inputs are Tensors")
