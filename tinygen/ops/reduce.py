"""Reductions: sum, max (Functions) and mean, logsumexp (composed from ops).

Place in the tower: ops/ (imports tensor, function). A reduction's backward copies the output
gradient back over the reduced axes: reshape it to the keepdims shape, then broadcast.
"""
import numpy as np

from tinygen.function import Function, constant


def _axes(axis, ndim):
    """axis (None, int or tuple, negatives allowed) -> sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.isscalar(axis) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
    if len({a % ndim for a in axes}) < len(axes):
        raise ValueError(f"axis {axis} names an axis twice (tensor with {ndim} dimensions)")
    return tuple(sorted(a % ndim for a in axes))


def _keepdims_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    """y = sum of x over `axis`;   dy/dx_i = 1, so dL/dx = dL/dy copied over the summed axes"""
    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.axes = _axes(axis, x.ndim)
        return np.sum(x, axis=ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.inputs
        return grad.reshape(_keepdims_shape(x.shape, ctx.axes)).broadcast_to(x.shape)


class Max(Function):
    """y = max of x over `axis`;   dy/dx_i = 1/k for the k entries equal to the max, else 0"""
    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.axes = _axes(axis, x.ndim)
        if x.size == 0:
            raise ValueError(f"max of an empty tensor (shape {x.shape})")
        y = np.max(x, axis=ctx.axes, keepdims=True)
        is_max = x == y
        ctx.share = is_max / is_max.sum(axis=ctx.axes, keepdims=True)
        return y if keepdims else y.reshape([n for i, n in enumerate(x.shape) if i not in ctx.axes])

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.inputs
        return grad.reshape(_keepdims_shape(x.shape, ctx.axes)) * constant(ctx.share, like=grad)


def mean(x, axis=None, keepdims=False):
    """mean = sum / (number of summed entries)"""
    count = int(np.prod([x.shape[a] for a in _axes(axis, x.ndim)]))
    return x.sum(axis=axis, keepdims=keepdims) / count


def logsumexp(x, axis=None, keepdims=False):
    """log sum exp(x) = m + log sum exp(x - m) for any constant m; m = max(x) keeps exp <= 1.

    Composed from ops, so its derivatives (softmax, and beyond) come for free. m is detached:
    the identity holds for every constant, so no gradient needs to flow through it.
    """
    axes = _axes(axis, x.ndim)
    m = np.max(x.data, axis=axes, keepdims=True)
    m = constant(np.where(np.isfinite(m), m, 0), like=x)
    out = m + (x - m).exp().sum(axis=axes, keepdims=True).log()
    return out if keepdims else out.reshape([n for i, n in enumerate(x.shape) if i not in axes])
