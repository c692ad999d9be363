"""Judging generated digits with a small MNIST classifier trained by tinygen itself.

Place in the tower: metrics/ (imports tinygen, functional, nn, optim, checkpoint, data).

The classifier is a small conv net (two stride-2 convolutions, 32 and 64 channels, a 128-unit
hidden layer with dropout 0.3) trained on 3500 of the mnist-5k training split's 4000 images
for 60 epochs with Adam (lr 1e-3 decaying linearly to 1e-4), batch 64, seed 0, each image
warped by its own random affine map (rotation up to 20 degrees, scale 1 +- 0.15, shear up to
0.3, shift up to 2 pixels; 4000 images are few) and then mixed with another (mixup, Zhang et
al. 2018, Beta(0.4, 0.4); see train_classifier). The other 500 fit its temperature T (Guo et
al. 2017): p(y|x) = softmax(z(x) / T) with the T that minimises their negative
log-likelihood. Measured (seed 0): 98.5% accuracy on the 1000 test images, T = 0.64 (mixup
leaves the raw logits underconfident), expected calibration error (15 bins) on the test
images 2.71% before T and 0.68% after; about one CPU-minute of training (58-65 s on one BLAS
thread).

Judged on the 1000 real test digits (the ceiling), on the same digits with one broken stroke
each (`broken_strokes`: a blob erased, a stroke cut, or a stroke added), and on 5000 samples of
the 28x28 DCGAN that was the default before issue 14 (seed 0):
                         real: IS  confident   broken: IS  confident   that DCGAN: IS  confident
    this judge (v4)          9.50     96.3%           8.06     80.4%             6.52     58.0%
    v3 (no mixup, 98.8%)     9.60     96.3%           8.25     81.2%             7.12     64.4%
    v2 (shifts only, 97.9%)  9.42     94.4%           8.11     78.7%             7.09     64.2%
    an independent MNIST classifier (not in this repository, 97%):            6.55     57%
Only mixup brought the judge down to the outside judge's reading of half-formed digits; without
it, augmentation made the judge surer of real and of broken digits alike. Its features put the
broken digits at fid_classifier 10.4 from the real ones, 6.7 times the floor (1.55: the 4000
training images against the test images); mixup shrinks the scale of every fid_classifier
about sevenfold against v2/v3 (floor 11.0 / 9.9), so compare FIDs only under one judge.
It is trained on first use and its weights and T are cached in $TINYGEN_CACHE or
~/.cache/tinygen, under a name that includes the recipe's version, so a changed recipe
retrains instead of loading stale weights. (Caching rather than shipping weights keeps binary
blobs out of the package and lets a reader see exactly how the judge was made.)
`classifier()` returns it with its test accuracy.

For generated images x_1..x_n in [0, 1] with predicted label distributions p(y|x_i):

    classifier_is = exp( mean_i KL(p(y|x_i) || p(y)) ),  p(y) = mean_i p(y|x_i)
                    (the Inception Score of Salimans et al. 2016 with this classifier instead
                    of Inception: 1 <= IS <= 10; high when each image is confidently one digit
                    and all digits are equally common)
    label_kl      = KL(h || uniform) = sum_k h_k log(10 h_k),  h = histogram of argmax labels
    classes       = #{k : h_k >= 0.01}   (digit classes present in at least 1% of samples)
    confident     = mean_i [max_k p(k|x_i) > 0.9]   (the share confidently classified)

For a class-conditional model asked for classes y_i:
    label_agreement   = mean_i [argmax_k p(k|x_i) = y_i], and the same per requested class
                        (bounded by the judge's own accuracy on real digits, 98.5%)
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

RECIPE = "conv32-64-e60-adam1e-3lin-b64-affine20-mixup0.4-T500-s0-v4"
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
        self.temperature = 1.0   # predict_proba's T (fitted by train_classifier, not trained)

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


def bilinear_sample(x, sy, sx) -> np.ndarray:
    """x (N, C, H, W) read at real coordinates (sy, sx), each (N, H', W'), by bilinear
    interpolation of the four nearest pixels; pixels outside the image count as 0."""
    n, c, h, w = x.shape
    flat = x.reshape(n, c, h * w)
    y0, x0 = np.floor(sy).astype(np.int64), np.floor(sx).astype(np.int64)
    fy, fx = (sy - y0).astype(x.dtype), (sx - x0).astype(x.dtype)
    out = np.zeros((n, c) + sy.shape[1:], dtype=x.dtype)
    for dy, dx, weight in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx),
                           (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        yy, xx = y0 + dy, x0 + dx
        weight = weight * ((yy >= 0) & (yy < h) & (xx >= 0) & (xx < w))
        index = (np.clip(yy, 0, h - 1) * w + np.clip(xx, 0, w - 1)).reshape(n, 1, -1)
        value = np.take_along_axis(flat, np.broadcast_to(index, (n, c, index.shape[2])), 2)
        out += weight[:, None] * value.reshape(out.shape)
    return out


def random_affine(x, rng, degrees: float = 20.0, scale: float = 0.15, shear: float = 0.3,
                  shift: float = 2.0) -> np.ndarray:
    """x (N, C, H, W) -> each image warped by its own random affine map (bilinear, zero
    filled). Output pixel p = (x, y) - c (c the centre) reads the input at the inverse-mapped
        c + s R(theta) [[1, k], [0, 1]] p + t,   theta ~ U(+-degrees), s ~ U(1 +- scale),
                                                  k ~ U(+-shear), t ~ U(+-shift)^2."""
    n, _, h, w = x.shape
    theta = np.deg2rad(rng.uniform(-degrees, degrees, n))
    s, k = rng.uniform(1 - scale, 1 + scale, n), rng.uniform(-shear, shear, n)
    t = rng.uniform(-shift, shift, (2, n, 1, 1))
    cos, sin = (s * np.cos(theta))[:, None, None], (s * np.sin(theta))[:, None, None]
    py, px = np.mgrid[:h, :w] - np.array([(h - 1) / 2, (w - 1) / 2])[:, None, None]
    px = px + k[:, None, None] * py           # the shear, then the rotation and scale
    return bilinear_sample(x, (h - 1) / 2 + sin * px + cos * py + t[0],
                           (w - 1) / 2 + cos * px - sin * py + t[1])


def train_classifier(epochs: int = 60, seed: int = 0, augment=random_affine,
                     holdout: int = 500, width: int = 32, mixup: float = 0.4) -> MNISTClassifier:
    """Train the judge on mnist-5k's training split less `holdout` images (a seeded draw):
    Adam with lr 1e-3 -> 1e-4 (linear over epochs), batch 64, every batch augmented by
    `augment(x, rng)`, then mixed up (Zhang et al. 2018; mixup=0: plain cross-entropy): each
    image x_i becomes lam_i x_i + (1 - lam_i) x_j for a random partner j, lam_i ~ Beta(mixup,
    mixup), with the loss lam_i CE(z_i, y_i) + (1 - lam_i) CE(z_i, y_j) -- in-between images
    are taught in-between answers, so half-formed digits are not read with full confidence.
    Then fit its temperature on the held-out images."""
    train = load_dataset("mnist-5k", "train")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(train.x))
    fit, held = order[holdout:], order[:holdout]
    tg.random.manual_seed(seed)
    model = MNISTClassifier(width)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(epochs):
        opt.param_groups[0]["lr"] = 1e-3 - 9e-4 * epoch / max(1, epochs - 1)
        for xb, yb in iterate_batches((train.x[fit], train.y[fit]), 64, rng):
            x = augment(as_float(xb), rng)
            lam, j = np.ones(len(x), np.float32), np.arange(len(x))   # mixup=0: no partner
            if mixup:
                lam = rng.beta(mixup, mixup, len(x)).astype(np.float32)
                j = rng.permutation(len(x))
            mixed = lam[:, None, None, None] * x + (1 - lam[:, None, None, None]) * x[j]
            z = model(tg.tensor(mixed))
            loss = (F.cross_entropy(z, yb, reduction="none") * tg.tensor(lam)
                    + F.cross_entropy(z, yb[j], reduction="none") * tg.tensor(1 - lam)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    if holdout:
        model.temperature = fit_temperature(logits(model, train.x[held]), train.y[held])
    return model


def fit_temperature(z, y) -> float:
    """Temperature scaling (Guo et al. 2017): the T > 0 minimising the mean negative
    log-likelihood -log softmax(z_i / T)[y_i] of held-out logits z (N, K), labels y (N,).
    The NLL is convex in 1/T, so a golden-section search on log T over [0.05, 20] finds it."""
    z, y = np.asarray(z, dtype=np.float64), np.asarray(y)

    def nll(log_t):
        zt = z / np.exp(log_t)
        zmax = zt.max(axis=1)
        return np.mean(zmax + np.log(np.exp(zt - zmax[:, None]).sum(1)) - zt[np.arange(len(y)), y])

    a, b, g = np.log(0.05), np.log(20.0), (np.sqrt(5) - 1) / 2
    for _ in range(50):                     # the bracket shrinks by 0.618 each time
        c, d = b - g * (b - a), a + g * (b - a)
        a, b = (a, d) if nll(c) < nll(d) else (c, b)
    return float(np.exp((a + b) / 2))


def _check_images(x) -> np.ndarray:
    """Images (N, 1, 28, 28), float in [0, 1] or uint8 (scaled by as_float) -> float32."""
    x = np.asarray(x)
    x = as_float(x) if x.dtype == np.uint8 else x.astype(np.float32, copy=False)
    if x.ndim != 4 or x.shape[1:] != (1, 28, 28):
        raise ValueError(f"the MNIST classifier needs images (N, 1, 28, 28), got {x.shape}")
    return x


def logits(model, x) -> np.ndarray:
    """The judge's logits z: x (N, 1, 28, 28) float in [0, 1] (or uint8) -> (N, 10) float64."""
    x = _check_images(x)
    with tg.no_grad():
        return np.concatenate([model(tg.tensor(x[i:i + 1000])).data
                               for i in range(0, len(x), 1000)]).astype(np.float64)


def predict_proba(model, x) -> np.ndarray:
    """p(y|x) = softmax(z / T) with the judge's temperature T: x (N, 1, 28, 28) float in
    [0, 1] (or uint8) -> (N, 10) float64."""
    z = logits(model, x) / getattr(model, "temperature", 1.0)
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
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
            meta = load_checkpoint(path, {"model": model}, restore_rng=False)
            model.eval().temperature = float(meta["temperature"])
        else:
            state = tg.random.get_state()   # training the judge must not disturb a caller's run
            model = train_classifier()
            tg.random.set_state(state)
            path.parent.mkdir(parents=True, exist_ok=True)
            save_checkpoint(path, {"model": model},
                            meta={"recipe": RECIPE, "temperature": model.temperature})
        test = load_dataset("mnist-5k", "test")
        accuracy = float((predict_proba(model, as_float(test.x)).argmax(1) == test.y).mean())
        _CACHE["model"], _CACHE["accuracy"] = model, accuracy
    return _CACHE["model"], _CACHE["accuracy"]


def scores_from_proba(p) -> dict:
    """The four scores of the module docstring from p(y|x) (N, K)."""
    p = np.asarray(p, dtype=np.float64)
    p_y = p.mean(axis=0)
    kl = np.sum(p * (np.log(np.maximum(p, 1e-300)) - np.log(np.maximum(p_y, 1e-300))), axis=1)
    h = np.bincount(p.argmax(axis=1), minlength=p.shape[1]) / len(p)
    nz = h[h > 0]
    return {"classifier_is": float(np.exp(kl.mean())),
            "label_kl": float(np.sum(nz * np.log(nz * p.shape[1]))),
            "classes": int((h >= 0.01).sum()),
            "confident": float(np.mean(p.max(axis=1) > 0.9))}


def classifier_metrics(images) -> dict:
    """Images (N, 1, 28, 28) in [0, 1] -> classifier_is, label_kl, classes, confident, and the
    judge's own test accuracy (classifier_accuracy), so every report carries it."""
    model, accuracy = classifier()
    return {**scores_from_proba(predict_proba(model, images)), "n": int(len(images)),
            "classifier_accuracy": accuracy}


def calibration_error(p, y, bins: int = 15) -> float:
    """Expected calibration error (Guo et al. 2017) of p(y|x) (N, K) against labels y (N,):
    sum over equal-width confidence bins B of |B|/N |accuracy(B) - mean confidence(B)|."""
    p, y = np.asarray(p), np.asarray(y)
    confidence, hit = p.max(axis=1), p.argmax(axis=1) == y
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    return float(sum(np.mean(which == b) * abs(hit[which == b].mean()
                                               - confidence[which == b].mean())
                     for b in range(bins) if np.any(which == b)))


def _segment_distance(p0, p1, h: int = 28, w: int = 28) -> np.ndarray:
    """(H, W): each pixel centre's distance to the segment p0 -> p1 (points as (y, x))."""
    grid = np.stack(np.mgrid[:h, :w], -1).astype(np.float64)
    d = np.asarray(p1, dtype=np.float64) - p0
    t = np.clip(((grid - p0) @ d) / max(d @ d, 1e-12), 0, 1)
    return np.linalg.norm(grid - p0 - t[..., None] * d, axis=-1)


def broken_strokes(x, seed: int = 0) -> np.ndarray:
    """Real digits x (N, 1, 28, 28) in [0, 1] -> the same digits with one broken stroke each,
    deterministic given seed, cycling through three kinds (p = a random pixel of ink > 0.5):
      i % 3 == 0: a blob erased, a disc of radius 3 around p;
      i % 3 == 1: a stroke cut, a 2-pixel-wide gap 10 pixels long through p at a random angle;
      i % 3 == 2: an extra stroke, a line 1.5 pixels thick and 8-14 long from p.
    The check set for a judge: it should be less sure of these than of real digits."""
    x = np.array(_check_images(x))
    rng = np.random.default_rng(seed)
    for i, img in enumerate(x[:, 0]):
        ink = np.argwhere(img > 0.5)
        p = ink[rng.integers(len(ink))] if len(ink) else np.array([14, 14])
        angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(8, 14)
        step = np.array([np.sin(angle), np.cos(angle)])
        if i % 3 == 0:
            img *= np.clip(_segment_distance(p, p) - 3, 0, 1)
        elif i % 3 == 1:
            img *= np.clip(_segment_distance(p - 5 * step, p + 5 * step) - 1, 0, 1)
        else:
            np.maximum(img, np.clip(1.5 - _segment_distance(p, p + length * step), 0, 1), out=img)
    return x
