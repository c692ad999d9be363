"""Elementwise ops: arithmetic with broadcasting, and the unary functions of deep learning.

Place in the tower: ops/ (imports tensor, function, kernels). Each op: forward on arrays, backward
with Tensor ops right under it, the derivative in the docstring. Binary ops may return gradients
in the broadcast shape; the engine (tensor._unbroadcast) sums them back to each input's shape.
Masks and signs are piecewise constant, so they enter backward as constants: their own
derivative is zero almost everywhere, which keeps second derivatives exact.
"""
import numpy as np

from tinygen import kernels
from tinygen.function import Function, constant
from tinygen.tensor import Tensor


def _broadcast_shape(name, a, b):
    if a.shape == b.shape or not b.shape:  # fast paths (NumPy's check is slow): equal shapes
        return a.shape                      # and scalars always broadcast
    if not a.shape:
        return b.shape
    try:
        return np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{name}: shapes {a.shape} and {b.shape} do not broadcast") from None


# -- arithmetic --------------------------------------------------------------------------------
class Add(Function):
    """y = a + b;   dy/da = 1, dy/db = 1"""
    @staticmethod
    def forward(ctx, a, b):
        _broadcast_shape("add", a, b)
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    """y = a - b;   dy/da = 1, dy/db = -1"""
    @staticmethod
    def forward(ctx, a, b):
        _broadcast_shape("sub", a, b)
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad


class Mul(Function):
    """y = a * b;   dy/da = b, dy/db = a"""
    @staticmethod
    def forward(ctx, a, b):
        _broadcast_shape("mul", a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.inputs
        return (grad * b if a.requires_grad else None,
                grad * a if b.requires_grad else None)


class Div(Function):
    """y = a / b;   dy/da = 1/b, dy/db = -a/b^2 = -y/b"""
    @staticmethod
    def forward(ctx, a, b):
        _broadcast_shape("div", a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.inputs
        grad_a = grad / b
        return grad_a, (-grad_a * ctx.output if b.requires_grad else None)


class Neg(Function):
    """y = -x;   dy/dx = -1"""
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Pow(Function):
    """y = x^p for a constant number p;   dy/dx = p x^(p-1)"""
    @staticmethod
    def forward(ctx, x, exponent):
        ctx.exponent = exponent
        return x ** np.asarray(exponent, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.inputs
        p = ctx.exponent
        if p == 0.0:  # x^0 = 1 is constant; p x^(p-1) would be 0 * inf = nan at x = 0
            return grad * 0.0
        if p == 1.0:
            return grad
        return grad * p * (x if p == 2.0 else x ** (p - 1.0))


# -- smooth unary functions --------------------------------------------------------------------
class Exp(Function):
    """y = exp(x);   dy/dx = y"""
    @staticmethod
    def forward(ctx, x):
        return np.exp(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.output


class Log(Function):
    """y = log(x);   dy/dx = 1/x"""
    @staticmethod
    def forward(ctx, x):
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.inputs
        return grad / x


class Sqrt(Function):
    """y = sqrt(x);   dy/dx = 1 / (2 y)"""
    @staticmethod
    def forward(ctx, x):
        return np.sqrt(x)

    @staticmethod
    def backward(ctx, grad):
        return grad / (2 * ctx.output)


class Tanh(Function):
    """y = tanh(x);   dy/dx = 1 - y^2"""
    @staticmethod
    def forward(ctx, x):
        return np.tanh(x)

    @staticmethod
    def backward(ctx, grad):
        y = ctx.output
        return grad * (1 - y * y)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x));   dy/dx = y (1 - y)      (never overflows: see kernels.elementwise)"""
    @staticmethod
    def forward(ctx, x):
        return kernels.sigmoid(x)

    @staticmethod
    def backward(ctx, grad):
        y = ctx.output
        return grad * y * (1 - y)


class Softplus(Function):
    """y = log(1 + exp(x));   dy/dx = sigmoid(x)"""
    @staticmethod
    def forward(ctx, x):
        return kernels.softplus(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.inputs
        return grad * x.sigmoid()


class LogSigmoid(Function):
    """y = log sigmoid(x) = -softplus(-x);   dy/dx = sigmoid(-x) = 1 - sigmoid(x)"""
    @staticmethod
    def forward(ctx, x):
        return kernels.log_sigmoid(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.inputs
        return grad * (-x).sigmoid()


# -- piecewise functions: the mask or sign is a constant --------------------------------------
class Abs(Function):
    """y = |x|;   dy/dx = sign(x)   (0 at x = 0)"""
    @staticmethod
    def forward(ctx, x):
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.inputs
        return grad * constant(np.sign(x.data), like=grad)


class Relu(Function):
    """y = max(x, 0);   dy/dx = 1 where x > 0, else 0"""
    @staticmethod
    def forward(ctx, x):
        if x.dtype in (np.float32, np.float64):
            return kernels.relu(x)  # one numba pass, bit for bit np.maximum(x, 0)'s numbers
        return np.maximum(x, 0)     # other dtypes (an integer tensor)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.inputs
        return grad * constant(x.data > 0, like=grad)

    @staticmethod
    def backward_numpy(ctx, grad):  # no graph recorded: mask and product in one numba pass
        return kernels.leaky_relu_grad(ctx.inputs[0].data, grad, 0.0)


class LeakyRelu(Function):
    """y = x where x > 0, else slope * x;   dy/dx = 1 or slope"""
    @staticmethod
    def forward(ctx, x, slope):
        ctx.slope = slope
        return kernels.leaky_relu(x, slope)  # one numba pass (NumPy's np.maximum form: two)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.inputs
        mask = kernels.leaky_relu_grad(x.data, np.ones_like(x.data), ctx.slope)  # 1 or slope
        return grad * constant(mask, like=grad)

    @staticmethod
    def backward_numpy(ctx, grad):  # no graph recorded: mask and product in one numba pass
        return kernels.leaky_relu_grad(ctx.inputs[0].data, grad, ctx.slope)


class Clip(Function):
    """y = min(max(x, lo), hi);   dy/dx = 1 where lo <= x <= hi, else 0"""
    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.lo, ctx.hi = lo, hi
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        x = ctx.inputs[0].data
        inside = np.ones(x.shape, dtype=bool)
        if ctx.lo is not None:
            inside &= x >= ctx.lo
        if ctx.hi is not None:
            inside &= x <= ctx.hi
        return grad * constant(inside, like=grad)


class Maximum(Function):
    """y = max(a, b) elementwise;   dy/da = [a >= b], dy/db = [a < b]   (ties go to a)"""
    @staticmethod
    def forward(ctx, a, b):
        _broadcast_shape("maximum", a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.inputs
        pick_a = constant(a.data >= b.data, like=grad)
        return grad * pick_a, grad * (1 - pick_a)


class Minimum(Function):
    """y = min(a, b) elementwise;   dy/da = [a <= b], dy/db = [a > b]   (ties go to a)"""
    @staticmethod
    def forward(ctx, a, b):
        _broadcast_shape("minimum", a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.inputs
        pick_a = constant(a.data <= b.data, like=grad)
        return grad * pick_a, grad * (1 - pick_a)


class Where(Function):
    """y = a where cond else b (cond: a constant boolean array);   dy/da = cond, dy/db = !cond"""
    @staticmethod
    def forward(ctx, a, b, cond):
        ctx.cond = np.asarray(cond, dtype=bool)
        _broadcast_shape("where", a, b)
        return np.where(ctx.cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        mask = constant(ctx.cond, like=grad)
        return grad * mask, grad * (1 - mask)


class Cast(Function):
    """y = x converted to another dtype;   the gradient is converted back"""
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.source_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.source_dtype)
