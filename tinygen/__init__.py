"""tinygen: a tiny autograd engine with numba kernels, for training VAEs and GANs on a CPU.

Read the source bottom-up, in the order of the README's "Reading the source" (the same tower
that tests/test_tower.py checks): kernels/ -> random.py -> tensor.py -> function.py -> ops/ ->
functional.py -> gradcheck.py, testing.py, viz.py, profile.py -> nn/ -> optim.py -> io.py ->
checkpoint.py -> data/ -> vae/, gan/ -> metrics/ -> plots/ -> runs/ -> cli.py.

`import tinygen as tg` loads the engine (Tensor, grad, no_grad, Function, gradcheck); the other
floors are attributes loaded on first use, as in PyTorch: `tg.nn.Linear`, `tg.optim.Adam`,
`tg.functional`, `tg.data`, `tg.vae`, `tg.gan`, ... (PEP 562 `__getattr__`, so `import tinygen`
stays fast and never imports matplotlib).
"""
import importlib as _importlib

import numpy as _np

from tinygen.tensor import Tensor, enable_grad, grad, is_grad_enabled, no_grad, tensor
from tinygen.function import Function
from tinygen.gradcheck import gradcheck, gradgradcheck
from tinygen.ops import concatenate, stack
from tinygen.ops.elementwise import Maximum as _Maximum, Minimum as _Minimum, Where as _Where
from tinygen import random
from tinygen.profile import profile  # tg.profile(); binds over the submodule name (see profile.py)

__version__ = "0.1.0"

# Floors loaded on first attribute access (tg.nn, tg.vae, ...); listed here so a reader (and
# dir(tg)) sees them. checkpoint, metrics, plots and runs are modules too: import them by name.
_LAZY = ("functional", "nn", "optim", "io", "checkpoint", "data", "vae", "gan", "metrics",
         "plots", "runs", "testing", "kernels", "viz")


def __getattr__(name):
    if name in _LAZY:
        module = _importlib.import_module(f"tinygen.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'tinygen' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY])


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
