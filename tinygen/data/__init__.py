"""tinygen.data: datasets as NumPy arrays -- MNIST (bundled 5k subset and full), 2D toy
mixtures, a user's own .npy/.npz or folder of images -- and a seeded minibatch iterator.

Place in the tower: above optim, below the models. NumPy, with Pillow for image files and tqdm
for progress bars: nothing here imports the Tensor.
Files, one concept each:
    errors.py   DataError, raised with a message naming the file/dataset and the fault
    idx.py      read_idx / write_idx, the MNIST IDX file format
    mnist.py    load_mnist5k (bundled), load_mnist (data directory + verified download)
    toy.py      Mixture2D, RING8, GRID25 (centres, std, sample)
    arrays.py   load_arrays: a user's .npy / .npz of images or 2D points
    pixels.py   uint8 images to the models' shape: alpha, grey <-> RGB, resize + crop, 8..128
    folder.py   list_folder: a folder's image files, class labels and train/test layout
    decode.py   survey and decode image files with Pillow into uint8 (N, C, H, W)
    cache.py    the folder cache: decoded folders kept as .npz, keyed by the files' stats
    split.py    held_out: the seeded test share of data that has no test split
    dataset.py  Dataset and load_dataset, the front door used by the CLI and the examples
    batches.py  iterate_batches, as_generator, as_float (uint8 -> float32 per batch)
    clusters.py kmeans, pixel_clusters: label-free groups of images (a GAN's --clusters)

MNIST: Yann LeCun, Corinna Cortes, Christopher J.C. Burges -- CC BY-SA 3.0.
"""
from .arrays import load_arrays
from .batches import as_float, as_generator, iterate_batches
from .clusters import kmeans, pixel_clusters
from .dataset import DATASET_NAMES, Dataset, load_dataset
from .errors import DataError
from .folder import IMAGE_SUFFIXES, list_folder
from .idx import read_idx, write_idx
from .mnist import default_data_dir, load_mnist, load_mnist5k
from .pixels import MAX_SIZE, MIN_SIZE
from .toy import GRID25, MIXTURES, RING8, Mixture2D

__all__ = [
    "DATASET_NAMES", "Dataset", "DataError", "GRID25", "IMAGE_SUFFIXES", "MAX_SIZE", "MIN_SIZE",
    "MIXTURES", "Mixture2D", "RING8", "as_float", "as_generator", "default_data_dir",
    "iterate_batches", "kmeans", "list_folder", "load_arrays", "load_dataset", "load_mnist",
    "load_mnist5k", "pixel_clusters", "read_idx", "write_idx",
]
