"""The numbers `tinygen eval` reports for generated MNIST-shaped images (VAE and GAN alike).

Place in the tower: runs/ (imports NumPy, data, metrics.classifier, metrics.fid,
metrics.strokes and runs.labels). Every score but one_piece and crisp is computed by the
project's MNIST classifier (the "judge", metrics/classifier.py), on samples in [0, 1]:

    classifier_is, label_kl, classes        how confident and how varied (as before)
    fid_classifier                          Fréchet distance between the judge's penultimate
                                            features of the samples and of the real test split
    kid_classifier                          the kernel (MMD) distance on the same features
    fid_classifier_real                     the floor: real training vs real test images
    one_piece                               the share of samples whose ink is one 8-connected
                                            piece (metrics/strokes.py): no gap, speck or blob
    clean                                   the share both in one piece and read with p > 0.9:
                                            a digit without a broken stroke that is not
                                            halfway between two
    crisp                                   the share with at most 2 pixels of faint ink away
                                            from any stroke's core (metrics/strokes.py): no
                                            grey smudge, blotch or ghost stroke
    clean_crisp                             the share both clean and crisp: the strictest
                                            count, the one nearest blind readers' (README)
    clean_real, clean_crisp_real            the ceilings: the same of the real test digits
    label_agreement[_per_class]             conditional runs on digits: the share of samples
                                            the judge reads as the class they were asked for
"""
from __future__ import annotations

import numpy as np

from tinygen.data import as_float, load_dataset
from tinygen.metrics.classifier import (classifier, classifier_metrics, features,
                                        label_agreement, predict_proba)
from tinygen.metrics.fid import fid_from_features, kid_from_features
from tinygen.metrics.strokes import crisp, one_piece
from tinygen.runs.labels import classes_are_digits, is_digits

_REFERENCE = {}


def reference_features(dataset: str) -> dict:
    """The judge's features of the real test and train splits (mnist for a full-MNIST run,
    else the bundled mnist-5k), computed once per process."""
    name = "mnist" if dataset == "mnist" else "mnist-5k"
    if name not in _REFERENCE:
        model, _ = classifier()
        _REFERENCE[name] = {split: features(model, load_dataset(name, split).x)
                            for split in ("test", "train")}
    return _REFERENCE[name]


def real_floor(dataset: str) -> float:
    """fid_classifier of real training images against the real test images (the best a
    model can hope for with these set sizes)."""
    ref = reference_features(dataset)
    return fid_from_features(ref["train"], ref["test"])


def clean_scores(x) -> dict:
    """one_piece, crisp, clean and clean_crisp (see the module docstring) of images x
    (N, 1, 28, 28) in [0, 1]."""
    model, _ = classifier()
    whole, smooth = one_piece(x), crisp(x)
    clean = whole & (predict_proba(model, x).max(axis=1) > 0.9)
    return {"one_piece": float(whole.mean()), "crisp": float(smooth.mean()),
            "clean": float(clean.mean()), "clean_crisp": float(np.mean(clean & smooth))}


def clean_ceiling(dataset: str) -> dict:
    """clean_real and clean_crisp_real: `clean` and `clean_crisp` of the real test digits
    (mnist for a full-MNIST run, else mnist-5k)."""
    name = "mnist" if dataset == "mnist" else "mnist-5k"
    key = ("clean", name)
    if key not in _REFERENCE:
        real = clean_scores(as_float(load_dataset(name, "test").x))
        _REFERENCE[key] = {"clean_real": real["clean"], "clean_crisp_real": real["clean_crisp"]}
    return _REFERENCE[key]


def image_scores(cfg: dict, x, y=None) -> dict:
    """Scores of samples x (N, 1, 28, 28) in [0, 1] generated for labels y (N,) or None."""
    if not is_digits(cfg):
        raise ValueError(f"image scores use the project's MNIST classifier and need 1x28x28 "
                         f"images; this run's are {cfg.get('shape') or cfg.get('image_shape')}")
    model, _ = classifier()
    ref = reference_features(cfg["dataset"])
    f = features(model, x)
    scores = {**classifier_metrics(x),
              "fid_classifier": fid_from_features(f, ref["test"]),
              "kid_classifier": kid_from_features(f, ref["test"]),
              "fid_classifier_real": real_floor(cfg["dataset"]),
              **clean_scores(x), **clean_ceiling(cfg["dataset"])}
    if y is not None and classes_are_digits(cfg):
        scores.update(label_agreement(model, x, y))
    return scores
