"""The differentiable primitives. `Tensor` methods and operators call these."""
from ._dispatch import last_path
from .adain import adain
from .bias_act import bias_act
from .activation import leaky_relu, relu, sigmoid, softplus, tanh
from .conv2d import conv2d, conv_transpose2d
from .elementwise import (abs, add, astype, clamp, div, exp, log, mul, mul_const, neg, pow, rsqrt, sqrt,
                          sub, where)
from .loss import cross_entropy, log_softmax, logsumexp
from .matmul import matmul
from .pool import avg_pool2d
from .reduce import max, mean, std, sum, var
from .modulated_conv2d import modulated_conv2d
from .upfirdn2d import downsample2d, setup_filter, upfirdn2d, upsample2d
from .shape import (broadcast_to, concat, getitem, pad, permute, reshape, stack, sum_to,
                    transpose)

__all__ = [
    "adain", "bias_act", "modulated_conv2d", "upfirdn2d", "upsample2d", "downsample2d", "setup_filter",
    "abs", "add", "astype", "avg_pool2d", "broadcast_to", "clamp", "concat", "conv2d",
    "conv_transpose2d", "cross_entropy", "div", "exp", "getitem", "last_path", "leaky_relu",
    "log", "log_softmax", "logsumexp", "matmul", "max", "mean", "mul", "mul_const", "neg", "pad", "permute",
    "pow", "relu", "reshape", "rsqrt", "sigmoid", "softplus", "sqrt", "stack", "std", "sub",
    "sum", "sum_to", "tanh", "transpose", "var", "where",
]
