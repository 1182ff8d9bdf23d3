"""ShuffleNet V2 unit (Ma et al. 2018, Fig. 3c/d), as torchvision's `InvertedResidual`."""

import torch
from torch import nn

from .errors import require
from .layers import ConvNormAct


class ShuffleNetV2Unit(nn.Module):
    def __init__(self, in_channels=116, out_channels=116, stride=1):
        super().__init__()
        require(stride in (1, 2), "stride", "stride must be 1 or 2")
        require(out_channels % 2 == 0, "out_channels", "out_channels must be even (two equal halves)")
        branch = out_channels // 2
        if stride == 1:
            require(in_channels == out_channels, "out_channels",
                    "a stride-1 unit splits and re-joins its input, so out_channels must equal "
                    f"in_channels={in_channels}")
            # left half passes through untouched (channel split, Sec. 3)
            self.branch1 = nn.Identity()
            right_in = branch
        else:
            # left: 3x3 depthwise (stride 2) -> 1x1
            self.branch1 = nn.Sequential(
                ConvNormAct(in_channels, in_channels, 3, 2, groups=in_channels, act=None),
                ConvNormAct(in_channels, branch, 1),
            )
            right_in = in_channels
        self.stride = stride
        # right: 1x1 -> 3x3 depthwise -> 1x1, equal widths (G1), no group conv (G2)
        self.branch2 = nn.Sequential(
            ConvNormAct(right_in, branch, 1),
            ConvNormAct(branch, branch, 3, stride, groups=branch, act=None),
            ConvNormAct(branch, branch, 1),
        )
        # mix the two halves' information
        self.shuffle = nn.ChannelShuffle(2)

    def forward(self, x):
        if self.stride == 1:
            left, right = x.chunk(2, dim=1)
            out = torch.cat([self.branch1(left), self.branch2(right)], 1)
        else:
            out = torch.cat([self.branch1(x), self.branch2(x)], 1)
        return self.shuffle(out)
