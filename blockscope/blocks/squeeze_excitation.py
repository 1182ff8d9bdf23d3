"""Squeeze-and-excitation (Hu et al. 2018, Sec. 3): reweight channels by a learned gate."""

from torch import nn

from .errors import require
from .layers import ACTIVATIONS


class SqueezeExcitation(nn.Module):
    """avgpool -> 1x1 (C -> s, bias) -> act -> 1x1 (s -> C, bias) -> gate -> x * gate.

    Adds 2 C s + s + C parameters, about 2 C^2 / r (Sec. 3.2).
    """

    def __init__(self, in_channels=64, squeeze_channels=4, gate="sigmoid", act="relu"):
        super().__init__()
        require(gate in ("sigmoid", "hardsigmoid"), "gate", "gate must be sigmoid or hardsigmoid")
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(in_channels, squeeze_channels, 1)
        self.act = ACTIVATIONS[act]()
        self.fc2 = nn.Conv2d(squeeze_channels, in_channels, 1)
        self.gate = ACTIVATIONS[gate]()

    def forward(self, x):
        scale = self.gate(self.fc2(self.act(self.fc1(self.avgpool(x)))))
        return x * scale


class SqueezeExcitationBlock(SqueezeExcitation):
    """SENet's block on its own, with s = max(1, C // reduction)."""

    def __init__(self, in_channels=64, reduction=16, gate="sigmoid"):
        require(reduction >= 1, "reduction", "reduction must be at least 1")
        super().__init__(in_channels, max(1, in_channels // reduction), gate)
