"""Judging generated digits with a small MNIST classifier trained by tinygen itself.

Place in the tower: metrics/ (imports tinygen, functional, nn, optim, checkpoint, data).

The classifier is a small conv net (two stride-2 convolutions, 32 and 64 channels, a 128-unit
hidden layer with dropout 0.3) trained on the mnist-5k training split (4000 images) for 30
epochs with Adam (lr 1e-3 decaying linearly to 1e-4), batch 64, seed 0, each batch randomly
shifted by up to 2 pixels (augmentation: 4000 images are few). Measured: 97.7% accuracy on the
1000 test images (the 784-512-10 MLP it replaced: 94.5%), about one CPU-minute of training.
It is trained on first use and its weights are cached in $TINYGEN_CACHE or ~/.cache/tinygen, under a
name that includes the recipe's version, so a changed recipe retrains instead of loading stale
weights. (Caching rather than shipping weights keeps binary blobs out of the package and lets a
reader see exactly how the judge was made.) `classifier()` returns it with its test accuracy.

For generated images x_1..x_n in [0, 1] with predicted label distributions p(y|x_i):

    classifier_is = exp( mean_i KL(p(y|x_i) || p(y)) ),  p(y) = mean_i p(y|x_i)
                    (the Inception Score of Salimans et al. 2016 with this classifier instead
                    of Inception: 1 <= IS <= 10; high when each image is confidently one digit
                    and all digits are equally common)
    label_kl      = KL(h || uniform) = sum_k h_k log(10 h_k),  h = histogram of argmax labels
    classes       = #{k : h_k >= 0.01}   (digit classes present in at least 1% of samples)

For a class-conditional model asked for classes y_i:
    label_agreement   = mean_i [argmax_k p(k|x_i) = y_i], and the same per requested class
                        (bounded by the judge's own accuracy on real digits, 97.7%)
`features` returns the judge's penultimate layer (the 128 ReLU units before the last Linear),
the feature space of `fid_classifier` (metrics/fid.py).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

import tinygen as tg
from tinygen import functional as F
from tinygen import nn, optim
from tinygen.checkpoint import load_checkpoint, save_checkpoint
from tinygen.data import as_float, iterate_batches, load_dataset

RECIPE = "conv32-64-e30-adam1e-3lin-b64-shift2-s0-v2"
_CACHE = {}


class MNISTClassifier(nn.Module):
    """x (N, 1, 28, 28) in [0, 1] -> logits (N, 10):
    Conv k4 s2 p1 -> ReLU -> (N, w, 14, 14) -> Conv k4 s2 p1 -> ReLU -> (N, 2w, 7, 7)
      -> Flatten -> Linear -> ReLU -> Dropout -> Linear -> (N, 10)."""

    def __init__(self, width: int = 32, hidden: int = 128, dropout: float = 0.3):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
            nn.Linear(2 * width * 7 * 7, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, 10))

    def forward(self, x):
        return self.net(x)


def cache_dir() -> Path:
    root = os.environ.get("TINYGEN_CACHE") or Path.home() / ".cache" / "tinygen"
    return Path(root)


def random_shift(x, rng, shift: int = 2) -> np.ndarray:
    """x (N, C, H, W) -> each image moved by (dy, dx) ~ U{-shift..shift}^2, zero filled."""
    n, _, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (shift, shift), (shift, shift)))
    dy, dx = rng.integers(0, 2 * shift + 1, size=(2, n))
    return np.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])


def train_classifier(epochs: int = 30, seed: int = 0) -> MNISTClassifier:
    """Train the judge on mnist-5k's training split: cross-entropy, Adam with lr 1e-3 -> 1e-4
    (linear over epochs), batch 64, random 2-pixel shifts."""
    train = load_dataset("mnist-5k", "train")
    tg.random.manual_seed(seed)
    model = MNISTClassifier()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        opt.param_groups[0]["lr"] = 1e-3 - 9e-4 * epoch / max(1, epochs - 1)
        for xb, yb in iterate_batches((train.x, train.y), 64, rng):
            loss = F.cross_entropy(model(tg.tensor(random_shift(as_float(xb), rng))), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def _check_images(x) -> np.ndarray:
    """Images (N, 1, 28, 28), float in [0, 1] or uint8 (scaled by as_float) -> float32."""
    x = np.asarray(x)
    x = as_float(x) if x.dtype == np.uint8 else x.astype(np.float32, copy=False)
    if x.ndim != 4 or x.shape[1:] != (1, 28, 28):
        raise ValueError(f"the MNIST classifier needs images (N, 1, 28, 28), got {x.shape}")
    return x


def predict_proba(model, x) -> np.ndarray:
    """p(y|x): x (N, 1, 28, 28) float in [0, 1] (or uint8) -> (N, 10) float64."""
    x = _check_images(x)
    with tg.no_grad():
        logits = np.concatenate([model(tg.tensor(x[i:i + 1000])).data
                                 for i in range(0, len(x), 1000)]).astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def features(model, x) -> np.ndarray:
    """The penultimate layer of the judge: x (N, 1, 28, 28) in [0, 1] -> (N, 128) float64
    (eval mode, so dropout is the identity)."""
    x = _check_images(x)
    *body, _ = model.eval().net
    out = []
    with tg.no_grad():
        for i in range(0, len(x), 1000):
            h = tg.tensor(x[i:i + 1000])
            for layer in body:
                h = layer(h)
            out.append(h.data.astype(np.float64))
    return np.concatenate(out)


def label_agreement(model, x, y, num_classes: int = 10) -> dict:
    """Share of images x (N, 1, 28, 28) that the judge reads as their requested class y (N,):
    {"label_agreement": mean, "label_agreement_per_class": [share for class 0, 1, ...]}."""
    y = np.asarray(y)
    hit = predict_proba(model, x).argmax(axis=1) == y
    per_class = [float(hit[y == k].mean()) if np.any(y == k) else None
                 for k in range(num_classes)]
    return {"label_agreement": float(hit.mean()), "label_agreement_per_class": per_class}


def classifier() -> tuple[MNISTClassifier, float]:
    """(the judge, its accuracy on mnist-5k's 1000 test images); cached on disk and in memory."""
    if "model" not in _CACHE:
        path = cache_dir() / f"mnist_classifier_{RECIPE}.npz"
        model = MNISTClassifier()
        if path.is_file():
            load_checkpoint(path, {"model": model}, restore_rng=False)
            model.eval()
        else:
            state = tg.random.get_state()   # training the judge must not disturb a caller's run
            model = train_classifier()
            tg.random.set_state(state)
            path.parent.mkdir(parents=True, exist_ok=True)
            save_checkpoint(path, {"model": model}, meta={"recipe": RECIPE})
        test = load_dataset("mnist-5k", "test")
        accuracy = float((predict_proba(model, as_float(test.x)).argmax(1) == test.y).mean())
        _CACHE["model"], _CACHE["accuracy"] = model, accuracy
    return _CACHE["model"], _CACHE["accuracy"]


def scores_from_proba(p) -> dict:
    """The three scores of the module docstring from p(y|x) (N, K)."""
    p = np.asarray(p, dtype=np.float64)
    p_y = p.mean(axis=0)
    kl = np.sum(p * (np.log(np.maximum(p, 1e-300)) - np.log(np.maximum(p_y, 1e-300))), axis=1)
    h = np.bincount(p.argmax(axis=1), minlength=p.shape[1]) / len(p)
    nz = h[h > 0]
    return {"classifier_is": float(np.exp(kl.mean())),
            "label_kl": float(np.sum(nz * np.log(nz * p.shape[1]))),
            "classes": int((h >= 0.01).sum())}


def classifier_metrics(images) -> dict:
    """Images (N, 1, 28, 28) in [0, 1] -> classifier_is, label_kl, classes, and the judge's
    own test accuracy (classifier_accuracy), so every report carries it."""
    model, accuracy = classifier()
    return {**scores_from_proba(predict_proba(model, images)), "n": int(len(images)),
            "classifier_accuracy": accuracy}
