"""The guided tour in docs/ stays true to the code.

- Every ```python block of a chapter runs, in order, in a fresh interpreter per chapter (the
  blocks of one chapter share one namespace, as if a reader typed them into one session).
- Every code pointer `tinygen/some/file.py::name` in the tour names a file that exists and a
  function or class (or method, `Class.method`) defined in it; every relative link resolves.
- The exercise checker accepts the reference solutions, and rejects the starter files (not yet
  solved) and deliberately wrong solutions, with the same command a learner types:
      python docs/exercises/check.py chapter3 my_solution.py

Run one chapter by hand:   python tests/test_docs.py docs/03-your-own-op.md
"""
import importlib.util
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CHAPTERS = sorted(DOCS.glob("[0-9][0-9]-*.md"))
CHECKER = DOCS / "exercises" / "check.py"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
POINTER = re.compile(r"`(tinygen/[\w/]+\.py)::([\w.]+)`")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def python_blocks(path):
    """[(first line number, code)] of the ```python blocks in a Markdown file."""
    text = path.read_text()
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in BLOCK.finditer(text)]


def run_chapter(path):
    """Exec the chapter's blocks in order in this interpreter, one shared namespace."""
    namespace = {"__name__": "__tour__"}
    for line, code in python_blocks(path):
        name = f"{path.name}, python block at line {line}"
        # Blank lines in front, so a traceback's line numbers are the Markdown file's.
        exec(compile("\n" * line + code, name, "exec"), namespace)


def _env():
    env = dict(os.environ, MPLBACKEND="Agg")
    # One BLAS thread unless the caller says otherwise: on a busy 2-core machine two threads
    # made one step of chapter 6's small VAE 1.5-250 ms instead of 1.3 ms (see chapter 8).
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def test_the_tour_has_its_eight_chapters_and_an_index():
    assert len(CHAPTERS) == 8, [c.name for c in CHAPTERS]
    assert [c.name[:2] for c in CHAPTERS] == [f"{i:02d}" for i in range(1, 9)]
    index = (DOCS / "README.md").read_text()
    positions = [index.find(f"({c.name})") for c in CHAPTERS]
    assert -1 not in positions, "docs/README.md must link every chapter"
    assert positions == sorted(positions), "docs/README.md must list the chapters in order"


@pytest.mark.parametrize("chapter", [*CHAPTERS, DOCS / "README.md"], ids=lambda p: p.stem)
def test_every_python_block_is_found(chapter):
    """An indented fence (inside a list) would be skipped silently by the runner: none allowed."""
    assert chapter.read_text().count("```python") == len(python_blocks(chapter))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_code_runs_in_a_fresh_interpreter(chapter, tmp_path):
    assert python_blocks(chapter), f"{chapter.name} has no python block"
    env = _env()
    # The tour shows compiled kernels (chapter 5 times them; chapter 8 turns the JIT off
    # itself), so NUMBA_DISABLE_JIT=1 pytest, a mode for debugging kernels, does not reach it.
    env.pop("NUMBA_DISABLE_JIT", None)
    result = subprocess.run([sys.executable, str(pathlib.Path(__file__)), str(chapter)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{chapter.name} failed:\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_is_a_ten_minute_read(chapter):
    """At most ~1600 words of prose (code blocks not counted): ten minutes at ~160 words a
    minute, the pace of technical reading."""
    prose = BLOCK.sub("", chapter.read_text())
    assert len(prose.split()) <= 1600, f"{chapter.name}: {len(prose.split())} words of prose"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_ends_with_a_checked_exercise(chapter):
    text = chapter.read_text()
    number = int(chapter.name[:2])
    assert "## Exercise" in text
    assert f"python docs/exercises/check.py chapter{number} " in text
    assert (DOCS / "exercises" / "solutions" / f"chapter{number}.py").is_file()
    assert (DOCS / "exercises" / "starters" / f"chapter{number}.py").is_file()


def _pointers():
    pages = [p for p in [*CHAPTERS, DOCS / "README.md"] if p.is_file()]
    return sorted({(p.name, path, name) for p in pages
                   for path, name in POINTER.findall(p.read_text())})


def test_chapters_point_at_code_by_name():
    by_chapter = {c.name: POINTER.findall(c.read_text()) for c in CHAPTERS}
    assert all(len(p) >= 3 for p in by_chapter.values()), by_chapter


@pytest.mark.parametrize("chapter,path,name", _pointers())
def test_code_pointer_names_something_defined_there(chapter, path, name):
    source = ROOT / path
    assert source.is_file(), f"{chapter}: {path} does not exist"
    text = source.read_text()
    *owner, leaf = name.split(".")
    assert re.search(rf"^\s*(def|class) {re.escape(leaf)}\b", text, re.M), \
        f"{chapter}: nothing named {leaf!r} is defined in {path}"
    for cls in owner:
        assert re.search(rf"^class {re.escape(cls)}\b", text, re.M), \
            f"{chapter}: no class {cls!r} in {path}"


def test_relative_links_resolve():
    for page in [*CHAPTERS, DOCS / "README.md"]:
        for target in LINK.findall(page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


# -- the exercise checker --------------------------------------------------------------------
def check(chapter, solution, tmp_path):
    """The learner's command, exactly: python docs/exercises/check.py chapterN file.py"""
    return subprocess.run([sys.executable, str(CHECKER), chapter, str(solution)], cwd=tmp_path,
                          env=_env(), capture_output=True, text=True, timeout=300)


def check_here(chapter, solution, capsys):
    """The same checker's main() in this process (no interpreter start-up: ~1 s each on a busy
    2-core machine); the command itself is run once each way below."""
    spec = importlib.util.spec_from_file_location("tour_exercise_check", CHECKER)
    checker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checker)
    random = sys.modules["tinygen.random"]
    state = random.get_state()   # some checks seed tinygen's generator: leave it as it was
    try:
        code = checker.main([chapter, str(solution)])
    finally:
        random.set_state(state)
    return code, capsys.readouterr().out


@pytest.mark.parametrize("number", range(1, 9))
def test_checker_accepts_the_reference_solution(number, capsys):
    code, out = check_here(f"chapter{number}",
                           DOCS / "exercises" / "solutions" / f"chapter{number}.py", capsys)
    assert code == 0, out
    assert f"chapter{number}: all checks passed" in out and "FAILED" not in out


def test_checker_command_accepts_a_reference_solution(tmp_path):
    """The learner's command, in a fresh interpreter, from another directory: exit status 0."""
    result = check("chapter5", DOCS / "exercises" / "solutions" / "chapter5.py", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "chapter5: all checks passed" in result.stdout


@pytest.mark.parametrize("number", range(1, 9))
def test_checker_rejects_the_unsolved_starter(number, capsys):
    code, out = check_here(f"chapter{number}",
                           DOCS / "exercises" / "starters" / f"chapter{number}.py", capsys)
    assert code == 1, out
    assert "FAILED" in out and "NotImplementedError" in out
    assert f"chapter{number}: all checks passed" not in out


WRONG = {
    # Softsign whose backward forgets the square: dy/dx = 1 / (1 + |x|), not 1 / (1 + |x|)^2.
    "chapter3": ("""
        import tinygen as tg

        class Softsign(tg.Function):
            @staticmethod
            def forward(ctx, x):
                return x / (1 + abs(x))

            @staticmethod
            def backward(ctx, grad):
                x, = ctx.inputs
                return grad / (1 + x.abs())
        """, "GradcheckError"),
    # The right values, but the backward works on .data: first derivatives pass, second fail.
    "chapter3 ": ("""
        import numpy as np
        import tinygen as tg

        class Softsign(tg.Function):
            @staticmethod
            def forward(ctx, x):
                return x / (1 + abs(x))

            @staticmethod
            def backward(ctx, grad):
                x = ctx.inputs[0].data
                return tg.tensor(grad.data / (1 + np.abs(x)) ** 2)
        """, "gradgradcheck"),
    # A recursive topological order: right on small graphs, RecursionError on a deep chain.
    "chapter1": ("""
        def topological_order(root):
            order, seen = [], set()
            def visit(t):
                if id(t) in seen or not t.requires_grad:
                    return
                seen.add(id(t))
                if t._ctx is not None:
                    for x in t._ctx.inputs:
                        visit(x)
                order.append(t)
            visit(root)
            return order
        """, "deep chain"),
    # unbroadcast that sums the size-1 axes but forgets the leading ones.
    "chapter2": ("""
        def unbroadcast(grad, shape):
            axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
            return grad.sum(axis=axes, keepdims=True)
        """, "FAILED"),
    # R1 without create_graph=True: the right value, but no gradient for D's weights.
    "chapter7": ("""
        import tinygen as tg

        def r1_penalty(D, x):
            x = x.detach().requires_grad_()
            g, = tg.grad(D(x).sum(), [x])
            return 0.5 * (g * g).reshape(len(x), -1).sum(axis=1).mean()
        """, "create_graph=True"),
    # The plain norm: NaN gradient at the zero vector.
    "chapter8": ("""
        def safe_norm(x, axis=-1, eps=1e-12):
            return (x * x).sum(axis=axis).sqrt()
        """, "gradient is not finite"),
}


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning",
                            "ignore:invalid value:RuntimeWarning")   # the NaN in chapter 8's
@pytest.mark.parametrize("chapter", sorted(WRONG), ids=lambda c: c.strip() + "-wrong")
def test_checker_rejects_a_wrong_solution(chapter, tmp_path, capsys):
    source, expected = WRONG[chapter]
    wrong = tmp_path / "wrong.py"
    wrong.write_text(textwrap.dedent(source))
    code, out = check_here(chapter.strip(), wrong, capsys)
    assert code == 1, out
    assert "FAILED" in out and expected in out, out


def test_checker_command_rejects_a_wrong_solution(tmp_path):
    """Once through the command line too: exit status 1 and the failing check named."""
    wrong = tmp_path / "wrong.py"
    wrong.write_text(textwrap.dedent(WRONG["chapter3"][0]))
    result = check("chapter3", wrong, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED gradcheck" in result.stdout and "GradcheckError" in result.stdout


if __name__ == "__main__":
    run_chapter(pathlib.Path(sys.argv[1]))
