"""Class-conditional DCGAN on the bundled MNIST-5k: "make me a 7", the whole step by hand.

    python examples/cgan_mnist.py [--epochs 60] [--batch-size 24] [--lr 6.9e-4] [--limit N]
                                  [--steps N (stop early)] [--seed 0] [--out cgan_example]

The recipe of examples/dcgan_mnist.py (the CLI's default, RECIPE below: the same widths, 3x3
convolution, translations, lazy R1, decaying learning rate and EMA), with the digit's label where
that example has a k-means cluster, on the same 32x32 grid (the digits padded: three stages,
4 -> 8 -> 16 -> 32, cropped back to 28x28).
The generator G(z, y) has class-conditional batch norm (a per-class gain and bias after each
batch norm, looked up in nn.Embedding tables), and the discriminator D(x, y) is a projection
discriminator (Miyato & Koyama 2018): logit = psi(phi(x)) + <e(y), phi(x)>, so it scores "is
this a real image OF CLASS y". Real images come with their labels; each fake is asked for a
class drawn uniformly. Same nine steps as the unconditional example, each marked; the CLI runs
them as tinygen.gan.train_step(..., y_real=, y_fake=) (`tinygen train gan --conditional`).
Writes samples.png, a row per digit, every epoch.
"""
import argparse
from pathlib import Path

import numpy as np

import tinygen as tg
from tinygen import functional as F
from tinygen import optim
from tinygen.data import as_float, iterate_batches, load_dataset
from tinygen.gan import DCGANDiscriminator, DCGANGenerator, augmentation, dcgan_init_
from tinygen.gan import recalibrate_batchnorm, update_ema
from tinygen.plots import save_image_grid

RECIPE = dict(latent=100, batch_size=24, lr=6.9e-4, lr_final=0.25, beta1=0.0, beta2=0.99,
              r1=0.01, r1_every=4, ema=0.999, epochs=60, augment="translation", g_width=48,
              d_width=32, g_refine=1)
K = 10   # classes: the digits


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=RECIPE["epochs"])
    p.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    p.add_argument("--batch-size", type=int, default=RECIPE["batch_size"])
    p.add_argument("--lr", type=float, default=RECIPE["lr"])
    p.add_argument("--limit", type=int, default=None, help="use the first N training images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="cgan_example", help="directory for the figures")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    latent, r1, every = RECIPE["latent"], RECIPE["r1"], RECIPE["r1_every"]
    tg.random.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train = load_dataset("mnist-5k", "train")
    x_train = as_float(train.x[:args.limit]) * 2 - 1                      # [0, 1] -> [-1, 1]
    y_train = train.y[:args.limit]

    # Step 1: randomly initialize the weights of the generator and the discriminator (each
    #         with its label embedding tables).
    G = dcgan_init_(DCGANGenerator(latent, width=RECIPE["g_width"], refine=RECIPE["g_refine"],
                                   num_classes=K))
    D = dcgan_init_(DCGANDiscriminator(width=RECIPE["d_width"], num_classes=K,
                                       conditioning="projection"))
    G_ema = DCGANGenerator(latent, width=RECIPE["g_width"], refine=RECIPE["g_refine"],
                           num_classes=K)
    G_ema.load_state_dict(G.state_dict())
    betas = (RECIPE["beta1"], RECIPE["beta2"])
    opt_G = optim.Adam(G.parameters(), lr=args.lr, betas=betas)
    opt_D = optim.Adam(D.parameters(), lr=args.lr, betas=betas)
    g_params, d_params = list(G.parameters()), list(D.parameters())
    augment = augmentation(RECIPE["augment"])      # x (N, 1, 28, 28) -> randomly moved copies
    fixed_z = np.tile(rng.standard_normal((10, latent)).astype(np.float32), (K, 1))
    fixed_y = np.repeat(np.arange(K), 10)             # a row per class, the same 10 z per row

    def update(opt, loss, params):
        """Gradient of loss w.r.t. these parameters ONLY (the other player gets none), step."""
        for p, g in zip(params, tg.grad(loss, params)):
            p.grad = g
        opt.step()

    step, total = 0, args.epochs * (len(x_train) // args.batch_size)
    for epoch in range(args.epochs):
        for x_real, y_real in iterate_batches((x_train, y_train), args.batch_size, rng,
                                              drop_last=True):
            # the learning rate, decaying linearly from lr to lr * lr_final over the run
            lr = args.lr * (1 - (1 - RECIPE["lr_final"]) * step / max(1, total - 1))
            for opt in (opt_G, opt_D):
                opt.param_groups[0]["lr"] = lr
            # Step 2: sample a noise vector and a class for each fake, generate images.
            z = tg.tensor(rng.standard_normal((args.batch_size, latent)).astype(np.float32))
            y_fake = rng.integers(0, K, size=args.batch_size)
            fake = G(z, y_fake)
            # Step 3: D's probability that the generated images are real images of the class
            #         they were asked for (a detached copy: this graph does not reach G).
            fake_logits = D(augment(fake.detach(), rng), y_fake)
            # Step 4: the losses assuming the images are fake (D's) and real (G's).
            loss_as_fake = F.binary_cross_entropy_with_logits(fake_logits, 0.0)
            loss_as_real = F.binary_cross_entropy_with_logits(fake_logits, 1.0)
            # Step 5: train D to call them fake; the generator gets no update.
            update(opt_D, loss_as_fake, d_params)
            # Step 6: the generator's penalty through D's probability (same labels),
            #         differentiated with respect to G's parameters only.
            loss_g = F.gan_generator_loss(D(augment(fake, rng), y_fake), "non_saturating")
            # Step 7: train G so that D takes its images for real images of their class; then
            #         average its weights (faster at the start, to forget the random init).
            update(opt_G, loss_g, g_params)
            update_ema(G_ema, G, min(RECIPE["ema"], (1 + step) / (10 + step)))
            # Step 8: D's probability that real images are real images of THEIR class. Every
            #         `every`-th step also the R1 penalty (r1/2) |d logit / dx|^2 (x only, not
            #         the label), weighted by `every` for the skipped steps.
            x = augment(tg.tensor(x_real), rng).detach().requires_grad_()
            real_logits = D(x, y_real)
            loss_d = F.binary_cross_entropy_with_logits(real_logits, 1.0)
            if step % every == 0:
                (dx,) = tg.grad(real_logits.sum(), [x], create_graph=True)
                loss_d = loss_d + every * 0.5 * r1 * (dx * dx).reshape(len(x), -1).sum(1).mean()
            # Step 9: train D to output 1 on real images with their true labels.
            update(opt_D, loss_d, d_params)
            step += 1
            if step % 50 == 0:
                print(f"epoch {epoch + 1} step {step}: loss_D(fake) {loss_as_fake.item():.3f} "
                      f"loss_G {loss_g.item():.3f} (before D: {loss_as_real.item():.3f}) "
                      f"D(x, y) {real_logits.sigmoid().mean().item():.2f} "
                      f"D(G(z, y), y) {fake_logits.sigmoid().mean().item():.2f}", flush=True)
            if args.steps and step >= args.steps:
                break
        # Sampling: the EMA generator, with batch-norm statistics of its own activations
        # (on noise with every class equally often).
        recalibrate_batchnorm(G_ema, rng.standard_normal((1000, latent)).astype(np.float32),
                              np.arange(1000) % K)
        with tg.no_grad():
            images = (G_ema(tg.tensor(fixed_z), fixed_y).data + 1) / 2
        save_image_grid(images, out / "samples.png", ncol=10,
                        title=f"epoch {epoch + 1} (EMA generator), row k: digit k")
        print(f"epoch {epoch + 1} done, {step} steps; wrote {out / 'samples.png'}", flush=True)
        if args.steps and step >= args.steps:
            break


if __name__ == "__main__":
    main()
