"""Chapter 8 exercise: a Euclidean norm whose gradient is finite at the zero vector.

Check:  python docs/exercises/check.py chapter8 this_file.py
"""


def safe_norm(x, axis=-1, eps=1e-12):
    """|x| over `axis` for a Tensor x (within sqrt(eps) of the exact norm), same dtype as x,
    with a finite gradient everywhere, including x = 0."""
    raise NotImplementedError("your code here")
