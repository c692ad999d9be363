"""tinygen.nn: Module, Parameter, the layers, and nn.init -- PyTorch's names and layouts.

Place in the tower: nn/ (imports tensor, function, functional, random). Read module.py first (how a
model keeps track of its parameters and saves them), then layers.py (the layers), then init.py.
"""
from tinygen.nn import init
from tinygen.nn.layers import (BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d, Crop2d,
                               Dropout, Embedding, Flatten, LeakyReLU, Linear, Pad2d, ReLU,
                               Sequential, Sigmoid, Tanh, Unflatten)
from tinygen.nn.module import IncompatibleKeys, Module, Parameter

__all__ = ["init", "Module", "Parameter", "IncompatibleKeys", "Linear", "Conv2d",
           "ConvTranspose2d", "BatchNorm1d", "BatchNorm2d", "Embedding", "Dropout", "ReLU",
           "LeakyReLU", "Tanh", "Sigmoid", "Flatten", "Unflatten", "Pad2d", "Crop2d", "Sequential"]
