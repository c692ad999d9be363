"""Run every benchmark of issues 6 and 13 and write the tables to benchmarks/RESULTS.md.

Benchmarks sit outside the tower (they use tinygen's public API, PyTorch and HIPS autograd).

    python benchmarks/run_all.py [--quick | --smoke] [--no-write]

--quick runs fewer repeats and epochs; --smoke the fewest that exercise every script (one
repeat, two RSS epochs; implies --no-write: its numbers are no measurement).

Runs, each in a fresh interpreter so thread settings apply before NumPy is imported:
  1. bench_training.py, 2 threads, wall clock (the targets' setting): VAE, DCGAN-28, DCGAN-32
     in the user-style loop, and the library's own `tinygen train gan` step;
  2. bench_training.py, 1 thread, CPU time of the thread (robust on a shared, loaded machine);
  3. when the environment sets OPENBLAS_CORETYPE: row 2 again without it and OPENBLAS_L2_SIZE
     (unset together; OpenBLAS then picks its kernels for this CPU; the variables are read when
     NumPy loads OpenBLAS, so only a fresh process can show what they cost);
  4. bench_overhead.py (Python time per op, tinygen against PyTorch eager);
  5. bench_startup.py (import time, first step with an empty / warm numba cache, peak RSS).
"""
import argparse
import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTE = ("Targets (issue 13): with the user-style loop (zero_grad, backward, step), DCGAN-28 and "
        "DCGAN-32 >= 1.0x PyTorch, VAE >= 1.5x at 2 threads; import <= 1 s, first step with a "
        "warm numba cache <= 2 s, peak RSS of `tinygen train vae --epochs 3` <= 200 MB and flat. "
        "Ratios are tinygen / PyTorch images/s, per repeat, median (min-max). 'Share of the "
        "BLAS-bound limit' is GEMM FLOPs per step x steps/s over NumPy's float32 GEMM rate "
        "(the best of square 1024 sgemms) measured in the same process; FLOPs per step count "
        "forward and backward of every dense and conv layer, 2 x multiply-adds: Linear 2 N in "
        "out, Conv2d 2 N OH OW O C kh kw, ConvTranspose2d 2 N H W O C kh kw per pass, the "
        "backward once for the weight gradient and once for the input gradient where one is "
        "needed (benchmarks/user_models.py). The `tinygen train gan` rows time the library's "
        "own step (gan.train_step with the CLI's networks: batch 32, lazy R1 every 4th step, "
        "EMA) beside the PyTorch user loop of the same networks; its FLOPs leave out R1 and "
        "the EMA, so its share is a lower bound. On a 2-core machine shared with other jobs (see the load averages) the "
        "2-thread wall-clock rows measure the scheduler as much as the code; the 1-thread "
        "CPU-time rows are the stable comparison.\n")


HISTORY = "## Measurement history"  # RESULTS.md from this heading on is kept on a rewrite


def run(script, args, threads=None, unset=()):
    env = {k: v for k, v in os.environ.items() if k not in unset}
    if threads is not None:
        env["TINYGEN_BENCH_THREADS"] = str(threads)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS"):
            env[var] = str(threads)
    cmd = [sys.executable, str(HERE / script), *args]
    print("$", " ".join(cmd[1:]), flush=True)
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    print(result.stdout, flush=True)
    if result.returncode != 0:
        print(result.stderr[-3000:], file=sys.stderr)
        return f"`{script}` failed (exit {result.returncode})\n"
    return result.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and epochs")
    parser.add_argument("--smoke", action="store_true",
                        help="one repeat of everything, to check the scripts run (no write)")
    parser.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args()
    reps = ["--repeats", "5", "--steps", "6"] if args.quick else ["--repeats", "15"]
    if args.smoke:
        reps, args.no_write = ["--repeats", "1", "--steps", "2", "--warmup", "2"], True
    epochs = "2" if args.smoke else "5" if args.quick else "20"
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    sections = [
        ("Training throughput, 2 threads, wall clock", run("bench_training.py", reps, 2)),
        ("Training throughput, 1 thread, CPU time of the thread",
         run("bench_training.py", reps + ["--clock", "cpu"], 1))]
    if coretype:
        sections.append((f"The same without the environment's OPENBLAS_CORETYPE={coretype} "
                         f"and OPENBLAS_L2_SIZE (OpenBLAS's own choice of kernels for this CPU)",
                         run("bench_training.py", reps + ["--clock", "cpu", "--no-autograd"], 1,
                             unset=("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"))))
    sections += [
        ("Python overhead per op", run("bench_overhead.py",
                                       ["--repeats", "2"] if args.smoke else [], 1)),
        ("Cold start and memory", run("bench_startup.py",
                                      ["--epochs", epochs] + (["--imports", "1"] if args.smoke
                                                              else []), 2)),
    ]
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    text = [f"# Benchmark results\n\nGenerated by `python benchmarks/run_all.py` on {when}, "
            f"{platform.machine()} with {os.cpu_count()} cores, Python "
            f"{platform.python_version()}.\n", NOTE]
    text += [f"## {title}\n\n{body.strip()}\n" for title, body in sections]
    results = HERE / "RESULTS.md"
    if results.exists() and HISTORY in results.read_text():  # hand-written: kept as it is
        text.append(results.read_text()[results.read_text().index(HISTORY):])
    if not args.no_write:
        results.write_text("\n".join(text))
        print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
