"""Chapter 7 exercise: the R1 penalty (Mescheder et al. 2018) by double backward.

Check:  python docs/exercises/check.py chapter7 this_file.py
"""
import tinygen as tg


def r1_penalty(D, x):
    """1/2 * mean over the batch of |d D(x_i) / d x_i|^2, for a critic D mapping (N, ...) to
    logits (N, 1), as a Tensor that can be differentiated with respect to D's weights.
    Do not change the caller's x."""
    raise NotImplementedError("your code here")
