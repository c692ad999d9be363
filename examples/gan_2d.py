"""A GAN on the 8-Gaussian ring, the whole adversarial loop written out with tinygen's API.

    python examples/gan_2d.py [--steps 3000] [--batch-size 512] [--lr 1e-3] [--r1 1]
                              [--seed 0] [--out gan2d_example]

Each of the nine steps of the recipe is marked in the loop. The same step, packaged as one
function, is tinygen.gan.train_step (what `tinygen train gan` runs); this file shows it
unpacked. Writes samples.png (real points grey, generated red) and prints the mode metrics of
VEEGAN / PacGAN: modes captured (of 8), % high-quality samples, reverse KL to uniform.
"""
import argparse
from pathlib import Path

import numpy as np

import tinygen as tg
from tinygen import functional as F
from tinygen import nn, optim
from tinygen.data import RING8
from tinygen.metrics.modes import mode_metrics
from tinygen.plots.points import save_density


def mlp(sizes, act):
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), act()]
    return nn.Sequential(*layers[:-1])   # no activation after the last layer


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--r1", type=float, default=1.0, help="R1 penalty weight on real data")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="gan2d_example", help="directory for the figures")
    args = p.parse_args()
    tg.random.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    # Step 1: randomly initialize the weights of the generator and the discriminator.
    G = mlp([2, 128, 128, 128, 2], nn.ReLU)                           # z (N, 2) -> x (N, 2)
    D = mlp([2, 128, 128, 128, 1], lambda: nn.LeakyReLU(0.2))         # x (N, 2) -> logit (N, 1)
    opt_G = optim.Adam(G.parameters(), lr=args.lr, betas=(0.5, 0.99))
    opt_D = optim.Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.99))
    g_params, d_params = list(G.parameters()), list(D.parameters())

    def update(opt, loss, params):
        """Gradient of loss w.r.t. these parameters ONLY (the other player gets none), step."""
        for p, g in zip(params, tg.grad(loss, params)):
            p.grad = g
        opt.step()

    for step in range(args.steps):
        for opt in (opt_G, opt_D):   # linear learning-rate decay to 1% at the end
            opt.param_groups[0]["lr"] = args.lr * (1 - 0.99 * step / args.steps)
        # Step 2: sample a noise vector and generate points with the generator.
        z = tg.tensor(rng.standard_normal((args.batch_size, 2)).astype(np.float32))
        fake = G(z)
        # Step 3: the discriminator's probability that the generated points are real
        #         (on a detached copy: this graph does not reach the generator).
        fake_logits = D(fake.detach())
        # Step 4: the losses assuming the points are fake (D's) and assuming real (G's).
        loss_as_fake = F.binary_cross_entropy_with_logits(fake_logits, 0.0)
        loss_as_real = F.binary_cross_entropy_with_logits(fake_logits, 1.0)
        # Step 5: train D to output "fake" on them; the generator gets no update.
        update(opt_D, loss_as_fake, d_params)
        # Step 6: the generator's penalty through D's probability; its gradient is taken
        #         with respect to G's parameters only, so it does not train D.
        loss_g = F.gan_generator_loss(D(fake), "non_saturating")   # -log D(G(z))
        # Step 7: train G so that D takes its points for real.
        update(opt_G, loss_g, g_params)
        # Step 8: the discriminator's probability that real points are real; the R1 penalty
        #         (r1/2) |d logit / dx|^2 needs the gradient as a function (create_graph=True).
        x = tg.tensor(RING8.sample(args.batch_size, rng), requires_grad=True)
        real_logits = D(x)
        (dx,) = tg.grad(real_logits.sum(), [x], create_graph=True)
        r1 = 0.5 * args.r1 * (dx * dx).sum(axis=1).mean()
        # Step 9: train D to output 1 on real points.
        update(opt_D, F.binary_cross_entropy_with_logits(real_logits, 1.0) + r1, d_params)
        if step % 500 == 0 or step == args.steps - 1:
            print(f"step {step}: loss_D {loss_as_fake.item():.3f} (fakes) "
                  f"loss_G {loss_g.item():.3f} (before D: {loss_as_real.item():.3f}) "
                  f"D(x) {real_logits.sigmoid().mean().item():.2f} "
                  f"D(G(z)) {fake_logits.sigmoid().mean().item():.2f}", flush=True)

    with tg.no_grad():
        points = G(tg.tensor(rng.standard_normal((2500, 2)).astype(np.float32))).data
    print(mode_metrics(points, RING8))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    save_density(RING8.sample(2000, 0), [(f"step {args.steps}", points)],
                 Path(args.out) / "samples.png")


if __name__ == "__main__":
    main()
