"""Chapter 2, reference solution: undo broadcasting (the adjoint of np.broadcast_to)."""
import numpy as np


def unbroadcast(grad, shape):
    """Sum grad (shaped like the broadcast result) back to `shape`.

    Broadcasting prepends axes and stretches axes of size 1; both copy values, and the adjoint
    of copying is summing. So sum over the leading axes, then over the axes where `shape` has a
    1 (keeping them), and the result has exactly `shape`.
    """
    grad = np.asarray(grad)
    lead = grad.ndim - len(shape)
    summed = grad.sum(axis=tuple(range(lead))) if lead else grad
    ones = tuple(i for i, n in enumerate(shape) if n == 1 and summed.shape[i] != 1)
    return summed.sum(axis=ones, keepdims=True) if ones else summed
