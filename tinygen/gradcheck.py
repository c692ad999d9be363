"""gradcheck and gradgradcheck: compare autograd against central differences, every entry.

Place in the tower: gradcheck.py (imports tensor, ops).
Public: use them to test your own ops and losses.

gradcheck(fn, inputs) reduces fn's output to a scalar with a fixed random weighting,
    s(x) = sum(fn(x) * r),    r ~ N(0, 1) drawn once (seeded),
and checks, for every entry i of every input that requires grad,

    autograd  ds/dx_i   against   ( s(x + eps e_i) - s(x - eps e_i) ) / (2 eps),

with |analytic - numeric| <= atol + rtol * |numeric|. The random r makes one backward pass test
the whole Jacobian: a wrong entry of the Jacobian changes ds/dx for almost every r.
Central differences have error O(eps^2) plus rounding O(1e-16 / eps), which is why inputs must
be float64 (in float32 rounding alone is ~1e-7 / eps).

gradgradcheck(fn, inputs) applies the same check to the function
    (x, v) -> d sum(fn(x) * v) / dx      (computed with create_graph=True),
which tests every second derivative, including those through the output weighting v.
"""
import numpy as np

from tinygen.ops import concatenate
from tinygen.tensor import Tensor, grad


class GradcheckError(AssertionError):
    """An analytic gradient differs from its central-difference estimate."""


def _check_inputs(inputs):
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"gradcheck: input {i} is a {type(x).__name__}, not a Tensor")
        if x.requires_grad and x.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {x.dtype}; use float64 inputs "
                            f"(central differences are too coarse in float32)")
    if not any(x.requires_grad for x in inputs):
        raise ValueError("gradcheck: no input has requires_grad=True, nothing to check")
    return inputs


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0):
    """Raise GradcheckError naming input, index, analytic and numeric value on a mismatch.

    fn: callable taking the tensors in `inputs` and returning one Tensor (any shape).
    inputs: list of Tensors; the float64 ones with requires_grad=True are checked.
    Returns True when every entry matches.
    """
    inputs = _check_inputs(inputs)
    out = fn(*inputs)
    r = Tensor(np.random.default_rng(seed).standard_normal(out.shape))

    def scalar():  # not under no_grad: fn may itself take gradients (see gradgradcheck)
        return float(np.sum(fn(*inputs).data * r.data))

    wanted = [x for x in inputs if x.requires_grad]
    if out.requires_grad:
        analytic = grad([out], wanted, grad_outputs=[r], allow_unused=True)
    else:
        analytic = [None] * len(wanted)  # the output does not depend on the inputs at all
    position = {id(x): k for k, x in enumerate(wanted)}

    for i, x in enumerate(inputs):
        if not x.requires_grad:
            continue
        g = analytic[position[id(x)]]
        g = np.zeros(x.shape) if g is None else g.data
        if not x.data.flags.c_contiguous:  # (an empty array shares no memory, but is fine)
            raise ValueError(f"gradcheck: input {i} is not contiguous; pass a contiguous copy")
        flat = x.data.reshape(-1)  # a view: writing to it perturbs x in place
        for j in range(flat.size):
            original = flat[j]
            flat[j] = original + eps
            plus = scalar()
            flat[j] = original - eps
            minus = scalar()
            flat[j] = original
            numeric = (plus - minus) / (2 * eps)
            analytic_j = g.reshape(-1)[j]
            if not abs(analytic_j - numeric) <= atol + rtol * abs(numeric):
                index = np.unravel_index(j, x.shape)
                raise GradcheckError(
                    f"gradient of sum(fn(*inputs) * r) (r: fixed random weights) mismatch "
                    f"for input {i} (shape {x.shape}) at index "
                    f"{tuple(int(k) for k in index)}: analytic {analytic_j:.10g}, "
                    f"numeric {numeric:.10g}")
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0):
    """Check second derivatives: gradcheck of x -> d sum(fn(x) * v) / dx, with v an input too."""
    inputs = _check_inputs(inputs)
    out = fn(*inputs)
    v = Tensor(np.random.default_rng(seed + 1).standard_normal(out.shape), requires_grad=True)
    wanted = [k for k, x in enumerate(inputs) if x.requires_grad]

    def first_derivatives(*args):
        xs, v = args[:-1], args[-1]
        y = fn(*xs)
        gs = grad([y], [xs[k] for k in wanted], grad_outputs=[v], create_graph=True,
                  allow_unused=True)
        flat = [(g if g is not None else Tensor(np.zeros(xs[k].shape))).reshape(-1)
                for g, k in zip(gs, wanted)]
        return concatenate(flat) if len(flat) > 1 else flat[0]

    return gradcheck(first_derivatives, inputs + [v], eps=eps, atol=atol, rtol=rtol, seed=seed)
