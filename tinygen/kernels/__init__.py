"""tinygen.kernels: pure array code, the bottom floor of the tower.

numba @njit(cache=True) kernels, each behind a small front end that checks its input and each with a
plain-NumPy twin (`*_numpy`) that the tests compare it against. Imports numpy and numba only; no
Tensor here. `NUMBA_DISABLE_JIT=1` runs the same code as plain (slow) Python.

    conv.py         unfold (im2col), fold (col2im), cols_to_nchw / nchw_to_cols layout moves
    elementwise.py  stable sigmoid, softplus, log_sigmoid, bce_with_logits (with sigmoid, for
                    its gradient), relu, leaky_relu and its gradient
    batchnorm.py    batch normalization (per-channel statistics, normalize, optionally the
                    affine part in the same pass) and its gradient
    optim.py        the fused in-place Adam update
    scatter.py      scatter-add of rows by index (the adjoint of x[rows], an embedding's backward)
    memory.py       keep freed memory in the process (glibc), called once here on import
                    (unless TINYGEN_NO_MALLOPT=1 is set)
"""
from .batchnorm import (batch_norm, batch_norm_affine, batch_norm_affine_grad,
                        batch_norm_affine_grad_numpy, batch_norm_affine_numpy, batch_norm_grad,
                        batch_norm_grad_numpy, batch_norm_numpy)
from .conv import (cols_to_nchw, cols_to_nchw_numpy, conv_output_size, fold, fold_numpy,
                   nchw_to_cols, nchw_to_cols_numpy, unfold, unfold_numpy)
from .elementwise import (bce_with_logits, bce_with_logits_and_sigmoid, bce_with_logits_numpy,
                          leaky_relu, leaky_relu_grad, leaky_relu_grad_numpy, leaky_relu_numpy,
                          relu, relu_numpy,
                          log_sigmoid, log_sigmoid_numpy, sigmoid, sigmoid_numpy, softplus,
                          softplus_numpy)
from .memory import keep_freed_memory, keep_freed_memory_unless_opted_out
from .optim import adam_update, adam_update_numpy
from .scatter import index_add_rows, index_add_rows_numpy

keep_freed_memory_unless_opted_out()  # big arrays are reused, not page-faulted in every step

__all__ = [
    "unfold", "unfold_numpy", "fold", "fold_numpy", "cols_to_nchw", "cols_to_nchw_numpy",
    "nchw_to_cols", "nchw_to_cols_numpy", "conv_output_size",
    "sigmoid", "sigmoid_numpy", "softplus", "softplus_numpy", "log_sigmoid", "log_sigmoid_numpy",
    "bce_with_logits", "bce_with_logits_and_sigmoid", "bce_with_logits_numpy",
    "relu", "relu_numpy", "leaky_relu", "leaky_relu_numpy", "leaky_relu_grad",
    "leaky_relu_grad_numpy",
    "batch_norm", "batch_norm_numpy", "batch_norm_affine", "batch_norm_affine_numpy",
    "batch_norm_grad", "batch_norm_grad_numpy", "batch_norm_affine_grad",
    "batch_norm_affine_grad_numpy",
    "adam_update", "adam_update_numpy", "index_add_rows", "index_add_rows_numpy",
    "keep_freed_memory", "keep_freed_memory_unless_opted_out",
]
