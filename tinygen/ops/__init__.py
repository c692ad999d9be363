"""The op set, grouped by kind. Place in the tower: ops/; every op is a tinygen.Function.

elementwise  arithmetic with broadcasting; exp, log, sigmoid, relu, softplus, ...
reduce       sum, max, mean, logsumexp
movement     reshape, permute, broadcast, indexing, concatenate/stack
matmul       2-D and batched matrix products
conv         unfold/fold and the conv2d / conv_transpose2d built on them
"""
from tinygen.ops.elementwise import (Abs, Add, Cast, Clip, Div, Exp, LeakyRelu, Log, LogSigmoid,
                                     Maximum, Minimum, Mul, Neg, Pow, Relu, Sigmoid, Softplus,
                                     Sqrt, Sub, Tanh, Where)
from tinygen.ops.matmul import MatMul
from tinygen.ops.movement import (BroadcastTo, Concatenate, GetItem, IndexAdd, Permute, Reshape,
                                  concatenate, normalize_index, stack)
from tinygen.ops.reduce import Max, Sum, logsumexp, mean
