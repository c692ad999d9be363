"""The Tensor, the graph it records, and reverse-mode differentiation.

Place in the tower: tensor.py (above kernels/). A Tensor wraps a NumPy array (`.data`). When an op
runs on tensors that require gradients, it returns a Tensor whose `_ctx` remembers the op and its
inputs: following `_ctx.inputs` from the loss back to the parameters walks the whole graph.

`backward()` and `grad()` walk that graph once, in reverse topological order (computed with an
explicit stack, so a graph of a million ops does not hit Python's recursion limit). At each node
the op's own `backward` turns the gradient of its output into gradients of its inputs (the chain
rule, one link at a time). Two rules are enforced here, in one place, for every op:

- broadcasting is undone: a gradient shaped like the broadcast output is summed back to the
  input's shape (`_unbroadcast`), and
- every accumulated gradient must then have exactly its tensor's shape.

Op backwards are written with Tensor ops, so with `create_graph=True` the gradient computation is
itself recorded and can be differentiated again (gradient penalties, `gradgradcheck`). Without it,
an op's optional `backward_numpy` (the same derivative on arrays) runs instead (`_op_backward`).

The Tensor methods (`x.exp()`, `a + b`, ...) are thin: each calls one op from tinygen.ops, which
is imported at the bottom of this file because the ops are built on top of Tensor.
"""
from __future__ import annotations

import contextlib

import numpy as np

# ---------------------------------------------------------------------------------------------
# Grad mode: inside `no_grad()` ops record nothing (evaluation, optimizer updates).
# ---------------------------------------------------------------------------------------------
_grad_enabled = True


def is_grad_enabled() -> bool:
    return _grad_enabled


@contextlib.contextmanager
def _grad_mode(enabled: bool):
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, enabled
    try:
        yield
    finally:
        _grad_enabled = previous


def no_grad():
    """Context manager: ops inside it build no graph.   `with tg.no_grad(): y = model(x)`"""
    return _grad_mode(False)


def enable_grad():
    """Context manager: turn recording back on (e.g. inside a no_grad block)."""
    return _grad_mode(True)


# ---------------------------------------------------------------------------------------------
# Tensor
# ---------------------------------------------------------------------------------------------
def _to_array(data, dtype) -> np.ndarray:
    """NumPy arrays and NumPy scalars keep their dtype; Python numbers and lists become float32."""
    if dtype is None and type(data) is np.ndarray:  # every op's output: nothing to convert
        return data
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data)
        return array if dtype is None else array.astype(dtype, copy=False)
    return np.asarray(data, dtype=np.float32 if dtype is None else dtype)


class Tensor:
    """An n-dimensional array that can record the ops applied to it.

    data:          the np.ndarray holding the values
    requires_grad: whether gradients flow to this tensor (only floating-point tensors)
    grad:          after `loss.backward()`, d loss / d self as a Tensor (None before)
    _ctx:          the Context of the op that produced this tensor (None for leaves and
                   for tensors made while no gradient was needed)
    """

    __slots__ = ("data", "requires_grad", "grad", "_ctx", "__weakref__")
    __array_priority__ = 1000  # `ndarray * Tensor` calls Tensor.__rmul__, not NumPy's loop

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        self.data = _to_array(data, dtype)
        if requires_grad and not np.issubdtype(self.data.dtype, np.floating):
            raise TypeError(f"requires_grad=True needs a floating-point tensor, got dtype "
                            f"{self.data.dtype}")
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self._ctx = None

    # -- plain properties ------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)

    def numel(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({np.array2string(self.data, precision=4, threshold=20)}{grad})"

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> float:
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def detach(self) -> "Tensor":
        """Same data, cut from the graph: gradients do not flow through the result."""
        return Tensor(self.data)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        if flag and not np.issubdtype(self.data.dtype, np.floating):
            raise TypeError(f"requires_grad=True needs a floating-point tensor, got dtype "
                            f"{self.data.dtype}")
        self.requires_grad = flag
        return self

    # -- differentiation ---------------------------------------------------------------------
    def backward(self, grad=None, create_graph: bool = False) -> None:
        """Accumulate d self / d leaf into `leaf.grad` for every leaf that requires grad.

        grad: d L / d self, shaped like self; may be omitted only when self is a scalar
              (then it is 1).  create_graph: record the backward pass so the gradients
              themselves can be differentiated.
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad (it was computed "
                               "from tensors without requires_grad=True, or under no_grad())")
        if grad is None and self.data.size != 1:
            raise RuntimeError(f"backward() on a non-scalar tensor of shape {self.shape} needs "
                               f"grad=... (d L / d self), or reduce it to a scalar first")
        for leaf, g in _backpropagate([self], [grad], create_graph).items():
            if not create_graph and not g.data.flags.writeable:
                g = Tensor(np.array(g.data))  # e.g. sum's broadcast view: .grad owns its memory
            leaf.grad = g if leaf.grad is None else leaf.grad + g

    # -- conversions -------------------------------------------------------------------------
    def astype(self, dtype) -> "Tensor":
        return ops.Cast.apply(self, dtype=np.dtype(dtype))

    def float(self) -> "Tensor":
        return self.astype(np.float32)

    def double(self) -> "Tensor":
        return self.astype(np.float64)

    # -- arithmetic (NumPy broadcasting) -----------------------------------------------------
    def _lift(self, other) -> "Tensor":
        """Python numbers, and NumPy integers, become constants of *this* tensor's dtype
        (float32 stays float32: x * np.int64(2) must not promote x to float64)."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (bool, int, float, np.integer, np.bool_)):
            dtype = self.data.dtype
            if dtype.kind != "f":  # an integer tensor times 0.5 must not truncate 0.5 to 0
                dtype = np.result_type(dtype, other)
            return Tensor(np.asarray(other, dtype=dtype))
        if isinstance(other, np.ndarray) and other.dtype.kind in "biu" and self.dtype.kind == "f":
            return Tensor(other.astype(self.dtype))
        return Tensor(other)

    def __add__(self, other): return ops.Add.apply(self, self._lift(other))
    def __radd__(self, other): return ops.Add.apply(self._lift(other), self)
    def __sub__(self, other): return ops.Sub.apply(self, self._lift(other))
    def __rsub__(self, other): return ops.Sub.apply(self._lift(other), self)
    def __mul__(self, other): return ops.Mul.apply(self, self._lift(other))
    def __rmul__(self, other): return ops.Mul.apply(self._lift(other), self)
    def __truediv__(self, other): return ops.Div.apply(self, self._lift(other))
    def __rtruediv__(self, other): return ops.Div.apply(self._lift(other), self)
    def __neg__(self): return ops.Neg.apply(self)
    def __matmul__(self, other): return ops.MatMul.apply(self, self._lift(other))
    def __rmatmul__(self, other): return ops.MatMul.apply(self._lift(other), self)

    def __pow__(self, exponent):
        if isinstance(exponent, Tensor) or not np.isscalar(exponent):
            raise TypeError("x ** p needs a Python number p (use exp(p * log(x)) for a tensor p)")
        return ops.Pow.apply(self, exponent=float(exponent))

    # -- elementwise ---------------------------------------------------------------------------
    def exp(self): return ops.Exp.apply(self)
    def log(self): return ops.Log.apply(self)
    def sqrt(self): return ops.Sqrt.apply(self)
    def abs(self): return ops.Abs.apply(self)
    def tanh(self): return ops.Tanh.apply(self)
    def sigmoid(self): return ops.Sigmoid.apply(self)
    def relu(self): return ops.Relu.apply(self)
    def leaky_relu(self, slope=0.01): return ops.LeakyRelu.apply(self, slope=float(slope))
    def softplus(self): return ops.Softplus.apply(self)
    def log_sigmoid(self): return ops.LogSigmoid.apply(self)
    def clip(self, lo=None, hi=None): return ops.Clip.apply(self, lo=lo, hi=hi)

    # -- reductions ----------------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False): return ops.Sum.apply(self, axis=axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return ops.mean(self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return ops.Max.apply(self, axis=axis, keepdims=keepdims)
    def logsumexp(self, axis=None, keepdims=False): return ops.logsumexp(self, axis, keepdims)

    # -- movement ------------------------------------------------------------------------------
    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return ops.Reshape.apply(self, shape=tuple(shape))

    def permute(self, *dims):
        dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        return ops.Permute.apply(self, dims=tuple(dims))

    def transpose(self, dim0, dim1):
        """Swap two axes (PyTorch's meaning; use permute for a general reordering)."""
        dims = list(range(self.ndim))
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return self.permute(dims)

    @property
    def T(self):
        return self.permute(tuple(reversed(range(self.ndim))))

    def broadcast_to(self, shape):
        return ops.BroadcastTo.apply(self, shape=tuple(shape))

    def __getitem__(self, index):
        return ops.GetItem.apply(self, index=ops.normalize_index(index))


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Make a Tensor. NumPy float arrays keep their dtype; Python numbers/lists become float32."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Reverse mode
# ---------------------------------------------------------------------------------------------
def _topological_order(roots):
    """Every tensor that requires grad and leads to `roots`, inputs before the ops using them.

    Depth-first search with an explicit stack: (tensor, False) means "visit its inputs",
    (tensor, True) means "its inputs are done, emit it".
    """
    order, seen = [], set()
    stack = [(root, False) for root in roots]
    while stack:
        t, inputs_done = stack.pop()
        if inputs_done:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        if t._ctx is not None:
            stack.extend((x, False) for x in t._ctx.inputs if x.requires_grad and id(x) not in seen)
    return order


def _unbroadcast(grad: Tensor, shape: tuple) -> Tensor:
    """Sum a gradient shaped like a broadcast result back to `shape` (the input's shape).

    Broadcasting copies an input along new leading axes and along axes of size 1; the adjoint of
    a copy is a sum, so we sum over exactly those axes.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead < 0:
        return grad  # cannot be undone; the shape check below reports it
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    summed = grad.sum(axis=axes, keepdims=True) if axes else grad
    if summed.shape[lead:] != tuple(shape):
        return summed  # not a broadcast of `shape`; the shape check below reports it
    return summed.reshape(shape) if lead else summed


# [profile hook] tinygen.profile sets this while it is on, else it stays None and every op pays
# one `is None` test. hook(op_class, "forward" | "backward") -> that method, wrapped in a timer.
_profile_hook = None


def _backpropagate(outputs, grad_outputs, create_graph, wanted=None):
    """Run the chain rule from `outputs` back through the graph.

    Returns {tensor: d sum(outputs * grad_outputs) / d tensor} for the tensors in `wanted`
    (default: every leaf that requires grad and leads to an output). Other gradients are
    dropped as soon as they have been passed on, so memory holds only the frontier.
    With create_graph=False the work runs under no_grad: the gradients are plain constants.

    Only tensors on a path to a wanted tensor get a gradient (`needed`); before each op's
    backward the engine sets ctx.needs_input_grad (PyTorch's name), so an op may skip an input
    nobody needs -- e.g. a GAN's generator update asks for G's parameters only, and D's weight
    gradients (one big GEMM per layer) are never computed.
    """
    wanted_ids = None if wanted is None else {id(x) for x in wanted}
    grads = {}  # id(tensor) -> gradient Tensor accumulated so far
    for out, g in zip(outputs, grad_outputs):
        g = Tensor(np.ones_like(out.data)) if g is None else out._lift(g)
        if g.shape != out.shape:
            raise ValueError(f"grad_output has shape {g.shape} but its output has shape "
                             f"{out.shape}")
        if g.dtype != out.dtype:
            raise TypeError(f"grad_output is {g.dtype} but its output is {out.dtype}; cast it")
        grads[id(out)] = grads[id(out)] + g if id(out) in grads else g

    order = _topological_order(outputs)  # inputs before the ops that use them
    needed = {id(t) for t in order} if wanted_ids is None else set()
    if wanted_ids is not None:
        for t in order:
            if id(t) in wanted_ids or (t._ctx is not None
                                       and any(id(x) in needed for x in t._ctx.inputs)):
                needed.add(id(t))
    result = {}
    with _grad_mode(create_graph):
        for t in reversed(order):
            g = grads.pop(id(t), None)
            if g is None or id(t) not in needed:
                continue
            ctx = t._ctx
            if (ctx is None) if wanted_ids is None else (id(t) in wanted_ids):
                result[t] = g
            if ctx is None:
                continue
            ctx.needs_input_grad = tuple(id(x) in needed for x in ctx.inputs)
            input_grads = _op_backward(ctx, g, create_graph)
            for x, gx, need in zip(ctx.inputs, input_grads, ctx.needs_input_grad):
                if gx is None or not need:
                    continue
                gx = _unbroadcast(gx, x.shape)
                if gx.shape != x.shape or gx.dtype != x.dtype:
                    raise RuntimeError(f"{ctx.fn.__name__}.backward returned a gradient of shape "
                                       f"{gx.shape} and dtype {gx.dtype} for an input of shape "
                                       f"{x.shape} and dtype {x.dtype}")
                grads[id(x)] = grads[id(x)] + gx if id(x) in grads else gx
    return result


def _op_backward(ctx, g, create_graph):
    """One link of the chain rule: the op's input gradients (a tuple) from g = dL/d(output).

    With create_graph=False an op's optional `backward_numpy` (arrays in, arrays out; see
    tinygen.function) runs instead of its differentiable `backward`, which is then not needed.
    """
    fast = not create_graph and ctx.fn.backward_numpy is not None
    phase = "backward_numpy" if fast else "backward"
    hook = _profile_hook  # [profile hook] None unless tinygen.profile is on
    backward = getattr(ctx.fn, phase) if hook is None else hook(ctx.fn, phase)
    if fast:
        input_grads = backward(ctx, g.data)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        return tuple(None if gx is None else Tensor(gx) for gx in input_grads)
    input_grads = backward(ctx, g)
    return input_grads if isinstance(input_grads, tuple) else (input_grads,)


def grad(outputs, inputs, grad_outputs=None, create_graph=False, allow_unused=False):
    """d sum_i(outputs[i] * grad_outputs[i]) / d inputs[j] for each j, as a list of Tensors.

    Unlike backward(), nothing is written into `.grad`. With create_graph=True the returned
    gradients are part of the graph and can be differentiated again.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            raise RuntimeError(f"grad(): input {i} (shape {x.shape}) does not require grad")
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not out.requires_grad:
            raise RuntimeError(f"grad(): output {i} does not require grad (computed under "
                               f"no_grad(), or from tensors without requires_grad=True)")
        if g is None and out.data.size != 1:
            raise RuntimeError(f"grad(): output {i} has shape {out.shape}; pass grad_outputs "
                               f"for non-scalar outputs")
    grads = _backpropagate(outputs, grad_outputs, create_graph, wanted=inputs)
    found = {id(t): g for t, g in grads.items()}
    result = []
    for i, x in enumerate(inputs):
        g = found.get(id(x))
        if g is None and not allow_unused:
            raise RuntimeError(f"grad(): input {i} (shape {x.shape}) is not used to compute the "
                               f"outputs; pass allow_unused=True to get None for it")
        result.append(g)
    return result


from tinygen import ops  # noqa: E402  (the ops are built on Tensor, so they come after it)
