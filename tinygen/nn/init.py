"""Initialisers: fill a Parameter's array in place, drawing from tinygen.random.

Place in the tower: nn/ (imports tinygen.random and NumPy). Names and formulas follow
torch.nn.init. Every function writes into `tensor.data` (no graph is recorded), keeps its dtype,
and returns the tensor. Pass `rng=` (a np.random.Generator) to draw from your own generator
instead of tinygen.random.get_rng().

Fan-in and fan-out of a weight (PyTorch's convention, used by the Kaiming and Xavier rules):
    Linear weight (out, in):               fan_in = in,          fan_out = out
    Conv weight (A, B, kh, kw):            fan_in = B * kh * kw,  fan_out = A * kh * kw
(for ConvTranspose2d, whose weight is (in, out, kh, kw), this makes fan_in = out * kh * kw.)
"""
import math

import numpy as np

from tinygen import random as _random


def _fill(tensor, values):
    tensor.data[...] = values  # casts to the tensor's dtype; the array stays the same object
    return tensor


def _rng(rng):
    return rng if rng is not None else _random.get_rng()


def uniform_(tensor, a=0.0, b=1.0, rng=None):
    """Fill with U(a, b)."""
    return _fill(tensor, _rng(rng).uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, rng=None):
    """Fill with N(mean, std^2)   (DCGAN: conv weights N(0, 0.02), batch-norm weights N(1, 0.02))."""
    return _fill(tensor, _rng(rng).normal(mean, std, tensor.shape))


def constant_(tensor, value):
    return _fill(tensor, value)


def zeros_(tensor):
    return _fill(tensor, 0)


def ones_(tensor):
    return _fill(tensor, 1)


def calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight with at least 2 dimensions (see the module docstring)."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a weight with at least 2 dimensions, "
                         f"got shape {tensor.shape}")
    receptive_field = int(np.prod(tensor.shape[2:]))
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def calculate_gain(nonlinearity, param=None):
    """The factor that keeps activations' variance steady through a layer followed by
    `nonlinearity`: 1 for linear/conv/sigmoid, 5/3 for tanh, sqrt(2) for relu,
    sqrt(2 / (1 + slope^2)) for leaky_relu (slope = param, default 0.01)."""
    if nonlinearity in ("linear", "conv2d", "conv_transpose2d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


def _kaiming_std(tensor, a, mode, nonlinearity):
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", rng=None):
    """U(-bound, bound), bound = sqrt(3) * gain / sqrt(fan)   (He et al. 2015).

    PyTorch's default for Linear and Conv weights is a = sqrt(5), which gives
    bound = 1 / sqrt(fan_in)."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, rng)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", rng=None):
    """N(0, std^2), std = gain / sqrt(fan)   (He et al. 2015)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), rng)


def xavier_uniform_(tensor, gain=1.0, rng=None):
    """U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out))   (Glorot & Bengio 2010)."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, rng)


def xavier_normal_(tensor, gain=1.0, rng=None):
    """N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))   (Glorot & Bengio 2010)."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)
