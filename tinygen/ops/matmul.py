"""Matrix multiplication, 2-D and batched (leading axes broadcast). BLAS does the work.

Floor 4 of the tower (imports tensor, function).
"""
import numpy as np

from tinygen.function import Function


class MatMul(Function):
    """Y = A @ B, A: (..., n, k), B: (..., k, m) -> Y: (..., n, m)

    dL/dA = dL/dY @ B^T,   dL/dB = A^T @ dL/dY   (^T swaps the last two axes; batch axes that
    were broadcast are summed back by the engine).
    """
    @staticmethod
    def forward(ctx, a, b):
        if a.ndim < 2 or b.ndim < 2:
            raise ValueError(f"matmul needs tensors with at least 2 dimensions, got shapes "
                             f"{a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match "
                             f"({a.shape[-1]} != {b.shape[-2]})")
        try:
            return np.matmul(a, b)
        except ValueError:
            raise ValueError(f"matmul: batch dimensions of {a.shape} and {b.shape} do not "
                             f"broadcast") from None

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad  # set by the engine: skip a product nobody needs
        grad_a = grad @ b.transpose(-1, -2) if need_a else None
        grad_b = a.transpose(-1, -2) @ grad if need_b else None
        return grad_a, grad_b
