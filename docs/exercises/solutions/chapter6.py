"""Chapter 6, reference solutions: KL between two diagonal Gaussians; a stable log-mean-exp."""
import math


def gaussian_kl_diag(mu_q, logvar_q, mu_p, logvar_p):
    """KL( N(mu_q, exp(logvar_q)) || N(mu_p, exp(logvar_p)) ) per entry (no reduction):

        1/2 ( logvar_p - logvar_q + (exp(logvar_q) + (mu_q - mu_p)^2) / exp(logvar_p) - 1 )
    """
    diff = mu_q - mu_p
    return 0.5 * (logvar_p - logvar_q + (logvar_q.exp() + diff * diff) / logvar_p.exp() - 1)


def log_mean_exp(log_w, axis):
    """log( mean over `axis` of exp(log_w) ) = logsumexp(log_w) - log K, never exp of a big
    number and never log(0): logsumexp subtracts the max first."""
    return log_w.logsumexp(axis=axis) - math.log(log_w.shape[axis])
