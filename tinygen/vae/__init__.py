"""tinygen.vae: the variational autoencoder -- its networks, its objective, one training step.

Place in the tower: the model floor, beside tinygen.gan (imports tinygen, functional, nn).
    networks.py   MLPVAE, ConvVAE, build_model: encode(x) -> (mu, logvar), decode(z) -> logits
    objective.py  the negative ELBO, train_step, kl_weight, evaluate (-ELBO of a data set)
A whole run for the command line (epochs, checkpoints, figures) is tinygen/runs/vae.py.
"""
from .networks import ConvVAE, MLPVAE, build_model
from .objective import ELBOTerms, decode_images, elbo_terms, evaluate, kl_weight, train_step

__all__ = ["ConvVAE", "ELBOTerms", "MLPVAE", "build_model", "decode_images", "elbo_terms",
           "evaluate", "kl_weight", "train_step"]
