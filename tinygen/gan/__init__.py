"""tinygen.gan: the generative adversarial network -- its networks, its losses, one step.

Place in the tower: the model floor, beside tinygen.vae (imports tinygen, functional, nn).
    networks.py   MLP and DCGAN generators/discriminators, build_models (step 1 of the recipe)
    objective.py  GANLoss, the R1, WGAN-GP and LeCam penalties, InfoGAN's code loss, train_step
                  (steps 2-9), the EMA generator and its batch-norm recalibration, truncated
                  noise, DiffAugment
A whole run for the command line (schedule, logs, checkpoints, figures) is tinygen/runs/gan.py
and gan_trainer.py.
"""
from .networks import (DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator,
                       build_models, dcgan_init_)
from .objective import (AUGMENTS, LOSSES, GANLoss, LeCamAnchors, augmentation, code_loss,
                        descend, diff_augment, r1_penalty, recalibrate_batchnorm, train_step,
                        truncated_noise, update_ema, wgan_gradient_penalty)

__all__ = ["AUGMENTS", "DCGANDiscriminator", "DCGANGenerator", "GANLoss", "LOSSES", "LeCamAnchors",
           "MLPDiscriminator", "MLPGenerator", "augmentation", "build_models",
           "code_loss", "dcgan_init_", "descend", "diff_augment",
           "r1_penalty", "recalibrate_batchnorm", "train_step", "truncated_noise", "update_ema",
           "wgan_gradient_penalty"]
