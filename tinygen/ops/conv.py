"""Convolution ops: Unfold and Fold (mutually adjoint), the layout moves, conv2d, conv_transpose2d.

Place in the tower: ops/ (imports tensor, function, kernels). Shapes follow PyTorch (NCHW):

    conv2d(x, w, b):            x (N, C, H, W), w (O, C, kh, kw), b (O,) -> (N, O, OH, OW)
        OH = (H + 2 ph - kh) // sh + 1
        out = cols_to_image( w.reshape(O, C kh kw) @ unfold(x) ) + b          (one GEMM)

    conv_transpose2d(x, w, b):  x (N, Cin, H, W), w (Cin, Cout, kh, kw), b (Cout,) -> (N, Cout, OH, OW)
        OH = (H - 1) sh - 2 ph + kh + output_padding
        out = fold( w.reshape(Cin, Cout kh kw)^T @ image_to_cols(x) ) + b    (the adjoint of conv2d)

Every op here is linear in its tensor input and comes in an adjoint pair:

    Unfold (im2col)  <->  Fold (col2im)           ImageToCols  <->  ColsToImage

so each one's backward is the other, and all derivatives of conv2d and conv_transpose2d, of any
order, are built from these four ops plus MatMul, Reshape, Permute and Sum.
"""
import numpy as np

from tinygen import kernels
from tinygen.function import Function
from tinygen.tensor import Tensor, is_grad_enabled

_pair = kernels.conv._pair

# Without a graph (tg.no_grad: sampling, evaluation, recalibrating batch norm), a large batch is
# convolved a slice of samples at a time, each slice's (rows, samples * pixels) GEMM buffer at
# most _SLICE_BYTES. The GEMM's columns are independent, so the result is the one-batch result
# up to the GEMM's rounding; what changes is memory: 1000 generator samples at once built a
# 262 MB buffer, which glibc maps and unmaps afresh every time (kernels/memory.py keeps only
# blocks under 32 MB), so each call page-faulted it in again.
_SLICE_BYTES = 16 * 2 ** 20


class Unfold(Function):
    """cols = unfold(x):  (N, C, H, W) -> (C kh kw, N OH OW), row c kh kw + i kw + j, column
    n OH OW + oh OW + ow holds x[n, c, oh sh - ph + i, ow sw - pw + j] (0 in the padding).

    Linear in x, so dL/dx = unfold^T(dL/dcols) = fold(dL/dcols).
    """
    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding):
        ctx.x_shape, ctx.geometry = x.shape, (kernel_size, stride, padding)
        return kernels.unfold(x, *kernel_size, stride, padding)

    @staticmethod
    def backward(ctx, grad):
        kernel_size, stride, padding = ctx.geometry
        return Fold.apply(grad, x_shape=ctx.x_shape, kernel_size=kernel_size, stride=stride,
                          padding=padding)


class Fold(Function):
    """x = fold(cols):  (C kh kw, N OH OW) -> x_shape = (N, C, H, W), each column entry added to
    the pixel unfold read it from (entries in the padding dropped).

    fold is the adjoint of unfold, so dL/dcols = unfold(dL/dx).
    """
    @staticmethod
    def forward(ctx, cols, x_shape, kernel_size, stride, padding):
        ctx.geometry = (kernel_size, stride, padding)
        return kernels.fold(cols, x_shape, *kernel_size, stride, padding)

    @staticmethod
    def backward(ctx, grad):
        kernel_size, stride, padding = ctx.geometry
        return Unfold.apply(grad, kernel_size=kernel_size, stride=stride, padding=padding)


class ColsToImage(Function):
    """out[n, o] = y[o, n L : (n+1) L].reshape(OH, OW) + b[o]:  GEMM output (O, N OH OW) and an
    optional bias (O,) -> image batch (N, O, OH, OW).

    dL/dy = image_to_cols(dL/dout);   dL/db[o] = sum over n, oh, ow of dL/dout[n, o].
    """
    @staticmethod
    def forward(ctx, y, *bias, image_hw):
        ctx.image_hw = image_hw
        n = y.shape[1] // (image_hw[0] * image_hw[1])
        return kernels.cols_to_nchw(y, n, *image_hw, *bias)

    @staticmethod
    def backward(ctx, grad):
        grad_y = ImageToCols.apply(grad)
        if len(ctx.inputs) == 1:
            return grad_y
        bias_grad = grad_y.sum(axis=1) if ctx.inputs[1].requires_grad else None
        return grad_y, bias_grad


class ImageToCols(Function):
    """y[c, n L : (n+1) L] = x[n, c].ravel():  (N, C, H, W) -> (C, N H W), L = H W.

    A permutation of entries, so dL/dx = cols_to_image(dL/dy) (its inverse is its adjoint).
    """
    @staticmethod
    def forward(ctx, x):
        ctx.image_hw = x.shape[2:]
        return kernels.nchw_to_cols(x)

    @staticmethod
    def backward(ctx, grad):
        return ColsToImage.apply(grad, image_hw=ctx.image_hw)


# ----------------------------------------------------------------------------- front ends

def _as_tensor(a):
    return a if isinstance(a, Tensor) else Tensor(a)


def _check_4d(name, op, a, layout):
    if a.ndim != 4:
        raise ValueError(f"{op}: {name} must be 4-D {layout}, got shape {a.shape}")


def _stride_padding(op, stride, padding):
    """int or pair -> pairs, checked: stride >= 1, padding >= 0."""
    stride, padding = _pair(stride, "stride"), _pair(padding, "padding")
    if min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"{op}: need stride >= 1 and padding >= 0, got stride {stride}, "
                         f"padding {padding}")
    return stride, padding


def _check_bias_and_dtypes(op, x, weight, bias, channels):
    if bias is not None and bias.shape != (channels,):
        raise ValueError(f"{op}: bias must have shape ({channels},), got {bias.shape}")
    dtypes = {t.dtype for t in (x, weight, bias) if t is not None}
    if len(dtypes) > 1:
        raise TypeError(f"{op}: x is {x.dtype}, weight is {weight.dtype}"
                        + ("" if bias is None else f", bias is {bias.dtype}")
                        + "; cast them to one dtype (x.float() or x.double())")


def _sliced(conv, x, rows, pixels, *args):
    """conv(x, *args) a slice of samples at a time when no graph is recorded and x's GEMM
    buffer (rows, N * pixels) would pass _SLICE_BYTES; None when one call is the way."""
    step = max(1, _SLICE_BYTES // (rows * pixels * x.dtype.itemsize))   # samples a slice
    if is_grad_enabled() or len(x) <= step:
        return None
    return Tensor(np.concatenate([conv(Tensor(x.data[i:i + step]), *args).data
                                  for i in range(0, len(x), step)]))


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """2-D cross-correlation, PyTorch's conv2d (no groups, no dilation).

    x: (N, C, H, W), weight: (O, C, kh, kw), bias: (O,) or None; stride, padding: int or pair.
    -> (N, O, OH, OW), OH = (H + 2 ph - kh) // sh + 1, OW likewise.
    """
    x, weight = _as_tensor(x), _as_tensor(weight)
    bias = None if bias is None else _as_tensor(bias)
    _check_4d("x", "conv2d", x, "(N, C, H, W)")
    _check_4d("weight", "conv2d", weight, "(O, C, kh, kw)")
    (n, c, h, w), (o, cw, kh, kw) = x.shape, weight.shape
    if c != cw:
        raise ValueError(f"conv2d: x has {c} channels (shape {x.shape}) but the weight expects "
                         f"{cw} (weight shape {weight.shape})")
    _check_bias_and_dtypes("conv2d", x, weight, bias, o)
    stride, padding = _stride_padding("conv2d", stride, padding)
    if h + 2 * padding[0] < kh or w + 2 * padding[1] < kw:
        raise ValueError(f"conv2d: kernel ({kh}, {kw}) is larger than the padded input "
                         f"({h + 2 * padding[0]}, {w + 2 * padding[1]}) (x shape {x.shape}, "
                         f"padding {padding})")
    oh, ow = kernels.conv_output_size(h, w, kh, kw, stride, padding)
    sliced = _sliced(conv2d, x, c * kh * kw, oh * ow, weight, bias, stride, padding)
    if sliced is not None:
        return sliced
    cols = Unfold.apply(x, kernel_size=(kh, kw), stride=stride, padding=padding)
    y = weight.reshape(o, c * kh * kw) @ cols                                  # (O, N OH OW)
    return ColsToImage.apply(y, *([] if bias is None else [bias]), image_hw=(oh, ow))


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0):
    """Transposed convolution, PyTorch's conv_transpose2d (no groups, no dilation): the adjoint
    (gradient w.r.t. the input) of conv2d with the same weight, stride and padding.

    x: (N, Cin, H, W), weight: (Cin, Cout, kh, kw), bias: (Cout,) or None.
    -> (N, Cout, OH, OW), OH = (H - 1) sh - 2 ph + kh + output_padding (< stride), OW likewise.
    """
    x, weight = _as_tensor(x), _as_tensor(weight)
    bias = None if bias is None else _as_tensor(bias)
    _check_4d("x", "conv_transpose2d", x, "(N, Cin, H, W)")
    _check_4d("weight", "conv_transpose2d", weight, "(Cin, Cout, kh, kw)")
    (n, cin, h, w), (cw, cout, kh, kw) = x.shape, weight.shape
    if cin != cw:
        raise ValueError(f"conv_transpose2d: x has {cin} channels (shape {x.shape}) but the "
                         f"weight expects {cw} (weight shape {weight.shape})")
    _check_bias_and_dtypes("conv_transpose2d", x, weight, bias, cout)
    stride, padding = _stride_padding("conv_transpose2d", stride, padding)
    output_padding = _pair(output_padding, "output_padding")
    if not all(0 <= p < s for p, s in zip(output_padding, stride)):
        raise ValueError(f"conv_transpose2d: output_padding {output_padding} must be >= 0 and "
                         f"smaller than stride {stride}")
    oh = (h - 1) * stride[0] - 2 * padding[0] + kh + output_padding[0]
    ow = (w - 1) * stride[1] - 2 * padding[1] + kw + output_padding[1]
    if oh < 1 or ow < 1:
        raise ValueError(f"conv_transpose2d: output size ({oh}, {ow}) is empty for x shape "
                         f"{x.shape}, kernel ({kh}, {kw}), stride {stride}, padding {padding}")
    sliced = _sliced(conv_transpose2d, x, cout * kh * kw, h * w, weight, bias, stride, padding,
                     output_padding)
    if sliced is not None:
        return sliced
    cols = weight.reshape(cin, cout * kh * kw).T @ ImageToCols.apply(x)       # (Cout kh kw, N H W)
    out = Fold.apply(cols, x_shape=(n, cout, oh, ow), kernel_size=(kh, kw), stride=stride,
                     padding=padding)
    return out if bias is None else out + bias.reshape(1, cout, 1, 1)
