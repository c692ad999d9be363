"""Optimizers: SGD (with momentum) and Adam, with PyTorch's update rules and state_dict format.

Place in the tower: optim.py (imports tensor, kernels and NumPy).
An optimizer holds references to the Parameters it updates. `step()` reads each `p.grad` and
changes `p.data` in place (no graph is recorded); parameters whose grad is None are skipped.
`zero_grad()` sets every grad to None.

Parameters come in groups, each a dict {"params": [...], "lr": ..., ...}; passing a plain list of
parameters makes one group. Per-parameter state (momentum buffers, Adam's moments and step count)
lives in `self.state[p]`. `state_dict()` refers to parameters by their position in the groups
(0, 1, 2, ... in order), as PyTorch does, so it can be loaded into a fresh optimizer over a fresh
model and training continues bit for bit.
"""
from __future__ import annotations

import copy

import numpy as np

from tinygen import kernels
from tinygen.tensor import Tensor


class Optimizer:
    """Base class: parameter groups, zero_grad, state_dict / load_state_dict."""

    def __init__(self, params, defaults: dict):
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        self.defaults = defaults
        self.param_groups = []
        self.state = {}  # Parameter -> dict of its state
        seen = set()
        for group in groups:
            group = {**defaults, **group, "params": list(group["params"])}
            for p in group["params"]:
                if not isinstance(p, Tensor) or not p.requires_grad:
                    raise TypeError(f"{type(self).__name__} can only optimize Tensors with "
                                    f"requires_grad=True, got {type(p).__name__}")
                if id(p) in seen:
                    raise ValueError(f"{type(self).__name__}: a parameter appears twice")
                seen.add(id(p))
            self.param_groups.append(group)

    def _params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self) -> None:
        for p in self._params():
            p.grad = None

    def step(self) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """{"state": {index: {name: value}}, "param_groups": [{hyperparameters, "params":
        [indices]}]}; arrays are copies, so later steps do not change a saved state_dict."""
        index = {id(p): i for i, p in enumerate(self._params())}
        groups, start = [], 0
        for group in self.param_groups:
            n = len(group["params"])
            groups.append({**copy.deepcopy({k: v for k, v in group.items() if k != "params"}),
                           "params": list(range(start, start + n))})
            start += n
        state = {index[id(p)]: copy.deepcopy(s) for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def check_state_dict(self, state_dict) -> None:
        """Raise ValueError if `state_dict` does not fit these parameter groups (group count,
        parameters per group, the shapes of per-parameter arrays); touch nothing."""
        params = self._params()
        try:
            groups, state = state_dict["param_groups"], state_dict["state"]
        except (TypeError, KeyError):
            raise ValueError(f"{type(self).__name__}: not an optimizer state_dict (needs "
                             f"'state' and 'param_groups')") from None
        sizes = [len(g["params"]) for g in groups]
        if sizes != [len(g["params"]) for g in self.param_groups]:
            raise ValueError(f"{type(self).__name__}: state_dict has groups of "
                             f"{sizes} parameters, this optimizer has "
                             f"{[len(g['params']) for g in self.param_groups]}")
        problems = []
        for i, s in state.items():
            if not 0 <= int(i) < len(params):
                problems.append(f"state for parameter {i}, but there are {len(params)}")
                continue
            for name, value in s.items():
                if isinstance(value, np.ndarray) and value.shape != params[int(i)].shape:
                    problems.append(f"parameter {i}: {name} has shape {value.shape}, "
                                    f"the parameter has {params[int(i)].shape}")
        if problems:
            raise ValueError(f"{type(self).__name__}: state_dict does not fit:\n  "
                             + "\n  ".join(problems))

    def load_state_dict(self, state_dict) -> None:
        """Restore hyperparameters and per-parameter state (arrays in each parameter's dtype)."""
        self.check_state_dict(state_dict)
        params = self._params()
        for group, saved in zip(self.param_groups, state_dict["param_groups"]):
            group.update({k: copy.deepcopy(v) for k, v in saved.items() if k != "params"})
        self.state = {}
        for i, s in state_dict["state"].items():
            p = params[int(i)]
            self.state[p] = {name: self._restore(name, value, p) for name, value in s.items()}

    @staticmethod
    def _restore(name, value, p):
        if name == "step":
            return int(value)
        return np.array(value, dtype=p.data.dtype)  # a copy in the parameter's dtype


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's rule (dampening 0, no Nesterov):

        g = grad + weight_decay * p
        b = g                      on the first step (momentum buffer), then
        b = momentum * b + g       (g = b when momentum > 0)
        p = p - lr * g
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: lr, momentum and weight_decay must be >= 0, got lr={lr}, "
                             f"momentum={momentum}, weight_decay={weight_decay}")
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    def step(self) -> None:
        for group in self.param_groups:
            lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                if wd != 0:
                    g = g + wd * p.data
                if momentum != 0:
                    state = self.state.setdefault(p, {})
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = g.copy()
                    else:
                        buf = state["momentum_buffer"]
                        buf *= momentum
                        buf += g
                    g = state["momentum_buffer"]
                p.data -= lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with PyTorch's rule (L2 weight decay added to the gradient):

        t = t + 1
        g = grad + weight_decay * p
        m = beta1 m + (1 - beta1) g              v = beta2 v + (1 - beta2) g^2
        m_hat = m / (1 - beta1^t)                v_hat = v / (1 - beta2^t)
        p = p - lr m_hat / (sqrt(v_hat) + eps)

    One fused in-place pass per parameter (tinygen.kernels.adam_update).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        beta1, beta2 = betas
        if lr < 0 or eps < 0 or weight_decay < 0 or not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"Adam: need lr, eps, weight_decay >= 0 and betas in [0, 1), got "
                             f"lr={lr}, betas={betas}, eps={eps}, weight_decay={weight_decay}")
        super().__init__(params, dict(lr=lr, betas=(beta1, beta2), eps=eps,
                                      weight_decay=weight_decay))

    def step(self) -> None:
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.setdefault(p, {})
                if not state:
                    state.update(step=0, exp_avg=np.zeros_like(p.data),
                                 exp_avg_sq=np.zeros_like(p.data))
                state["step"] += 1
                kernels.adam_update(p.data, p.grad.data, state["exp_avg"],
                                    state["exp_avg_sq"], group["lr"], beta1, beta2,
                                    group["eps"], group["weight_decay"], state["step"])

