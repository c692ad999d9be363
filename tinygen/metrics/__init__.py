"""tinygen.metrics: numbers that say how good a trained generative model is.

Place in the tower: above vae / gan, below plots and runs.
    likelihood.py   VAE: importance-weighted NLL (Burda et al. 2016), posterior means, active units
    modes.py        GAN on 2D mixtures: modes captured, high-quality samples, reverse KL
    classifier.py   GAN on images: a small MNIST classifier, classifier IS, label KL
Import the GAN metrics from their modules (tinygen.metrics.modes, tinygen.metrics.classifier).
"""
from .likelihood import active_units, iw_nll, posterior_means

__all__ = ["active_units", "iw_nll", "posterior_means"]
