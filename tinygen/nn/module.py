"""Module and Parameter: the containers every layer and model is built from.

Place in the tower: nn/ (imports tinygen.tensor and NumPy only). The bookkeeping follows PyTorch:

- assigning a Parameter or a Module to an attribute registers it (`self.fc = Linear(2, 3)`), so
  `named_parameters()` finds "fc.weight" and "fc.bias" by walking the tree of modules;
- buffers (`register_buffer`) are state that is saved but not trained, such as batch norm's
  running statistics: they are in `state_dict()` but not in `parameters()`;
- `state_dict()` maps every dotted name to a copy of its array; `load_state_dict` checks all
  names, shapes and dtypes first and only then copies the values in place, so a failed load
  leaves the module untouched and optimizers keep pointing at the same Parameter objects.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from tinygen.tensor import Tensor

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Parameter(Tensor):
    """A Tensor that a Module trains: requires_grad=True, found by `module.parameters()`."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)
        self.data = np.ascontiguousarray(self.data)  # updated in place by the optimizers

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models. Subclasses set attributes in __init__ (after calling
    super().__init__()) and define forward(...); calling the module runs forward.

        class MLP(Module):
            def __init__(self):
                super().__init__()
                self.fc1, self.fc2 = Linear(2, 16), Linear(16, 1)
            def forward(self, x):
                return self.fc2(self.fc1(x).relu())
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", {})  # name -> Parameter (or None: no bias)
        object.__setattr__(self, "_buffers", {})     # name -> Tensor (not trained, but saved)
        object.__setattr__(self, "_modules", {})     # name -> Module
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- attribute registration --------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__ and isinstance(value, (Parameter, Module)):
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() is called; "
                                 f"call super().__init__() first in {type(self).__name__}")
        d = self.__dict__
        if isinstance(value, Parameter):
            self._forget(name)
            d["_parameters"][name] = value
        elif isinstance(value, Module):
            self._forget(name)
            d["_modules"][name] = value
        elif name in d.get("_parameters", ()):
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to parameter {name!r} "
                                f"(a Parameter or None is expected)")
            d["_parameters"][name] = None
        elif name in d.get("_buffers", ()):
            d["_buffers"][name] = _as_buffer(name, value)
        else:
            self._forget(name)
            object.__setattr__(self, name, value)

    def _forget(self, name):
        for registry in ("_parameters", "_buffers", "_modules"):
            self.__dict__.get(registry, {}).pop(name, None)
        self.__dict__.pop(name, None)

    def __getattr__(self, name):  # only called when normal lookup fails
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if name in d.get(registry, ()):
                return d[registry][name]
        hint = " (did its __init__ call super().__init__()?)" if "_parameters" not in d else ""
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}{hint}")

    def __delattr__(self, name):
        if name in self.__dict__ or any(name in self.__dict__[r] for r in
                                        ("_parameters", "_buffers", "_modules")):
            self._forget(name)
        else:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def register_buffer(self, name: str, value) -> None:
        """Register state that is saved in state_dict() but is not a Parameter."""
        self._forget(name)
        self._buffers[name] = _as_buffer(name, value)

    # -- walking the tree --------------------------------------------------------------------
    def named_modules(self, prefix=""):
        """(dotted name, module) for this module and every module below it, depth first."""
        stack = [(prefix, self)]
        seen = set()
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{n}" if name else n, m) for n, m in module._modules.items()]
            stack.extend(reversed(children))

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_children(self):
        return iter(self._modules.items())

    def children(self):
        return iter(self._modules.values())

    def _named(self, registry):
        seen = set()
        for prefix, module in self.named_modules():
            for name, value in getattr(module, registry).items():
                if value is not None and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{prefix}.{name}" if prefix else name), value

    def named_parameters(self):
        """(dotted name, Parameter) pairs; a Parameter shared by two modules appears once."""
        return self._named("_parameters")

    def parameters(self):
        return (p for _, p in self.named_parameters())

    def named_buffers(self):
        return self._named("_buffers")

    def buffers(self):
        return (b for _, b in self.named_buffers())

    # -- modes, gradients, dtype -------------------------------------------------------------
    def train(self, mode: bool = True):
        """Training mode (batch norm uses batch statistics, dropout drops). Returns self."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        """Evaluation mode (batch norm uses running statistics, dropout is the identity)."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Set every parameter's .grad to None (the next backward() starts afresh)."""
        for p in self.parameters():
            p.grad = None

    def apply(self, fn):
        """Call fn(module) on every module below this one and then on this one; returns self.
        The usual way to apply a custom initialisation:  model.apply(weights_init)."""
        for module in reversed(list(self.modules())):
            fn(module)
        return self

    def to(self, dtype):
        """Convert floating-point parameters and buffers to `dtype` (np.float32 or np.float64)
        in place; the Parameter objects stay the same, so do this before making an optimizer."""
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"Module.to: dtype must be float32 or float64, got {dtype}")
        for t in list(self.parameters()) + list(self.buffers()):
            if t.data.dtype.kind == "f":
                t.data = t.data.astype(dtype)
                if t.grad is not None:
                    t.grad = Tensor(t.grad.data.astype(dtype))
        return self

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    # -- saving and loading ------------------------------------------------------------------
    def _state_tensors(self) -> dict:
        """{dotted name: Parameter or buffer}: each module's parameters, then its buffers."""
        tensors = {}
        for prefix, module in self.named_modules():
            for registry in ("_parameters", "_buffers"):
                for name, t in getattr(module, registry).items():
                    if t is not None:
                        tensors[f"{prefix}.{name}" if prefix else name] = t
        return tensors

    def state_dict(self) -> dict:
        """{dotted name: np.ndarray copy} of every parameter and buffer (PyTorch's names)."""
        return {name: t.data.copy() for name, t in self._state_tensors().items()}

    def check_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Raise ValueError listing every problem that load_state_dict would hit; touch nothing.

        Problems: names missing from or unexpected in `state_dict` (only when strict), a shape
        different from the module's, or a dtype that cannot be cast to the module's (float ->
        int). Returns the missing and unexpected names.
        """
        own = self._state_tensors()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        if strict and missing:
            problems.append("missing: " + ", ".join(f"{k} {own[k].shape}" for k in missing))
        if strict and unexpected:
            problems.append("unexpected: " + ", ".join(
                f"{k} {np.shape(state_dict[k])}" for k in unexpected))
        for name, t in own.items():
            if name not in state_dict:
                continue
            value = np.asarray(state_dict[name])
            if value.shape != t.shape:
                problems.append(f"shape mismatch for {name}: given {value.shape}, "
                                f"module has {t.shape}")
            elif not np.can_cast(value.dtype, t.dtype, casting="same_kind"):
                problems.append(f"dtype mismatch for {name}: given {value.dtype}, "
                                f"module has {t.dtype}")
        if problems:
            raise ValueError(f"cannot load state_dict into {type(self).__name__}:\n  "
                             + "\n  ".join(problems))
        return IncompatibleKeys(missing, unexpected)

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values into the existing parameters and buffers, after check_state_dict.

        Values keep the module's dtype (a float64 array loads into a float32 parameter as
        float32). strict=False skips missing and unexpected names (shapes are still checked).
        """
        result = self.check_state_dict(state_dict, strict)
        for name, t in self._state_tensors().items():
            if name in state_dict:
                t.data[...] = np.asarray(state_dict[name])
        return result

    # -- printing ----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"  ({name}): " + repr(m).replace("\n", "\n  ") for name, m in
                 self._modules.items()]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        head = self.extra_repr()
        return f"{type(self).__name__}(" + (f"\n  {head}" if head else "") + "\n" + \
            "\n".join(lines) + "\n)"


def _as_buffer(name, value):
    if value is None or isinstance(value, Tensor) and not value.requires_grad:
        return value
    if isinstance(value, Tensor):
        raise TypeError(f"buffer {name!r} must not require grad (use a Parameter for that)")
    return Tensor(np.asarray(value))
