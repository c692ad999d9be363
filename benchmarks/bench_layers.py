"""Forward+backward time of single layers, tinygen side by side with a reference.

Benchmarks sit outside the tower: they use the public API (tinygen.functional) and compare against raw NumPy (dense layer) or PyTorch's CPU path (conv layers, when installed).

    python benchmarks/bench_layers.py [--repeats 30] [--threads 2] [--clock wall|thread] [--kernels]

Cases (float32; the input gets a gradient too, as for a hidden layer or a GAN discriminator
whose input gradient feeds the generator):
    dense     batch 128, 784 -> 400 (the MLP-VAE encoder)   vs NumPy BLAS: the same three GEMMs
    conv a    64x1x28x28 -> 64 ch, 4x4, stride 2, pad 1      vs torch.nn.functional.conv2d
    conv b    64x64x14x14 -> 128 ch, 4x4, stride 2, pad 1    vs torch.nn.functional.conv2d
    convT a/b the DCGAN-28 generator's mirror layers          vs torch conv_transpose2d
With --kernels, also the convolution's unfold (im2col) and fold (col2im) kernels alone at the
DCGAN-28 geometry (4x4, stride 2, pad 1; 64x1x28x28 and 64x64x14x14) vs their NumPy twins.
The two sides run in alternating blocks (so both see the same machine load), each block after
a pause and uncounted warm-up runs. ratio = reference time / tinygen time
(>= 1: tinygen is faster), computed from the medians and from the minima.
"""
import argparse
import os
import time


def parse_args():
    parser = argparse.ArgumentParser(description="Forward+backward time of single layers.")
    parser.add_argument("--repeats", type=int, default=30, help="timed runs of each side")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads for BLAS and torch alike (default 2)")
    parser.add_argument("--clock", choices=["wall", "thread"], default="wall",
                        help="'thread' counts only this thread's CPU time: with --threads 1 it "
                             "is robust to other processes sharing the cores")
    parser.add_argument("--kernels", action="store_true",
                        help="also time unfold/fold alone against their NumPy twins")
    args = parser.parse_args()
    if args.clock == "thread" and args.threads != 1:
        parser.error("--clock thread measures one thread: use it with --threads 1")
    return args


# BLAS reads its thread count when it loads, so set it before importing numpy. (tinygen's own
# kernels run on one thread: see tinygen/kernels/conv.py.)
ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

# Measure this checkout's tinygen, not a copy installed in site-packages (a script's
# sys.path[0] is benchmarks/, so `import tinygen` would otherwise find the installed one).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tinygen as tg  # noqa: E402
import tinygen.functional as F  # noqa: E402

try:
    import torch
except ImportError:  # the conv rows are then skipped
    torch = None


def _grads_cleared(*tensors):
    for t in tensors:
        t.grad = None


def dense_case(rng):
    """tinygen linear layer vs the same math as raw NumPy GEMMs."""
    x, w = rng.standard_normal((128, 784), np.float32), rng.standard_normal((400, 784), np.float32)
    b, gy = rng.standard_normal(400, np.float32), rng.standard_normal((128, 400), np.float32)
    tx, tw, tb = (tg.tensor(a, requires_grad=True) for a in (x, w, b))
    tgy = tg.tensor(gy)

    def ours():
        _grads_cleared(tx, tw, tb)
        F.linear(tx, tw, tb).backward(tgy)

    def numpy_ref():
        y = x @ w.T + b                                       # noqa: F841  (the forward)
        return gy.T @ x, gy.sum(axis=0), gy @ w              # dW, db, dx
    return "dense 128x784->400", ours, "numpy", numpy_ref


def conv_case(name, x_shape, w_shape, transpose, rng, **geometry):
    """tinygen conv2d / conv_transpose2d vs torch's, input/weight/bias gradients included."""
    x = rng.standard_normal(x_shape, np.float32)
    w = (rng.standard_normal(w_shape, np.float32) * 0.05).astype(np.float32)
    b = rng.standard_normal(w_shape[1] if transpose else w_shape[0], np.float32)
    ours_fn, torch_fn = ((F.conv_transpose2d, torch.nn.functional.conv_transpose2d) if transpose
                         else (F.conv2d, torch.nn.functional.conv2d))
    tx, tw, tb = (tg.tensor(a, requires_grad=True) for a in (x, w, b))
    gy = rng.standard_normal(ours_fn(tx, tw, tb, **geometry).shape, np.float32)
    tgy = tg.tensor(gy)
    px, pw, pb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    pgy = torch.tensor(gy)

    def ours():
        _grads_cleared(tx, tw, tb)
        ours_fn(tx, tw, tb, **geometry).backward(tgy)

    def theirs():
        for t in (px, pw, pb):
            t.grad = None
        torch_fn(px, pw, pb, **geometry).backward(pgy)
    return name, ours, "torch", theirs


def kernel_cases(rng):
    """unfold / fold (tinygen.kernels, numba) vs their NumPy twins at the DCGAN-28 shapes."""
    from tinygen import kernels as K
    cases = []
    for x_shape in ((64, 1, 28, 28), (64, 64, 14, 14)):
        x = rng.standard_normal(x_shape, np.float32)
        cols = rng.standard_normal(K.unfold(x, 4, 4, 2, 1).shape, np.float32)
        shape = "x".join(map(str, x_shape))
        cases += [(f"unfold {shape}", lambda x=x: K.unfold(x, 4, 4, 2, 1), "numpy",
                   lambda x=x: K.unfold_numpy(x, 4, 4, 2, 1)),
                  (f"fold {shape}", lambda c=cols, s=x_shape: K.fold(c, s, 4, 4, 2, 1), "numpy",
                   lambda c=cols, s=x_shape: K.fold_numpy(c, s, 4, 4, 2, 1))]
    return cases


def time_pair(ours, ref, repeats, clock=time.perf_counter, block=5, warmup=2, pause=0.2):
    """Per-run milliseconds of `ours` and `ref`: blocks of `block` runs of one side, then of the
    other, until each has `repeats`. Each block starts with `warmup` uncounted runs and follows a
    pause, so that one library's idle threads (OpenBLAS and OpenMP workers spin for a while
    after each call) never steal cores from the other's timed runs."""
    t_ours, t_ref = [], []
    while len(t_ours) < repeats:
        for fn, times in ((ours, t_ours), (ref, t_ref)):
            time.sleep(pause)
            for _ in range(warmup):
                fn()
            for _ in range(block):
                start = clock()
                fn()
                times.append(clock() - start)
    return np.array(t_ours) * 1e3, np.array(t_ref) * 1e3


def main(args):
    rng = np.random.default_rng(0)
    cases = [dense_case(rng)]
    if torch is None:
        print("torch is not installed: conv rows skipped")
    else:
        torch.set_num_threads(args.threads)
        g = dict(stride=2, padding=1)
        cases += [
            conv_case("conv a 64x1x28x28->64", (64, 1, 28, 28), (64, 1, 4, 4), False, rng, **g),
            conv_case("conv b 64x64x14x14->128", (64, 64, 14, 14), (128, 64, 4, 4), False, rng,
                      **g),
            conv_case("convT b 64x128x7x7->64", (64, 128, 7, 7), (128, 64, 4, 4), True, rng, **g),
            conv_case("convT a 64x64x14x14->1", (64, 64, 14, 14), (64, 1, 4, 4), True, rng, **g),
        ]
    if args.kernels:
        cases += kernel_cases(rng)
    header = (f"{'layer (fwd+bwd, float32)':26} {'ref':6} {'tinygen ms min/med/max':>24} "
              f"{'reference ms min/med/max':>26} {'ratio med':>9} {'ratio min':>9}")
    print(header)
    print("-" * len(header))
    for name, ours, ref_name, ref in cases:
        clock = time.thread_time if args.clock == "thread" else time.perf_counter
        t_ours, t_ref = time_pair(ours, ref, args.repeats, clock)
        fmt = lambda t: f"{t.min():6.2f}/{np.median(t):6.2f}/{t.max():7.2f}"  # noqa: E731
        print(f"{name:26} {ref_name:6} {fmt(t_ours):>24} {fmt(t_ref):>26} "
              f"{np.median(t_ref) / np.median(t_ours):9.2f} {t_ref.min() / t_ours.min():9.2f}")
    print("ratio = reference time / tinygen time (>= 1 means tinygen is at least as fast); "
          f"threads: BLAS {os.environ.get('OPENBLAS_NUM_THREADS')}, "
          f"torch {torch and torch.get_num_threads()}, clock {args.clock}")


if __name__ == "__main__":
    main(ARGS)
