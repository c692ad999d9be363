"""Movement ops: they rearrange or copy entries without arithmetic.

Place in the tower: ops/ (imports kernels, tensor, function). Each one's backward is its
adjoint, which is again a movement op: reshape <-> reshape back, permute <-> inverse permute,
broadcast <-> sum (done by the engine), getitem <-> scatter-add (index_add: kernels.scatter for
whole rows picked by one integer array, np.add.at otherwise), concatenate <-> slices.
"""
import numpy as np

from tinygen import kernels
from tinygen.function import Function
from tinygen.tensor import Tensor


class Reshape(Function):
    """y = x with a new shape (same entries in the same order);   dL/dx = dL/dy reshaped back"""
    @staticmethod
    def forward(ctx, x, shape):
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"cannot reshape a tensor of shape {x.shape} ({x.size} entries) "
                             f"into shape {shape}") from None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.inputs[0].shape)


class Permute(Function):
    """y = x with its axes reordered, y.shape[i] = x.shape[dims[i]];   backward: inverse order"""
    @staticmethod
    def forward(ctx, x, dims):
        if sorted(d % max(x.ndim, 1) for d in dims) != list(range(x.ndim)):
            raise ValueError(f"permute: {dims} is not an ordering of the {x.ndim} axes of a "
                             f"tensor of shape {x.shape}")
        ctx.dims = dims
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx, grad):
        return grad.permute(tuple(np.argsort([d % grad.ndim for d in ctx.dims])))


class BroadcastTo(Function):
    """y = x copied along new leading axes and along axes of size 1.

    The adjoint of copying is summing; the engine's _unbroadcast does exactly that, so backward
    hands the gradient back unchanged.
    """
    @staticmethod
    def forward(ctx, x, shape):
        try:
            return np.broadcast_to(x, shape)
        except ValueError:
            raise ValueError(f"cannot broadcast a tensor of shape {x.shape} to {shape}") from None

    @staticmethod
    def backward(ctx, grad):
        return grad


def normalize_index(index):
    """Make an index usable by NumPy: Tensors and lists become arrays; always a tuple."""
    if not isinstance(index, tuple):
        index = (index,)
    return tuple(i.data if isinstance(i, Tensor) else np.asarray(i) if isinstance(i, list)
                 else i for i in index)


def _is_basic(index):
    """True when the index only slices (no integer arrays, which may repeat entries)."""
    return all(isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis)))
               for i in index)


def _is_rows(index):
    """True when the index picks whole rows by one integer array (y = x[rows])."""
    return (len(index) == 1 and isinstance(index[0], np.ndarray)
            and index[0].dtype.kind in "iu")


class GetItem(Function):
    """y = x[index] (NumPy indexing);   dL/dx = zeros with dL/dy added at the indexed places"""
    @staticmethod
    def forward(ctx, x, index):
        ctx.index = index
        try:
            return np.array(x[index])  # a copy: y never aliases x
        except IndexError as e:
            raise IndexError(f"index {index} is invalid for a tensor of shape {x.shape}: {e}") \
                from None

    @staticmethod
    def backward(ctx, grad):
        return IndexAdd.apply(grad, shape=ctx.inputs[0].shape, index=ctx.index)


class IndexAdd(Function):
    """y = zeros(shape) with y[index] += g (repeated indices add up);   dL/dg = dL/dy[index]"""
    @staticmethod
    def forward(ctx, g, shape, index):
        ctx.index = index
        if _is_rows(index):   # x[rows]: an embedding's lookup; np.add.at is slow for wide rows
            return kernels.index_add_rows(index[0], g, shape[0])
        out = np.zeros(shape, dtype=g.dtype)
        if _is_basic(index):
            out[index] = g
        else:
            np.add.at(out, index, g)
        return out

    @staticmethod
    def backward(ctx, grad):
        return GetItem.apply(grad, index=ctx.index)


class Concatenate(Function):
    """y = [x_1, x_2, ...] joined along `axis`;   dL/dx_i = the slice of dL/dy that x_i filled"""
    @staticmethod
    def forward(ctx, *xs, axis):
        shapes = [x.shape for x in xs]
        try:
            y = np.concatenate(xs, axis=axis)
        except (ValueError, np.exceptions.AxisError):
            raise ValueError(f"cannot concatenate shapes {shapes} along axis {axis}") from None
        ctx.axis = axis % y.ndim
        ctx.bounds = np.cumsum([0] + [s[ctx.axis] for s in shapes])
        return y

    @staticmethod
    def backward(ctx, grad):
        before = (slice(None),) * ctx.axis
        return tuple(GetItem.apply(grad, index=before + (slice(lo, hi),))
                     for lo, hi in zip(ctx.bounds[:-1], ctx.bounds[1:]))


def concatenate(tensors, axis=0):
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors, axis=0):
    """Join tensors of one shape along a new axis."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if len({t.shape for t in tensors}) > 1:
        raise ValueError(f"stack needs tensors of one shape, got {[t.shape for t in tensors]}")
    axis = axis % (tensors[0].ndim + 1)
    return concatenate([t.reshape(t.shape[:axis] + (1,) + t.shape[axis:]) for t in tensors], axis)
