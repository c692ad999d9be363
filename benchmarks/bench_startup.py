"""Cold start and memory: `import tinygen`, the first training step (empty and warm numba
cache), and the peak RSS of VAE training, each measured in a fresh subprocess.

Benchmarks sit outside the tower: the steps are user_models.py's (public API only), and the
command-line run is `tinygen train vae` itself.

    python benchmarks/bench_startup.py [--epochs 20] [--imports 5]

import      seconds for `import tinygen` in a new interpreter (min/median over --imports runs),
            and whether it pulled in matplotlib, torch or tqdm (it should not: they are imported
            only by the code that draws, compares or shows progress).
first step  (also: the library's own `tinygen train gan` step alone in a new interpreter)
            a new interpreter with NUMBA_CACHE_DIR pointing at an empty temporary directory
            (cold: every kernel is compiled) and then again at the same, now filled, directory
            (warm: kernels are loaded from the cache); seconds of the first training step, for
            the MLP VAE (batch 128), DCGAN-28 and DCGAN-32 (batch 64) in that order in one
            interpreter (a kernel an earlier model used is already compiled), and of the step
            after it.
peak RSS    `tinygen train vae --epochs 3` (figures on, the command-line default) as a child
            process: its ru_maxrss. Then the user-style VAE loop on mnist-5k, batch 128, Adam:
            ru_maxrss after epoch 2 and after the last epoch (flat = within 5%: no graph or
            cache growth), once more with TINYGEN_NO_MALLOPT=1 (glibc's malloc defaults, see
            tinygen/kernels/memory.py) and, with torch installed, for the PyTorch twin.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

IMPORT_CODE = """
import json, sys, time
t = time.perf_counter()
import tinygen
elapsed = time.perf_counter() - t
print(json.dumps({"seconds": elapsed,
                  "eager": [m for m in ("matplotlib", "torch", "tqdm") if m in sys.modules]}))
"""

FIRST_STEP_CODE = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
import user_models as um
rng = np.random.default_rng(0)
out = {}
_, vae_step, _ = um.tinygen_vae(0)
gan28 = um.tinygen_gan(um.dcgan28, 0, (64, 100), (64, 1, 28, 28))[2]
gan32 = um.tinygen_gan(um.dcgan32, 0, (64, 100, 1, 1), (64, 3, 32, 32))[2]
for name, step, args in (
        ("vae", vae_step, (rng.random((128, 1, 28, 28), dtype=np.float32),
                           rng.standard_normal((128, 20), dtype=np.float32))),
        ("dcgan28", gan28, (rng.uniform(-1, 1, (64, 1, 28, 28)).astype(np.float32),
                            rng.standard_normal((64, 100), dtype=np.float32))),
        ("dcgan32", gan32, (rng.uniform(-1, 1, (64, 3, 32, 32)).astype(np.float32),
                            rng.standard_normal((64, 100, 1, 1), dtype=np.float32)))):
    for key in (name, name + "_next"):
        t = time.perf_counter()
        step(*args)
        out[key] = time.perf_counter() - t
print(json.dumps(out))
"""

FIRST_CLI_GAN_CODE = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
import user_models as um
rng = np.random.default_rng(0)
out = {}
step = um.cli_dcgan28(0, 32)[2]
x = rng.uniform(-1, 1, (32, 1, 28, 28)).astype(np.float32)
for key in ("first", "next", "third"):
    z = rng.standard_normal((32, 100), dtype=np.float32)
    t = time.perf_counter()
    step(x, z)
    out[key] = time.perf_counter() - t
print(json.dumps(out))
"""

CLI_RSS_CODE = """
import json, os, resource, subprocess, sys, tempfile
with tempfile.TemporaryDirectory() as out:
    subprocess.run([sys.executable, "-c", "import sys; from tinygen.cli import main; "
                    "sys.exit(main(sys.argv[1:]))", "train", "vae", "--epochs", sys.argv[1],
                    "--out", os.path.join(out, "run")], check=True, capture_output=True)
print(json.dumps(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024))
"""

RSS_CODE = """
import json, resource, sys
sys.path.insert(0, sys.argv[2])
import numpy as np
import user_models as um
from tinygen.data import as_float, load_dataset
epochs = int(sys.argv[1])
x = as_float(load_dataset("mnist-5k", "train").x)
_, step, _ = um.tinygen_vae(0)
rng = np.random.default_rng(0)
peaks = []
for epoch in range(epochs):
    order = rng.permutation(len(x))
    for i in range(0, len(x) - 127, 128):
        step(x[order[i:i + 128]], rng.standard_normal((128, 20), dtype=np.float32))
    peaks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # KiB -> MiB
print(json.dumps(peaks))
"""

TORCH_RSS_CODE = """
import json, resource, sys
sys.path.insert(0, sys.argv[2])
import numpy as np
import user_models as um
from tinygen.data import as_float, load_dataset
torch = um.load_torch()
torch.set_num_threads(2)
epochs = int(sys.argv[1])
x = as_float(load_dataset("mnist-5k", "train").x)
model, _, _ = um.tinygen_vae(0)
step = um.torch_vae(model.state_dict())
rng = np.random.default_rng(0)
peaks = []
for epoch in range(epochs):
    order = rng.permutation(len(x))
    for i in range(0, len(x) - 127, 128):
        step(x[order[i:i + 128]], rng.standard_normal((128, 20), dtype=np.float32))
    peaks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(peaks))
"""


def run_python(code, *args, env=None):
    """Run `code` in a fresh interpreter; return the JSON it printed last."""
    # PYTHONPATH: this checkout's tinygen, not a copy installed in site-packages
    path = os.pathsep.join(p for p in (str(HERE.parent), os.environ.get("PYTHONPATH")) if p)
    result = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": path, **(env or {})},
                            check=False)
    if result.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_import(repeats):
    runs = [run_python(IMPORT_CODE) for _ in range(repeats)]
    seconds = sorted(r["seconds"] for r in runs)
    return seconds, sorted({m for r in runs for m in r["eager"]})


def bench_first_step():
    """{'cold': {...}, 'warm': {...}} seconds of the first training steps of each model."""
    with tempfile.TemporaryDirectory(prefix="tinygen-numba-cache-") as cache:
        env = {"NUMBA_CACHE_DIR": cache}
        cold = run_python(FIRST_STEP_CODE, HERE, env=env)
        warm = run_python(FIRST_STEP_CODE, HERE, env=env)
    return {"cold": cold, "warm": warm}


def bench_first_cli_gan_step():
    """The library's own GAN step (user_models.cli_dcgan28, what `tinygen train gan` runs on
    MNIST) as the first thing a new interpreter trains: empty numba cache, then warm."""
    with tempfile.TemporaryDirectory(prefix="tinygen-numba-cache-") as cache:
        env = {"NUMBA_CACHE_DIR": cache}
        cold = run_python(FIRST_CLI_GAN_CODE, HERE, env=env)
        warm = run_python(FIRST_CLI_GAN_CODE, HERE, env=env)
    return {"cold": cold, "warm": warm}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="epochs of the RSS run")
    parser.add_argument("--imports", type=int, default=5, help="fresh interpreters timed")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch's RSS")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    lines = [f"load average at start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on "
             f"{os.cpu_count()} cores", "", "| measure | value | target |", "|---|---|---|"]
    print(lines[0], flush=True)

    seconds, eager = bench_import(args.imports)
    lines.append(f"| `import tinygen` (min / median of {args.imports}) | {seconds[0]:.2f} s / "
                 f"{seconds[len(seconds) // 2]:.2f} s | <= 1 s |")
    lines.append(f"| modules imported eagerly among matplotlib, torch, tqdm | "
                 f"{', '.join(eager) or 'none'} | none |")
    print("\n".join(lines[-2:]), flush=True)

    first = bench_first_step()
    after = {"vae": "", "dcgan28": " (after the VAE's)", "dcgan32": " (after DCGAN-28's)"}
    for kind in ("vae", "dcgan28", "dcgan32"):  # one interpreter: shared kernels load once
        lines.append(f"| first {kind.upper()} training step{after[kind]}, empty numba cache | "
                     f"{first['cold'][kind]:.2f} s (the next step: "
                     f"{first['cold'][kind + '_next']:.2f} s) | (reported) |")
        lines.append(f"| first {kind.upper()} training step{after[kind]}, warm numba cache | "
                     f"{first['warm'][kind]:.2f} s (the next step: "
                     f"{first['warm'][kind + '_next']:.2f} s) | <= 2 s |")
    print("\n".join(lines[-6:]), flush=True)
    first = bench_first_cli_gan_step()   # step 0 includes the lazy R1 pass (every 4th step)
    for cache in ("cold", "warm"):
        lines.append(f"| first `tinygen train gan` step (gan.train_step, batch 32, R1 step) in "
                     f"a new interpreter, {'empty' if cache == 'cold' else 'warm'} numba cache | "
                     f"{first[cache]['first']:.2f} s (the next two: {first[cache]['next']:.2f} "
                     f"s, {first[cache]['third']:.2f} s) | "
                     f"{'(reported)' if cache == 'cold' else '<= 2 s'} |")
    print("\n".join(lines[-2:]), flush=True)

    cli_peak = run_python(CLI_RSS_CODE, 3)
    lines.append(f"| peak RSS, `tinygen train vae --epochs 3` (figures on) | {cli_peak:.0f} MiB "
                 f"| <= 200 MB |")
    print(lines[-1], flush=True)
    peaks = run_python(RSS_CODE, args.epochs, HERE)
    growth = peaks[-1] / peaks[1] - 1
    lines.append(f"| peak RSS, user-style VAE loop, after epoch 2 / {args.epochs} | "
                 f"{peaks[1]:.0f} MiB / {peaks[-1]:.0f} MiB ({growth:+.1%}) | flat: within 5% |")
    print(lines[-1], flush=True)
    peaks = run_python(RSS_CODE, args.epochs, HERE, env={"TINYGEN_NO_MALLOPT": "1"})
    lines.append(f"| the same with TINYGEN_NO_MALLOPT=1 (glibc's defaults) | {peaks[1]:.0f} MiB / "
                 f"{peaks[-1]:.0f} MiB ({peaks[-1] / peaks[1] - 1:+.1%}) | (reference) |")
    print(lines[-1], flush=True)
    if not args.no_torch:
        try:
            torch_peaks = run_python(TORCH_RSS_CODE, min(args.epochs, 3), HERE)
            lines.append(f"| peak RSS, the PyTorch twin, after epoch {len(torch_peaks)} | "
                         f"{torch_peaks[-1]:.0f} MiB | (reference) |")
            print(lines[-1], flush=True)
        except RuntimeError as error:  # torch missing: no reference row
            print(f"PyTorch RSS skipped: {str(error).splitlines()[-1]}")
    load = os.getloadavg()
    lines += ["", f"load average at end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
