"""Where the time goes: forward and backward time per op class, and per kernel.

    with tg.profile() as prof:
        loss = model_loss(model, x)
        loss.backward()
        optimizer.step()
    print(prof)

    op                pass        calls    total ms   share
    MatMul            backward        4       1.92    38.0 %
    MatMul            forward         4       0.98    19.4 %
    ...

Place in the tower: the floor of gradcheck, testing and viz: above tensor.py and function.py,
below nn/. Imports the standard library (importlib, time), tinygen.tensor (the engine's hook)
and tinygen.kernels (to time the kernels' front ends). The engine never imports this file; it
exposes one hook instead, `tinygen.tensor._profile_hook`, which is None unless a profile is on.
Off, an op pays one `is None` test per forward and per backward and nothing else (measured at
5-7 ns, 0.3 % of the ~2.7 us that `apply` of a tiny op costs: benchmarks/profile_overhead.py).
On, the engine calls hook(op_class, "forward" | "backward") and runs the method it returns:
the op's own method wrapped in a timer (about +0.6 us per op).

What a row counts:
- forward:  the op's `forward` on arrays (the kernel or NumPy call and its bookkeeping);
- backward: the op's `backward`, *including* the ops it applies to build the gradient (MatMul's
  backward is two MatMuls). Ops applied inside a backward are not counted again as forwards,
  so the rows add up to the time spent inside op methods, and the shares to 100 %.
- ops the engine applies itself (the Sum and Reshape that undo broadcasting, the Add that
  accumulates `.grad`) are rows of their own: they run outside any op's backward;
- "outside op methods" is the rest of the block's wall time: the engine between ops (apply's
  dtype checks and Tensor making, the topological sort, the gradients' bookkeeping), Python
  code of the model, the optimizer, data loading.
- kernels: every call of a tinygen.kernels front end (unfold, fold, sigmoid, adam_update, ...),
  timed by swapping the names in the tinygen.kernels namespace for timed wrappers while the
  profile is on (the ops call them as `kernels.unfold(...)`). Their time is already inside the
  op rows (adam_update runs in the optimizer, outside every op). A numba kernel's first call in
  a process includes loading (or compiling) it: warm up before profiling.

Profiles nest (each records everything inside it) and every exit, also by an exception,
restores the hook and the kernel names that were there before.

A name to know: `import tinygen` binds `tinygen.profile` to the function `profile` below, over
this submodule's name; reach the classes with `from tinygen.profile import Profile, Stat`.
"""
from __future__ import annotations

import importlib
import time

from tinygen import kernels as _kernels

# The module tinygen.tensor, whose `_profile_hook` we set. (`from tinygen import tensor` would
# give the function tg.tensor(), which the package binds over the submodule's name.)
_tensor = importlib.import_module("tinygen.tensor")

# Names in tinygen.kernels that are not kernels: the NumPy twins and helpers.
_NOT_KERNELS = ("conv_output_size", "keep_freed_memory", "keep_freed_memory_unless_opted_out")


class Stat:
    """calls and total seconds of one row."""

    __slots__ = ("calls", "seconds")

    def __init__(self):
        self.calls, self.seconds = 0, 0.0

    def __repr__(self):
        return f"Stat(calls={self.calls}, seconds={self.seconds:.6f})"


class Profile:
    """Context manager that times every op (and kernel) run inside it. Make one with
    `tg.profile()`; read `str(prof)`, or the numbers:

    ops:     {(op name, "forward" | "backward"): Stat}     e.g. prof.ops["MatMul", "forward"].calls
    kernels: {kernel name: Stat}                          (empty if made with kernels=False)
    wall:    seconds between entering and leaving the block
    """

    def __init__(self, kernels: bool = True):
        self.ops, self.kernels, self.wall = {}, {}, 0.0
        self._time_kernels = kernels
        self._depth = 0          # > 0 while an op method is running: ops inside it are folded in
        self._previous = None    # the hook that was installed before this profile (nesting)
        self._saved_kernels = {}
        self._start = None

    # -- on and off ---------------------------------------------------------------------------
    def __enter__(self) -> "Profile":
        if self._start is not None:
            raise RuntimeError("this profile is already running; make a new one with "
                               "tg.profile()")
        self._previous = _tensor._profile_hook
        _tensor._profile_hook = self._hook
        if self._time_kernels:
            self._wrap_kernels()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc_info) -> bool:
        self.wall += time.perf_counter() - self._start
        self._start = None
        for name, function in self._saved_kernels.items():
            setattr(_kernels, name, function)
        self._saved_kernels = {}
        _tensor._profile_hook = self._previous
        return False  # an exception inside the block propagates

    # -- the hook the engine calls ------------------------------------------------------------
    def _hook(self, op, phase):
        """The engine's call: op's `forward`, `backward` or `backward_numpy`, wrapped so its
        time is recorded (both backwards under "backward")."""
        method = getattr(op, phase) if self._previous is None else self._previous(op, phase)
        if self._depth:
            return method  # an op applied inside another op's method: counted in that one
        key = (op.__name__, "backward" if phase.startswith("backward") else phase)

        def timed(*args, **kwargs):
            self._depth += 1
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self._record(self.ops, key, time.perf_counter() - start)
                self._depth -= 1
        return timed

    def _wrap_kernels(self):
        for name in _kernels.__all__:
            if name.endswith("_numpy") or name in _NOT_KERNELS:
                continue
            self._saved_kernels[name] = function = getattr(_kernels, name)
            setattr(_kernels, name, self._timed_kernel(name, function))

    def _timed_kernel(self, name, function):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self._record(self.kernels, name, time.perf_counter() - start)
        timed.__wrapped__ = function
        return timed

    @staticmethod
    def _record(table, key, seconds):
        stat = table.get(key)
        if stat is None:
            stat = table[key] = Stat()
        stat.calls += 1
        stat.seconds += seconds

    # -- reading the numbers ------------------------------------------------------------------
    @property
    def total(self) -> float:
        """Seconds spent inside op methods (the sum of the op rows)."""
        return sum(stat.seconds for stat in self.ops.values())

    def rows(self):
        """[(op name, pass, calls, seconds, share of `total`)], the slowest first."""
        total = self.total or 1.0
        rows = [(op, phase, s.calls, s.seconds, s.seconds / total)
                for (op, phase), s in self.ops.items()]
        return sorted(rows, key=lambda row: (-row[3], row[0], row[1]))

    def table(self) -> str:
        """The table `print(prof)` shows: op rows, their total, and the kernels."""
        lines = [f"{'op':<24}{'pass':<10}{'calls':>7}{'total ms':>12}{'share':>9}"]
        for op, phase, calls, seconds, share in self.rows():
            lines.append(f"{op:<24}{phase:<10}{calls:>7}{seconds * 1e3:>12.3f}"
                         f"{share * 100:>7.1f} %")
        calls = sum(s.calls for s in self.ops.values())
        lines.append(f"{'inside op methods':<34}{calls:>7}{self.total * 1e3:>12.3f}"
                     f"{100.0 if self.ops else 0.0:>7.1f} %")
        outside = max(self.wall - self.total, 0.0)
        lines.append(f"{'outside op methods':<34}{'':>7}{outside * 1e3:>12.3f}   (engine, "
                     f"model code, optimizer; wall {self.wall * 1e3:.3f} ms)")
        if self.kernels:
            lines.append("")
            lines.append(f"{'kernel (within the rows above)':<34}{'calls':>7}"
                         f"{'total ms':>12}{'% wall':>9}")
            wall = self.wall or 1.0
            for name, s in sorted(self.kernels.items(), key=lambda kv: -kv[1].seconds):
                lines.append(f"{name:<34}{s.calls:>7}{s.seconds * 1e3:>12.3f}"
                             f"{s.seconds / wall * 100:>7.1f} %")
        return "\n".join(lines)

    __str__ = table

    def __repr__(self):
        return f"<Profile: {len(self.ops)} op rows, {self.total * 1e3:.3f} ms in ops>"


def profile(kernels: bool = True) -> Profile:
    """`with tg.profile() as prof: ...` then `print(prof)`: time per op class and pass (and per
    tinygen.kernels call unless kernels=False), sorted by time. See this module's docstring."""
    return Profile(kernels=kernels)
