"""Whole torchvision networks assembled from BlockScope's blocks, to check them against published totals."""

from torch import nn

from blockscope.blocks.layers import ConvNormAct, make_divisible
from blockscope.blocks.mobilenet import InvertedResidual, MobileNetV3Bneck
from blockscope.blocks.resnext import ResNeXtBottleneck
from blockscope.blocks.shufflenet_v2 import ShuffleNetV2Unit


def head(in_features, classes=1000):
    return [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(in_features, classes)]


def mobilenet_v2():
    layers, c = [ConvNormAct(3, 32, 3, 2, act="relu6")], 32
    for t, out, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                         (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            layers.append(InvertedResidual(c, out, t, s if i == 0 else 1))
            c = out
    return nn.Sequential(*layers, ConvNormAct(c, 1280, 1, act="relu6"), *head(1280))


def mobilenet_v3_large():
    config = [  # kernel, expanded, out, se, activation, stride (torchvision, Large)
        (3, 16, 16, False, "relu", 1), (3, 64, 24, False, "relu", 2), (3, 72, 24, False, "relu", 1),
        (5, 72, 40, True, "relu", 2), (5, 120, 40, True, "relu", 1), (5, 120, 40, True, "relu", 1),
        (3, 240, 80, False, "hardswish", 2), (3, 200, 80, False, "hardswish", 1),
        (3, 184, 80, False, "hardswish", 1), (3, 184, 80, False, "hardswish", 1),
        (3, 480, 112, True, "hardswish", 1), (3, 672, 112, True, "hardswish", 1),
        (5, 672, 160, True, "hardswish", 2), (5, 960, 160, True, "hardswish", 1),
        (5, 960, 160, True, "hardswish", 1),
    ]
    layers, c = [ConvNormAct(3, 16, 3, 2, act="hardswish")], 16
    for k, exp, out, se, act, s in config:
        layers.append(MobileNetV3Bneck(c, exp, out, k, s, se, act))
        c = out
    return nn.Sequential(*layers, ConvNormAct(c, 960, 1, act="hardswish"),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(960, 1280), nn.Hardswish(),
                         nn.Dropout(0.2), nn.Linear(1280, 1000))


def shufflenet_v2_x1_0():
    layers = [ConvNormAct(3, 24, 3, 2), nn.MaxPool2d(3, 2, 1)]
    c = 24
    for repeats, out in [(4, 116), (8, 232), (4, 464)]:
        layers.append(ShuffleNetV2Unit(c, out, 2))
        layers += [ShuffleNetV2Unit(out, out, 1) for _ in range(repeats - 1)]
        c = out
    return nn.Sequential(*layers, ConvNormAct(c, 1024, 1), *head(1024))


def resnext50_32x4d():
    layers = [ConvNormAct(3, 64, 7, 2), nn.MaxPool2d(3, 2, 1)]
    c = 64
    for planes, blocks, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
        width, out = planes * 4 * 32 // 64, planes * 4
        for i in range(blocks):
            layers.append(ResNeXtBottleneck(c, width, 32, out, stride if i == 0 else 1))
            c = out
    return nn.Sequential(*layers, *head(2048))


assert make_divisible(72 // 4) == 24  # the SE width torchvision uses in MobileNet V3's 72-channel bneck
