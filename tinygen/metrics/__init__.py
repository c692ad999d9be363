"""tinygen.metrics: numbers that say how good a trained generative model is.

Place in the tower: above vae / gan, below plots and runs.
    likelihood.py   VAE: importance-weighted NLL (Burda et al. 2016), posterior means, active units
    modes.py        GAN on 2D mixtures: modes captured, high-quality samples, reverse KL
    classifier.py   images: a small MNIST classifier (the judge), classifier IS, label KL,
                    its penultimate features, label agreement of class-conditional samples
    fid.py          Fréchet distance and KID between two sets of feature vectors
    strokes.py      images: the pieces of ink in a digit (a gap, speck or blob makes two)
    latent.py       k-NN accuracy of codes, lerp / slerp paths, latent traversals
Import the other metrics from their modules (tinygen.metrics.modes, tinygen.metrics.fid, ...).
"""
from .likelihood import active_units, iw_nll, posterior_means

__all__ = ["active_units", "iw_nll", "posterior_means"]
