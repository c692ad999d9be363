"""Function: one differentiable op, its forward and backward side by side.

Place in the tower: function.py (imports tinygen.tensor).
Every built-in op is a Function subclass, and so is any op a user adds. A Function says two
things:

    forward(ctx, *arrays, **params) -> array      the values, on plain NumPy arrays
    backward(ctx, grad) -> grads                  the chain rule: given grad = dL/d(output) as a
                                                  Tensor, return dL/d(input) for each input

backward is written with Tensor ops (not on `.data`), so when the engine runs it with
create_graph=True the gradient is itself recorded and can be differentiated again. A gradient may
be returned in the broadcast shape of the output: the engine sums it back to the input's shape.

An op may also give a third, optional method, the same derivative on plain arrays:

    backward_numpy(ctx, grad) -> grads           grad and the returned grads are np.ndarrays

The engine calls it instead of `backward` when no graph is recorded (create_graph=False, every
ordinary `loss.backward()`), so an op can run its first-order gradient as one fused kernel;
`backward` stays the op's one differentiable formula and is what create_graph=True runs (and
gradgradcheck checks). Both must compute the same derivative: gradcheck exercises
backward_numpy and gradgradcheck exercises backward, each against central differences.

Example, a user-defined op (the docstring carries the math):

    class Cube(tg.Function):
        '''y = x**3;   dy/dx = 3 x**2'''
        @staticmethod
        def forward(ctx, x):
            return x ** 3
        @staticmethod
        def backward(ctx, grad):
            x, = ctx.inputs
            return grad * 3 * x * x

    y = Cube.apply(x)
"""
from __future__ import annotations

import weakref

import numpy as np

from tinygen import tensor as _tensor
from tinygen.tensor import Tensor


class Context:
    """What an op remembers between forward and backward.

    fn:     the Function subclass       inputs: the input Tensors (as given to apply)
    output: the output Tensor (held weakly: an output does not keep itself alive)
    needs_input_grad: set by the engine before backward, one bool per input: whether this pass
            needs that input's gradient (an op may return None for the others, to save work)
    Forward may set any other attribute (shapes, masks, parameters) for backward to read.
    """

    def __init__(self):
        self.fn = None
        self.inputs = ()
        self._output = None

    @property
    def output(self) -> Tensor:
        return self._output()

    def save_for_backward(self, *values):
        """PyTorch-style spelling: stores values in ctx.saved_tensors."""
        self.saved_tensors = values


class Function:
    """Base class of every op. Subclasses define static `forward` and `backward`."""

    @staticmethod
    def forward(ctx, *arrays, **params):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    # Optional: (ctx, grad: np.ndarray) -> np.ndarray or tuple of them (None where
    # ctx.needs_input_grad is False), run by the engine when no graph is recorded.
    backward_numpy = None

    @classmethod
    def apply(cls, *inputs, **params) -> Tensor:
        """Run forward on the inputs' arrays; record the op if any input requires grad.

        inputs: Tensors (array-likes are wrapped as constants); params: non-differentiable
        keyword arguments passed through to forward.
        """
        inputs = _common_float_dtype(cls, inputs)
        ctx = Context()
        hook = _tensor._profile_hook  # [profile hook] None unless tinygen.profile is on
        forward = cls.forward if hook is None else hook(cls, "forward")
        out = Tensor(forward(ctx, *[x.data for x in inputs], **params))
        if _tensor._grad_enabled:
            for x in inputs:  # (a plain loop: this runs on every op, and any(...) costs more)
                if x.requires_grad:
                    out.requires_grad = True
                    out._ctx = ctx
                    ctx.fn, ctx.inputs, ctx._output = cls, inputs, weakref.ref(out)
                    break
        return out


def _common_float_dtype(fn, inputs):
    """Inputs of an op are Tensors (array-likes are wrapped as constants) and share one float
    dtype: mixing float32 and float64 is an error (dtypes never change silently); integer or
    boolean constants are cast to the float dtype, as in PyTorch (so float32 * integer tensor
    stays float32)."""
    dtype = None
    for x in inputs:  # the common case first, in one pass: Tensors of one float dtype
        if not isinstance(x, Tensor) or (dtype is not None and x.data.dtype != dtype):
            break
        dtype = x.data.dtype
    else:
        if dtype is None or dtype.kind == "f":
            return inputs
    inputs = tuple(x if isinstance(x, Tensor) else Tensor(x) for x in inputs)
    floats = {x.data.dtype for x in inputs if x.data.dtype.kind == "f"}
    if len(floats) > 1:
        names = " and ".join(sorted(str(d) for d in floats))
        raise TypeError(f"{fn.__name__}: inputs mix {names}; cast one explicitly "
                        f"(x.float() or x.double())")
    if floats and any(x.data.dtype.kind != "f" for x in inputs):
        dtype = floats.pop()
        inputs = tuple(x if x.data.dtype.kind == "f" else Tensor(x.data.astype(dtype))
                       for x in inputs)
    return inputs


def constant(array, like: Tensor) -> Tensor:
    """A non-differentiable Tensor holding `array` in the dtype of `like` (for masks, signs)."""
    return Tensor(np.asarray(array, dtype=like.data.dtype))
