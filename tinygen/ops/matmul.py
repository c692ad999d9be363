"""Matrix multiplication, 2-D and batched (leading axes broadcast). BLAS does the work.

Place in the tower: ops/ (imports tensor, function).
"""
import numpy as np

from tinygen.function import Function


def _outer(a, b):
    """a: (..., n, 1), b: (..., 1, m) -> a @ b as a broadcast product (batch axes broadcast)."""
    try:
        return a * b
    except ValueError:
        raise ValueError(f"matmul: batch dimensions of {a.shape} and {b.shape} do not "
                         f"broadcast") from None


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
        if a.shape[-1] == 1:
            # An outer product (k = 1, e.g. a linear layer's input gradient when it has one
            # output): the same single products by broadcasting; OpenBLAS's GEMM is ~10x
            # slower at k = 1.
            return _outer(a, b)
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
        grad_b = None
        if need_b and b.ndim == 2 and b.data.flags.f_contiguous and not b.data.flags.c_contiguous:
            # Fast path: b is a transposed view (linear's W.T). (grad^T @ a)^T is the same
            # matrix, laid out like W's memory, so W.grad comes out C-contiguous and the
            # optimizer need not copy it (a transposing copy per step).
            grad_b = (grad.transpose(-1, -2) @ a).transpose(-1, -2)
        elif need_b:
            grad_b = a.transpose(-1, -2) @ grad
        return grad_a, grad_b
