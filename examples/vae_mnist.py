"""A variational autoencoder on MNIST, every step of training written out with the public API.

    python examples/vae_mnist.py [--epochs 20] [--batch-size 128] [--lr 1e-3] [--latent 20]
                                 [--limit N] [--iw-samples 500] [--seed 0] [--out vae_example]

One step on a batch x (N, 1, 28, 28) in [0, 1], the loss being -ELBO in nats per image:
  1. encode:          mu, logvar = q(z|x)'s mean and log-variance, each (N, latent)
  2. reparameterize:  z = mu + exp(logvar / 2) * eps, eps ~ N(0, I): z is a differentiable
                      function of mu and logvar, so the gradient reaches the encoder
  3. decode:          logits of p(x|z), one Bernoulli per pixel, (N, 1, 28, 28)
  4. -ELBO:           sum over pixels of BCE(logits, x) + KL(q(z|x) || N(0, I)), batch mean
  5. zero_grad, backward, step: Adam's update of every weight
`tinygen train vae` trains the same model with the same loss (tinygen.vae.train_step) inside a
run directory; the test -ELBO printed beside ours is the library's (tinygen.vae.evaluate).
Writes samples.png (decoded z ~ N(0, I)) and latent.png (test posterior means by digit).
"""
import argparse
from pathlib import Path

import numpy as np

import tinygen as tg
from tinygen import functional as F
from tinygen import metrics, optim, plots, vae
from tinygen.data import load_dataset


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--latent", type=int, default=20)
    p.add_argument("--limit", type=int, default=None, help="use the first N images only")
    p.add_argument("--iw-samples", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="vae_example", help="directory for the figures")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # Data: images (N, 1, 28, 28) kept as uint8; batches come as float32 in [0, 1], the
    # Bernoulli decoder's targets (the metrics below scale the test images the same way).
    train = load_dataset("mnist-5k", "train").subset(slice(0, args.limit))
    test = load_dataset("mnist-5k", "test").subset(slice(0, args.limit))

    # Model: the 784-400-20 MLP (Kingma & Welling 2014): encode(x) -> (mu, logvar),
    # decode(z) -> pixel logits.
    tg.random.manual_seed(args.seed)                 # initial weights and the noise eps
    model = vae.MLPVAE(image_shape=(1, 28, 28), hidden=400, latent=args.latent)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    batch_order = np.random.default_rng(args.seed)   # a new shuffle every epoch, repeatable

    for epoch in range(args.epochs):
        model.train()
        total = 0.0
        for xb, _ in train.batches(args.batch_size, batch_order):
            x = tg.tensor(xb)
            mu, logvar = model.encode(x)                                       # 1
            z = F.reparameterize(mu, logvar)                                   # 2
            logits = model.decode(z)                                           # 3
            recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
            kl = F.gaussian_kl(mu, logvar, reduction="sum")
            loss = (recon + kl) / len(xb)                                      # 4
            optimizer.zero_grad()                                              # 5
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        test_loss = vae.evaluate(model, test.x)["neg_elbo"]   # the same loss, no gradients
        print(f"epoch {epoch + 1}: train -ELBO {total / len(train):.2f}, "
              f"test -ELBO {test_loss:.2f} nats per image", flush=True)

    # Generation, the main goal: decode z drawn from the prior N(0, I).
    z = np.random.default_rng(args.seed).standard_normal((64, args.latent))
    plots.save_image_grid(vae.decode_images(model, z), out / "samples.png", "z ~ N(0, I)")

    # Similar images should sit close together in latent space: posterior means by digit.
    plots.save_latent_scatter(metrics.posterior_means(model, test.x), test.y,
                              out / "latent.png")

    # A tighter bound on log p(x) than the ELBO: importance weighting (Burda et al. 2016).
    nll = metrics.iw_nll(model, test.x, k=args.iw_samples)
    print(f"test NLL (IW, k={args.iw_samples}) {nll:.2f}; "
          f"active units {metrics.active_units(model, test.x)} of {args.latent}")


if __name__ == "__main__":
    main()
