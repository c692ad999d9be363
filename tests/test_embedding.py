"""nn.Embedding: PyTorch's name, init and state_dict layout; exact first and second derivatives
(hypothesis draws the table and the indices, repeats included); bad indices refused."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygen as tg
from tinygen import nn
from tinygen.testing import arrays, check_grads, tensors


def test_embedding_layout_init_and_repr_follow_pytorch():
    tg.random.manual_seed(0)
    emb = nn.Embedding(1000, 64)
    assert list(emb.state_dict()) == ["weight"] and emb.weight.shape == (1000, 64)
    assert emb.weight.dtype == np.float32
    w = emb.weight.data
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1.0) < 0.01       # N(0, 1)
    assert repr(emb) == "Embedding(1000, 64)"


def test_embedding_looks_up_rows_like_one_hot_times_weight():
    emb = nn.Embedding(5, 3)
    y = np.array([[4, 0], [0, 2]])
    out = emb(y)
    assert out.shape == (2, 2, 3)
    one_hot = np.eye(5, dtype=np.float32)[y]
    np.testing.assert_array_equal(out.data, one_hot @ emb.weight.data)
    np.testing.assert_array_equal(emb(tg.tensor(y)).data, out.data)   # Tensors of ints work


@given(weight=tensors((4, 3)),
       index=st.lists(st.integers(0, 3), min_size=1, max_size=6).map(np.array),
       scale=arrays((3,)))
def test_embedding_has_exact_first_and_second_derivatives(weight, index, scale):
    emb = nn.Embedding(4, 3).double()
    emb.weight.data[...] = weight.data
    # a nonlinear function of the looked-up rows, so the second derivative is not zero;
    # repeated indices check that the gradients of a row used twice add up
    fn = lambda w: (emb(index) * tg.tensor(scale)).tanh()   # noqa: E731
    check_grads(fn, [emb.weight])


def test_embedding_gradient_adds_up_rows_used_twice():
    emb = nn.Embedding(3, 2)
    emb(np.array([1, 1, 2])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.data, [[0, 0], [2, 2], [1, 1]])


@pytest.mark.parametrize("index,error", [(np.array([0, 3]), IndexError),
                                         (np.array([-1]), IndexError),
                                         (np.array([0.5]), TypeError)])
def test_embedding_refuses_bad_indices_naming_the_range(index, error):
    with pytest.raises(error, match="Embedding"):
        nn.Embedding(3, 2)(index)


def test_embedding_state_dict_moves_to_and_from_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.Embedding(6, 4), torch.nn.Embedding(6, 4)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    y = np.array([5, 0, 2, 2])
    with torch.no_grad():
        np.testing.assert_array_equal(theirs(torch.tensor(y)).numpy(), ours(y).data)
