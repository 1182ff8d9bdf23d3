"""Small composable helpers, in the manner of torchvision's `Conv2dNormActivation`."""

import math
from collections import OrderedDict

import torch
from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "sigmoid": nn.Sigmoid,
    "hardsigmoid": nn.Hardsigmoid,
    "silu": nn.SiLU,
    "hardswish": nn.Hardswish,
}


class ConvNormAct(nn.Sequential):
    """Conv2d -> BatchNorm2d -> activation; bias off because BN follows, padding k // 2."""

    def __init__(self, in_channels, out_channels, kernel_size=1, stride=1, groups=1, act="relu"):
        layers = OrderedDict(
            conv=nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2,
                           groups=groups, bias=False),
            bn=nn.BatchNorm2d(out_channels),
        )
        if act is not None:
            layers["act"] = ACTIVATIONS[act]()
        super().__init__(layers)


def make_divisible(value: float, divisor: int = 8) -> int:
    """torchvision `_make_divisible`: round to a multiple of divisor, never down by more than 10%."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


@torch.no_grad()
def seed_weights(module: nn.Module, seed: int) -> nn.Module:
    """Deterministic weights, and BatchNorm statistics drawn from fixed ranges (docs/blocks.md).

    A fresh BatchNorm is the identity and proves nothing about fusion (RepVGG `tools/verify.py`),
    so running mean/var, weight and bias are all drawn from a seeded generator.
    """
    gen = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):  # a linear layer only in whole networks' classifiers
            if m.weight.is_meta:
                continue
            bound = 1.0 / math.sqrt(m.weight[0].numel())
            # in place: no temporaries the size of the weight
            m.weight.uniform_(-bound, bound, generator=gen)
            if m.bias is not None:
                m.bias.uniform_(-bound, bound, generator=gen)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            if m.running_mean is None or m.running_mean.is_meta:
                continue
            m.running_mean.uniform_(-1, 1, generator=gen)
            m.running_var.uniform_(0.5, 2, generator=gen)
            if m.affine:
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.uniform_(-0.5, 0.5, generator=gen)
    return module
