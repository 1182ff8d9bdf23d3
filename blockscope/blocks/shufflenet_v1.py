"""ShuffleNet V1 unit (Zhang et al. 2018, Fig. 2b/c), as in the official megvii code."""

import torch
from torch import nn

from .errors import require, require_divides
from .layers import ConvNormAct


class ShuffleNetV1Unit(nn.Module):
    """`group_first_conv=False` makes the first 1x1 a plain conv: the paper (Sec. 3.3) and the official
    code do so in the first unit of Stage 2, whose 24 input channels are too few to split."""

    def __init__(self, in_channels=240, out_channels=240, groups=3, stride=1, group_first_conv=True):
        super().__init__()
        require(stride in (1, 2), "stride", "stride must be 1 or 2")
        mid = out_channels // 4
        require(mid >= 1, "out_channels", "out_channels must be at least 4 (bottleneck = out // 4)")
        if stride == 1:
            require(in_channels == out_channels, "out_channels",
                    f"a stride-1 unit adds its input, so out_channels must equal in_channels={in_channels}")
            branch_out = out_channels
        else:
            require(out_channels > in_channels, "out_channels",
                    "a stride-2 unit concatenates its input, so out_channels must exceed "
                    f"in_channels={in_channels}")
            branch_out = out_channels - in_channels
        if group_first_conv:
            require_divides(groups, in_channels, "groups", "in_channels")
        require_divides(groups, mid, "groups", "the bottleneck width out_channels // 4")
        require_divides(groups, branch_out, "groups",
                        "the branch width" + ("" if stride == 1 else " out_channels - in_channels"))
        self.stride = stride
        # 1x1 group conv into the bottleneck
        self.gconv1 = ConvNormAct(in_channels, mid, 1, groups=groups if group_first_conv else 1)
        # shuffle so the next group conv sees channels from every group (nothing to mix when g = 1)
        self.shuffle = nn.ChannelShuffle(groups) if groups > 1 else nn.Identity()
        # 3x3 depthwise, no ReLU after it (Sec. 3.2)
        self.dwconv = ConvNormAct(mid, mid, 3, stride, groups=mid, act=None)
        # 1x1 group conv out of the bottleneck, linear
        self.gconv2 = ConvNormAct(mid, branch_out, 1, groups=groups, act=None)
        # shortcut: identity (add) at stride 1, 3x3 average pool (concat) at stride 2
        self.shortcut = nn.AvgPool2d(3, 2, 1) if stride == 2 else nn.Identity()
        self.relu = nn.ReLU()

    def forward(self, x):
        branch = self.gconv2(self.dwconv(self.shuffle(self.gconv1(x))))
        if self.stride == 1:
            return self.relu(x + branch)
        return self.relu(torch.cat([self.shortcut(x), branch], 1))
