"""What tg.profile's hook costs an op: when off (the default) and when on.

    python benchmarks/profile_overhead.py

Off, the engine does `hook = _tensor._profile_hook` and one `is None` test per forward and per
backward; this script times that check in isolation (the same statement with and without it)
next to a whole `Function.apply` of a tiny op, so the share is visible. On, each op method is
wrapped in a timer closure. Best of several repeats (a shared machine adds noise, never
removes it).
"""
import importlib
import timeit

import numpy as np

import tinygen as tg
from tinygen.ops import Add

engine = importlib.import_module("tinygen.tensor")


def best_ns(statement, number, scope, repeat=25):
    return min(timeit.repeat(statement, number=number, repeat=repeat, globals=scope)) / number * 1e9


def main():
    a = tg.tensor(np.ones(4, np.float32), requires_grad=True)
    b = tg.tensor(np.ones(4, np.float32))
    scope = dict(Add=Add, a=a, b=b, engine=engine, cls=Add)
    n = 200_000
    with_check = best_ns("hook = engine._profile_hook\n"
                         "f = cls.forward if hook is None else hook(cls, 'forward')", n, scope)
    without = best_ns("f = cls.forward", n, scope)
    apply_off = best_ns("Add.apply(a, b)", 20_000, scope)
    with tg.profile(kernels=False):
        apply_on = best_ns("Add.apply(a, b)", 20_000, scope)
    print(f"the disabled check:        {with_check - without:6.1f} ns per op method "
          f"({with_check:.1f} - {without:.1f} ns)")
    print(f"Add.apply, profile off:    {apply_off:6.0f} ns   (so the check is "
          f"{(with_check - without) / apply_off * 100:.1f} % of a tiny op)")
    print(f"Add.apply, profile on:     {apply_on:6.0f} ns   (+{apply_on - apply_off:.0f} ns "
          f"while profiling)")


if __name__ == "__main__":
    main()
