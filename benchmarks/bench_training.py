"""Whole training steps, tinygen side by side with PyTorch CPU (and HIPS autograd for the VAE).

Benchmarks sit outside the tower: they run what a user runs (tinygen.vae.train_step,
tinygen.gan.train_step) and write the same model and the same step in the other frameworks.

    python benchmarks/bench_training.py [--repeats 15] [--steps 10] [--only vae|dcgan]

VAE      the classic 784-400-20 MLP VAE (Kingma & Welling 2014), batch 128, Adam(1e-3),
         float32, mnist-5k; loss = summed BCE-with-logits / N + KL, one reparameterized z.
DCGAN-28 tinygen.gan_models' DCGAN pair (G: z 100 -> Linear 128*7*7 -> BN -> ReLU ->
         ConvT 128->64 -> BN -> ReLU -> ConvT 64->1 -> tanh; D: Conv 1->64 -> LReLU -> Conv 64->128
         -> LReLU -> Linear), batch 64, Adam(2e-4, betas (0.5, 0.999)), non-saturating loss, the
         9-step recipe of tinygen.gan.train_step mirrored in torch: D forward on the detached
         fakes + D update, D forward on the fakes + G update, D forward on the reals + D update.

Honesty: every framework starts from the same weights (tinygen's, copied), sees the same batches
and noise, runs in float32 on the same number of threads (torch.set_num_threads, OpenBLAS and
numba through the environment variables below), and reads the same scalars back (.item()).
Warm-up steps are run first and not counted. Each repeat runs `--steps` steps of tinygen, then
of PyTorch (then of autograd), back to back, so both see the same machine load; the ratio
tinygen/PyTorch is computed per repeat and reported as min/median/max.

--clock wall (default) times with time.perf_counter. On a machine shared with other jobs the
wall clock mostly measures the scheduler, so --clock cpu times the CPU time of the calling
thread (time.thread_time) instead; it is only meaningful with one thread
(TINYGEN_BENCH_THREADS=1), where every framework computes in the calling thread.
"""
import os

THREADS = os.environ.setdefault("TINYGEN_BENCH_THREADS", "2")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, THREADS)  # before NumPy, numba or torch are imported

import argparse  # noqa: E402
import time  # noqa: E402

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

# Measure this checkout's tinygen, not a copy installed in site-packages (a script's
# sys.path[0] is benchmarks/, so `import tinygen` would otherwise find the installed one).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tinygen as tg  # noqa: E402
from tinygen import gan, optim, vae  # noqa: E402
from tinygen.data import as_float, load_dataset  # noqa: E402

try:
    import torch
except ImportError:  # the PyTorch columns are then skipped
    torch = None
try:
    import autograd
    import autograd.numpy as anp
except ImportError:
    autograd = None


# -- the VAE in three frameworks: each maker returns step(x: float32 (N, 1, 28, 28)) ----------
def tinygen_vae(seed):
    tg.random.manual_seed(seed)
    model = vae.MLPVAE()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    return model, lambda x: vae.train_step(model, opt, x)


def torch_vae(weights, seed):
    """The same 784-400-20 VAE and loss in PyTorch; weights: tinygen's state_dict."""
    nn, F = torch.nn, torch.nn.functional

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc, self.enc_mu, self.enc_logvar = (nn.Linear(784, 400), nn.Linear(400, 20),
                                                      nn.Linear(400, 20))
            self.dec1, self.dec2 = nn.Linear(20, 400), nn.Linear(400, 784)

        def forward(self, x):
            h = F.relu(self.enc(x.reshape(len(x), -1)))
            mu, logvar = self.enc_mu(h), self.enc_logvar(h)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            return self.dec2(F.relu(self.dec1(z))).reshape(x.shape), mu, logvar

    torch.manual_seed(seed)
    model = VAE()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(x):
        x = torch.from_numpy(x)
        opt.zero_grad()
        logits, mu, logvar = model(x)
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
        kl = (0.5 * (mu * mu + logvar.exp() - 1 - logvar)).mean(0).sum()
        loss = recon + kl
        loss.backward()
        opt.step()
        return recon.item(), kl.item()
    return step


def autograd_vae(weights, seed):
    """The same VAE in HIPS autograd (NumPy with a tape), with a plain NumPy Adam."""
    names = ["enc", "enc_mu", "enc_logvar", "dec1", "dec2"]
    params = [weights[f"{n}.{p}"].copy() for n in names for p in ("weight", "bias")]
    rng = np.random.default_rng(seed)

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

    def step(x):
        x = x.reshape(len(x), -1)
        eps = rng.standard_normal((len(x), 20), dtype=np.float32)
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


# -- DCGAN-28 -----------------------------------------------------------------------------------
DCGAN_LATENT, DCGAN_BATCH = 100, 64


def tinygen_dcgan(seed):
    tg.random.manual_seed(seed)
    G, D = gan.build_models("dcgan", DCGAN_LATENT)
    opt_G = optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loss = gan.GANLoss()
    return (G, D), lambda x, z: gan.train_step(G, D, opt_G, opt_D, x, z, loss)


def torch_dcgan(g_weights, d_weights):
    """tinygen.gan_models' DCGAN pair in PyTorch (same layer indices, so state_dicts load), and
    tinygen.gan.train_step's recipe with torch.autograd.grad per player."""
    nn, F = torch.nn, torch.nn.functional
    G = nn.Sequential(nn.Linear(DCGAN_LATENT, 128 * 7 * 7), nn.BatchNorm1d(128 * 7 * 7), nn.ReLU(),
                      nn.Unflatten(1, (128, 7, 7)), nn.ConvTranspose2d(128, 64, 4, 2, 1),
                      nn.BatchNorm2d(64), nn.ReLU(), nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())
    D = nn.Sequential(nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(64, 128, 4, 2, 1),
                      nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
    for net, weights in ((G, g_weights), (D, d_weights)):
        sd = {k.removeprefix("net."): torch.from_numpy(np.array(v)) for k, v in weights.items()}
        net.load_state_dict(sd)
    opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_params, g_params = list(D.parameters()), list(G.parameters())

    def descend(opt, loss, params):
        for p, g in zip(params, torch.autograd.grad(loss, params)):
            p.grad = g
        opt.step()
        for p in params:
            p.grad = None

    def step(x, z):
        x, z = torch.from_numpy(x), torch.from_numpy(z)
        fake = G(z)
        fake_logits = D(fake.detach())
        loss_as_fake = F.binary_cross_entropy_with_logits(fake_logits,
                                                          torch.zeros_like(fake_logits))
        loss_as_real = F.softplus(-fake_logits).mean()
        descend(opt_D, loss_as_fake, d_params)
        fake_logits_g = D(fake)
        loss_g = F.softplus(-fake_logits_g).mean()
        descend(opt_G, loss_g, g_params)
        real_logits = D(x)
        loss_real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
        descend(opt_D, loss_real, d_params)
        return {"loss_d": loss_as_fake.item() + loss_real.item(), "loss_g": loss_g.item(),
                "loss_g_before_d": loss_as_real.item(),
                **{k: torch.sigmoid(v.detach().double()).mean().item() for k, v in
                   (("d_real", real_logits), ("d_fake", fake_logits), ("d_fake_g", fake_logits_g))}}
    return step


# -- timing -------------------------------------------------------------------------------------
CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}


def run_alternating(steps_by_name, batches, repeats, steps, warmup, clock=time.perf_counter):
    """{name: array of images/s per repeat}. steps_by_name: {name: fn(batch_args)}; each repeat
    runs `steps` consecutive steps of each framework in turn on the same batches."""
    n_images = len(batches[0][0])
    for name, fn in steps_by_name.items():
        for i in range(warmup):
            fn(*batches[i % len(batches)])
    rates = {name: [] for name in steps_by_name}
    for r in range(repeats):
        chunk = [batches[(r * steps + i) % len(batches)] for i in range(steps)]
        for name, fn in steps_by_name.items():
            start = clock()
            for args in chunk:
                fn(*args)
            rates[name].append(steps * n_images / (clock() - start))
    return {name: np.array(r) for name, r in rates.items()}


def vae_batches(x, n, batch, seed):
    rng = np.random.default_rng(seed)
    return [(x[rng.choice(len(x), batch, replace=False)],) for _ in range(n)]


def dcgan_batches(x, n, batch, seed):
    rng = np.random.default_rng(seed)
    return [(2 * x[rng.choice(len(x), batch, replace=False)] - 1,
             rng.standard_normal((batch, DCGAN_LATENT), dtype=np.float32)) for _ in range(n)]


def bench_vae(x, args):
    model, ours = tinygen_vae(0)
    steps = {"tinygen": ours}
    weights = model.state_dict()
    if torch is not None:
        steps["pytorch"] = torch_vae(weights, 0)
    if autograd is not None and not args.no_autograd:
        steps["autograd"] = autograd_vae(weights, 0)
    batches = vae_batches(x, 32, 128, 1)
    return run_alternating(steps, batches, args.repeats, args.steps, warmup=args.warmup,
                           clock=CLOCKS[args.clock])


def bench_dcgan(x, args):
    (G, D), ours = tinygen_dcgan(0)
    steps = {"tinygen": ours}
    if torch is not None:
        steps["pytorch"] = torch_dcgan(G.state_dict(), D.state_dict())
    batches = dcgan_batches(x, 16, DCGAN_BATCH, 2)
    return run_alternating(steps, batches, args.repeats, max(1, args.steps // 4),
                           warmup=max(2, args.warmup // 4), clock=CLOCKS[args.clock])


def report(title, rates, target=None):
    """Markdown rows: images/s min/median/max per framework, ratio to PyTorch per repeat."""
    lines = [f"**{title}**", "",
             "| framework | images/s min | median | max | ratio to PyTorch min / median / max |",
             "|---|---|---|---|---|"]
    ref = rates.get("pytorch")
    for name, r in rates.items():
        ratio = ""
        if ref is not None and name != "pytorch":
            q = r / ref
            ratio = f"{q.min():.2f} / {np.median(q):.2f} / {q.max():.2f}"
            if name == "tinygen" and target is not None:
                ratio += f" (target >= {target})"
        lines.append(f"| {name} | {r.min():,.0f} | {np.median(r):,.0f} | {r.max():,.0f} | {ratio} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed repeats per framework")
    parser.add_argument("--steps", type=int, default=10,
                        help="VAE steps per repeat (DCGAN: a quarter of it)")
    parser.add_argument("--warmup", type=int, default=8, help="uncounted steps per framework")
    parser.add_argument("--only", choices=("vae", "dcgan"), default=None)
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
    out = [f"clock: {args.clock}; threads: {THREADS} (torch.set_num_threads, "
           f"OMP/OPENBLAS/NUMBA_NUM_THREADS); "
           f"load average at start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on "
           f"{os.cpu_count()} cores; torch {torch.__version__ if torch else 'absent'}, "
           f"autograd {'present' if autograd else 'absent'}", ""]
    print(out[0], flush=True)
    if args.only in (None, "vae"):
        out.append(report("VAE 784-400-20, batch 128, Adam, float32", bench_vae(x, args), 1.0))
        print(out[-1], flush=True)
    if args.only in (None, "dcgan"):
        out.append(report("DCGAN-28, batch 64, tinygen.gan.train_step (D on fakes, G, D on reals)",
                          bench_dcgan(x, args), 0.8))
        print(out[-1], flush=True)
    load = os.getloadavg()
    out.append(f"load average at end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    print(out[-1])
    return "\n".join(out)


if __name__ == "__main__":
    main()
