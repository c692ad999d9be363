"""The GAN networks: an MLP pair for 2D points and the DCGAN pair for images of any size.

Place in the tower: gan/ (imports tinygen and tinygen.nn only). The training
step that plays them against each other is in gan/objective.py.

Both discriminators output one logit per example, D_logit(x): (N, 1); the probability that x is
real is D(x) = sigmoid(D_logit(x)), and every loss is computed from the logits (stable).
Generators map noise z: (N, latent_dim) to samples; the DCGAN generator ends in tanh, so its
images live in [-1, 1] (the data is rescaled x -> 2x - 1 to match).

Class-conditional DCGAN (num_classes = K > 0; Mirza & Osindero 2014): both networks take class
labels y (N,) int in [0, K) as a second argument, through an nn.Embedding:
    G(z, y)   class-conditional batch norm: after each batch norm, a per-class gain and bias
              looked up in an embedding table (see DCGANGenerator);
    D(x, y)   'projection' (Miyato & Koyama 2018, the default, chosen by measurement -- see the
              README): with phi(x) (N, F) the features before D's last Linear psi,
                  logit(x, y) = psi(phi(x)) + <e_D(y), phi(x)>,   e_D: (K, F)
              i.e. the inner product of a class vector with the image's features;
              'concat': a learned class image e_D(y) (N, H*W) reshaped to one extra input
              channel, concatenated to x.
Unconditional networks (K = 0) are built, initialised and saved exactly as before.

InfoGAN's categorical codes (codes = K > 0, unconditional pairs; Chen et al. 2016): G takes a
code c (N,) in [0, K) through the same class-conditional batch norm, and D adds a head q on
phi(x) whose K logits guess c (DCGANDiscriminator; the code loss is in gan/objective.py).
"""
from __future__ import annotations

import tinygen as tg
from tinygen import nn
from tinygen.nn import init
from tinygen.nn.stages import conv_stages, padded_grid

D_CONDITIONINGS = ("projection", "concat")


class MLPGenerator(nn.Module):
    """z (N, latent_dim) -> x (N, out_dim): `depth` ReLU layers of width `hidden`, then linear."""

    def __init__(self, latent_dim: int = 2, hidden: int = 256, depth: int = 3, out_dim: int = 2):
        super().__init__()
        self.latent_dim = latent_dim
        layers, width = [], latent_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(width, out_dim))

    def forward(self, z, y=None):   # y: labels, unused (the MLP GAN is unconditional)
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """x (N, in_dim) -> logits (N, 1): `depth` LeakyReLU(0.2) layers of width `hidden`."""

    def __init__(self, in_dim: int = 2, hidden: int = 256, depth: int = 3):
        super().__init__()
        layers, width = [], in_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(width, 1))

    def forward(self, x, y=None):   # y: labels, unused (the MLP GAN is unconditional)
        return self.net(x)


def _check_labels(module, y) -> None:
    if y is None:
        raise ValueError(f"{type(module).__name__} is conditional on {module.num_classes} "
                         f"classes: call it with labels y (N,)")


def _class_affine(h, table, y):
    """Class-conditional batch norm's second half: h (N, C, ...) already normalized ->
    h * (1 + gamma_y) + beta_y per channel, where [gamma_y, beta_y] = table(y) (N, 2C)."""
    gb, c = table(y), h.shape[1]
    shape = (len(h), c) + (1,) * (h.ndim - 2)
    return h * (gb[:, :c].reshape(shape) + 1) + gb[:, c:].reshape(shape)


def default_grid(image_shape) -> tuple[int, int, int]:
    """The grid (C, Hp, Wp) a DCGAN pair works on by default: nn.stages.padded_grid (28x28 ->
    32x32: three stages instead of two). Measured on mnist-5k (README): the unconditional IS
    7.1 -> 8.0; the conditional pair's clean digits 0.856-0.876 -> 0.930-0.950 (seeds 0-2), for
    about 2.5 times the arithmetic."""
    return padded_grid(image_shape)


def _border(image_shape, grid):
    """(top, bottom, left, right): the border between an image and the grid around it."""
    (_, h, w), (_, hp, wp) = image_shape, grid
    return ((hp - h) // 2, hp - h - (hp - h) // 2, (wp - w) // 2, wp - w - (wp - w) // 2)


class DCGANGenerator(nn.Module):
    """DCGAN generator (Radford et al. 2016) for images of any `image_shape` (C, H, W) that
    nn.stages.conv_stages accepts. It works on a `grid` (C, Hp, Wp) >= the image (default_grid:
    H, W rounded up to a multiple of 8): k stride-2 stages up from an
    H0 x W0 grid, channels halving per stage from width * 2^(k-1) to width, then a last stage
    to C channels and tanh, and the border beyond H x W cropped off.

    z (N, latent) -> Linear -> BN -> ReLU -> (N, width*2^(k-1), H0, W0)
      -> [ConvT c->c/2, k4 s2 p1 -> BN -> ReLU] x (k - 1)
      -> [Conv width->width, k3 s1 p1 -> BN -> ReLU] x refine
      -> ConvT width->C, k4 s2 p1 -> tanh -> (N, C, Hp, Wp) -> Crop2d -> (N, C, H, W) in [-1, 1]

        (1, 28, 28): 256x4x4 -> 128x8x8 -> 64x16x16 -> 1x32x32 -> crop 1x28x28   (MNIST)
        width=48 (`tinygen train gan`'s default for images): 192x4x4 -> 96x8x8 -> 48x16x16 -> ...
        (3, 32, 32): 256x4x4 -> 128x8x8 -> 64x16x16 -> 3x32x32  (Radford et al.'s 32x32 net)
        (3, 64, 64): 512x4x4 -> 256x8x8 -> 128x16x16 -> 64x32x32 -> 3x64x64
        (1, 28, 28) with grid=(1, 28, 28): 128x7x7 -> 64x14x14 -> 1x28x28 (runs made before
            the grid, and conditional runs made before it was theirs: their config says so)

    refine (`tinygen train gan`'s image default: 1): 3x3 convolutions at the last hidden stage,
    where the strokes are drawn (16x16 on MNIST's grid), before the output stage doubles the
    size: a pixel of that stage sees its neighbours' features once more before the last stage
    paints 2x2 output pixels from it (measured on mnist-5k: see the README). On MNIST's grid
    one costs about half the generator's arithmetic again; refine=0 is Radford et al.'s net.

    Conditional (num_classes > 0): each BN is class-conditional (de Vries et al. 2017; the
    generator of Miyato & Koyama 2018): after normalizing, h -> h * (1 + gamma_y) + beta_y with
    per-class, per-channel [gamma_y, beta_y] looked up in nn.Embedding tables (label_bn1 for
    the first BN, (K, 2 * features), label_bn2, ... for the others, init N(0, 0.02)). The batch
    statistics see only what z made, so the class cannot drown the noise (concatenating e(y)
    to z before the first BN did: every z of a class gave the same digit -- measured, see the
    README).
    """

    def __init__(self, latent_dim: int = 100, channels: int = 1, width: int = 64,
                 num_classes: int = 0, image_shape=None, grid=None, refine: int = 0):
        super().__init__()
        image_shape = tuple(image_shape or (channels, 28, 28))
        grid = tuple(grid or default_grid(image_shape))
        stages, h0, w0 = conv_stages(grid)
        self.latent_dim, self.num_classes = latent_dim, num_classes
        c = width * 2 ** (stages - 1)
        layers, norms = [nn.Linear(latent_dim, c * h0 * w0), nn.BatchNorm1d(c * h0 * w0),
                         nn.ReLU(), nn.Unflatten(1, (c, h0, w0))], [c * h0 * w0]
        for _ in range(stages - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, stride=2, padding=1),
                       nn.BatchNorm2d(c // 2), nn.ReLU()]
            c //= 2
            norms.append(c)
        for _ in range(refine):
            layers += [nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU()]
            norms.append(c)
        layers += [nn.ConvTranspose2d(c, image_shape[0], 4, stride=2, padding=1), nn.Tanh()]
        if grid != image_shape:
            layers.append(nn.Crop2d(_border(image_shape, grid)))
        self.net = nn.Sequential(*layers)
        for i, features in enumerate(norms if num_classes else [], start=1):
            table = nn.Embedding(num_classes, 2 * features)
            init.normal_(table.weight, 0.0, 0.02)
            setattr(self, f"label_bn{i}", table)

    def forward(self, z, y=None):
        if not self.num_classes:
            return self.net(z)
        _check_labels(self, y)
        h, i = z, 0
        for layer in self.net:
            h = layer(h)
            if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
                i += 1
                h = _class_affine(h, getattr(self, f"label_bn{i}"), y)
        return h


class InkView(nn.Module):
    """D's view of where there is ink at all: x (N, C, H, W) in [-1, 1] -> (N, 2C, H, W), x
    and beside it its ink footprint

        v = 1 - 2 exp(-k u),   u = (x + 1) / 2 in [0, 1] the ink,   v in [-1, 1)

    The background (u = 0) stays -1; ink of 0.1 becomes 0.26 at k = 10, ink of 0.5 0.99: in
    the footprint a faint smudge is almost as loud as a stroke, where in x it is a tenth of
    one. dv/du = 2k exp(-k u), largest (2k) at the background, so G learns most from the
    faint ink. Made of differentiable ops: its gradient (of any order) is the engine's.
    """

    def __init__(self, k: float):
        super().__init__()
        self.k = float(k)

    def forward(self, x):
        ink = (x + 1) * 0.5
        return tg.concatenate([x, 1 - 2 * (ink * -self.k).exp()], axis=1)

    def extra_repr(self): return f"k={self.k}"


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator, the generator's mirror (no batch norm, so R1 and the per-example
    gradient penalties see each example on its own), on the same grid (C, Hp, Wp):

    x (N, C, H, W) -> Pad2d with the background -1 -> (N, C, Hp, Wp)
      -> Conv C->width, k4 s2 p1 -> LeakyReLU 0.2
      -> [Conv c->2c, k4 s2 p1 -> LeakyReLU 0.2] x (k - 1) -> (N, width*2^(k-1), H0, W0)
      -> Flatten: phi(x) (N, F) -> Linear psi -> logits (N, 1)

        (1, 28, 28) and (3, 32, 32): (pad to 32x32) 64x16x16 -> 128x8x8 -> 256x4x4 -> 1
        (1, 28, 28) with grid=(1, 28, 28): 64x14x14 -> 128x7x7 -> 1
        width=32 (`tinygen train gan`'s default for images): 32x16x16 -> 64x8x8 -> 128x4x4 -> 1

    ink = k > 0 (`tinygen train gan`'s default for grey images: 10): an InkView after the
    padding, so the first conv sees x and its ink footprint (2C channels): smudges of faint ink
    beside the strokes, which x shows at a tenth of a stroke's contrast, are plain to D
    (measured on mnist-5k: the share of digits with at most 2 such pixels 0.74-0.82 -> 0.94-0.96,
    real digits 0.93; see the README). With 'concat' conditioning the class channel, concatenated
    before the layers, is viewed too (2C + 2 channels).

    Conditional (num_classes > 0): + <e(y), phi(x)> ('projection', e ~ N(0, 0.02) like psi's
    weights), or one more input channel e(y) reshaped to H x W ('concat').

    codes = K > 0 (InfoGAN, Chen et al. 2016): a second head q = Linear(F, K) on the same
    features phi(x), the logits of Q(c | x), D's guess of which of K categorical codes c the
    generator was given (D(x, codes=True) returns both heads; gan/objective.py's code loss).
    """

    def __init__(self, channels: int = 1, width: int = 64, num_classes: int = 0,
                 conditioning: str = "projection", image_shape=None, grid=None,
                 codes: int = 0, ink: float = 0.0):
        super().__init__()
        if conditioning not in D_CONDITIONINGS:
            raise ValueError(f"discriminator conditioning must be one of {D_CONDITIONINGS}, "
                             f"got {conditioning!r}")
        image_shape = tuple(image_shape or (channels, 28, 28))
        grid = tuple(grid or default_grid(image_shape))
        stages, h0, w0 = conv_stages(grid)
        self.num_classes, self.conditioning, self.codes = num_classes, conditioning, codes
        concat = bool(num_classes) and conditioning == "concat"
        layers = [nn.Pad2d(_border(image_shape, grid), value=-1.0)] if grid != image_shape else []
        layers += [InkView(ink)] if ink else []
        inputs = (image_shape[0] + concat) * (2 if ink else 1)
        layers += [nn.Conv2d(inputs, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        c = width
        for _ in range(stages - 1):
            layers += [nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            c *= 2
        self.net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * h0 * w0, 1))
        if concat:
            self.embed = nn.Embedding(num_classes, image_shape[1] * image_shape[2])
        elif num_classes:
            self.embed = nn.Embedding(num_classes, c * h0 * w0)
            init.normal_(self.embed.weight, 0.0, 0.02)
        if codes:
            self.q = nn.Linear(c * h0 * w0, codes)

    def forward(self, x, y=None, codes: bool = False):
        """logits (N, 1); codes=True: (logits, Q's code logits (N, K)) (InfoGAN, see above)"""
        if self.num_classes:
            _check_labels(self, y)
        if self.num_classes and self.conditioning == "concat":
            x = tg.concatenate([x, self.embed(y).reshape(len(x), 1, *x.shape[2:])], axis=1)
        *body, psi = self.net
        phi = x
        for layer in body:
            phi = layer(phi)                                     # phi(x): (N, F)
        logits = psi(phi)
        if self.num_classes and self.conditioning == "projection":
            logits = logits + (self.embed(y) * phi).sum(axis=1, keepdims=True)
        if codes:
            if not self.codes:
                raise ValueError("this discriminator has no code head (built with codes=0)")
            return logits, self.q(phi)
        return logits


def dcgan_init_(module: nn.Module) -> nn.Module:
    """DCGAN initialisation (Radford et al. 2016): conv and linear weights ~ N(0, 0.02),
    batch-norm scales ~ N(1, 0.02), every bias 0. Label embeddings keep the init their network
    gave them. Draws from tg.random; returns module."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            init.normal_(m.weight, 1.0, 0.02)
        else:
            continue
        if m.bias is not None:
            init.zeros_(m.bias)
    return module


def build_models(model: str, latent_dim: int, hidden: int = 256, shape=None,
                 num_classes: int = 0, conditioning: str = "projection", grid=None,
                 widths=(64, 64), refine: int = 0, codes: int = 0, ink: float = 0.0):
    """Step 1 of the GAN recipe: randomly initialise G and D (from tg.random) -> (G, D).

    shape: one example's shape: (2,) for 2D points (the MLP's default), (C, H, W) for images
    (the DCGAN's default (1, 28, 28); see nn.stages.conv_stages for the sizes it builds).
    num_classes > 0: the class-conditional DCGAN pair (D conditioned by `conditioning`).
    grid: the (C, Hp, Wp) the DCGAN pair works on (default: default_grid(shape)).
    widths: the DCGAN pair's (G width, D width): the channels of G's last stage and of D's first
    (each stage doubles them towards the coarse end; Radford et al.'s 64, 64).
    refine: the DCGAN generator's 3x3 convolutions at its last hidden stage (DCGANGenerator).
    codes: K > 0 categorical codes (InfoGAN, unconditional pairs only): G takes a code c in
    [0, K) where a conditional G takes a label (class-conditional batch norm), and D gets the
    head Q(c | x).
    ink: k > 0 puts an InkView in front of the DCGAN discriminator (DCGANDiscriminator)."""
    shape = tuple(shape or ((2,) if model == "mlp" else (1, 28, 28)))
    if codes and (num_classes or model != "dcgan"):
        raise ValueError("categorical codes (InfoGAN) are for the unconditional DCGAN")
    if model == "mlp":
        if num_classes:
            raise ValueError("the conditional GAN is the DCGAN (images); the MLP GAN is not "
                             "conditional")
        return (MLPGenerator(latent_dim, hidden, out_dim=shape[0]),
                MLPDiscriminator(shape[0], hidden))
    if model == "dcgan":
        g_width, d_width = widths
        return (dcgan_init_(DCGANGenerator(latent_dim, width=g_width,
                                           num_classes=num_classes or codes,
                                           image_shape=shape, grid=grid, refine=refine)),
                dcgan_init_(DCGANDiscriminator(width=d_width, num_classes=num_classes,
                                               conditioning=conditioning, image_shape=shape,
                                               grid=grid, codes=codes, ink=ink)))
    raise ValueError(f"unknown GAN model {model!r}; expected 'mlp' or 'dcgan'")
