"""MobileNet V1, V2 and V3 blocks, as torchvision writes them."""

from torch import nn

from .errors import require
from .layers import ConvNormAct, make_divisible
from .squeeze_excitation import SqueezeExcitation


class DepthwiseSeparable(nn.Sequential):
    """MobileNet V1 (Howard et al. 2017, Sec. 3.1): k x k depthwise then 1x1 pointwise.

    Cost relative to a standard conv: 1/N + 1/k^2 (N output channels).
    """

    def __init__(self, in_channels=64, out_channels=128, kernel_size=3, stride=1):
        require(kernel_size % 2 == 1, "kernel_size", "kernel_size must be odd")
        require(stride in (1, 2), "stride", "stride must be 1 or 2")
        super().__init__()
        # filter each channel spatially on its own
        self.depthwise = ConvNormAct(in_channels, in_channels, kernel_size, stride, groups=in_channels)
        # combine channels with a 1x1
        self.pointwise = ConvNormAct(in_channels, out_channels, 1)


class InvertedResidual(nn.Module):
    """MobileNet V2 (Sandler et al. 2018, Sec. 3.3): expand, depthwise, linear bottleneck."""

    def __init__(self, in_channels=24, out_channels=24, expand_ratio=6, stride=1):
        super().__init__()
        require(stride in (1, 2), "stride", "stride must be 1 or 2")
        require(expand_ratio >= 1, "expand_ratio", "expand_ratio must be at least 1")
        hidden = in_channels * expand_ratio
        # expand to the wide space (skipped when t = 1)
        self.expand = ConvNormAct(in_channels, hidden, 1, act="relu6") if expand_ratio != 1 else nn.Identity()
        # 3x3 depthwise in the wide space
        self.depthwise = ConvNormAct(hidden, hidden, 3, stride, groups=hidden, act="relu6")
        # project back, linear: a ReLU here would destroy information (Sec. 3.2)
        self.project = ConvNormAct(hidden, out_channels, 1, act=None)
        self.use_residual = stride == 1 and in_channels == out_channels

    def forward(self, x):
        out = self.project(self.depthwise(self.expand(x)))
        if self.use_residual:
            out = x + out
        return out


class MobileNetV3Bneck(nn.Module):
    """MobileNet V3 bneck (Howard et al. 2019, Fig. 4): V2 block plus SE and hard-swish."""

    def __init__(self, in_channels=40, expanded_channels=120, out_channels=40, kernel_size=5,
                 stride=1, use_se=True, activation="hardswish"):
        super().__init__()
        require(kernel_size in (3, 5), "kernel_size", "kernel_size must be 3 or 5")
        require(stride in (1, 2), "stride", "stride must be 1 or 2")
        require(activation in ("relu", "hardswish"), "activation", "activation must be relu or hardswish")
        # expand (only when the widths differ, as torchvision)
        if expanded_channels != in_channels:
            self.expand = ConvNormAct(in_channels, expanded_channels, 1, act=activation)
        else:
            self.expand = nn.Identity()
        # k x k depthwise
        self.depthwise = ConvNormAct(expanded_channels, expanded_channels, kernel_size, stride,
                                     groups=expanded_channels, act=activation)
        # squeeze-and-excitation on the expanded channels, hard-sigmoid gate
        if use_se:
            squeeze = make_divisible(expanded_channels // 4, 8)
            self.se = SqueezeExcitation(expanded_channels, squeeze, gate="hardsigmoid")
        else:
            self.se = nn.Identity()
        # linear projection
        self.project = ConvNormAct(expanded_channels, out_channels, 1, act=None)
        self.use_residual = stride == 1 and in_channels == out_channels

    def forward(self, x):
        out = self.project(self.se(self.depthwise(self.expand(x))))
        if self.use_residual:
            out = x + out
        return out
