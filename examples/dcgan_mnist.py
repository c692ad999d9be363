"""DCGAN on the bundled MNIST-5k, the whole adversarial loop written out with tinygen's API.

    python examples/dcgan_mnist.py [--epochs 10] [--batch-size 64] [--seed 0] [--out .]
                                   [--steps N (stop early)] [--limit N (first N images)]

Radford et al. 2016's recipe sized for 28x28 (models in tinygen/gan_models.py: N(0, 0.02)
init, Adam 2e-4, beta1 0.5), plus an R1 penalty on real images (Mescheder et al. 2018) and an
exponential moving average of the generator's weights for sampling. Each of the nine steps of
the recipe is marked; `tinygen train gan --dataset mnist-5k` runs the same step packaged as
tinygen.gan.train_step. Writes samples.png (a fixed-noise grid of the EMA generator) per epoch.
"""
import argparse
from pathlib import Path

import numpy as np

import tinygen as tg
from tinygen import functional as F
from tinygen import optim
from tinygen.data import iterate_batches, load_dataset
from tinygen.gan import update_ema
from tinygen.gan_models import DCGANDiscriminator, DCGANGenerator, dcgan_init_
from tinygen.plots import save_image_grid


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--limit", type=int, default=None, help="use the first N training images")
    p.add_argument("--latent", type=int, default=100)
    p.add_argument("--r1", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=".")
    args = p.parse_args()
    tg.random.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x_train = load_dataset("mnist-5k", "train").x[:args.limit] * 2 - 1   # [0, 1] -> [-1, 1]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # Step 1: randomly initialize the weights of the generator and the discriminator.
    G, D = dcgan_init_(DCGANGenerator(args.latent)), dcgan_init_(DCGANDiscriminator())
    G_ema = DCGANGenerator(args.latent)
    G_ema.load_state_dict(G.state_dict())
    opt_G = optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    g_params, d_params = list(G.parameters()), list(D.parameters())
    fixed_z = tg.tensor(rng.standard_normal((64, args.latent)).astype(np.float32))

    def update(opt, loss, params):
        """Gradient of loss w.r.t. these parameters ONLY (the other player gets none), step."""
        for p, g in zip(params, tg.grad(loss, params)):
            p.grad = g
        opt.step()

    step = 0
    for epoch in range(args.epochs):
        for x_real in iterate_batches(x_train, args.batch_size, rng, drop_last=True):
            # Step 2: sample a noise vector and generate images with the generator.
            z = tg.tensor(rng.standard_normal((args.batch_size, args.latent)).astype(np.float32))
            fake = G(z)
            # Step 3: D's probability that the generated images are real (a detached copy:
            #         this graph does not reach the generator).
            fake_logits = D(fake.detach())
            # Step 4: the losses assuming the images are fake (D's) and real (G's).
            loss_as_fake = F.binary_cross_entropy_with_logits(fake_logits, 0.0)
            loss_as_real = F.binary_cross_entropy_with_logits(fake_logits, 1.0)
            # Step 5: train D to call them fake; the generator gets no update.
            update(opt_D, loss_as_fake, d_params)
            # Step 6: the generator's penalty through D's probability, differentiated with
            #         respect to G's parameters only (it does not train D).
            loss_g = F.gan_generator_loss(D(fake), "non_saturating")
            # Step 7: train G so that D takes its images for real; then average its weights.
            update(opt_G, loss_g, g_params)
            update_ema(G_ema, G, 0.999)
            # Step 8: D's probability that real images are real, with the R1 penalty
            #         (r1/2) |d logit / dx|^2 (second-order autograd: create_graph=True).
            x = tg.tensor(x_real, requires_grad=True)
            real_logits = D(x)
            (dx,) = tg.grad(real_logits.sum(), [x], create_graph=True)
            r1 = 0.5 * args.r1 * (dx * dx).reshape(len(x_real), -1).sum(axis=1).mean()
            # Step 9: train D to output 1 on real images.
            update(opt_D, F.binary_cross_entropy_with_logits(real_logits, 1.0) + r1, d_params)
            step += 1
            if step % 50 == 0:
                print(f"epoch {epoch + 1} step {step}: loss_D(fake) {loss_as_fake.item():.3f} "
                      f"loss_G {loss_g.item():.3f} (before D: {loss_as_real.item():.3f}) "
                      f"D(x) {real_logits.sigmoid().mean().item():.2f} "
                      f"D(G(z)) {fake_logits.sigmoid().mean().item():.2f}", flush=True)
            if args.steps and step >= args.steps:
                break
        with tg.no_grad():
            images = (G_ema.eval()(fixed_z).data + 1) / 2
        G_ema.train()
        save_image_grid(images, out / "samples.png", title=f"epoch {epoch + 1} (EMA generator)")
        print(f"epoch {epoch + 1} done, {step} steps; wrote {out / 'samples.png'}", flush=True)
        if args.steps and step >= args.steps:
            break


if __name__ == "__main__":
    main()
