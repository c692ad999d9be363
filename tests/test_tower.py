"""The tower as a tested fact: every import in tinygen/ goes down the tower, and none closes a cycle.

Every import statement in every file is read with `ast` -- function-local ones too -- and so is
every use of a lazily loaded floor through the package (`tg.nn`, `tg.optim`, ...), which imports
it as surely as an import statement. A module may import its own floor and the floors below;
an import up the tower fails, and so does a cycle. The one allowed exception is the engine's:
tensor.py imports the ops at its bottom, because the ops are built on the Tensor and the
Tensor's methods call the ops (ALLOWED below). The README's reading order lists the same floors.
"""
import ast
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Bottom to top; each entry is one floor (modules that may import each other, acyclically).
FLOORS = [
    ["tinygen.kernels"],
    ["tinygen.random"],
    ["tinygen.tensor"],
    ["tinygen.function"],
    ["tinygen.ops"],
    ["tinygen.functional"],
    ["tinygen.gradcheck", "tinygen.testing", "tinygen.viz", "tinygen.profile",
     "tinygen"],                                         # `tinygen`: the package's __init__
    ["tinygen.nn"],
    ["tinygen.optim"],
    ["tinygen.io"],
    ["tinygen.checkpoint"],
    ["tinygen.data"],
    ["tinygen.vae", "tinygen.gan"],
    ["tinygen.metrics"],
    ["tinygen.plots"],
    ["tinygen.runs"],
    ["tinygen.cli"],
]
ALLOWED = {("tinygen.tensor", "tinygen.ops")}   # the engine's tie, see the module docstring
LAZY = {"functional", "nn", "optim", "io", "checkpoint", "data", "vae", "gan", "metrics",
        "plots", "runs", "testing", "kernels", "viz"}


def module_name(path: Path, package_dir: Path) -> str:
    parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules_of(package_dir: Path) -> dict[str, Path]:
    return {module_name(p, package_dir): p for p in sorted(package_dir.rglob("*.py"))}


def floor_of(module: str) -> int:
    """Index of the floor whose entry is the longest prefix of `module`."""
    best, best_len = None, -1
    for i, entries in enumerate(FLOORS):
        for entry in entries:
            if (module == entry or module.startswith(entry + ".")) and len(entry) > best_len:
                best, best_len = i, len(entry)
    if best is None:
        raise AssertionError(f"{module} is on no floor: add it to FLOORS in tests/test_tower.py "
                             "and to the README's reading order")
    return best


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The tinygen modules that `module` (file `path`) imports, anywhere in the file."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    aliases, found = set(), set()

    def resolve(name: str) -> str:
        while name not in known and "." in name:
            name = name.rpartition(".")[0]
        return name

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "tinygen":
                    found.add(resolve(a.name))
                    if a.name == "tinygen":
                        aliases.add(a.asname or "tinygen")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            if base.split(".")[0] != "tinygen":
                continue
            for a in node.names:
                found.add(resolve(f"{base}.{a.name}"))
    for node in ast.walk(tree):   # tg.nn, tg.optim, ...: lazy floors used through the package
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases and node.attr in LAZY):
            found.add(f"tinygen.{node.attr}")
    found.discard(module)
    return found


def violations(package_dir: Path) -> list[str]:
    """Every import that goes up the tower, and every cycle, as one line each."""
    modules = modules_of(package_dir)
    graph = {m: imports_of(m, p, set(modules)) for m, p in modules.items()}
    problems = []
    for source, targets in graph.items():
        for target in sorted(targets):
            allowed = any(source == a and (target == b or target.startswith(b + "."))
                          for a, b in ALLOWED)
            if not allowed and floor_of(target) > floor_of(source):
                problems.append(f"{source} imports {target}, a higher floor")
    problems += [f"import cycle: {' -> '.join(c)}" for c in cycles(graph)]
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules (iterative DFS), ignoring
    the ALLOWED edges."""
    edges = {m: sorted(t for t in ts if t in graph and not any(
        m == a and (t == b or t.startswith(b + ".")) for a, b in ALLOWED))
        for m, ts in graph.items()}
    found, state = [], {}          # state: 1 on the current path, 2 finished
    for start in sorted(edges):
        if state.get(start):
            continue
        path, stack = [start], [iter(edges[start])]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                found.append(path[path.index(nxt):] + [nxt])
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(edges[nxt]))
    return found


def test_every_import_goes_down_the_tower():
    assert violations(ROOT / "tinygen") == []


def test_every_module_is_on_a_floor():
    for module in modules_of(ROOT / "tinygen"):
        floor_of(module)


@pytest.mark.parametrize("file, line, expected", [
    ("tensor.py", "def _f():\n    from tinygen import cli\n", "tinygen.tensor imports tinygen.cli"),
    ("plots/images.py", "from tinygen.runs import read_metrics\n",
     "tinygen.plots.images imports tinygen.runs"),
    ("nn/layers.py", "def f():\n    import tinygen as tg\n    return tg.optim\n",
     "tinygen.nn.layers imports tinygen.optim"),
    ("vae/networks.py", "from tinygen.gan import build_models\n", None),
    ("gan/objective.py", "from tinygen import vae\n", "import cycle"),
])
def test_a_planted_violation_is_caught(tmp_path, file, line, expected):
    """The check fails on an upward import (top-level or function-local, or a lazy floor used
    through `tg.`) and on a cycle within one floor; an import within a floor that closes no
    cycle passes."""
    copy = tmp_path / "tinygen"
    shutil.copytree(ROOT / "tinygen", copy, ignore=shutil.ignore_patterns("__pycache__", "*.gz"))
    if file == "gan/objective.py":   # close a cycle: vae imports gan, gan imports vae
        with open(copy / "vae" / "objective.py", "a") as f:
            f.write("from tinygen import gan\n")
    with open(copy / file, "a") as f:
        f.write(line)
    problems = violations(copy)
    if expected is None:
        assert problems == []
    else:
        assert any(expected in p for p in problems), problems


def test_the_readme_reading_order_lists_the_floors_in_order():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Reading the source"):]
    section = section[:section.index("\n## ", 1)]
    positions = []
    for entries in FLOORS:
        for entry in entries:
            if entry == "tinygen":
                continue
            path = entry.replace(".", "/") + ("/" if (ROOT / entry.replace(".", "/")).is_dir()
                                               else ".py")
            assert f"`{path}" in section, f"README's reading order does not name {path}"
            positions.append((section.index(f"`{path}"), path))
    assert [p for _, p in sorted(positions)] == [p for _, p in positions]
