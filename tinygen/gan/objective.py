"""Adversarial training, written out step by step: losses, penalties, the training step.

Place in the tower: gan/ (imports NumPy, tinygen, tinygen.functional, tinygen.nn (LeCamAnchors
is a Module, so checkpoints carry its running means); the networks are in
gan/networks.py, a whole run for the command line in runs/gan.py). The examples
examples/gan_2d.py and examples/dcgan_mnist.py write the same step by hand with the public API.

A GAN (Goodfellow et al. 2014) trains a generator G(z) against a discriminator D, whose logit
D_logit(x) says how real x looks; D(x) = sigmoid(D_logit(x)). `train_step` below is the one
training step of tinygen, and follows the recipe in this order (each step is marked in the code):

  1. Randomly initialize the weights of the generator and the discriminator  (build_models).
  2. Sample a noise vector and generate an image with the generator.
  3. Predict, with the discriminator, the probability that the generated image is real.
  4. Compute the losses both assuming the image was fake and assuming it was real.
  5. Train the discriminator to output that the generated image is fake (G gets no update).
  6. Compute the generator's penalty through the discriminator's probability, without using
     it to train the discriminator.
  7. Train the generator to generate images that the discriminator thinks are real.
  8. Use the discriminator to calculate the probability that a real image is real.
  9. Use that loss to train the discriminator to output 1 when it sees real images.

Each update differentiates its loss with tg.grad(loss, params) with respect to the parameters
of the network being trained ONLY, so the other network receives no gradient at all -- the
separation of the two players is structural, not a matter of remembering to zero gradients.

A class-conditional GAN (gan/networks.py) runs the same nine steps: the labels ride along, y_fake
(N,) with the noise into G(z, y_fake) and into every D call on the samples, y_real (N,) with the
real batch into D(x_real, y_real). Unconditional: both are None, and G(z, None) = G(z) (every
network in gan/networks.py takes the labels as an optional second argument). An InfoGAN
(Chen et al. 2016; `codes`) runs them too: G(z, c) takes a categorical code c (N,) where a
conditional G takes labels, and at steps 3 and 6 D's code head also guesses c (code_loss), whose
cross-entropy D adds at step 5 and G at step 7.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import tinygen as tg
from tinygen import functional as F
from tinygen import nn

LOSSES = ("non_saturating", "minimax", "wgan-gp")


@dataclass
class GANLoss:
    """What each player minimises (D's two halves are trained at steps 5 and 9).

    kind 'non_saturating' (default) / 'minimax' (Goodfellow et al. 2014):
        D on fakes  softplus(l_fake)                 = -log(1 - D(G(z)))
        D on reals  BCE(l_real, real_label)          = -log D(x) when real_label = 1
        G           softplus(-l_fake) (-log D(G(z)))  or  -softplus(l_fake) (log(1 - D(G(z))))
    kind 'wgan-gp' (Gulrajani et al. 2017): D is a critic, D on fakes E[l_fake],
        D on reals -E[l_real] + gp * E[(|grad_x l(x_hat)| - 1)^2],  G -E[l_fake].
    real_label < 1: one-sided label smoothing (Salimans et al. 2016).
    r1 > 0 adds the R1 penalty (r1 / 2) E_x |grad_x l_real(x)|^2 on reals (Mescheder et al. 2018);
    with r1_every = k it is applied every k-th step with weight k * r1 ("lazy regularization",
    Karras et al. 2020), which saves most of its double-backward cost.
    lecam > 0 adds the LeCam penalty to D's two halves (Tseng et al. 2021; see LeCamAnchors):
        D on fakes  + lecam * E[relu(a_real - l_fake)^2]
        D on reals  + lecam * E[relu(l_real - a_fake)^2]
    With categorical codes (InfoGAN, Chen et al. 2016; train_step's `codes`), D on fakes and G
    both add info * code_loss, code_loss = E[-log Q(c | G(z, c))] (see code_loss): a lower
    bound on the mutual information between the code and the sample, raised by both players,
    so that what G draws for one code is told apart from what it draws for another.
    """
    kind: str = "non_saturating"
    real_label: float = 1.0
    r1: float = 0.0
    gp: float = 10.0
    r1_every: int = 1
    lecam: float = 0.0
    info: float = 1.0
    anchors: "LeCamAnchors | None" = field(default=None, repr=False)

    def __post_init__(self):
        if self.kind not in LOSSES:
            raise ValueError(f"GAN loss must be one of {LOSSES}, got {self.kind!r}")
        if self.lecam < 0:
            raise ValueError(f"the LeCam weight must be >= 0, got {self.lecam}")
        if self.lecam > 0 and self.anchors is None:
            self.anchors = LeCamAnchors()

    @property
    def _kind(self) -> str:
        """The name of the formula in tinygen.functional (WGAN-GP's critic loss: wasserstein)."""
        return "wasserstein" if self.kind == "wgan-gp" else self.kind

    def discriminator_fake(self, fake_logits, code_loss=None):
        loss = F.gan_fake_loss(fake_logits, self._kind)
        if self.lecam > 0:   # push D's fake logits up toward where its real ones have been
            loss = loss + self.lecam * self.anchors.penalty("fake", fake_logits)
        return loss if code_loss is None else loss + self.info * code_loss

    def discriminator_real(self, real_logits):
        loss = F.gan_real_loss(real_logits, self._kind, self.real_label)
        if self.lecam > 0:   # and its real logits down toward where its fake ones have been
            loss = loss + self.lecam * self.anchors.penalty("real", real_logits)
        return loss

    def generator(self, fake_logits, code_loss=None):
        loss = F.gan_generator_loss(fake_logits, self._kind)
        return loss if code_loss is None else loss + self.info * code_loss


class LeCamAnchors(nn.Module):
    """The LeCam penalty's anchors (Tseng et al. 2021, "Regularizing Generative Adversarial
    Networks under Limited Data"): a_real and a_fake, moving averages of D's mean logit on real
    and on fake batches,  a <- decay a + (1 - decay) mean(logits)  at every D loss on that side.

    penalty("fake", l) = E[relu(a_real - l)^2]: a fake logit below where real logits have been
    is penalised, and penalty("real", l) = E[relu(l - a_fake)^2] likewise. D is kept from
    driving its two outputs apart without bound, which is what a D does when it starts to
    memorise a small training set; the paper ties the penalty to the LeCam divergence. Each
    call first updates its own side's anchor from the batch (a plain number, no gradient); the
    first call on a side only sets its anchor, and costs nothing. The anchors are buffers (NaN
    until set), so a checkpoint of this module lets a resumed run go on with them.
    """

    def __init__(self, decay: float = 0.99):
        super().__init__()
        self.decay = decay
        self.register_buffer("real", np.full(1, np.nan))   # float64: running means of logits
        self.register_buffer("fake", np.full(1, np.nan))

    def penalty(self, side: str, logits):
        """Update the `side` anchor ("real" or "fake") from logits (N, 1); return the penalty."""
        anchor = getattr(self, side).data
        mean = float(np.mean(logits.data, dtype=np.float64))
        first = bool(np.isnan(anchor[0]))
        anchor[0] = mean if first else self.decay * anchor[0] + (1 - self.decay) * mean
        other = float(getattr(self, "fake" if side == "real" else "real").data[0])
        if first or np.isnan(other):
            return logits.sum() * 0.0
        gap = other - logits if side == "fake" else logits - other   # > 0: past the anchor
        return (gap.relu() ** 2).mean()


# -- gradient penalties: second-order autograd (tg.grad with create_graph=True) ----------------
def _squared_norms(g):
    """|g_i|^2 per example: g (N, ...) -> (N,)"""
    return (g * g).reshape(g.shape[0], -1).sum(axis=1)


def r1_penalty(D, x, y=None):
    """R1 (Mescheder et al. 2018) on real x: (1/2) E_x |grad_x D_logit(x)|^2 -> (penalty, logits).
    (y: the labels of x for a conditional D, else None; the gradient is taken w.r.t. x only.)

    The gradient is taken with create_graph=True so the penalty can itself be differentiated
    with respect to D's parameters. The logits (N, 1) are returned so step 8's forward pass is
    shared with the penalty.
    """
    x = x.detach().requires_grad_()
    logits = D(x) if y is None else D(x, y)
    (g,) = tg.grad(logits.sum(), [x], create_graph=True)
    return 0.5 * _squared_norms(g).mean(), logits


def wgan_gradient_penalty(D, real, fake, rng, y=None):
    """WGAN-GP (Gulrajani et al. 2017): E[(|grad D_logit(x_hat)| - 1)^2],
    x_hat = eps x + (1 - eps) x_fake, eps ~ U(0, 1) per example (a conditional D scores x_hat
    under the real batch's labels y)."""
    eps = rng.uniform(size=(real.shape[0],) + (1,) * (real.ndim - 1)).astype(real.dtype)
    x_hat = (real.detach() * eps + fake.detach() * (1 - eps)).detach().requires_grad_()
    logits = D(x_hat) if y is None else D(x_hat, y)
    (g,) = tg.grad(logits.sum(), [x_hat], create_graph=True)
    norms = (_squared_norms(g) + 1e-12).sqrt()
    return ((norms - 1) ** 2).mean()


# -- InfoGAN's categorical code --------------------------------------------------------------
def code_loss(D, x, codes, y=None):
    """D's logits (N, 1) on x and InfoGAN's code loss (Chen et al. 2016) -> (logits, loss):
    loss = E[-log Q(c | x)] = cross_entropy(q(phi(x)), c), the codes c (N,) in [0, K) that G
    was given for x = G(z, c). Since H(c) = log K is fixed, log K - loss is a lower bound on the
    mutual information I(c; G(z, c)). codes None: (D(x, y), None), no code head is used."""
    if codes is None:
        return D(x, y), None
    logits, q = D(x, y, codes=True)
    return logits, F.cross_entropy(q, codes)


# -- one step --------------------------------------------------------------------------------
def descend(optimizer, loss, params) -> None:
    """One optimizer step on `loss` with respect to `params` only: grad = d loss / d params is
    computed with tg.grad, so no other tensor in the graph gets a gradient."""
    params = list(params)
    for p, g in zip(params, tg.grad(loss, params, allow_unused=True)):
        p.grad = g
    optimizer.step()
    for p in params:
        p.grad = None


def _probability(logits) -> float:
    """mean D = sigmoid(logit) over the batch, a float (for the logs)"""
    return float(np.mean(1 / (1 + np.exp(-logits.data.astype(np.float64)))))


def train_step(G, D, opt_G, opt_D, x_real, z, loss: GANLoss, augment=None, rng=None,
               track: bool = False, step: int = 0, y_real=None, y_fake=None,
               codes=None) -> dict:
    """One adversarial step on a real batch x_real (N, ...) and noise z (N, latent) -> stats.
    Conditional GAN: y_real (N,) the labels of x_real, y_fake (N,) the labels asked of G.
    InfoGAN (unconditional): codes (N,) the categorical codes given to G(z, codes), which D's
    code head must recover (code_loss; D built with codes=K).

    augment: an optional differentiable map applied to every input of D (DiffAugment, Zhao et
    al. 2020); rng: np.random.Generator for the augmentation and WGAN-GP mixing (default
    tg.random's). track=True also measures D(G(z)) after the generator's update (one more
    forward pass, no gradient); step: the step's number (for loss.r1_every). Stats: loss_d,
    loss_g, d_real, d_fake (D(G(z)) when D is trained), d_fake_g (when G is trained),
    [d_fake_after], [penalty], [code_loss] (G's, InfoGAN).
    """
    rng = rng if rng is not None else tg.random.get_rng()
    aug = augment if augment is not None else (lambda x, rng: x)
    d_params, g_params = list(D.parameters()), list(G.parameters())
    x_real = x_real if isinstance(x_real, tg.Tensor) else tg.tensor(x_real)
    z = z if isinstance(z, tg.Tensor) else tg.tensor(z)
    # Step 2: sample a noise vector (z, and the classes y_fake when conditional or the codes
    #         of an InfoGAN, all drawn by the caller) and generate samples.
    fake = G(z, y_fake if codes is None else codes)
    # Step 3: D's probability that the generated samples are real (D sees a detached copy:
    #         the generator is not in this graph); with codes, also its guess of the code.
    fake_logits, code_loss_d = code_loss(D, aug(fake.detach(), rng), codes, y_fake)
    # Step 4: the losses assuming the samples are fake (D's) and assuming they are real (G's).
    loss_as_fake = loss.discriminator_fake(fake_logits, code_loss_d)
    loss_as_real = loss.generator(fake_logits, code_loss_d)
    # Step 5: train D to call the generated samples fake; only D's parameters move.
    descend(opt_D, loss_as_fake, d_params)
    # Step 6: the generator's penalty through D's probability (D just updated); its gradient is
    #         taken with respect to G's parameters only, so it never trains D.
    fake_logits_g, code_loss_g = code_loss(D, aug(fake, rng), codes, y_fake)
    loss_g = loss.generator(fake_logits_g, code_loss_g)
    # Step 7: train G so that D thinks its samples are real.
    descend(opt_G, loss_g, g_params)
    # Step 8: D's probability that a real sample is real (with R1, through a graph that keeps
    #         d logits / d x for the penalty).
    penalty = None
    if loss.r1 > 0 and step % loss.r1_every == 0:
        penalty, real_logits = r1_penalty(D, aug(x_real, rng), y_real)
        penalty = loss.r1 * loss.r1_every * penalty
    else:
        real_logits = D(aug(x_real, rng), y_real)
    loss_real = loss.discriminator_real(real_logits)
    if loss.kind == "wgan-gp":
        gp = loss.gp * wgan_gradient_penalty(D, aug(x_real, rng), aug(fake, rng), rng, y_real)
        penalty = gp if penalty is None else penalty + gp
    # Step 9: train D to output 1 (real) on real samples.
    descend(opt_D, loss_real if penalty is None else loss_real + penalty, d_params)

    stats = {"loss_d": loss_as_fake.item() + loss_real.item(), "loss_g": loss_g.item(),
             "loss_g_before_d": loss_as_real.item(), "d_real": _probability(real_logits),
             "d_fake": _probability(fake_logits), "d_fake_g": _probability(fake_logits_g)}
    if penalty is not None:
        stats["penalty"] = penalty.item()
    if code_loss_g is not None:
        stats["code_loss"] = code_loss_g.item()
    if track:
        with tg.no_grad():
            stats["d_fake_after"] = _probability(
                D(G(z, y_fake if codes is None else codes), y_fake))
    return stats


# -- sampling: generator weight averaging, truncated noise -------------------------------------
def update_ema(ema, model, decay: float) -> None:
    """Exponential moving average of the generator's weights (Yazici et al. 2019):
    theta_ema <- decay * theta_ema + (1 - decay) * theta;  buffers (batch-norm statistics) are
    copied. `ema` is a second instance of the same architecture."""
    for pe, p in zip(ema.parameters(), model.parameters()):
        pe.data *= decay
        pe.data += (1 - decay) * p.data
    for be, b in zip(ema.buffers(), model.buffers()):
        be.data[...] = b.data


def recalibrate_batchnorm(G, z, y=None) -> None:
    """Set the running statistics of every batch norm in G to those of the batch G(z, y), z (N,
    latent) (y (N,) labels for a conditional G, else None). Needed before sampling in eval mode
    from an EMA generator: its weights are an average, so the statistics copied from the
    trained G (update_ema) are not those of its own activations. Leaves G in eval mode."""
    norms = [m for m in G.modules() if hasattr(m, "running_mean")]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.momentum = 1.0                     # running stats <- this batch's stats
    with tg.no_grad():
        G.train()(z if isinstance(z, tg.Tensor) else tg.tensor(z), y)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    G.eval()


def truncated_noise(rng, n: int, dim: int, threshold=None) -> np.ndarray:
    """(n, dim) standard normal noise for G; with a threshold t > 0, every entry with |z| > t is
    drawn again until none is -- the truncation trick (Brock et al. 2019): samples from nearer
    the noise's mode, which a classifier reads more surely, and less varied (on mnist-5k also
    further from the real digits: README, "Truncation"). Without a threshold: the same draws as
    rng.standard_normal((n, dim))."""
    z = rng.standard_normal((n, dim))
    if threshold is not None:
        if not threshold > 0:
            raise ValueError(f"the truncation threshold must be > 0, got {threshold}")
        far = np.abs(z) > threshold
        while far.any():
            z[far] = rng.standard_normal(int(far.sum()))
            far = np.abs(z) > threshold
    return z


# -- DiffAugment for images (Zhao et al. 2020): the same random, differentiable augmentation
#    is applied to every image D sees, real or fake, so D cannot memorise a small data set. ---
AUGMENTS = {"none": None, "translation": dict(shift=2, cutout=0),
            "translation-cutout": dict(shift=3, cutout=12)}


def augmentation(name):
    """The augmentation called `name` in AUGMENTS, as augment(x, rng) for train_step, or None.
    (True / False, from configs written before the names, mean translation-cutout / none.)"""
    name = {True: "translation-cutout", False: "none"}.get(name, name)
    if name not in AUGMENTS:
        raise ValueError(f"augmentation must be one of {tuple(AUGMENTS)}, got {name!r}")
    options = AUGMENTS[name]
    return None if options is None else (lambda x, rng: diff_augment(x, rng, **options))


def diff_augment(x, rng, shift: int = 3, cutout: int = 12):
    """x (N, C, H, W) -> random translation by up to `shift` pixels and a random `cutout` x
    `cutout` square (none for cutout=0), what moved in and what was cut set to the background
    value -1; differentiable in x (the translation is indexing, the cutout a constant mask)."""
    n, c, h, w = x.shape
    dy = rng.integers(-shift, shift + 1, size=(n, 1, 1))
    dx = rng.integers(-shift, shift + 1, size=(n, 1, 1))
    rows = np.arange(h)[None, :, None] - dy                # (N, H, 1): source row
    cols = np.arange(w)[None, None, :] - dx                # (N, 1, W): source column
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)       # (N, H, W)
    cy = rng.integers(0, h, size=(n, 1, 1))
    cx = rng.integers(0, w, size=(n, 1, 1))
    kept = ~((np.abs(np.arange(h)[None, :, None] - cy) < cutout // 2)
             & (np.abs(np.arange(w)[None, None, :] - cx) < cutout // 2))
    keep = (inside & kept)[:, None].astype(x.dtype)         # (N, 1, H, W)
    index = (np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None],
             np.clip(rows, 0, h - 1)[:, None], np.clip(cols, 0, w - 1)[:, None])
    return x[index] * tg.tensor(keep) + tg.tensor(keep - 1)   # outside/cut-out -> -1
