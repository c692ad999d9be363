"""The library's random number generator (one NumPy Generator), seeded with manual_seed.

Place in the tower: random.py (imports only NumPy). Parameter initialisation, dropout masks and the
reparameterization noise all draw from here unless given a Generator of their own, so
`tg.manual_seed(0)` makes a whole run repeatable; `get_state`/`set_state` let checkpoints
resume the exact stream.
"""
import numpy as np

_rng = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    global _rng
    _rng = np.random.default_rng(seed)


def get_rng() -> np.random.Generator:
    return _rng


def get_state() -> dict:
    return _rng.bit_generator.state


def set_state(state: dict) -> None:
    _rng.bit_generator.state = state
