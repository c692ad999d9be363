"""tinygen: a tiny autograd engine with numba kernels, for training VAEs and GANs on a CPU.

Read the source bottom-up: kernels/ -> tensor.py -> function.py -> ops/ -> functional.py ->
gradcheck.py / testing.py -> nn.py -> optim.py -> data/ -> vae.py, gan.py -> metrics.py ->
plots.py -> cli.py.
"""
import numpy as _np

from tinygen.tensor import Tensor, enable_grad, grad, is_grad_enabled, no_grad, tensor
from tinygen.function import Function
from tinygen.gradcheck import gradcheck, gradgradcheck
from tinygen.ops import concatenate, stack
from tinygen.ops.elementwise import Maximum as _Maximum, Minimum as _Minimum, Where as _Where
from tinygen.profile import profile  # tg.profile(); binds over the submodule name (see profile.py)

__version__ = "0.1.0"


def _pair(a, b):
    """Two operands as Tensors; a Python number takes the dtype of the Tensor beside it."""
    if isinstance(a, Tensor):
        return a, a._lift(b)
    if isinstance(b, Tensor):
        return b._lift(a), b
    return tensor(a), tensor(b)


def maximum(a, b):
    """Elementwise max(a, b) with broadcasting."""
    return _Maximum.apply(*_pair(a, b))


def minimum(a, b):
    """Elementwise min(a, b) with broadcasting."""
    return _Minimum.apply(*_pair(a, b))


def where(cond, a, b):
    """a where cond else b; cond is a boolean array (or Tensor), never differentiated."""
    cond = cond.data if isinstance(cond, Tensor) else cond
    return _Where.apply(*_pair(a, b), cond=cond)


def zeros(*shape, dtype=_np.float32, requires_grad=False):
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Tensor(_np.zeros(shape, dtype=dtype), requires_grad=requires_grad)


def ones(*shape, dtype=_np.float32, requires_grad=False):
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Tensor(_np.ones(shape, dtype=dtype), requires_grad=requires_grad)
