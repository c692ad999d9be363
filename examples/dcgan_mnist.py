"""DCGAN on the bundled MNIST-5k, the whole adversarial step written out with the public API.

    python examples/dcgan_mnist.py [--epochs 40] [--batch-size 24] [--lr 6.9e-4] [--limit N]
                                   [--steps N (stop early)] [--seed 0] [--out dcgan_example]

The recipe is the default of `tinygen train gan --dataset mnist-5k` (RECIPE below, the same numbers
as DEFAULTS["images"] in tinygen/runs/gan.py; a test keeps them equal): Radford et al.'s 32x32
DCGAN (D pads the 28x28 digits to 32x32, G crops its output; D at half their width, 32 -> 64 -> 128
channels, so that twice the epochs fit in the same time; G at three quarters, 192 -> 96 -> 48, with
one more 3x3 convolution at 16x16, where the strokes are drawn) with N(0, 0.02) init, Adam with
betas (0, 0.99) for both players (Karras et al. 2020), batches of 24 and a learning rate decaying
linearly from 6.9e-4 to a quarter of it over the run, every image D sees moved by up to 2 pixels
(DiffAugment's translation, Zhao et al. 2020) and shown to D beside its ink footprint
1 - 2 exp(-10 u) (InkView: faint smudges as plain to D as strokes), a lazy R1 penalty on real
images every 4th step (Mescheder et al. 2018), and an exponential moving average of the
generator's weights for sampling, whose batch-norm statistics are recomputed before it draws (its
weights are an average: the statistics copied from the trained G do not fit them).

No labels, but groups: k-means splits the training digits into 100 clusters by their deskewed
pixels (centred and unslanted), each averaged with its nearest neighbours' (pulled into its crowd:
most of a cluster is one digit of one shape), and both players are
conditioned on the cluster as examples/cgan_mnist.py conditions them on the digit -- G through a
per-cluster gain and bias after each batch norm, D through a projection head that scores "a real
image OF THIS CLUSTER". Given its cluster, G need not decide between a 4 and a 9 from the noise
alone (fewer samples halfway between two digits). Each fake asks for a cluster drawn uniformly; the
samples draw the clusters at their share of the training images. Each of the nine steps of the
recipe is marked; the CLI runs the same step packaged as tinygen.gan.train_step. Writes
samples.png every epoch.
"""
import argparse
from pathlib import Path

import numpy as np

import tinygen as tg
from tinygen import functional as F
from tinygen import optim
from tinygen.data import as_float, iterate_batches, load_dataset, pixel_clusters
from tinygen.gan import DCGANDiscriminator, DCGANGenerator, augmentation, dcgan_init_
from tinygen.gan import recalibrate_batchnorm, update_ema
from tinygen.plots import save_image_grid

RECIPE = dict(latent=100, batch_size=24, lr=6.9e-4, lr_final=0.25, beta1=0.0, beta2=0.99,
              r1=0.01, r1_every=4, ema=0.999, epochs=40, augment="translation", g_width=48,
              d_width=32, g_refine=1, d_ink=10.0, clusters=100)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=RECIPE["epochs"])
    p.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    p.add_argument("--batch-size", type=int, default=RECIPE["batch_size"])
    p.add_argument("--lr", type=float, default=RECIPE["lr"])
    p.add_argument("--limit", type=int, default=None, help="use the first N training images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="dcgan_example", help="directory for the figures")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    latent, r1, every = RECIPE["latent"], RECIPE["r1"], RECIPE["r1_every"]
    tg.random.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    images = load_dataset("mnist-5k", "train").x[:args.limit]              # uint8 (N, 1, 28, 28)
    x_train = as_float(images) * 2 - 1                                       # -> [-1, 1]
    K = max(1, min(RECIPE["clusters"], len(images) // 40))   # 40 images a cluster, at least one
    c_train = pixel_clusters(images, K, seed=args.seed)                      # (N,) in 0..K-1
    share = np.bincount(c_train, minlength=K) / len(c_train)

    # Step 1: randomly initialize the weights of the generator and the discriminator (each
    #         with its cluster embedding tables).
    G = dcgan_init_(DCGANGenerator(latent, width=RECIPE["g_width"], refine=RECIPE["g_refine"],
                                   num_classes=K))
    D = dcgan_init_(DCGANDiscriminator(width=RECIPE["d_width"], num_classes=K,
                                       ink=RECIPE["d_ink"]))
    G_ema = DCGANGenerator(latent, width=RECIPE["g_width"], refine=RECIPE["g_refine"],
                           num_classes=K)
    G_ema.load_state_dict(G.state_dict())
    betas = (RECIPE["beta1"], RECIPE["beta2"])
    opt_G = optim.Adam(G.parameters(), lr=args.lr, betas=betas)
    opt_D = optim.Adam(D.parameters(), lr=args.lr, betas=betas)
    g_params, d_params = list(G.parameters()), list(D.parameters())
    augment = augmentation(RECIPE["augment"])      # x (N, 1, 28, 28) -> randomly moved copies
    fixed_z = rng.standard_normal((64, latent)).astype(np.float32)
    fixed_c = rng.choice(K, size=64, p=share)        # clusters at their share of the data

    def update(opt, loss, params):
        """Gradient of loss w.r.t. these parameters ONLY (the other player gets none), step."""
        for p, g in zip(params, tg.grad(loss, params)):
            p.grad = g
        opt.step()

    step, total = 0, args.epochs * (len(x_train) // args.batch_size)
    for epoch in range(args.epochs):
        for x_real, c_real in iterate_batches((x_train, c_train), args.batch_size, rng,
                                              drop_last=True):
            # the learning rate, decaying linearly from lr to lr * lr_final over the run
            lr = args.lr * (1 - (1 - RECIPE["lr_final"]) * step / max(1, total - 1))
            for opt in (opt_G, opt_D):
                opt.param_groups[0]["lr"] = lr
            # Step 2: sample a noise vector and a cluster, and generate images with the generator.
            z = tg.tensor(rng.standard_normal((args.batch_size, latent)).astype(np.float32))
            c = rng.integers(0, K, size=args.batch_size)
            fake = G(z, c)
            # Step 3: D's probability that the generated images are real images of the cluster
            #         they were asked for (a detached copy: this graph does not reach G).
            fake_logits = D(augment(fake.detach(), rng), c)
            # Step 4: the losses assuming the images are fake (D's) and real (G's).
            loss_as_fake = F.binary_cross_entropy_with_logits(fake_logits, 0.0)
            loss_as_real = F.binary_cross_entropy_with_logits(fake_logits, 1.0)
            # Step 5: train D to call them fake; the generator gets no update.
            update(opt_D, loss_as_fake, d_params)
            # Step 6: the generator's penalty through D's probability (same clusters),
            #         differentiated with respect to G's parameters only (it does not train D).
            loss_g = F.gan_generator_loss(D(augment(fake, rng), c), "non_saturating")
            # Step 7: train G so that D takes its images for real; then average its weights
            #         (a faster average at the start, so the random init is forgotten).
            update(opt_G, loss_g, g_params)
            update_ema(G_ema, G, min(RECIPE["ema"], (1 + step) / (10 + step)))
            # Step 8: D's probability that real images are real images of THEIR cluster. Every
            #         `every`-th step also the R1 penalty (r1/2) |d logit / dx|^2, weighted by
            #         `every` to make up for the skipped steps (second-order autograd:
            #         create_graph=True).
            x = augment(tg.tensor(x_real), rng).detach().requires_grad_()
            real_logits = D(x, c_real)
            loss_d = F.binary_cross_entropy_with_logits(real_logits, 1.0)
            if step % every == 0:
                (dx,) = tg.grad(real_logits.sum(), [x], create_graph=True)
                loss_d = loss_d + every * 0.5 * r1 * (dx * dx).reshape(len(x), -1).sum(1).mean()
            # Step 9: train D to output 1 on real images.
            update(opt_D, loss_d, d_params)
            step += 1
            if step % 50 == 0:
                print(f"epoch {epoch + 1} step {step}: loss_D(fake) {loss_as_fake.item():.3f} "
                      f"loss_G {loss_g.item():.3f} (before D: {loss_as_real.item():.3f}) "
                      f"D(x) {real_logits.sigmoid().mean().item():.2f} "
                      f"D(G(z)) {fake_logits.sigmoid().mean().item():.2f}", flush=True)
            if args.steps and step >= args.steps:
                break
        # Sampling: the EMA generator, with batch-norm statistics of its own activations (on
        # noise with the clusters at their share of the data).
        recalibrate_batchnorm(G_ema, rng.standard_normal((1000, latent)).astype(np.float32),
                              rng.choice(K, size=1000, p=share))
        with tg.no_grad():
            samples = (G_ema(tg.tensor(fixed_z), fixed_c).data + 1) / 2
        save_image_grid(samples, out / "samples.png", title=f"epoch {epoch + 1} (EMA generator)")
        print(f"epoch {epoch + 1} done, {step} steps; wrote {out / 'samples.png'}", flush=True)
        if args.steps and step >= args.steps:
            break


if __name__ == "__main__":
    main()
