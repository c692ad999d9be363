"""Draw the README's two graph pictures with tinygen.viz (needs Graphviz's `dot`).

    PYTHONPATH=. python docs/figures/make_graph_figures.py

graph_expression.svg  a neuron, o = tanh(x1 w1 + x2 w2 + b), after o.backward(): every op, every
                      leaf by name, and the gradient's shape on the leaves that have one
graph_vae_loss.png    the loss of a 784-400-20 MLP VAE on a batch of 64, each nn.Linear drawn as
                      one box (viz.record_modules), the reparameterization and the two loss
                      terms as ops
and prints tg.profile()'s table for ten Adam steps of that VAE (batch 128).
"""
import os

import numpy as np

import tinygen as tg
from tinygen import functional as F
from tinygen import nn, optim, viz

HERE = os.path.dirname(os.path.abspath(__file__))


def expression_figure(path):
    x1, x2 = tg.tensor([2.0], requires_grad=True), tg.tensor([0.0], requires_grad=True)
    w1, w2 = tg.tensor([-3.0], requires_grad=True), tg.tensor([1.0], requires_grad=True)
    b = tg.tensor([6.8813735870195432], requires_grad=True)
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.backward(np.ones(1, np.float32))
    names = dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b)
    return viz.draw(o, path, params=names, show_grad=True)


class VAE(nn.Module):
    """784 -> 400 -> (mu, logvar) in R^20 -> 400 -> 784 logits (the Kingma & Welling MLP)."""

    def __init__(self, pixels=784, hidden=400, latent=20):
        super().__init__()
        self.fc1 = nn.Linear(pixels, hidden)
        self.fc_mu, self.fc_logvar = nn.Linear(hidden, latent), nn.Linear(hidden, latent)
        self.fc3, self.fc4 = nn.Linear(latent, hidden), nn.Linear(hidden, pixels)

    def forward(self, x):
        h = self.fc1(x).relu()
        mu, logvar = self.fc_mu(h), self.fc_logvar(h)
        z = F.reparameterize(mu, logvar)
        return self.fc4(self.fc3(z).relu()), mu, logvar


def vae_loss(model, x):
    """Negative ELBO per image: BCE reconstruction (summed over pixels) + KL(q(z|x) || N(0, I))."""
    logits, mu, logvar = model(x)
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    return (recon + F.gaussian_kl(mu, logvar)) / x.shape[0]


def vae_figure(path):
    tg.random.manual_seed(0)
    model = VAE()
    x = tg.tensor(np.random.default_rng(0).random((64, 784), dtype=np.float32))
    with viz.record_modules(model) as calls:
        loss = vae_loss(model, x)
    return viz.draw(loss, path, params=dict(model.named_parameters(), x=x), modules=calls,
                    rankdir="TB")


def vae_profile(steps=10, batch=128):
    """tg.profile() of `steps` Adam steps of the same VAE, after 3 warm-up steps (the README's
    table)."""
    tg.random.manual_seed(0)
    model = VAE()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    x = tg.tensor(np.random.default_rng(0).random((batch, 784), dtype=np.float32))

    def step():
        optimizer.zero_grad()
        vae_loss(model, x).backward()
        optimizer.step()
    for _ in range(3):
        step()
    with tg.profile() as prof:
        for _ in range(steps):
            step()
    return prof


if __name__ == "__main__":
    print(expression_figure(os.path.join(HERE, "graph_expression.svg")))
    print(vae_figure(os.path.join(HERE, "graph_vae_loss.png")))
    print(vae_profile())
