"""The layers: Linear, Conv2d, ConvTranspose2d, BatchNorm1d/2d, Embedding, Dropout, activations,
Flatten/Unflatten, Pad2d/Crop2d, Sequential.

Place in the tower: nn/ (imports tensor, functional, random, nn.module, nn.init).
Each layer owns its Parameters (PyTorch's names, shapes and default initialisations, so a
state_dict moves between tinygen and PyTorch unchanged) and calls tinygen.functional in forward.
"""
import math

import numpy as np

from tinygen import functional as F
from tinygen import random as _random
from tinygen.function import constant
from tinygen.nn import init
from tinygen.nn.module import Module, Parameter
from tinygen.tensor import no_grad


def _pair(value, name):
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return tuple(int(v) for v in pair)


def _empty(*shape):
    return Parameter(np.zeros(shape, dtype=np.float32))


def _reset_weight_and_bias(weight, bias):
    """PyTorch's default: weight ~ kaiming_uniform(a=sqrt(5)), i.e. U(+-1/sqrt(fan_in)), and
    bias ~ U(+-1/sqrt(fan_in)) with the weight's fan_in."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init.calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(bias, -bound, bound)


class Linear(Module):
    """y = x W^T + b;   x: (N, in_features) -> y: (N, out_features).
    weight: (out_features, in_features), bias: (out_features,)."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = _empty(out_features, in_features)
        self.bias = _empty(out_features) if bias else None
        _reset_weight_and_bias(self.weight, self.bias)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Conv2d(Module):
    """2-D convolution (cross-correlation, like PyTorch);  x: (N, C_in, H, W) -> (N, C_out, OH, OW)
    with OH = (H + 2 padding - kh) // stride + 1.
    weight: (out_channels, in_channels, kh, kw), bias: (out_channels,)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride, self.padding = _pair(stride, "stride"), _pair(padding, "padding")
        self.weight = _empty(out_channels, in_channels, *self.kernel_size)
        self.bias = _empty(out_channels) if bias else None
        _reset_weight_and_bias(self.weight, self.bias)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}")


class ConvTranspose2d(Module):
    """The adjoint of Conv2d ("deconvolution");  x: (N, C_in, H, W) -> (N, C_out, OH, OW) with
    OH = (H - 1) stride - 2 padding + kh + output_padding.
    weight: (in_channels, out_channels, kh, kw) -- PyTorch's layout, whose default init
    therefore uses fan_in = out_channels * kh * kw."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, bias=True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride, self.padding = _pair(stride, "stride"), _pair(padding, "padding")
        self.output_padding = _pair(output_padding, "output_padding")
        self.weight = _empty(in_channels, out_channels, *self.kernel_size)
        self.bias = _empty(out_channels) if bias else None
        _reset_weight_and_bias(self.weight, self.bias)

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, stride=self.stride,
                                  padding=self.padding, output_padding=self.output_padding)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, "
                f"output_padding={self.output_padding}, bias={self.bias is not None}")


class _BatchNorm(Module):
    """Batch normalization (Ioffe & Szegedy 2015), per channel c:

        y = (x - mean_c) / sqrt(var_c + eps) * weight_c + bias_c

    train mode: mean_c and var_c are the batch's (var biased: divided by n, the number of
        entries per channel), and the running estimates move towards them,
            running_mean <- (1 - momentum) running_mean + momentum mean_c
            running_var  <- (1 - momentum) running_var  + momentum var_c * n / (n - 1)
        (the running variance is the unbiased one, as in PyTorch);
    eval mode: mean_c, var_c are running_mean, running_var (constants).
    Train mode is one op, F.batch_normalize (the affine part included), whose backward is
    written with tensor ops, so it differentiates to any order.
    """

    _input_dims = ()  # allowed x.ndim values, set by the subclasses

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = Parameter(np.ones(num_features, dtype=np.float32)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype=np.float32)) if affine else None
        self.register_buffer("running_mean", np.zeros(num_features, dtype=np.float32))
        self.register_buffer("running_var", np.ones(num_features, dtype=np.float32))
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def forward(self, x):
        if x.ndim not in self._input_dims or x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}): expected input of "
                             f"{' or '.join(map(str, self._input_dims))} dimensions with "
                             f"{self.num_features} channels on axis 1, got shape {x.shape}")
        shape = (1, -1) + (1,) * (x.ndim - 2)           # a per-channel vector, broadcastable
        if self.training:
            n = x.data.size // self.num_features
            if n < 2:
                raise ValueError(f"{type(self).__name__}: training needs more than one value "
                                 f"per channel, got input shape {x.shape}")
            # one op, the affine part included (functional.py)
            y, mean, var = F.batch_normalize(x, self.eps, self.weight, self.bias)
            self._update_running_stats(mean, var, n)
            return y
        mean = constant(self.running_mean.data.reshape(shape), like=x)
        var = constant(self.running_var.data.reshape(shape), like=x)
        y = (x - mean) / (var + self.eps).sqrt()
        if self.weight is not None:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        return y

    def _update_running_stats(self, mean, var, n):
        m = self.momentum
        with no_grad():
            self.running_mean.data[...] = (1 - m) * self.running_mean.data + m * mean
            self.running_var.data[...] = (1 - m) * self.running_var.data + m * var * n / (n - 1)
            self.num_batches_tracked.data[...] += 1

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.weight is not None}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over x: (N, C) or (N, C, L); statistics per channel C."""
    _input_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over x: (N, C, H, W); statistics per channel C over N, H, W."""
    _input_dims = (4,)


class Embedding(Module):
    """A lookup table: row y of `weight` for every index y (PyTorch's nn.Embedding).

        input: integer array (...) with entries in [0, num_embeddings) -> (..., embedding_dim)
        weight: (num_embeddings, embedding_dim), initialised N(0, 1) as in PyTorch.

    y = weight[input] is indexing, so its gradient is the scatter-add of dL/dy into the rows
    that were looked up (a row used twice gets both gradients); that adjoint is again an op
    (movement.IndexAdd), so the layer differentiates to any order. Equivalent to one_hot(input)
    @ weight without building the one-hot matrix. tinygen uses it for class labels.
    """

    def __init__(self, num_embeddings, embedding_dim):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = _empty(num_embeddings, embedding_dim)
        init.normal_(self.weight, 0.0, 1.0)

    def forward(self, input):
        index = np.asarray(input.data if hasattr(input, "data") else input)
        if not np.issubdtype(index.dtype, np.integer):
            raise TypeError(f"Embedding: indices must be integers, got {index.dtype}")
        if index.size and (index.min() < 0 or index.max() >= self.num_embeddings):
            raise IndexError(f"Embedding({self.num_embeddings}, {self.embedding_dim}): indices "
                             f"must be in [0, {self.num_embeddings}), got {index.min()}.."
                             f"{index.max()}")
        return self.weight[index.astype(np.int64)]

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


class Dropout(Module):
    """train: y = x * mask / (1 - p), mask_i ~ Bernoulli(1 - p) from tinygen.random (so
    E[y] = x);   eval: y = x."""

    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x * 0.0
        keep = _random.get_rng().random(x.shape) >= self.p
        return x * constant(keep / (1 - self.p), like=x)

    def extra_repr(self):
        return f"p={self.p}"


class ReLU(Module):
    """max(x, 0)"""
    def forward(self, x): return x.relu()


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x   (DCGAN's discriminator uses 0.2)"""
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x): return x.leaky_relu(self.negative_slope)
    def extra_repr(self): return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    """tanh(x)"""
    def forward(self, x): return x.tanh()


class Sigmoid(Module):
    """1 / (1 + exp(-x))"""
    def forward(self, x): return x.sigmoid()


class Flatten(Module):
    """Merge axes start_dim..end_dim into one:  (N, C, H, W) -> (N, C*H*W) by default."""
    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        start, end = self.start_dim % x.ndim, self.end_dim % x.ndim
        return x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1:])


class Unflatten(Module):
    """Split axis `dim` into `unflattened_size`:  Unflatten(1, (C, H, W)): (N, C*H*W) -> (N, C, H, W)."""
    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        dim = self.dim % x.ndim
        if int(np.prod(self.unflattened_size)) != x.shape[dim]:
            raise ValueError(f"Unflatten: axis {self.dim} of shape {x.shape} has {x.shape[dim]} "
                             f"entries, which cannot be split into {self.unflattened_size}")
        return x.reshape(x.shape[:dim] + self.unflattened_size + x.shape[dim + 1:])


class Pad2d(Module):
    """(N, C, H, W) -> (N, C, top + H + bottom, left + W + right), the border set to `value`;
    padding = (top, bottom, left, right). Crop2d with the same padding undoes it."""
    def __init__(self, padding, value=0.0):
        super().__init__()
        self.padding, self.value = tuple(int(p) for p in padding), float(value)

    def forward(self, x): return F.pad2d(x, self.padding, self.value)
    def extra_repr(self): return f"padding={self.padding}, value={self.value}"


class Crop2d(Module):
    """(N, C, H, W) -> (N, C, H - top - bottom, W - left - right): the border cut off;
    padding = (top, bottom, left, right), as in Pad2d."""
    def __init__(self, padding):
        super().__init__()
        self.padding = tuple(int(p) for p in padding)

    def forward(self, x):
        top, bottom, left, right = self.padding
        return x[:, :, top:x.shape[2] - bottom, left:x.shape[3] - right]

    def extra_repr(self): return f"padding={self.padding}"


class Sequential(Module):
    """Modules applied in order; they are registered as "0", "1", ... (PyTorch's names)."""

    def __init__(self, *modules):
        super().__init__()
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: argument {i} is a {type(module).__name__}, "
                                f"not a Module")
            setattr(self, str(i), module)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, i):
        return list(self._modules.values())[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())
