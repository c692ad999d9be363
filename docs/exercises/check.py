"""Check your answer to a chapter's exercise in the guided tour.

    python docs/exercises/check.py chapter3 my_chapter3.py

Imports your file as a module, runs the chapter's checks against what it defines, and prints
one line per check: "ok" or "FAILED" with the reason. Exits 0 when every check passes, 1 when
one fails (or your file does not import), 2 on a usage error.

Start from docs/exercises/starters/chapterN.py (copy it anywhere); reference solutions are in
docs/exercises/solutions/. The test suite runs this same command on every reference solution
(they must pass) and on the starters and some wrong answers (they must fail), so the checker
itself is tested.

This file imports the tinygen of the checkout it sits in (the repository root goes first on
sys.path), so the checks run against the code the tour describes.
"""
import importlib.util
import os
import pathlib
import sys
import traceback

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import tinygen as tg  # noqa: E402
from tinygen import testing  # noqa: E402

CHECKS = {}  # "chapterN" -> [(description, check(module))]
QUICK = settings(max_examples=30, deadline=None, derandomize=True, database=None)


def check(chapter, description):
    """Register a check: a function of your module that raises when your answer is wrong."""
    def register(fn):
        CHECKS.setdefault(chapter, []).append((description, fn))
        return fn
    return register


def need(module, name):
    if not hasattr(module, name):
        raise AssertionError(f"your file defines no {name!r}")
    return getattr(module, name)


def assert_close(actual, expected, what, atol=1e-10, rtol=1e-7):
    try:
        testing.assert_close(actual, expected, atol=atol, rtol=rtol)
    except AssertionError as e:
        raise AssertionError(f"{what}: {e}") from None


# -- chapter 1: a topological order without recursion -----------------------------------------
def _engine_order(root):
    return sys.modules["tinygen.tensor"]._topological_order([root])


def _check_order(order, root):
    order = list(order)
    ids = [id(t) for t in order]
    if len(set(ids)) != len(ids):
        raise AssertionError("a tensor appears twice in your order")
    expected = {id(t) for t in _engine_order(root)}
    if set(ids) != expected:
        raise AssertionError(f"your order has {len(ids)} tensors, {len(set(ids) & expected)} "
                             f"of the {len(expected)} that require grad and lead to the root")
    position = {id(t): k for k, t in enumerate(order)}
    for t in order:
        for x in (t._ctx.inputs if t._ctx is not None else ()):
            if x.requires_grad and position[id(x)] > position[id(t)]:
                raise AssertionError(f"an input of {t._ctx.fn.__name__} comes after it")
    if order[-1] is not root:
        raise AssertionError("the root must come last")


@check("chapter1", "small graphs: the engine's tensors, each after its inputs, root last")
def _chapter1_small(module):
    order = need(module, "topological_order")
    a = tg.tensor(np.array([0.5, -1.0]), requires_grad=True)
    b = tg.tensor(np.array([2.0, 3.0]), requires_grad=True)
    c = tg.tensor(np.array([1.0, 1.0]))                      # a constant: not in the order
    h = (a * b).exp()
    graphs = [(a * b + a).tanh().sum(),                      # a used twice
              (h * h + h.tanh() * c).sum(),                  # a diamond, and x * x
              (a * c).sum(),
              a]                                             # a leaf alone
    for root in graphs:
        _check_order(order(root), root)


@check("chapter1", "a deep chain (20,000 ops): no recursion limit")
def _chapter1_deep(module):
    order = need(module, "topological_order")
    x = tg.tensor(np.array(1.0), requires_grad=True)
    total = x
    for _ in range(20_000):
        total = total + x
    _check_order(order(total), total)


# -- chapter 2: broadcasting's adjoint ---------------------------------------------------------
@check("chapter2", "unbroadcast on hand-picked shapes")
def _chapter2_cases(module):
    unbroadcast = need(module, "unbroadcast")
    rng = np.random.default_rng(0)
    for shape, full in [((3, 1), (2, 3, 4)), ((), (2, 3)), ((1,), (5,)), ((2, 3), (2, 3)),
                        ((2, 1, 3), (4, 2, 5, 3)), ((1, 1), (1, 1))]:
        g = rng.standard_normal(full)
        got = np.asarray(unbroadcast(g, shape))
        if got.shape != shape:
            raise AssertionError(f"unbroadcast(grad of shape {full}, {shape}) has shape "
                                 f"{got.shape}")
        x = rng.standard_normal(shape)
        lhs = np.sum(np.broadcast_to(x, full) * g)
        assert_close(np.sum(x * got), lhs, f"<x, unbroadcast(g)> for {shape} -> {full}")


@check("chapter2", "<broadcast(x), g> == <x, unbroadcast(g)> on hypothesis-drawn shapes")
def _chapter2_property(module):
    unbroadcast = need(module, "unbroadcast")

    @QUICK
    @given(testing.broadcastable_shapes(2, max_dims=4), st.integers(0, 2 ** 32 - 1))
    def adjoint(shapes, seed):
        shape, other = shapes
        full = np.broadcast_shapes(shape, other)
        rng = np.random.default_rng(seed)
        x, g = rng.standard_normal(shape), rng.standard_normal(full)
        got = np.asarray(unbroadcast(g, shape))
        if got.shape != shape:
            raise AssertionError(f"unbroadcast to {shape} from {full} gave shape {got.shape}")
        assert_close(np.sum(x * got), np.sum(np.broadcast_to(x, full) * g),
                     f"adjoint identity for {shape} -> {full}")

    adjoint()


# -- chapter 3: Softsign as a Function ---------------------------------------------------------
@check("chapter3", "forward: x / (1 + |x|), dtype kept")
def _chapter3_forward(module):
    softsign = need(module, "Softsign")
    for dtype in (np.float32, np.float64):
        x = np.linspace(-5, 5, 11).astype(dtype).reshape(11, 1)
        y = softsign.apply(tg.tensor(x))
        if y.dtype != dtype or y.shape != x.shape:
            raise AssertionError(f"{dtype.__name__} input {x.shape} gave {y.dtype} {y.shape}")
        assert_close(y, x / (1 + np.abs(x)), "softsign values", atol=1e-6, rtol=1e-6)


@check("chapter3", "gradcheck on hypothesis-drawn float64 tensors")
def _chapter3_gradcheck(module):
    softsign = need(module, "Softsign")

    @QUICK
    @given(testing.tensors(testing.shapes(max_dims=3)))
    def first_derivatives(x):
        tg.gradcheck(softsign.apply, [x])

    first_derivatives()


@check("chapter3", "gradgradcheck: backward written with tensor ops, differentiable again")
def _chapter3_gradgradcheck(module):
    softsign = need(module, "Softsign")

    @QUICK
    @given(testing.tensors(testing.shapes(max_dims=2), away_from=(0.0,)))  # softsign'' jumps at 0
    def second_derivatives(x):
        tg.gradgradcheck(softsign.apply, [x])

    second_derivatives()


# -- chapter 4: unfold and fold in one dimension -----------------------------------------------
GEOMETRIES_1D = [(2, 5, 7, 3, 1, 0), (1, 1, 6, 2, 2, 1), (3, 2, 9, 4, 2, 2), (2, 3, 4, 4, 3, 3),
                 (1, 2, 5, 1, 1, 0)]          # (N, C, L, k, stride, padding)


def _unfold2d(x, k, stride, padding):
    return tg.kernels.unfold(x[:, :, None, :], 1, k, (1, stride), (0, padding))


@check("chapter4", "unfold1d: the columns of a 1-D convolution (tinygen's layout)")
def _chapter4_unfold(module):
    unfold1d = need(module, "unfold1d")
    rng = np.random.default_rng(0)
    for n, c, length, k, s, p in GEOMETRIES_1D:
        x = rng.standard_normal((n, c, length))
        assert_close(np.asarray(unfold1d(x, k, s, p)), _unfold2d(x, k, s, p),
                     f"unfold1d for x {x.shape}, k={k}, stride={s}, padding={p}")


@check("chapter4", "conv1d as weight @ unfold1d(x) matches the sum in the definition")
def _chapter4_conv(module):
    unfold1d = need(module, "unfold1d")
    rng = np.random.default_rng(1)
    n, c, length, k, s, p, o = 2, 3, 8, 3, 2, 1, 4
    x, w = rng.standard_normal((n, c, length)), rng.standard_normal((o, c, k))
    out_len = (length + 2 * p - k) // s + 1
    gemm = (w.reshape(o, c * k) @ np.asarray(unfold1d(x, k, s, p))).reshape(o, n, out_len)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p)))
    direct = np.array([[[np.sum(w[oc] * xp[i, :, t * s:t * s + k]) for t in range(out_len)]
                        for i in range(n)] for oc in range(o)])
    assert_close(gemm, direct, "conv1d through unfold1d")


@check("chapter4", "fold1d is unfold1d's adjoint: <unfold1d(x), c> == <x, fold1d(c)>")
def _chapter4_fold(module):
    unfold1d, fold1d = need(module, "unfold1d"), need(module, "fold1d")
    rng = np.random.default_rng(2)
    for n, c, length, k, s, p in GEOMETRIES_1D:
        x = rng.standard_normal((n, c, length))
        cols = rng.standard_normal(np.shape(unfold1d(x, k, s, p)))
        back = np.asarray(fold1d(cols, x.shape, k, s, p))
        if back.shape != x.shape:
            raise AssertionError(f"fold1d returned shape {back.shape}, expected {x.shape}")
        assert_close(np.sum(x * back), np.sum(np.asarray(unfold1d(x, k, s, p)) * cols),
                     f"adjoint identity, x {x.shape}, k={k}, stride={s}, padding={p}")


# -- chapter 5: a numba kernel and its NumPy twin ----------------------------------------------
@check("chapter5", "logaddexp and logaddexp_numpy agree with np.logaddexp, dtype kept")
def _chapter5_values(module):
    fast, twin = need(module, "logaddexp"), need(module, "logaddexp_numpy")
    rng = np.random.default_rng(0)
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 2e-6)):
        a = (rng.standard_normal((6, 7)) * 30).astype(dtype)
        b = (rng.standard_normal((6, 7)) * 30).astype(dtype)
        a[0, :4], b[0, :4] = [1000, -1000, -1000, 0], [1000, -1000, 999, 0]  # no overflow
        expected = np.logaddexp(a.astype(np.float64), b.astype(np.float64))
        for name, fn in (("logaddexp", fast), ("logaddexp_numpy", twin)):
            got = np.asarray(fn(a, b))
            if got.dtype != dtype or got.shape != a.shape:
                raise AssertionError(f"{name}: {dtype.__name__} {a.shape} inputs gave "
                                     f"{got.dtype} {got.shape}")
            assert_close(got, expected, f"{name} ({dtype.__name__})", atol=tol, rtol=tol)


@check("chapter5", "logaddexp accepts non-contiguous views; its loop is a numba kernel")
def _chapter5_layout(module):
    fast = need(module, "logaddexp")
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((8, 5)).T, rng.standard_normal((16, 5))[::2].T   # views
    assert_close(np.asarray(fast(a, b)), np.logaddexp(a, b), "logaddexp on views")
    kernel = need(module, "logaddexp_kernel")
    jit_off = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")
    if not jit_off and not hasattr(kernel, "py_func"):
        raise AssertionError("logaddexp_kernel is not a numba function (decorate it with "
                             "@numba.njit(cache=True))")


# -- chapter 6: the Gaussian KL and a stable log-mean-exp --------------------------------------
def _kl_reference(mq, lq, mp, lp):
    return 0.5 * (lp - lq + (np.exp(lq) + (mq - mp) ** 2) / np.exp(lp) - 1)


@check("chapter6", "gaussian_kl_diag: the closed form, and F.gaussian_kl when p = N(0, I)")
def _chapter6_kl_values(module):
    kl = need(module, "gaussian_kl_diag")
    rng = np.random.default_rng(0)
    mq, lq, mp, lp = (rng.standard_normal((4, 3)) for _ in range(4))
    t = [tg.tensor(v) for v in (mq, lq, mp, lp)]
    assert_close(kl(*t), _kl_reference(mq, lq, mp, lp), "KL(q || p) per entry")
    zero = tg.tensor(np.zeros((4, 3)))
    assert_close(kl(t[0], t[1], zero, zero),
                 tg.functional.gaussian_kl(t[0], t[1], reduction="none"), "KL(q || N(0, I))")
    assert_close(kl(t[0], t[1], t[0], t[1]), np.zeros((4, 3)), "KL(q || q)", atol=1e-12)


@check("chapter6", "gaussian_kl_diag: first and second derivatives (check_grads)")
def _chapter6_kl_grads(module):
    kl = need(module, "gaussian_kl_diag")
    rng = np.random.default_rng(1)
    inputs = [tg.tensor(rng.standard_normal((2, 3)), requires_grad=True) for _ in range(4)]
    testing.check_grads(kl, inputs)


@check("chapter6", "log_mean_exp: values, no underflow at log w = -1000, gradient")
def _chapter6_log_mean_exp(module):
    lme = need(module, "log_mean_exp")
    rng = np.random.default_rng(2)
    w = rng.standard_normal((5, 3)) * 3
    expected = np.log(np.mean(np.exp(w), axis=0))
    assert_close(lme(tg.tensor(w), axis=0), expected, "log_mean_exp(w, axis=0)")
    low = lme(tg.tensor(np.full((4, 2), -1000.0)), axis=0)
    assert_close(low, np.full(2, -1000.0), "log_mean_exp of -1000s (exp underflows to 0)")
    x = tg.tensor(w, requires_grad=True)
    tg.gradcheck(lambda x: lme(x, axis=0), [x])


# -- chapter 7: R1 by double backward ----------------------------------------------------------
@check("chapter7", "r1_penalty of a linear critic: 1/2 |w|^2, and d penalty / d w = w")
def _chapter7_linear(module):
    r1 = need(module, "r1_penalty")
    rng = np.random.default_rng(0)
    w = tg.tensor(rng.standard_normal((3, 1)), requires_grad=True)
    x = tg.tensor(rng.standard_normal((5, 3)))
    penalty = r1(lambda v: v @ w, x)
    assert_close(penalty, np.array(0.5 * np.sum(w.data ** 2)), "R1 of D(x) = x @ w")
    if not penalty.requires_grad:
        raise AssertionError("the penalty does not depend on D's weights: take the gradient "
                             "with create_graph=True")
    dw, = tg.grad(penalty, [w])
    assert_close(dw, w.data, "d R1 / d w for D(x) = x @ w")


@check("chapter7", "r1_penalty of a small MLP critic: value and weight gradients vs the library")
def _chapter7_mlp(module):
    r1 = need(module, "r1_penalty")
    tg.random.manual_seed(0)
    D = tg.nn.Sequential(tg.nn.Linear(2, 8), tg.nn.Tanh(), tg.nn.Linear(8, 1))
    x = tg.tensor(np.random.default_rng(1).standard_normal((6, 2)).astype(np.float32))
    params = list(D.parameters())
    ours = r1(D, x)
    reference = tg.gan.r1_penalty(D, x)[0]
    assert_close(ours, reference.data, "R1 value", atol=1e-6, rtol=1e-5)
    # (the last bias does not change d D / d x: its gradient is None, "unused")
    mine = tg.grad(ours, params, allow_unused=True)
    theirs = tg.grad(reference, params, allow_unused=True)
    for p, a, b in zip(params, mine, theirs):
        a, b = (np.zeros(p.shape) if g is None else g.data for g in (a, b))
        assert_close(a, b, "d R1 / d (D's parameters)", atol=1e-6, rtol=1e-5)
    if x.grad is not None or x.requires_grad:
        raise AssertionError("r1_penalty changed the caller's x (work on x.detach())")


# -- chapter 8: a norm with a finite gradient at 0 ---------------------------------------------
@check("chapter8", "safe_norm: values match np.linalg.norm, dtype kept")
def _chapter8_values(module):
    norm = need(module, "safe_norm")
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal((4, 5)).astype(dtype)
        got = norm(tg.tensor(x))
        if got.dtype != dtype or got.shape != (4,):
            raise AssertionError(f"safe_norm of {dtype.__name__} (4, 5) gave {got.dtype} "
                                 f"{got.shape}, expected {dtype.__name__} (4,)")
        assert_close(got, np.linalg.norm(x, axis=-1), "the norms", atol=1e-5, rtol=1e-5)


@check("chapter8", "safe_norm: finite gradient at the zero vector, x / |x| elsewhere")
def _chapter8_grad(module):
    norm = need(module, "safe_norm")
    x = tg.tensor(np.array([[0.0, 0.0, 0.0], [3.0, 4.0, 0.0]]), requires_grad=True)
    g, = tg.grad(norm(x).sum(), [x])
    if not np.all(np.isfinite(g.data)):
        raise AssertionError(f"gradient is not finite: {g.data.tolist()}")
    assert_close(g.data[1], np.array([0.6, 0.8, 0.0]), "gradient at (3, 4, 0)", atol=1e-9)


# -- the command -------------------------------------------------------------------------------
def load(path):
    spec = importlib.util.spec_from_file_location("exercise_solution", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module      # numba's cache=True looks the module up by name
    spec.loader.exec_module(module)
    return module


def main(argv):
    if len(argv) != 2 or argv[0] not in CHECKS:
        print(f"usage: python docs/exercises/check.py {{{','.join(sorted(CHECKS))}}} "
              f"your_file.py", file=sys.stderr)
        return 2
    chapter, path = argv
    if not os.path.isfile(path):
        print(f"{path}: no such file", file=sys.stderr)
        return 2
    try:
        module = load(path)
    except Exception:
        print(f"FAILED importing {path}:\n{traceback.format_exc(limit=-3)}")
        return 1
    failed = 0
    for description, fn in CHECKS[chapter]:
        try:
            fn(module)
        except Exception as e:  # noqa: BLE001  (a learner's code can raise anything)
            failed += 1
            notes = getattr(e, "__notes__", [])   # hypothesis: the falsifying example
            message = "\n".join([f"{type(e).__name__}: {e}".strip(), *notes])
            message = message.replace("\n", "\n    ")
            print(f"FAILED {description}\n    {message}")
        else:
            print(f"ok     {description}")
    if failed:
        print(f"{chapter}: {failed} of {len(CHECKS[chapter])} checks FAILED")
        return 1
    print(f"{chapter}: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
