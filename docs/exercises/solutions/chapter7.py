"""Chapter 7, reference solution: the R1 penalty by double backward."""
import tinygen as tg


def r1_penalty(D, x):
    """R1 (Mescheder et al. 2018): 1/2 * mean over the batch of |d D(x_i) / d x_i|^2.

    x is detached and made a leaf that requires grad (the caller's x is left alone); the
    gradient is taken with create_graph=True, so the penalty is a function of D's weights.
    """
    x = x.detach().requires_grad_()
    g, = tg.grad(D(x).sum(), [x], create_graph=True)
    return 0.5 * (g * g).reshape(len(x), -1).sum(axis=1).mean()
