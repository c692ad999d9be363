"""The Adam update as one fused in-place pass over (param, grad, m, v).

Floor: kernels (the bottom of the tower). Imports numpy and numba only; no Tensor in here.

PyTorch's Adam rule (torch.optim.Adam, with L2 weight decay added to the gradient, not AdamW),
for step = 1, 2, ... (Kingma & Ba 2015, Algorithm 1):

    g      = grad + weight_decay * param
    m      = beta1 * m + (1 - beta1) * g
    v      = beta2 * v + (1 - beta2) * g**2
    m_hat  = m / (1 - beta1**step),   v_hat = v / (1 - beta2**step)
    param -= lr * m_hat / (sqrt(v_hat) + eps)

NumPy would need about ten temporaries for this; the kernel reads each array once and writes
param, m and v in place. `adam_update_numpy` is the twin the tests compare against.
"""
import math

import numba
import numpy as np


@numba.njit(cache=True, error_model="numpy")  # IEEE division: see the docstring
def adam_update_kernel(param, grad, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, eps,
                       weight_decay, step_size, inv_sqrt_bc2):
    """In place on 1-D param, m, v (grad read only); the rule in the module docstring, with
    the bias corrections folded into two scalars (as PyTorch does):

        param -= step_size * m / (sqrt(v) * inv_sqrt_bc2 + eps),
        step_size = lr / (1 - beta1**step),   inv_sqrt_bc2 = 1 / sqrt(1 - beta2**step).

    Every scalar arrives in the arrays' dtype (see adam_update), so a float32 update runs in
    float32 arithmetic, vectorized, instead of converting every element to float64 and back;
    so 1 - beta arrives precomputed (a literal 1 would promote to float64) and the root is
    np.sqrt (math.sqrt returns a float64). With error_model="numpy" the division follows IEEE
    (as the NumPy twin does) instead of checking every divisor for zero, which is what kept
    LLVM from vectorizing the loop (no vdivps/vsqrtps in the machine code before).
    """
    for k in range(param.size):
        g = grad[k] + weight_decay * param[k]
        mk = beta1 * m[k] + one_minus_beta1 * g        # locals, not m[k] re-read: the
        vk = beta2 * v[k] + one_minus_beta2 * g * g    # arrays might alias, which would
        m[k], v[k] = mk, vk                            # stop the loop from vectorizing
        param[k] -= step_size * mk / (np.sqrt(vk) * inv_sqrt_bc2 + eps)


def _check_state(param, grad, m, v, step):
    for name, a in (("grad", grad), ("m", m), ("v", v)):
        if a.shape != param.shape or a.dtype != param.dtype:
            raise ValueError(f"adam_update: {name} is {a.shape} {a.dtype}, "
                             f"param is {param.shape} {param.dtype}")
    for name, a in (("param", param), ("m", m), ("v", v)):
        if not a.flags.c_contiguous or not a.flags.writeable:
            raise ValueError(f"adam_update: {name} must be a writeable C-contiguous array")
    if int(step) != step or step < 1:
        raise ValueError(f"adam_update: step must be an integer >= 1, got {step!r}")


def adam_update(param, grad, m, v, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                step=1):
    """One Adam step, in place on param, m and v (all the same shape and dtype as grad)."""
    _check_state(param, grad, m, v, step)
    scalar = param.dtype.type  # the kernel computes in the arrays' dtype
    step_size = lr / (1 - beta1 ** step)
    inv_sqrt_bc2 = 1 / math.sqrt(1 - beta2 ** step)
    adam_update_kernel(param.reshape(-1), np.ascontiguousarray(grad).reshape(-1), m.reshape(-1),
                       v.reshape(-1), scalar(beta1), scalar(1 - beta1), scalar(beta2),
                       scalar(1 - beta2), scalar(eps), scalar(weight_decay), scalar(step_size),
                       scalar(inv_sqrt_bc2))


def adam_update_numpy(param, grad, m, v, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                      step=1):
    """NumPy twin of `adam_update` (same in-place contract)."""
    _check_state(param, grad, m, v, step)
    g = grad + weight_decay * param
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** step)
    v_hat = v / (1 - beta2 ** step)
    param -= lr * m_hat / (np.sqrt(v_hat) + eps)
