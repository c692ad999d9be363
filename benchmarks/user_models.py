"""The benchmark models, written twice the way a user writes them: tinygen and PyTorch.

Benchmarks sit outside the tower. This file uses only tinygen's public API (tinygen.nn layers,
tinygen.optim.Adam, tinygen.functional losses) and not tinygen's own model modules, so what is
timed is what a user's script runs: `zero_grad()`, forward, `loss.backward()`, `step()`.

    VAE       784-400-20 MLP VAE (Kingma & Welling 2014), batch 128, Adam(1e-3);
              loss = summed BCE-with-logits / N + KL, one reparameterized z.
    DCGAN-28  G: z 100 -> Linear 6272 -> BN1d -> ReLU -> (128, 7, 7) -> ConvT 128->64 -> BN2d
              -> ReLU -> ConvT 64->1 -> tanh;  D: Conv 1->64 -> LReLU(0.2) -> Conv 64->128
              -> BN2d -> LReLU(0.2) -> Flatten -> Linear 6272->1.  (k4 s2 p1 convolutions.)
    DCGAN-32  Radford et al.'s 4-stage net for 32x32 RGB: G: z (100, 1, 1) -> ConvT 100->256 k4
              s1 p0 (4x4) -> ConvT 256->128 (8x8) -> ConvT 128->64 (16x16) -> ConvT 64->3 (32x32),
              BN + ReLU between, tanh last; D mirrored: Conv 3->64 -> LReLU, Conv 64->128 -> BN
              -> LReLU, Conv 128->256 -> BN -> LReLU, Conv 256->1 k4 s1 p0; no biases before BN.
    GAN step  pytorch/examples/dcgan's loop: D on reals (target 1) and on detached fakes
              (target 0), one backward of the sum, D.step(); then G: D on the fakes (target 1),
              backward, G.step(); Adam(2e-4, betas (0.5, 0.999)).

Every maker returns (step, flops): step(*batch) runs one training step and reads its losses back
(.item()); flops counts the multiply-adds x 2 of the step's GEMMs and convolutions (forward,
weight gradients, input gradients where an input needs one).

FLOPs per layer and pass (N examples): a Linear in -> out: 2 N in out; a Conv2d C -> O, kernel
kh x kw, output OH x OW: 2 N OH OW O C kh kw; a ConvTranspose2d C -> O on an H x W input:
2 N H W O C kh kw. Its backward costs the same again for the weight gradient, and again for the
input gradient when the input needs one. Batch norm, activations, losses and Adam are not
counted (memory-bound, no GEMM).

The one exception to "public API only" is `cli_dcgan28`: the library's own `tinygen train gan`
step (tinygen/gan/objective.py's train_step and update_ema, with runs/gan.py's image defaults),
timed beside the PyTorch user loop of the same networks (`cli_networks`).
"""
import numpy as np

from tinygen import functional as F
from tinygen import nn, optim, random as tg_random
from tinygen.tensor import Tensor

torch = None  # imported by load_torch(): importing it adds ~100 MB to a process's RSS


def load_torch():
    """PyTorch, imported on first use, or None when it is not installed."""
    global torch
    if torch is None:
        try:
            import torch as _torch
        except ImportError:
            return None
        torch = _torch
    return torch

LATENT, BATCH_VAE = 100, 128


# -- the networks, once per framework (the same layer indices, so state_dicts load) -----------
def vae_layers(lib):
    return {"enc": lib.Linear(784, 400), "enc_mu": lib.Linear(400, 20),
            "enc_logvar": lib.Linear(400, 20), "dec1": lib.Linear(20, 400),
            "dec2": lib.Linear(400, 784)}


def dcgan28(lib):
    G = lib.Sequential(lib.Linear(LATENT, 128 * 7 * 7), lib.BatchNorm1d(128 * 7 * 7), lib.ReLU(),
                       lib.Unflatten(1, (128, 7, 7)), lib.ConvTranspose2d(128, 64, 4, 2, 1),
                       lib.BatchNorm2d(64), lib.ReLU(), lib.ConvTranspose2d(64, 1, 4, 2, 1),
                       lib.Tanh())
    D = lib.Sequential(lib.Conv2d(1, 64, 4, 2, 1), lib.LeakyReLU(0.2),
                       lib.Conv2d(64, 128, 4, 2, 1), lib.BatchNorm2d(128), lib.LeakyReLU(0.2),
                       lib.Flatten(), lib.Linear(128 * 7 * 7, 1))
    return G, D


def dcgan32(lib):
    def up(cin, cout, stride, padding):
        return [lib.ConvTranspose2d(cin, cout, 4, stride, padding, bias=False),
                lib.BatchNorm2d(cout), lib.ReLU()]

    def down(cin, cout, bn=True):
        return ([lib.Conv2d(cin, cout, 4, 2, 1, bias=not bn)] + ([lib.BatchNorm2d(cout)] if bn
                                                                   else []) + [lib.LeakyReLU(0.2)])
    G = lib.Sequential(*up(LATENT, 256, 1, 0), *up(256, 128, 2, 1), *up(128, 64, 2, 1),
                       lib.ConvTranspose2d(64, 3, 4, 2, 1, bias=False), lib.Tanh())
    D = lib.Sequential(*down(3, 64, bn=False), *down(64, 128), *down(128, 256),
                       lib.Conv2d(256, 1, 4, 1, 0, bias=False), lib.Flatten())
    return G, D


def forward_flops(net, x_shape):
    """Per-layer forward FLOPs (2 x multiply-adds) of a tinygen Sequential on inputs x_shape."""
    flops, shape = [], tuple(x_shape)
    for m in net:
        n = shape[0]
        if isinstance(m, nn.Linear):
            flops.append(2 * n * m.in_features * m.out_features)
            shape = (n, m.out_features)
        elif isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            (kh, kw), (sh, sw), (ph, pw) = m.kernel_size, m.stride, m.padding
            if isinstance(m, nn.Conv2d):
                oh, ow = (shape[2] + 2 * ph - kh) // sh + 1, (shape[3] + 2 * pw - kw) // sw + 1
                flops.append(2 * n * oh * ow * m.out_channels * m.in_channels * kh * kw)
            else:
                oh, ow = (shape[2] - 1) * sh - 2 * ph + kh, (shape[3] - 1) * sw - 2 * pw + kw
                flops.append(2 * n * shape[2] * shape[3] * m.out_channels * m.in_channels * kh * kw)
            shape = (n, m.out_channels, oh, ow)
        elif isinstance(m, (nn.Flatten, nn.Unflatten, nn.Pad2d, nn.Crop2d)):
            shape = m(Tensor(np.zeros((1,) + shape[1:], np.float32))).shape
            shape = (n,) + shape[1:]
    return flops


def gan_step_flops(G, D, z_shape, x_shape):
    """The GAN step's GEMM FLOPs: G forward once, D forward three times (reals, detached fakes,
    fakes); every pass's weight gradients; input gradients except of the first layer on the
    reals and detached fakes (they need none) and of G's first layer (z needs none)."""
    fg, fd = forward_flops(G, z_shape), forward_flops(D, x_shape)
    g, d = sum(fg), sum(fd)
    return (3 * g - fg[0]) + (3 * d - fd[0]) * 2 + 3 * d


def cli_networks(lib):
    """The networks `tinygen train gan` builds for 28x28 grey images (tinygen/gan/networks.py,
    unconditional: the 32x32 grid, the widths of runs/gan.py's image defaults: G 192 -> 96 ->
    48 and its refining 3x3 convolutions at 16x16, D 32 -> 64 -> 128), as Sequentials: G's 32x32
    output cropped to 28x28, D's input padded to 32x32 with the background -1; D without batch
    norm."""
    from tinygen.runs.gan import DEFAULTS
    g, d = DEFAULTS["images"]["g_width"], DEFAULTS["images"]["d_width"]
    refine = [layer for _ in range(DEFAULTS["images"]["g_refine"])
              for layer in (lib.Conv2d(g, g, 3, 1, 1), lib.BatchNorm2d(g), lib.ReLU())]
    if lib is nn:
        crop, pad = nn.Crop2d((2, 2, 2, 2)), nn.Pad2d((2, 2, 2, 2), -1.0)
    else:                            # PyTorch: a negative zero-padding crops
        crop, pad = lib.ZeroPad2d(-2), lib.ConstantPad2d(2, -1.0)
    G = lib.Sequential(lib.Linear(LATENT, 4 * g * 4 * 4), lib.BatchNorm1d(4 * g * 4 * 4),
                       lib.ReLU(), lib.Unflatten(1, (4 * g, 4, 4)),
                       lib.ConvTranspose2d(4 * g, 2 * g, 4, 2, 1), lib.BatchNorm2d(2 * g),
                       lib.ReLU(), lib.ConvTranspose2d(2 * g, g, 4, 2, 1), lib.BatchNorm2d(g),
                       lib.ReLU(), *refine, lib.ConvTranspose2d(g, 1, 4, 2, 1), lib.Tanh(), crop)
    D = lib.Sequential(pad, lib.Conv2d(1, d, 4, 2, 1), lib.LeakyReLU(0.2),
                       lib.Conv2d(d, 2 * d, 4, 2, 1), lib.LeakyReLU(0.2),
                       lib.Conv2d(2 * d, 4 * d, 4, 2, 1), lib.LeakyReLU(0.2),
                       lib.Flatten(), lib.Linear(4 * d * 4 * 4, 1))
    return G, D


# -- tinygen ------------------------------------------------------------------------------------
class TinygenVAE(nn.Module):
    def __init__(self):
        super().__init__()
        for name, layer in vae_layers(nn).items():
            setattr(self, name, layer)

    def forward(self, x, eps):
        h = self.enc(x.reshape(len(x), -1)).relu()
        mu, logvar = self.enc_mu(h), self.enc_logvar(h)
        z = F.reparameterize(mu, logvar, eps)
        return self.dec2(self.dec1(z).relu()).reshape(x.shape), mu, logvar


def tinygen_vae(seed):
    """-> (model, step(x, eps), flops); x: (128, 1, 28, 28), eps: (128, 20)"""
    tg_random.manual_seed(seed)
    model = TinygenVAE()
    opt = optim.Adam(model.parameters(), lr=1e-3)

    def step(x, eps):
        x = Tensor(x)
        opt.zero_grad()
        logits, mu, logvar = model(x, eps)
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
        kl = F.gaussian_kl(mu, logvar, reduction="none").mean(axis=0).sum()
        loss = recon + kl
        loss.backward()
        opt.step()
        return recon.item(), kl.item()
    fwd = 2 * BATCH_VAE * (784 * 400 + 2 * 400 * 20 + 20 * 400 + 400 * 784)
    return model, step, 3 * fwd - 2 * BATCH_VAE * 784 * 400  # x needs no input gradient


def tinygen_gan(build, seed, z_shape, x_shape):
    """-> (G, D, step(x, z), flops) for build = dcgan28 or dcgan32."""
    tg_random.manual_seed(seed)
    G, D = build(nn)
    opt_G = optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = F.binary_cross_entropy_with_logits

    def step(x, z):
        x, z = Tensor(x), Tensor(z)
        opt_D.zero_grad()
        fake = G(z)
        loss_D = bce(D(x), 1.0) + bce(D(fake.detach()), 0.0)
        loss_D.backward()
        opt_D.step()
        opt_G.zero_grad()
        loss_G = bce(D(fake), 1.0)
        loss_G.backward()
        opt_G.step()
        return loss_D.item(), loss_G.item()
    return G, D, step, gan_step_flops(G, D, z_shape, x_shape)


def cli_dcgan28(seed, batch):
    """The library's own DCGAN step as `tinygen train gan --dataset mnist-5k` runs it: the
    networks of gan.build_models (D at half width, G's refining conv), Adam and GANLoss from
    runs/gan.py's image defaults (their initial learning rate, held: a throughput benchmark;
    betas (0, 0.99), non-saturating loss, lazy R1 0.01 every 4th step, DiffAugment's translation
    of D's inputs, EMA 0.995, D(G(z)) tracked every LOG_EVERY steps), gan.train_step then
    gan.update_ema. (The PyTorch loop beside it does not augment.)
    -> (G, D, step(x, z), flops); G and D are the networks' Sequentials (G.net, D.net).

    flops: what this step needs (module docstring's formula): G forward once, D forward three
    times (detached fakes, fakes for G, reals); D's weight gradients twice (its two updates;
    G's update takes gradients with respect to G's parameters only); D's input gradients
    except into its first layer on the reals and detached fakes; G's weight gradients and its
    input gradients except into its first layer. R1's double backward (every 4th step), the
    tracking pass and the EMA are not counted, so the share of the GEMM peak is a lower bound."""
    from tinygen import gan
    from tinygen.runs.gan import DEFAULTS
    from tinygen.runs.gan_trainer import LOG_EVERY
    cfg = DEFAULTS["images"]
    tg_random.manual_seed(seed)
    arch = ("dcgan", cfg["latent"], cfg["hidden"], (1, 28, 28))
    widths = (cfg["g_width"], cfg["d_width"])
    G, D = gan.build_models(*arch, widths=widths, refine=cfg["g_refine"])
    G_ema = gan.build_models(*arch, widths=widths, refine=cfg["g_refine"])[0]
    G_ema.load_state_dict(G.state_dict())
    betas = (cfg["beta1"], cfg["beta2"])
    opt_G = optim.Adam(G.parameters(), lr=cfg["lr"], betas=betas)
    opt_D = optim.Adam(D.parameters(), lr=cfg["lr"] * cfg["lr_d_ratio"], betas=betas)
    loss = gan.GANLoss("non_saturating", cfg["real_label"], cfg["r1"], r1_every=cfg["r1_every"])
    rng = np.random.default_rng(seed)
    augment = gan.augmentation(cfg["augment"])
    count = [0]

    def step(x, z):
        i = count[0]
        count[0] += 1
        stats = gan.train_step(G, D, opt_G, opt_D, x, z, loss, augment, rng,
                               track=(i % LOG_EVERY == 0), step=i)
        gan.update_ema(G_ema, G, min(cfg["ema"], (1 + i) / (10 + i)))
        return stats["loss_d"], stats["loss_g"]
    fg = forward_flops(G.net, (batch, cfg["latent"]))
    fd = forward_flops(D.net, (batch, 1, 28, 28))
    g, d = sum(fg), sum(fd)
    flops = (3 * g - fg[0]) + 3 * d + 2 * d + 2 * (d - fd[0]) + d
    return G.net, D.net, step, flops


# -- PyTorch: the same models and steps ---------------------------------------------------------
def _load(module, weights):
    module.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in weights.items()})


def torch_vae(weights):
    tnn, TF = torch.nn, torch.nn.functional

    class VAE(tnn.Module):
        def __init__(self):
            super().__init__()
            for name, layer in vae_layers(tnn).items():
                setattr(self, name, layer)

        def forward(self, x, eps):
            h = TF.relu(self.enc(x.reshape(len(x), -1)))
            mu, logvar = self.enc_mu(h), self.enc_logvar(h)
            z = mu + eps * torch.exp(0.5 * logvar)
            return self.dec2(TF.relu(self.dec1(z))).reshape(x.shape), mu, logvar

    model = VAE()
    _load(model, weights)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(x, eps):
        x, eps = torch.from_numpy(x), torch.from_numpy(eps)
        opt.zero_grad()
        logits, mu, logvar = model(x, eps)
        recon = TF.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
        kl = (0.5 * (mu * mu + logvar.exp() - 1 - logvar)).mean(0).sum()
        loss = recon + kl
        loss.backward()
        opt.step()
        return recon.item(), kl.item()
    return step


def torch_gan(build, g_weights, d_weights):
    G, D = build(torch.nn)
    _load(G, g_weights)
    _load(D, d_weights)
    opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = torch.nn.functional.binary_cross_entropy_with_logits

    def step(x, z):
        x, z = torch.from_numpy(x), torch.from_numpy(z)
        opt_D.zero_grad()
        fake = G(z)
        real_logits, fake_logits = D(x), D(fake.detach())
        loss_D = (bce(real_logits, torch.ones_like(real_logits))
                  + bce(fake_logits, torch.zeros_like(fake_logits)))
        loss_D.backward()
        opt_D.step()
        opt_G.zero_grad()
        logits = D(fake)
        loss_G = bce(logits, torch.ones_like(logits))
        loss_G.backward()
        opt_G.step()
        return loss_D.item(), loss_G.item()
    return step
