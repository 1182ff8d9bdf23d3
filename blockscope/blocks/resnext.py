"""ResNeXt bottleneck (Xie et al. 2017, Fig. 3c), as torchvision's `Bottleneck` with groups."""

from torch import nn

from .errors import require, require_divides
from .layers import ConvNormAct


class ResNeXtBottleneck(nn.Module):
    def __init__(self, in_channels=256, bottleneck_width=128, cardinality=32, out_channels=256,
                 stride=1):
        super().__init__()
        require(stride in (1, 2), "stride", "stride must be 1 or 2")
        require_divides(cardinality, bottleneck_width, "cardinality", "bottleneck_width")
        # reduce: 1x1 to the bottleneck width
        self.conv1 = ConvNormAct(in_channels, bottleneck_width, 1)
        # transform: 3x3 split into `cardinality` groups (the aggregated paths)
        self.conv2 = ConvNormAct(bottleneck_width, bottleneck_width, 3, stride, groups=cardinality)
        # expand: 1x1 back to the output width, linear before the add
        self.conv3 = ConvNormAct(bottleneck_width, out_channels, 1, act=None)
        # shortcut: identity when shapes match, else a strided 1x1 projection
        if stride == 1 and in_channels == out_channels:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = ConvNormAct(in_channels, out_channels, 1, stride, act=None)
        self.relu = nn.ReLU()

    def forward(self, x):
        out = self.conv3(self.conv2(self.conv1(x)))
        return self.relu(out + self.shortcut(x))
