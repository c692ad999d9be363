"""Chapter 6 exercises: the KL divergence between two diagonal Gaussians; log-mean-exp.

Check:  python docs/exercises/check.py chapter6 this_file.py
"""
import math

import tinygen as tg


def gaussian_kl_diag(mu_q, logvar_q, mu_p, logvar_p):
    """KL( N(mu_q, exp(logvar_q)) || N(mu_p, exp(logvar_p)) ) per entry, as tensor ops
    (no reduction). With mu_p = logvar_p = 0 it must equal
    tinygen.functional.gaussian_kl(mu_q, logvar_q, reduction="none")."""
    raise NotImplementedError("your code here")


def log_mean_exp(log_w, axis):
    """log( mean over `axis` of exp(log_w) ), for a Tensor log_w, stable at log_w = -1000."""
    raise NotImplementedError("your code here")
