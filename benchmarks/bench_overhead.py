"""Python overhead per op: a graph of small ops, forward + backward, tinygen against PyTorch eager.

Benchmarks sit outside the tower (public API only).

    python benchmarks/bench_overhead.py [--ops 200] [--repeats 15]

The graph: x (16 float32 entries, requires grad) -> `--ops` elementwise ops (mul, add, tanh in
turn) -> sum -> backward. With 16 entries the arithmetic is negligible, so the time per op is
what the framework spends around it: building the graph node, dispatch, the backward loop.
Timed with the CPU time of the calling thread (one thread); min and median over repeats; both
frameworks alternate in one process.
"""
import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's tinygen
import tinygen as tg  # noqa: E402

try:
    import torch
except ImportError:
    torch = None


def chain(x, n_ops):
    for i in range(n_ops):
        x = (x * 0.999, x + 0.001, x.tanh())[i % 3]
    return x


def tinygen_step(n_ops):
    x = tg.tensor(np.linspace(-1, 1, 16, dtype=np.float32), requires_grad=True)
    return lambda: chain(x, n_ops).sum().backward()


def torch_step(n_ops):
    x = torch.linspace(-1, 1, 16, requires_grad=True)
    return lambda: chain(x, n_ops).sum().backward()


def per_op_us(step, n_ops, repeats):
    step()
    times = []
    for _ in range(repeats):
        start = time.thread_time()
        step()
        times.append((time.thread_time() - start) / n_ops * 1e6)
    return np.array(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    steps = {"tinygen": tinygen_step(args.ops)}
    if torch is not None:
        torch.set_num_threads(1)
        steps["pytorch"] = torch_step(args.ops)
    results = {name: [] for name in steps}
    for _ in range(args.repeats):  # alternate, so both see the same machine load
        for name, step in steps.items():
            results[name].append(per_op_us(step, args.ops, 1)[0])
    lines = ["| framework | us per op, forward + backward (min / median) |", "|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {np.min(r):.1f} / {np.median(r):.1f} |")
    print("\n".join(lines))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
