"""The micro-benchmark structures of ShuffleNet V2's guidelines (Ma et al. 2018, Sec. 2, Tables 1-4).

The paper times bare convolutions, so these are plain bias-free convs without BatchNorm (at inference a
BN folds into the conv before it): every conv's parameters are exactly c_in * c_out * k^2 / g and a
1x1 conv's MAC is exactly hw(c1 + c2) + c1*c2/g, the form the guidelines are argued from.
"""

from torch import nn

from .errors import require, require_divides

STACK_DEPTH = 10  # "ten building blocks repeatedly stacked" (Sec. 2)


def conv1x1(in_channels: int, out_channels: int, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 1, groups=groups, bias=False)


class TwoConv1x1(nn.Sequential):
    """G1 unit: two 1x1 convs c1 -> c2 -> c1 (equal channel width is the MAC-optimal ratio)."""

    def __init__(self, c1: int, c2: int):
        require(c1 >= 1, "c1", "c1 must be positive")
        require(c2 >= 1, "c2", "c2 must be positive")
        super().__init__()
        self.conv1 = conv1x1(c1, c2)  # widen (or keep) c1 -> c2
        self.conv2 = conv1x1(c2, c1)  # back to c1 so units stack


class GroupConv1x1(nn.Sequential):
    """G2 unit: one 1x1 group conv c -> c with g groups (a Sequential so diagrams name it `conv`)."""

    def __init__(self, channels: int, groups: int):
        require_divides(groups, channels, "groups", "channels")
        super().__init__()
        self.conv = conv1x1(channels, channels, groups)


class Fragments(nn.Module):
    """G3 unit: `fragments` 1x1 convs c -> c, in series or in parallel.

    Parallel branches all read the block input and are merged by elementwise addition, so every
    arrangement maps c -> c and units stack; n fragments of c^2 multiply-adds per pixel each match one
    conv of width c_1 when c = c_1 / sqrt(n).
    """

    def __init__(self, channels: int, fragments: int, arrangement: str):
        require(fragments >= 1, "fragments", "fragments must be at least 1")
        require(arrangement in ("series", "parallel"), "arrangement",
                "arrangement must be 'series' or 'parallel'")
        super().__init__()
        self.parallel = arrangement == "parallel"
        self.branches = nn.ModuleList(conv1x1(channels, channels) for _ in range(fragments))

    def forward(self, x):
        if not self.parallel:
            for conv in self.branches:
                x = conv(x)
            return x
        out = self.branches[0](x)
        for conv in self.branches[1:]:
            out = out + conv(x)  # the merge: one add per extra branch
        return out


class PlainBottleneck(nn.Module):
    """G4 unit: ResNet bottleneck 1x1 -> 3x3 -> 1x1, with the ReLUs and the shortcut optional.

    As ResNet's bottleneck: in = out = 4 * bottleneck_channels, ReLU after the first two convs and
    after the add (after the last conv when there is no shortcut). A removed ReLU is an `nn.Identity`.
    """

    expansion = 4

    def __init__(self, bottleneck_channels: int, relu: bool = True, shortcut: bool = True):
        require(bottleneck_channels >= 1, "bottleneck_channels", "bottleneck_channels must be positive")
        super().__init__()
        c, outer = bottleneck_channels, bottleneck_channels * self.expansion

        def act():
            return nn.ReLU() if relu else nn.Identity()

        # reduce
        self.conv1, self.relu1 = conv1x1(outer, c), act()
        # transform
        self.conv2, self.relu2 = nn.Conv2d(c, c, 3, padding=1, bias=False), act()
        # expand
        self.conv3 = conv1x1(c, outer)
        self.shortcut = shortcut
        self.relu3 = act()

    def forward(self, x):
        out = self.conv3(self.relu2(self.conv2(self.relu1(self.conv1(x)))))
        if self.shortcut:  # a Python bool: fx keeps or drops the add at trace time
            out = out + x
        return self.relu3(out)


def stack(unit: type[nn.Module], depth: int = STACK_DEPTH, **kwargs) -> nn.Sequential:
    """`depth` identical units in sequence: the paper's benchmark network."""
    return nn.Sequential(*(unit(**kwargs) for _ in range(depth)))
