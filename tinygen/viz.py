"""A picture of the graph: Graphviz DOT text of the ops that produced a tensor, and a drawing.

    loss = (a * b + b.exp()).sum()
    print(viz.to_dot(loss))                  # DOT text: paste it into any Graphviz viewer
    viz.draw(loss, "graph.svg")              # needs Graphviz's `dot` program

    with viz.record_modules(model) as calls:       # note which ops each nn.Module ran...
        loss = vae_loss(model, x)
    viz.draw(loss, "vae.png", modules=calls,       # ...and draw each module call as one box
             params=dict(model.named_parameters(), x=x))

Place in the tower: the floor of gradcheck, testing and profile: above tensor.py and function.py,
below nn/. Imports the standard library (contextlib, os, shutil, subprocess, tempfile) and
tinygen.tensor. It reads only what the engine records anyway -- `t._ctx` (None for a leaf),
`ctx.fn.__name__`, `ctx.inputs` -- so drawing costs the engine nothing, and it knows a model
only by duck typing (`named_modules()`, `children()`, `forward`), never by importing tinygen.nn,
which sits above it.

The picture: one node per op (the Function's name, its output's shape and dtype) and one per
leaf: by its name in `params`; else, if it requires grad, by its shape; else as a constant in
grey ("const" and its shape, or its value if it has one element). An edge runs from each input
to the op using it (an input used twice, as in x * x, gives two edges). The output has a double
border.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile

from tinygen.tensor import Tensor

INSTALL_HINT = ("tinygen.viz.draw needs Graphviz's `dot` program, which is not on PATH: install "
                "it (`apt-get install graphviz`, `brew install graphviz` or `conda install "
                "graphviz`), or use tinygen.viz.to_dot(...) for the DOT text")

_STYLE = {  # Graphviz attributes per kind of node
    "op": 'shape=box, style="rounded,filled", fillcolor="#fff2cc"',
    "param": 'shape=ellipse, style=filled, fillcolor="#dae8fc"',
    "leaf": 'shape=ellipse, style=filled, fillcolor="#d5e8d4"',
    "const": 'shape=ellipse, style=dashed, color="#888888", fontcolor="#555555"',
    "module": 'shape=box3d, style=filled, fillcolor="#e1d5e7"',
}


class GraphvizNotFound(RuntimeError):
    """draw() found no `dot` program on PATH (the message says how to install it)."""


# ---------------------------------------------------------------------------------------------
# Recording which module ran which ops (only inside `record_modules`)
# ---------------------------------------------------------------------------------------------
class ModuleCall:
    """One call of a module: its dotted name, class name, input and output tensors."""

    __slots__ = ("name", "kind", "leaf", "inputs", "outputs")

    def __init__(self, name, kind, leaf, inputs, outputs):
        self.name, self.kind, self.leaf = name, kind, leaf
        self.inputs, self.outputs = inputs, outputs

    @property
    def depth(self) -> int:
        """0 for the model itself, 1 for its children ("fc1"), 2 for "encoder.0", ..."""
        return self.name.count(".") + 1 if self.name else 0


def _tensors(value):
    """Every Tensor inside value (a Tensor, or tuples, lists, dicts of them)."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v)]
    return []


@contextlib.contextmanager
def record_modules(model):
    """Context manager: records a ModuleCall for every call of `model` or a module inside it.

    Yields the list the calls are appended to; pass it to to_dot/draw as `modules=`. While the
    block runs, each module's `forward` is wrapped by an instance attribute (removed on exit,
    also by an exception), so outside the block modules run exactly as before, at no cost.
    The calls hold their input and output tensors (and so the graph) until the list is dropped.
    """
    calls = []
    patched = []
    try:
        for name, module in model.named_modules():
            had_own = "forward" in module.__dict__
            forward = module.forward
            leaf = next(iter(module.children()), None) is None
            module.__dict__["forward"] = _recorded(calls, name, type(module).__name__, leaf,
                                                   forward)
            patched.append((module, had_own, forward))
        yield calls
    finally:
        for module, had_own, forward in patched:
            if had_own:
                module.__dict__["forward"] = forward
            else:
                del module.__dict__["forward"]


def _recorded(calls, name, kind, leaf, forward):
    def recorded_forward(*args, **kwargs):
        out = forward(*args, **kwargs)
        calls.append(ModuleCall(name, kind, leaf, _tensors((args, kwargs)), _tensors(out)))
        return out
    return recorded_forward


def _boxes(calls, depth):
    """Which collapsed call each tensor was made in: ({id(op tensor): call}, {id(leaf): call}).

    A call is collapsed when its module sits `depth` levels below the model, or higher up but
    with no sub-modules (a lone Linear). Its ops are found by walking back from its outputs to
    its inputs: what lies between was computed inside the call, and the leaves met on the way
    (its parameters, constants it made) were used inside it.
    """
    ops, leaves = {}, {}
    chosen = [c for c in calls if c.depth == depth or (c.depth < depth and c.leaf)]
    for call in sorted(chosen, key=lambda c: -c.depth):  # a deeper call claims its ops first
        stop = {id(t) for t in call.inputs}
        stack = [t for t in call.outputs if id(t) not in stop]
        while stack:
            t = stack.pop()
            if t._ctx is None:
                leaves.setdefault(id(t), call)
            elif id(t) not in ops:
                ops[id(t)] = call
                stack.extend(x for x in t._ctx.inputs if id(x) not in stop)
    return ops, leaves


# ---------------------------------------------------------------------------------------------
# DOT text
# ---------------------------------------------------------------------------------------------
def _walk(output):
    """Every tensor that led to `output`, each input before the ops that use it."""
    order, seen, stack = [], set(), [(output, False)]
    while stack:
        t, inputs_done = stack.pop()
        if inputs_done:
            order.append(t)
        elif id(t) not in seen:
            seen.add(id(t))
            stack.append((t, True))
            if t._ctx is not None:
                stack.extend((x, False) for x in reversed(t._ctx.inputs) if id(x) not in seen)
    return order


def _shape(t) -> str:
    return f"({', '.join(str(n) for n in t.shape)}{',' if t.ndim == 1 else ''})"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _leaf_label(t, names, show_grad):
    if id(t) in names:  # a named constant (the data batch, say) keeps the constant style
        kind = "param" if t.requires_grad else "const"
        label = f"{names[id(t)]}\n{_shape(t)} {t.dtype}"
    elif t.requires_grad:
        label, kind = f"{_shape(t)} {t.dtype}", "leaf"
    elif t.data.size == 1:
        label, kind = f"{t.data.item():.4g}", "const"
    else:
        label, kind = f"const {_shape(t)} {t.dtype}", "const"
    if show_grad and t.grad is not None:
        label += f"\ngrad {_shape(t.grad)}"
    return label, kind


def _box_label(call, leaves, names, show_grad):
    out = ", ".join(f"{_shape(t)} {t.dtype}" for t in call.outputs) or "no tensor output"
    lines = [f"{call.name or 'model'}: {call.kind}", out]
    for t in leaves:
        if t.requires_grad:
            name = names.get(id(t), "param")
            name = name[len(call.name) + 1:] if call.name and name.startswith(call.name + ".") \
                else name
            grad = f", grad {_shape(t.grad)}" if show_grad and t.grad is not None else ""
            lines.append(f"{name} {_shape(t)}{grad}".strip())
    return "\n".join(lines)


def to_dot(output, params=None, show_grad=False, modules=None, depth=1, rankdir="LR") -> str:
    """Graphviz DOT text of the graph that produced `output` (a Tensor).

    params:    {name: tensor} naming leaves, e.g. dict(model.named_parameters(), x=x)
    show_grad: add "grad (shape)" to the leaves whose .grad is set (after backward())
    modules:   the calls recorded by `record_modules(model)`: each module call at `depth` levels
               below the model (1: its children; or a module without sub-modules above that)
               is drawn as one box, named "fc1: Linear", with its output shape and the
               parameters it used; edges into and out of a box are drawn once.
    rankdir:   "LR" (inputs left, output right) or "TB" (top to bottom)
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"to_dot needs the Tensor whose graph to draw, got "
                        f"{type(output).__name__}")
    names = {id(t): name for name, t in (params or {}).items()}
    order = _walk(output)
    box_of, box_leaf_of = _boxes(modules or [], depth)

    def unit(t):  # what t is drawn as: the box of the module call that made it, or itself
        return box_of.get(id(t), t)

    users = {}  # id(tensor) -> ids of the units whose ops use it
    for t in order:
        for x in t._ctx.inputs if t._ctx is not None else ():
            users.setdefault(id(x), set()).add(id(unit(t)))
    inside = {}  # id(call) -> the leaves used by its box only: named in its label, not drawn
    for t in order:
        call = box_leaf_of.get(id(t))
        if call is not None and users.get(id(t)) == {id(call)}:
            inside.setdefault(id(call), []).append(t)
    hidden = {id(t) for leaves in inside.values() for t in leaves}

    lines = ["digraph tinygen {", f"  rankdir={rankdir};",
             '  node [fontname="Helvetica", fontsize=11];', '  edge [color="#555555"];']
    node, count = {}, {"m": 0, "n": 0}  # id(unit) -> node id: m0, m1, ... boxes; n0, ... others
    for t in order:
        u = unit(t)
        if id(t) in hidden or id(u) in node:
            continue
        prefix = "m" if u is not t else "n"
        node[id(u)] = f"{prefix}{count[prefix]}"
        count[prefix] += 1
        if u is not t:
            label, kind = _box_label(u, inside.get(id(u), []), names, show_grad), "module"
        elif t._ctx is None:
            label, kind = _leaf_label(t, names, show_grad)
        else:
            label, kind = f"{t._ctx.fn.__name__}\n{_shape(t)} {t.dtype}", "op"
        bold = ", peripheries=2" if u is unit(output) else ""
        lines.append(f"  {node[id(u)]} [label={_quote(label)}, {_STYLE[kind]}{bold}];")

    drawn = set()  # (src, dst) pairs with a box at one end: drawn once
    for t in (t for t in order if t._ctx is not None):
        dst = node[id(unit(t))]
        for x in t._ctx.inputs:
            src = node.get(id(unit(x)))
            if src is None or src == dst:  # a leaf named inside a box, or an edge inside one
                continue
            if src[0] == "m" or dst[0] == "m":
                if (src, dst) in drawn:
                    continue
                drawn.add((src, dst))
            lines.append(f"  {src} -> {dst};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Drawing through Graphviz
# ---------------------------------------------------------------------------------------------
def draw(output, path, dpi=150, **options) -> str:
    """Write the graph of `output` to `path` (.svg, .png or .pdf) with Graphviz's `dot`.

    options go to to_dot (params, show_grad, modules, depth, rankdir); dpi applies to .png.
    Without `dot` on PATH, raises GraphvizNotFound with one line saying how to install it. The
    file appears whole or not at all (written to a temporary file, then renamed).
    """
    fmt = os.path.splitext(str(path))[1].lstrip(".").lower()
    if fmt not in ("svg", "png", "pdf"):
        raise ValueError(f"draw: {path!r} should end in .svg, .png or .pdf")
    text = to_dot(output, **options)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"draw: the folder {folder} does not exist")
    program = shutil.which("dot")
    if program is None:
        raise GraphvizNotFound(INSTALL_HINT)
    command = [program, f"-T{fmt}"] + ([f"-Gdpi={dpi}"] if fmt == "png" else [])
    result = subprocess.run(command, input=text.encode(), capture_output=True, check=False)
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"draw: dot failed: {message[0] if message else result.returncode}")
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".draw-", suffix=f".{fmt}")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; give the usual mode
        with os.fdopen(handle, "wb") as f:
            f.write(result.stdout)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return str(path)
