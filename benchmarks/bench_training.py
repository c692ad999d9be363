"""Whole training steps, tinygen side by side with PyTorch CPU (and HIPS autograd for the VAE).

Benchmarks sit outside the tower. The models and steps are in user_models.py, written the way a
user writes them with the public API (zero_grad, forward, loss.backward(), step), once in
tinygen and once in PyTorch.

    python benchmarks/bench_training.py [--repeats 15] [--steps 10] [--only vae dcgan28 dcgan32]

Rows: VAE 784-400-20 (batch 128), DCGAN-28 and DCGAN-32 RGB (batch 64), see user_models.py;
and the library's own `tinygen train gan` step (gan.train_step with the CLI's networks: batch
32, lazy R1, EMA) beside the PyTorch user loop of the same networks (--only cli_gan).

Honesty: both frameworks start from the same weights (tinygen's, copied through the
state_dict), see the same batches and noise, run in float32 on the same number of threads
(torch.set_num_threads, and OpenBLAS / OpenMP / numba through the environment variables set
below, before NumPy is imported) and read the same scalars back (.item()). Warm-up steps are
not counted. Each repeat runs `--steps` steps of each framework back to back (the order flips
every repeat), so both see the same machine load; the ratio tinygen / PyTorch is taken per
repeat and reported as median (min-max).

Machine limit: each model's GEMM FLOPs per step (user_models.py counts them: forward and
backward of every dense and conv layer, the formula is in its docstring) times steps/s, divided
by the float32 GEMM peak of NumPy's BLAS measured in the same process, with the same threads and
clock (the best of square 1024 sgemms): the share of the BLAS-bound limit, i.e. of what the
step's GEMMs alone would allow (peak / FLOPs per image, printed with each table).

--clock wall (default) times with time.perf_counter. On a machine shared with other jobs,
--clock cpu times the CPU time of the calling thread (time.thread_time) instead; it is only
meaningful with one thread (TINYGEN_BENCH_THREADS=1), where everything runs in that thread.
"""
import os

THREADS = os.environ.setdefault("TINYGEN_BENCH_THREADS", "2")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, THREADS)  # before NumPy, numba or torch are imported

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

# Measure this checkout's tinygen, not a copy installed in site-packages (a script's
# sys.path[0] is benchmarks/, so `import tinygen` would otherwise find the installed one).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import user_models as um  # noqa: E402
from tinygen.data import as_float, load_dataset  # noqa: E402

torch = um.load_torch()
try:
    import autograd
    import autograd.numpy as anp
except ImportError:
    autograd = None


# -- the VAE in HIPS autograd (NumPy with a tape) -----------------------------------------------
def autograd_vae(weights):
    """The same VAE in HIPS autograd (NumPy with a tape), with a plain NumPy Adam."""
    names = ["enc", "enc_mu", "enc_logvar", "dec1", "dec2"]
    params = [weights[f"{n}.{p}"].copy() for n in names for p in ("weight", "bias")]

    def linear(x, w, b):
        return anp.dot(x, w.T) + b

    def loss_fn(params, x, eps):
        w1, b1, wm, bm, wv, bv, w2, b2, w3, b3 = params
        h = anp.maximum(linear(x, w1, b1), 0)
        mu, logvar = linear(h, wm, bm), linear(h, wv, bv)
        z = mu + eps * anp.exp(0.5 * logvar)
        logits = linear(anp.maximum(linear(z, w2, b2), 0), w3, b3)
        bce = anp.maximum(logits, 0) - logits * x + anp.log1p(anp.exp(-anp.abs(logits)))
        recon = anp.sum(bce) / len(x)
        kl = anp.sum(anp.mean(0.5 * (mu * mu + anp.exp(logvar) - 1 - logvar), axis=0))
        return recon + kl

    value_and_grad = autograd.value_and_grad(loss_fn)
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    t = [0]

    def step(x, eps):
        x = x.reshape(len(x), -1)
        loss, grads = value_and_grad(params, x, eps)
        t[0] += 1
        for p, g, mi, vi in zip(params, grads, m, v):  # Adam, PyTorch's rule, in place
            mi *= 0.9
            mi += 0.1 * g
            vi *= 0.999
            vi += 0.001 * g * g
            denom = np.sqrt(vi / (1 - 0.999 ** t[0])) + np.float32(1e-8)
            p -= np.float32(1e-3 / (1 - 0.9 ** t[0])) * mi / denom
        return float(loss)
    return step


# -- timing -------------------------------------------------------------------------------------
CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}


def run_alternating(steps_by_name, batches, repeats, steps, warmup, clock=time.perf_counter):
    """{name: array of steps/s per repeat}. steps_by_name: {name: fn(*batch)}; each repeat
    runs `steps` consecutive steps of each framework in turn (the order flips every repeat)."""
    for name, fn in steps_by_name.items():
        for i in range(warmup):
            fn(*batches[i % len(batches)])
    rates = {name: [] for name in steps_by_name}
    names = list(steps_by_name)
    for r in range(repeats):
        chunk = [batches[(r * steps + i) % len(batches)] for i in range(steps)]
        for name in (names if r % 2 == 0 else names[::-1]):
            fn = steps_by_name[name]
            start = clock()
            for args in chunk:
                fn(*args)
            rates[name].append(steps / (clock() - start))
    return {name: np.array(r) for name, r in rates.items()}


def gemm_peak(clock, n=1024, repeats=7):
    """float32 GEMM FLOP/s of NumPy's BLAS: the best of `repeats` (n x n) @ (n x n) products."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    out = np.empty((n, n), np.float32)
    np.matmul(a, b, out=out)
    best = min(_timed(clock, np.matmul, a, b, out=out) for _ in range(repeats))
    return 2 * n ** 3 / best


def blas_core():
    """The kernel family NumPy's OpenBLAS runs on this CPU (e.g. Haswell = AVX2, SkylakeX =
    AVX-512; the environment variable OPENBLAS_CORETYPE overrides its choice), or 'unknown'."""
    import ctypes
    import glob
    libs = glob.glob(str(Path(np.__file__).parent.parent / "numpy.libs" / "*openblas*"))
    for path in libs:
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                     "openblas_get_corename"):
            if hasattr(lib, name):
                getattr(lib, name).restype = ctypes.c_char_p
                return getattr(lib, name)().decode()
    return "unknown"


def _timed(clock, fn, *args, **kwargs):
    start = clock()
    fn(*args, **kwargs)
    return clock() - start


def bench_vae(x, args):
    model, ours, flops = um.tinygen_vae(0)
    steps = {"tinygen": ours}
    weights = model.state_dict()
    if torch is not None:
        steps["pytorch"] = um.torch_vae(weights)
    if autograd is not None and not args.no_autograd:
        steps["autograd"] = autograd_vae(weights)
    rng = np.random.default_rng(1)
    batches = [(x[rng.choice(len(x), 128, replace=False)],
                rng.standard_normal((128, 20), dtype=np.float32)) for _ in range(32)]
    return run_alternating(steps, batches, args.repeats, args.steps, warmup=args.warmup,
                           clock=CLOCKS[args.clock]), 128, flops


def bench_gan(build, x, args):
    """DCGAN-28 on mnist-5k scaled to [-1, 1]; DCGAN-32 on random RGB images in [-1, 1]
    (the speed does not depend on the pixels)."""
    rng = np.random.default_rng(2)
    if build is um.dcgan28:
        images = lambda: 2 * x[rng.choice(len(x), 64, replace=False)] - 1  # noqa: E731
        z_shape, x_shape = (64, um.LATENT), (64, 1, 28, 28)
    else:
        images = lambda: rng.uniform(-1, 1, (64, 3, 32, 32)).astype(np.float32)  # noqa: E731
        z_shape, x_shape = (64, um.LATENT, 1, 1), (64, 3, 32, 32)
    G, D, ours, flops = um.tinygen_gan(build, 0, z_shape, x_shape)
    steps = {"tinygen": ours}
    if torch is not None:
        steps["pytorch"] = um.torch_gan(build, G.state_dict(), D.state_dict())
    batches = [(images(), rng.standard_normal(z_shape, dtype=np.float32)) for _ in range(16)]
    return run_alternating(steps, batches, args.repeats, max(1, args.steps // 4),
                           warmup=max(2, args.warmup // 4), clock=CLOCKS[args.clock]), 64, flops


def bench_cli_gan(x, args):
    """The library's own `tinygen train gan` step on mnist-5k (user_models.cli_dcgan28: its
    networks and step, lazy R1, EMA; batch 32, the CLI's default until batch 24) beside the
    PyTorch user loop of the same networks at the same batch. Each side's FLOPs are what its own
    step needs (user_models.py)."""
    batch = 32
    rng = np.random.default_rng(3)
    G, D, ours, flops = um.cli_dcgan28(0, batch)
    steps, per_step = {"tinygen": ours}, {"tinygen": flops}
    if torch is not None:
        steps["pytorch"] = um.torch_gan(um.cli_networks, G.state_dict(), D.state_dict())
        per_step["pytorch"] = um.gan_step_flops(G, D, (batch, um.LATENT), (batch, 1, 28, 28))
    batches = [(2 * x[rng.choice(len(x), batch, replace=False)] - 1,
                rng.standard_normal((batch, um.LATENT), dtype=np.float32)) for _ in range(16)]
    return run_alternating(steps, batches, args.repeats, max(1, args.steps // 2),
                           warmup=max(4, args.warmup // 2), clock=CLOCKS[args.clock]), \
        batch, per_step


def report(title, result, peak, target=None):
    """Markdown rows: images/s median (min-max) per framework, the ratio to PyTorch per repeat,
    and the median's share of the BLAS-bound limit: GEMM FLOPs per step x steps/s over the GEMM
    peak (flops: one number, or {framework: FLOPs} when the two steps do different work)."""
    rates, batch, flops = result
    per = flops if isinstance(flops, dict) else {name: flops for name in rates}
    first = per[next(iter(rates))]
    lines = [f"**{title}** ({first / 1e9:.2f} GFLOP per step in GEMMs; BLAS-bound limit at "
             f"the measured peak: {peak / first * batch:,.0f} images/s)", "",
             "| framework | images/s median (min-max) | ratio to PyTorch median (min-max) "
             "| share of the BLAS-bound limit |", "|---|---|---|---|"]
    ref = rates.get("pytorch")
    for name, r in rates.items():
        ratio = ""
        if ref is not None and name != "pytorch":
            q = r / ref
            ratio = f"{np.median(q):.2f} ({q.min():.2f}-{q.max():.2f})"
            if name == "tinygen" and target is not None:
                ratio += f", target >= {target}"
        ips = r * batch
        share = np.median(r) * per[name] / peak
        note = (f" ({per[name] / 1e9:.2f} GFLOP per step)"
                if per[name] != first else "")
        lines.append(f"| {name} | {np.median(ips):,.0f} ({ips.min():,.0f}-{ips.max():,.0f}) "
                     f"| {ratio} | {share:.0%}{note} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed repeats per framework")
    parser.add_argument("--steps", type=int, default=10,
                        help="VAE steps per repeat (the GANs: a quarter of it)")
    parser.add_argument("--warmup", type=int, default=8, help="uncounted steps per framework")
    parser.add_argument("--only", nargs="+", choices=("vae", "dcgan28", "dcgan32", "cli_gan"),
                        default=("vae", "dcgan28", "dcgan32", "cli_gan"))
    parser.add_argument("--no-autograd", action="store_true", help="skip the HIPS autograd column")
    parser.add_argument("--clock", choices=tuple(CLOCKS), default="wall",
                        help="wall time, or CPU time of this thread (needs 1 thread)")
    args = parser.parse_args(argv)
    if args.clock == "cpu" and THREADS != "1":
        parser.error("--clock cpu needs TINYGEN_BENCH_THREADS=1 (other threads' work would "
                     "not be counted)")
    if torch is not None:
        torch.set_num_threads(int(THREADS))
    x = as_float(load_dataset("mnist-5k", "train").x)
    load = os.getloadavg()
    peak = gemm_peak(CLOCKS[args.clock])
    out = [f"clock: {args.clock}; threads: {THREADS} (torch.set_num_threads, "
           f"OMP/OPENBLAS/NUMBA_NUM_THREADS); load average at start {load[0]:.1f} / "
           f"{load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores; torch "
           f"{torch.__version__ if torch else 'absent'}, autograd "
           f"{'present' if autograd else 'absent'}; float32 GEMM peak (NumPy, 1024^3) "
           f"{peak / 1e9:.0f} GFLOP/s; OpenBLAS kernels: {blas_core()} (OPENBLAS_CORETYPE="
           f"{os.environ.get('OPENBLAS_CORETYPE', 'unset')})", ""]
    print(out[0], flush=True)
    rows = {"vae": ("VAE 784-400-20, batch 128, Adam", lambda: bench_vae(x, args), 1.5),
            "dcgan28": ("DCGAN-28, batch 64, user-style loop",
                        lambda: bench_gan(um.dcgan28, x, args), 1.0),
            "dcgan32": ("DCGAN-32 RGB (Radford et al.), batch 64, user-style loop",
                        lambda: bench_gan(um.dcgan32, x, args), 1.0),
            "cli_gan": ("`tinygen train gan` step on mnist-5k (gan.train_step with the CLI's "
                        "networks: batch 32, lazy R1 every 4th step, EMA) vs the PyTorch user "
                        "loop of the same networks, batch 32", lambda: bench_cli_gan(x, args),
                        1.0)}
    for key in args.only:
        title, run, target = rows[key]
        out.append(report(title, run(), peak, target))
        print(out[-1], flush=True)
    load = os.getloadavg()
    out.append(f"load average at end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    print(out[-1])
    return "\n".join(out)


if __name__ == "__main__":
    main()
