"""Functional interface: activations, layers as functions, and the VAE and GAN losses.

Place in the tower: functional.py (imports tensor, function, ops, kernels, random).
Everything here is either one fused op (a Function whose forward is a numba kernel) or a few
lines composed of ops, so every loss can be differentiated twice. Losses take reduction='mean' |
'sum' | 'none'.

Numerical stability is by construction: losses work on logits, never on probabilities, using
    softplus(x) = log(1 + e^x) = max(x, 0) + log(1 + e^-|x|)      (no overflow, no log(0)).
"""
import numpy as np

from tinygen import kernels
from tinygen import random as _random
from tinygen.function import Function
from tinygen.ops import concatenate
from tinygen.ops.conv import conv2d, conv_transpose2d  # noqa: F401  (re-exported)
from tinygen.tensor import Tensor

__all__ = [
    "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "leaky_relu", "softplus",
    "log_sigmoid", "clip", "linear", "pad2d", "conv2d", "conv_transpose2d", "log_softmax",
    "batch_normalize",
    "binary_cross_entropy_with_logits", "mse_loss", "cross_entropy", "gaussian_kl",
    "reparameterize", "gan_real_loss", "gan_fake_loss", "gan_discriminator_loss",
    "gan_generator_loss",
]


# -- activations (the same ops as the Tensor methods) ------------------------------------------
def exp(x): return x.exp()
def log(x): return x.log()
def sqrt(x): return x.sqrt()
def abs(x): return x.abs()  # noqa: A001  (mirrors torch.abs)
def tanh(x): return x.tanh()
def sigmoid(x): return x.sigmoid()
def relu(x): return x.relu()
def leaky_relu(x, slope=0.01): return x.leaky_relu(slope)
def softplus(x): return x.softplus()
def log_sigmoid(x): return x.log_sigmoid()
def clip(x, lo=None, hi=None): return x.clip(lo, hi)


def log_softmax(x, axis=-1):
    """log softmax(x) = x - logsumexp(x)   (stable: logsumexp subtracts the max)"""
    return x - x.logsumexp(axis=axis, keepdims=True)


# -- layers as functions -----------------------------------------------------------------------
def linear(x, weight, bias=None):
    """y = x @ W^T + b;   x: (N, in), W: (out, in) (PyTorch's layout), b: (out,) -> y: (N, out)"""
    if x.shape[-1] != weight.shape[-1]:
        raise ValueError(f"linear: input has {x.shape[-1]} features (shape {x.shape}) but the "
                         f"weight expects {weight.shape[-1]} (weight shape {weight.shape})")
    y = x @ weight.T
    return y if bias is None else y + bias


class BatchNormalize(Function):
    """Batch normalization (Ioffe & Szegedy 2015), per channel c, with an optional affine part:

        x_hat = (x - mean_c) * r_c,    r_c = (var_c + eps)^(-1/2),    y = x_hat * w_c + b_c
        mean_c, var_c = mean and biased variance of x over every axis but axis 1 (the channel's)

    (y = x_hat without w and b). With <.>_c those means and g = dL/dy (mean_c and var_c depend
    on x too):

        dL/dx = r_c * (g w_c - <g w_c>_c - x_hat <g w_c x_hat>_c),
        dL/dw_c = sum of g x_hat over the channel,   dL/db_c = sum of g over the channel.

    forward and backward_numpy (the first-order gradient when no graph is recorded) are numba
    kernels (kernels/batchnorm.py): one op instead of the ~14 it takes composed. backward is the
    same formula in tensor ops, with x_hat rebuilt from x, so it differentiates again.
    """
    @staticmethod
    def forward(ctx, x, *affine, eps, stats):
        if affine:
            y, ctx.x_hat, ctx.mean, ctx.var = kernels.batch_norm_affine(x, *affine, eps)
        else:
            y, ctx.mean, ctx.var = kernels.batch_norm(x, eps)
            ctx.x_hat = y
        ctx.eps = eps
        stats.update(mean=ctx.mean, var=ctx.var)  # for the caller's running estimates
        return y

    @staticmethod
    def backward(ctx, grad):
        x = ctx.inputs[0]
        axes, shape = _channel_axes(x.ndim)
        centered = x - x.mean(axis=axes, keepdims=True)
        r = ((centered * centered).mean(axis=axes, keepdims=True) + ctx.eps) ** -0.5
        x_hat = centered * r
        g = grad if len(ctx.inputs) == 1 else grad * ctx.inputs[1].reshape(shape)
        grad_x = r * (g - g.mean(axis=axes, keepdims=True)
                      - x_hat * (g * x_hat).mean(axis=axes, keepdims=True))
        if len(ctx.inputs) == 1:
            return grad_x
        return grad_x, (grad * x_hat).sum(axis=axes), grad.sum(axis=axes)

    @staticmethod
    def backward_numpy(ctx, grad):
        if len(ctx.inputs) == 1:
            return kernels.batch_norm_grad(grad, ctx.x_hat, ctx.var, ctx.eps)
        need_x, need_w, need_b = ctx.needs_input_grad
        grad_x, grad_w, grad_b = kernels.batch_norm_affine_grad(
            grad, ctx.x_hat, ctx.inputs[1].data, ctx.var, ctx.eps)
        return (grad_x if need_x else None, grad_w if need_w else None,
                grad_b if need_b else None)


def pad2d(x, padding, value=0.0):
    """x (N, C, H, W) -> (N, C, top + H + bottom, left + W + right), the new border filled with
    `value`; padding = (top, bottom, left, right), each >= 0. Built from concatenate, so its
    derivative is the slice of the incoming gradient that lands on x (differentiable again)."""
    top, bottom, left, right = (int(p) for p in padding)
    if min(top, bottom, left, right) < 0 or x.ndim != 4:
        raise ValueError(f"pad2d needs x (N, C, H, W) and padding >= 0, got {x.shape} and "
                         f"{tuple(padding)}")
    n, c, h, w = x.shape

    def fill(*shape):
        return Tensor(np.full(shape, value, dtype=x.data.dtype))

    if left or right:
        x = concatenate([fill(n, c, h, left), x, fill(n, c, h, right)], axis=3)
    if top or bottom:
        x = concatenate([fill(n, c, top, x.shape[3]), x, fill(n, c, bottom, x.shape[3])], axis=2)
    return x


def _channel_axes(ndim):
    """The axes a per-channel statistic runs over, and the broadcastable shape of a (C,) vector."""
    return (0,) + tuple(range(2, ndim)), (1, -1) + (1,) * (ndim - 2)


def batch_normalize(x, eps=1e-5, weight=None, bias=None):
    """Train-mode batch norm of x (N, C, ...) per channel -> (y, mean, var): y a Tensor like x,
    x_hat * weight + bias when weight and bias (C,) are given (both or neither), else x_hat;
    the batch mean and biased var as (C,) arrays of x's dtype."""
    if (weight is None) != (bias is None):
        raise ValueError("batch_normalize: give both weight and bias, or neither")
    stats = {}
    affine = () if weight is None else (weight, bias)
    y = BatchNormalize.apply(x, *affine, eps=eps, stats=stats)
    return y, stats["mean"], stats["var"]


# -- losses ------------------------------------------------------------------------------------
def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


class BCEWithLogits(Function):
    """Elementwise binary cross-entropy of target t under p = sigmoid(x), from the logits x:

        l(x, t) = -t log p - (1 - t) log(1 - p) = softplus(x) - t x
                = max(x, 0) - t x + log(1 + exp(-|x|))           (one fused kernel)
        dl/dx = sigmoid(x) - t,      dl/dt = -x
    """
    @staticmethod
    def forward(ctx, x, t):
        if x.shape != t.shape:
            t = np.broadcast_to(t, x.shape)  # a target like 1.0 for a whole batch of logits
        loss, ctx.sigmoid = kernels.bce_with_logits_and_sigmoid(x, t)  # sigmoid(x): same pass
        return loss

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.inputs
        return (grad * (x.sigmoid() - t) if x.requires_grad else None,
                -grad * x if t.requires_grad else None)

    @staticmethod
    def backward_numpy(ctx, grad):  # from the sigmoid the forward kept: no exp
        x, t = ctx.inputs
        need_x, need_t = ctx.needs_input_grad
        grad_x = None
        if need_x:
            grad_x = ctx.sigmoid - t.data
            grad_x *= grad
        return grad_x, (-grad * x.data if need_t else None)


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """BCE between targets in [0, 1] and sigmoid(logits), computed from the logits (stable)."""
    target = logits._lift(target)
    try:
        fits = np.broadcast_shapes(logits.shape, target.shape) == logits.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"binary_cross_entropy_with_logits: logits shape {logits.shape} and "
                         f"target shape {target.shape} do not match (the target must "
                         f"broadcast to the logits)")
    return _reduce(BCEWithLogits.apply(logits, target), reduction)


def mse_loss(input, target, reduction="mean"):
    """(input - target)^2"""
    if input.shape != getattr(target, "shape", input.shape):
        raise ValueError(f"mse_loss: input shape {input.shape} != target shape {target.shape}")
    diff = input - target
    return _reduce(diff * diff, reduction)


def cross_entropy(logits, labels, reduction="mean"):
    """-log softmax(logits)[label];  logits: (N, K), labels: (N,) integers in [0, K)"""
    labels = np.asarray(labels.data if isinstance(labels, Tensor) else labels)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(f"cross_entropy: logits must be (N, K) and labels (N,), got "
                         f"{logits.shape} and {labels.shape}")
    nll = -log_softmax(logits, axis=1)[np.arange(len(labels)), labels]
    return _reduce(nll, reduction)


# -- the VAE pieces ----------------------------------------------------------------------------
def gaussian_kl(mu, logvar, reduction="sum"):
    """KL( N(mu, exp(logvar)) || N(0, 1) ), per latent entry, in closed form:

        KL = 1/2 (mu^2 + exp(logvar) - 1 - logvar)

    reduction='sum' sums over every entry (batch and latent); use 'none' and sum over axis 1
    for per-example values.
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"gaussian_kl: mu shape {mu.shape} != logvar shape {logvar.shape}")
    return _reduce(0.5 * (mu * mu + logvar.exp() - 1 - logvar), reduction)


def reparameterize(mu, logvar, eps=None, rng=None):
    """z = mu + eps * exp(logvar / 2),  eps ~ N(0, I)  (drawn when not given).

    The reparameterization trick: the randomness sits in eps, which does not depend on the
    parameters, so z is a differentiable function of (mu, logvar):
        dz/dmu = 1,    dz/dlogvar = eps * exp(logvar / 2) / 2.
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"reparameterize: mu shape {mu.shape} != logvar shape {logvar.shape}")
    if eps is None:
        rng = rng if rng is not None else _random.get_rng()
        eps = Tensor(rng.standard_normal(mu.shape, dtype=mu.dtype))
    else:
        eps = mu._lift(eps)
        if eps.shape != mu.shape:
            raise ValueError(f"reparameterize: eps shape {eps.shape} != mu shape {mu.shape}")
    return mu + eps * (0.5 * logvar).exp()


# -- the GAN losses (D outputs logits; D(x) = sigmoid(logit) is the probability x is real) -----
GAN_LOSSES = ("non_saturating", "minimax", "wasserstein")


def _check_gan_kind(kind, where):
    if kind not in GAN_LOSSES:
        raise ValueError(f"{where}: kind must be one of {', '.join(map(repr, GAN_LOSSES))}, "
                         f"got {kind!r}")


def gan_real_loss(real_logits, kind="non_saturating", real_target=1.0, reduction="mean"):
    """D's loss on real samples.

    non_saturating / minimax: -log D(x) = BCE(logit, real_target); real_target < 1 gives
                              one-sided label smoothing (Salimans et al. 2016 use 0.9)
    wasserstein:              -E[logit]  (D is a critic, Arjovsky et al. 2017)
    """
    _check_gan_kind(kind, "gan_real_loss")
    if kind == "wasserstein":
        return _reduce(-real_logits, reduction)
    return binary_cross_entropy_with_logits(real_logits, real_target, reduction)


def gan_fake_loss(fake_logits, kind="non_saturating", reduction="mean"):
    """D's loss on generated samples: -log(1 - D(G(z))) = BCE(logit, 0); wasserstein: E[logit]."""
    _check_gan_kind(kind, "gan_fake_loss")
    if kind == "wasserstein":
        return _reduce(fake_logits, reduction)
    return binary_cross_entropy_with_logits(fake_logits, 0.0, reduction)


def gan_discriminator_loss(real_logits, fake_logits, real_target=1.0, reduction="mean",
                           kind="non_saturating"):
    """D's whole loss: gan_real_loss + gan_fake_loss; -log D(x) - log(1 - D(G(z))) by default."""
    return (gan_real_loss(real_logits, kind, real_target, reduction)
            + gan_fake_loss(fake_logits, kind, reduction))


def gan_generator_loss(fake_logits, kind="non_saturating", reduction="mean"):
    """The generator's loss on D's logits for its samples.

    non_saturating: -log D(G(z)) = softplus(-logit)   strong gradients early (Goodfellow 2014)
    minimax:   log(1 - D(G(z))) = -softplus(logit)    the original zero-sum game
    wasserstein:    -E[logit]
    """
    _check_gan_kind(kind, "gan_generator_loss")
    if kind == "non_saturating":
        return _reduce((-fake_logits).softplus(), reduction)
    if kind == "minimax":
        return _reduce(-fake_logits.softplus(), reduction)
    return _reduce(-fake_logits, reduction)
