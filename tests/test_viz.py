"""tinygen.viz: the DOT text of small graphs (no Graphviz needed), module boxes, and draw()."""
import ast
import pathlib
import re
import shutil

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen import nn, viz


def parse(dot):
    """{node id: label} and [(src, dst)] from to_dot's text."""
    nodes = dict(re.findall(r'^  ([nm]\d+) \[label="((?:[^"\\]|\\.)*)"', dot, re.M))
    edges = re.findall(r"^  ([nm]\d+) -> ([nm]\d+);$", dot, re.M)
    return nodes, edges


def expression():
    a = tg.tensor([2.0, -1.0], requires_grad=True)
    b = tg.tensor([3.0, 0.5], requires_grad=True)
    return a, b, (a * b + b.exp() * 2).sum()


def test_one_node_per_op_and_leaf_one_edge_per_input():
    a, b, out = expression()
    nodes, edges = parse(viz.to_dot(out))
    # leaves a, b, the constant 2; ops Mul, Exp, Mul, Add, Sum
    assert sorted(label.split("\\n")[0] for label in nodes.values()) == sorted(
        ["(2,) float32", "(2,) float32", "2", "Mul", "Exp", "Mul", "Add", "Sum"])
    assert len(edges) == 8
    label = {v: k for k, v in nodes.items()}
    assert (label["Add\\n(2,) float32"], label["Sum\\n() float32"]) in edges
    assert viz.to_dot(out).startswith("digraph tinygen {") and viz.to_dot(out).endswith("}\n")


def test_op_labels_state_function_shape_and_dtype():
    x = tg.tensor(np.ones((3, 4)), requires_grad=True)          # float64
    w = tg.tensor(np.ones((4, 5)), requires_grad=True)
    nodes, edges = parse(viz.to_dot((x @ w).tanh()))
    assert "MatMul\\n(3, 5) float64" in nodes.values()
    assert "Tanh\\n(3, 5) float64" in nodes.values()
    assert len(nodes) == 4 and len(edges) == 3


def test_an_input_used_twice_gives_two_edges():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    nodes, edges = parse(viz.to_dot(x * x))
    assert len(nodes) == 2 and edges == [("n0", "n1"), ("n0", "n1")]


def test_params_name_the_leaves_and_others_go_by_shape():
    a, b, out = expression()
    nodes, _ = parse(viz.to_dot(out, params={"weight": a}))
    assert "weight\\n(2,) float32" in nodes.values()
    assert "(2,) float32" in nodes.values()                     # b: no name, its shape
    constant = tg.tensor(np.zeros((2, 3), np.float32))
    nodes, _ = parse(viz.to_dot((a.reshape(2, 1) * constant).sum()))
    assert "const (2, 3) float32" in nodes.values()


def test_show_grad_adds_the_grad_shape_to_leaves_that_have_one():
    a, b, out = expression()
    assert "grad" not in viz.to_dot(out, show_grad=True)        # before backward: no .grad
    out.backward()
    nodes, _ = parse(viz.to_dot(out, params={"a": a}, show_grad=True))
    assert "a\\n(2,) float32\\ngrad (2,)" in nodes.values()
    assert "(2,) float32\\ngrad (2,)" in nodes.values()
    assert sum("grad" in label for label in nodes.values()) == 2  # ops have no .grad
    assert "grad" not in viz.to_dot(out, params={"a": a})


def test_the_output_is_marked_and_names_are_escaped():
    x = tg.tensor([1.0], requires_grad=True)
    dot = viz.to_dot(x.exp(), params={'say "hi"': x})
    assert dot.count("peripheries=2") == 1
    assert 'label="say \\"hi\\"\\n(1,) float32"' in dot


def test_a_leaf_alone_is_one_node():
    x = tg.tensor([1.0], requires_grad=True)
    nodes, edges = parse(viz.to_dot(x))
    assert len(nodes) == 1 and edges == []


def test_to_dot_needs_a_tensor():
    with pytest.raises(TypeError, match="Tensor"):
        viz.to_dot([1.0])


UNARY = [lambda t: t.exp(), lambda t: t.tanh(), lambda t: -t, lambda t: t * 2]
BINARY = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b]


@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 99), st.integers(0, 99)),
                min_size=1, max_size=12))
def test_random_graphs_have_one_node_per_tensor_and_one_edge_per_input(steps):
    """Build an expression step by step from two leaves; count what to_dot must draw."""
    pool = [tg.tensor([0.5, -1.0], requires_grad=True), tg.tensor([2.0, 0.25], requires_grad=True)]
    for kind, i, j in steps:
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        pool.append(UNARY[kind](a) if kind < len(UNARY) else BINARY[kind - len(UNARY)](a, b))
    out = pool[-1]
    tensors, stack = {}, [out]
    while stack:                                  # every tensor behind out, constants included
        t = stack.pop()
        if id(t) not in tensors:
            tensors[id(t)] = t
            stack.extend(t._ctx.inputs if t._ctx is not None else ())
    nodes, edges = parse(viz.to_dot(out))
    assert len(nodes) == len(tensors)
    assert len(edges) == sum(len(t._ctx.inputs) for t in tensors.values() if t._ctx is not None)
    ops = [t._ctx.fn.__name__ for t in tensors.values() if t._ctx is not None]
    assert sorted(v.split("\\n")[0] for v in nodes.values() if "\\n" in v and
                  not v.startswith("(")) == sorted(ops)


# -- module boxes ---------------------------------------------------------------------------
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
        self.head = nn.Linear(3, 2)

    def forward(self, x):
        return self.head(self.encoder(x))


def run(model, shape=(5, 4)):
    x = tg.tensor(np.ones(shape, np.float32))
    with viz.record_modules(model) as calls:
        y = model(x)
    return (y * y).mean(), calls


def test_each_module_call_becomes_one_box_with_its_parameters():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    loss, calls = run(model)
    assert [c.name for c in calls] == ["0", "1", "2", ""]
    dot = viz.to_dot(loss, params=dict(model.named_parameters()), modules=calls)
    nodes, edges = parse(dot)
    boxes = sorted(v for k, v in nodes.items() if k.startswith("m"))
    assert boxes == ["0: Linear\\n(5, 3) float32\\nweight (3, 4)\\nbias (3,)",
                     "1: ReLU\\n(5, 3) float32",
                     "2: Linear\\n(5, 2) float32\\nweight (2, 3)\\nbias (2,)"]
    assert not any(op in dot for op in ("MatMul", "Permute", "Relu"))  # inside the boxes
    # x, 3 boxes, then Mul, Sum, the constant 5 * 2 = 10, Div
    assert len(nodes) == 8
    assert ("n0", "m0") in edges and ("m0", "m1") in edges and ("m1", "m2") in edges
    assert edges.count(("m2", "n1")) == 1                       # y * y: one edge from a box
    assert len(edges) == 7


def test_depth_picks_the_level_of_the_boxes():
    model = Net()
    loss, calls = run(model)
    params = dict(model.named_parameters())

    def boxes(depth):
        nodes, _ = parse(viz.to_dot(loss, params=params, modules=calls, depth=depth))
        return sorted(v.split("\\n")[0] for k, v in nodes.items() if k.startswith("m"))
    assert boxes(0) == ["model: Net"]
    assert boxes(1) == ["encoder: Sequential", "head: Linear"]
    assert boxes(2) == ["encoder.0: Linear", "encoder.1: ReLU", "head: Linear"]
    nodes, _ = parse(viz.to_dot(loss, params=params, modules=calls, depth=1))
    assert "encoder: Sequential\\n(5, 3) float32\\n0.weight (3, 4)\\n0.bias (3,)" \
        in nodes.values()


def test_a_parameter_also_used_outside_its_module_stays_a_node():
    model = nn.Sequential(nn.Linear(4, 3))
    y, calls = run(model)
    loss = y + (model[0].weight ** 2).sum()                     # weight decay on the side
    nodes, edges = parse(viz.to_dot(loss, params=dict(model.named_parameters()), modules=calls))
    weight = next(k for k, v in nodes.items() if v.startswith("0.weight"))
    power = next(k for k, v in nodes.items() if v.startswith("Pow"))
    assert (weight, "m0") in edges and (weight, power) in edges
    assert "0: Linear\\n(5, 3) float32\\nbias (3,)" in nodes.values()


def test_a_module_called_twice_gives_two_boxes():
    layer = nn.Linear(3, 3)
    x = tg.tensor(np.ones((2, 3), np.float32))
    with viz.record_modules(layer) as calls:
        y = layer(layer(x))
    nodes, edges = parse(viz.to_dot(y, modules=calls))
    assert sorted(k for k in nodes if k.startswith("m")) == ["m0", "m1"]
    assert ("m0", "m1") in edges


def test_recording_leaves_no_trace_on_the_modules_even_after_an_error():
    model = Net()
    with pytest.raises(ValueError):
        with viz.record_modules(model):
            assert all("forward" in m.__dict__ for m in model.modules())
            model(tg.tensor(np.ones((5, 7), np.float32)))        # 7 features: a shape error
    assert not any("forward" in m.__dict__ for m in model.modules())
    assert "forward" not in model.state_dict()
    _, calls = run(model)
    model(tg.tensor(np.ones((5, 4), np.float32)))                # after the block: not recorded
    assert len(calls) == 5                                       # model, encoder, 0, 1, head


# -- draw ---------------------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_draw_writes_svg_and_png(tmp_path):
    a, b, out = expression()
    svg = viz.draw(out, tmp_path / "g.svg", params={"a": a})
    assert svg == str(tmp_path / "g.svg")
    text = (tmp_path / "g.svg").read_text()
    assert "<svg" in text and "Exp" in text
    viz.draw(out, str(tmp_path / "g.png"))
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.png", "g.svg"]  # no temporaries


def test_draw_without_graphviz_says_how_to_install_it_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "")
    a, b, out = expression()
    with pytest.raises(viz.GraphvizNotFound) as error:
        viz.draw(out, tmp_path / "g.svg")
    message = str(error.value)
    assert "\n" not in message and "apt-get install graphviz" in message
    assert list(tmp_path.iterdir()) == []


def test_draw_rejects_an_unknown_format_and_a_missing_folder(tmp_path):
    with pytest.raises(ValueError, match=r"\.svg, \.png or \.pdf"):
        viz.draw(tg.tensor([1.0]), tmp_path / "g.jpg")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        viz.draw(tg.tensor([1.0]), tmp_path / "no" / "g.svg")


def tinygen_imports(path):
    """The tinygen modules a file imports, function-local imports included."""
    found = set()
    for node in ast.walk(ast.parse(pathlib.Path(path).read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("tinygen")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tinygen"):
            found |= {f"{node.module}.{a.name}" if node.module == "tinygen" else node.module
                      for a in node.names}
    return found


def test_viz_sits_on_the_tensor_floor_and_the_engine_does_not_import_it():
    assert tinygen_imports(viz.__file__) == {"tinygen.tensor"}
    for engine_file in ("tensor.py", "function.py"):
        imports = tinygen_imports(pathlib.Path(viz.__file__).parent / engine_file)
        assert not any(name.startswith(("tinygen.viz", "tinygen.profile")) for name in imports)
