"""Layers and models' building blocks."""
from .layers import AvgPool2d, Conv2d, Flatten, LeakyReLU, Linear, ReLU, Sequential
from .module import Module, Parameter

__all__ = ["Module", "Parameter", "Sequential", "Linear", "Conv2d", "LeakyReLU", "ReLU",
           "Flatten", "AvgPool2d"]
