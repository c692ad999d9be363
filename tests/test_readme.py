"""The README's Python examples run as written (so the README stays true to the code)."""
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_has_python_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_example_runs(index):
    code = BLOCKS[index]
    if "torch" in code:
        pytest.importorskip("torch")
    namespace = {}
    exec(compile(code, f"README.md python block {index}", "exec"), namespace)
    for name, value in list(namespace.items()):  # property tests defined in a block run too
        if name.startswith("test_") and callable(value):
            value()
