"""Train a variational autoencoder on MNIST, the whole loop written out with the public API.

Uses: tinygen (tensors, no_grad), tinygen.vae (the model and its one training step),
tinygen.optim, tinygen.data, tinygen.metrics, tinygen.plots. `tinygen train vae` runs this
same step inside a run directory (metrics.jsonl, checkpoints, --resume); this file shows the bones.

    python examples/vae_mnist.py --epochs 20 --out vae_example      (about a second per epoch)
"""
import argparse
import os

import numpy as np

import tinygen as tg
from tinygen import metrics, optim, plots, vae
from tinygen.data import iterate_batches, load_dataset

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--epochs", type=int, default=20)
parser.add_argument("--limit", type=int, default=None, help="use the first N images only")
parser.add_argument("--latent", type=int, default=20)
parser.add_argument("--iw-samples", type=int, default=500)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--out", default="vae_example", help="directory for the figures")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)

# Data: images (N, 1, 28, 28) scaled to [0, 1]; the Bernoulli decoder takes them as targets.
x_train = load_dataset("mnist-5k", "train").x[:args.limit]
test = load_dataset("mnist-5k", "test")
x_test, y_test = test.x[:args.limit], test.y[:args.limit]

# Model: encoder x -> (mu, logvar) of q(z|x); decoder z -> pixel logits of p(x|z).
tg.random.manual_seed(args.seed)                     # initial weights and the noise eps
model = vae.MLPVAE(image_shape=(1, 28, 28), hidden=400, latent=args.latent)
optimizer = optim.Adam(model.parameters(), lr=1e-3)
batch_order = np.random.default_rng(args.seed)       # a new shuffle every epoch, repeatable

for epoch in range(args.epochs):
    model.train()
    total = 0.0
    for xb in iterate_batches(x_train, 128, batch_order):
        # One step on -ELBO = recon + KL: encode, z = mu + sigma * eps (reparameterization),
        # decode, summed BCE + closed-form KL per image, backward, Adam update.
        terms = vae.train_step(model, optimizer, xb)
        total += terms.neg_elbo * len(xb)
    test_loss = vae.evaluate(model, x_test)["test_loss"]   # same loss, no gradients
    print(f"epoch {epoch + 1}: train -ELBO {total / len(x_train):.2f}, "
          f"test -ELBO {test_loss:.2f} nats per image")

# Generation, the main goal: decode z drawn from the prior N(0, I).
z = np.random.default_rng(args.seed).standard_normal((64, args.latent))
plots.save_image_grid(vae.decode_images(model, z), f"{args.out}/samples.png", "z ~ N(0, I)")

# Similar images should sit close together in latent space: posterior means by digit.
plots.save_latent_scatter(metrics.posterior_means(model, x_test), y_test,
                          f"{args.out}/latent.png")

# A tighter bound on log p(x) than the ELBO: importance weighting (Burda et al. 2016).
nll = metrics.iw_nll(model, x_test, k=args.iw_samples)
print(f"test NLL (IW, k={args.iw_samples}) {nll:.2f}; "
      f"active units {metrics.active_units(model, x_test)} of {args.latent}")
