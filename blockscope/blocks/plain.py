"""Single-path blocks: a standard or grouped conv-bn-relu, a bare conv-bn, one activation."""

from torch import nn

from .errors import require, require_divides
from .layers import ACTIVATIONS, ConvNormAct


def _check_conv(in_channels, out_channels, kernel_size, stride, groups):
    require(kernel_size % 2 == 1, "kernel_size", "kernel_size must be odd (padding is k // 2)")
    require(stride in (1, 2), "stride", "stride must be 1 or 2")
    require_divides(groups, in_channels, "groups", "in_channels")
    require_divides(groups, out_channels, "groups", "out_channels")


class ConvBlock(ConvNormAct):
    """conv-bn-relu; with groups > 1 it is a group convolution (AlexNet, ResNeXt)."""

    def __init__(self, in_channels=64, out_channels=64, kernel_size=3, stride=1, groups=1):
        _check_conv(in_channels, out_channels, kernel_size, stride, groups)
        super().__init__(in_channels, out_channels, kernel_size, stride, groups, act="relu")


class ConvBN(ConvNormAct):
    """conv-bn with no activation: the pair that Conv+BN fusion folds into one conv with bias."""

    def __init__(self, in_channels=64, out_channels=64, kernel_size=3, stride=1, groups=1):
        _check_conv(in_channels, out_channels, kernel_size, stride, groups)
        super().__init__(in_channels, out_channels, kernel_size, stride, groups, act=None)


class Activation(nn.Sequential):
    """One elementwise activation, to compare the cost of relu, sigmoid, swish and their hard forms."""

    def __init__(self, function="hardswish"):
        require(function in ACTIVATIONS, "function", f"function must be one of {sorted(ACTIVATIONS)}")
        super().__init__()
        self.add_module(function, ACTIVATIONS[function]())
