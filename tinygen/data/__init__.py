"""tinygen.data: datasets as NumPy arrays -- MNIST (bundled 5k subset and full), 2D toy
mixtures, a user's own .npy/.npz -- and a seeded minibatch iterator.

Place in the tower: above optim, below vae/gan. Pure NumPy: nothing here imports the Tensor.
Files, one concept each:
    errors.py   DataError, raised with a message naming the file/dataset and the fault
    idx.py      read_idx / write_idx, the MNIST IDX file format
    mnist.py    load_mnist5k (bundled), load_mnist (data directory + verified download)
    toy.py      Mixture2D, RING8, GRID25 (centres, std, sample)
    arrays.py   load_arrays: a user's .npy / .npz of images or 2D points
    dataset.py  Dataset and load_dataset, the front door used by the CLI and the examples
    batches.py  iterate_batches, as_generator

MNIST: Yann LeCun, Corinna Cortes, Christopher J.C. Burges -- CC BY-SA 3.0.
"""
from .arrays import load_arrays
from .batches import as_generator, iterate_batches
from .dataset import DATASET_NAMES, Dataset, load_dataset
from .errors import DataError
from .idx import read_idx, write_idx
from .mnist import default_data_dir, load_mnist, load_mnist5k
from .toy import GRID25, MIXTURES, RING8, Mixture2D

__all__ = [
    "DATASET_NAMES", "Dataset", "DataError", "GRID25", "MIXTURES", "Mixture2D", "RING8",
    "as_generator", "default_data_dir", "iterate_batches", "load_arrays", "load_dataset",
    "load_mnist", "load_mnist5k", "read_idx", "write_idx",
]
