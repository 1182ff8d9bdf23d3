"""What each op in a traced block is called, how it is labelled, and what it costs (docs/numbers.md)."""

import operator

import torch
from torch import nn

MODULE_OPS = {
    nn.Conv2d: "conv2d",
    nn.BatchNorm2d: "batch_norm",
    nn.ReLU: "relu",
    nn.ReLU6: "relu6",
    nn.Sigmoid: "sigmoid",
    nn.Hardsigmoid: "hardsigmoid",
    nn.SiLU: "silu",
    nn.Hardswish: "hardswish",
    nn.ChannelShuffle: "channel_shuffle",
    nn.AdaptiveAvgPool2d: "adaptive_avg_pool2d",
    nn.AvgPool2d: "avg_pool2d",
    nn.MaxPool2d: "max_pool2d",
    nn.Linear: "linear",
    nn.Flatten: "flatten",
}
# Modules that do nothing at inference: folded into their input like nn.Identity.
PASS_THROUGH = (nn.Identity, nn.Dropout)
FUNCTION_OPS = {
    operator.add: "add", torch.add: "add",
    operator.mul: "mul", torch.mul: "mul",
    torch.cat: "cat", torch.chunk: "chunk", torch.flatten: "flatten",
}
METHOD_OPS = {"add": "add", "mul": "mul", "chunk": "chunk", "flatten": "flatten"}

ACTIVATION_LABELS = {
    "relu": "ReLU", "relu6": "ReLU6", "sigmoid": "Sigmoid", "hardsigmoid": "h-sigmoid",
    "silu": "SiLU (swish)", "hardswish": "h-swish",
}
# Ops that compute one output element per element (G4's "elementwise" work, docs/numbers.md).
ELEMENTWISE = {"batch_norm", "add", "mul", "adaptive_avg_pool2d", "avg_pool2d", "max_pool2d",
               *ACTIVATION_LABELS}
# Views that copy nothing cost no memory access.
VIEWS = {"chunk", "flatten"}


ELEMENT_SIZE = 4  # bytes of a float32, the dtype every analysis and measurement uses


def numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def conv_attrs(conv: nn.Conv2d) -> dict:
    return {"in_channels": conv.in_channels, "out_channels": conv.out_channels,
            "kernel_size": list(conv.kernel_size), "stride": list(conv.stride),
            "padding": list(conv.padding), "groups": conv.groups, "bias": conv.bias is not None}


def conv_label(conv: nn.Conv2d) -> str:
    kh, kw = conv.kernel_size
    size = f"{kh}x{kw}"
    if conv.groups == 1:
        name = "Conv"
    elif conv.groups == conv.in_channels and conv.out_channels == conv.in_channels:
        name = "DWConv"
    else:
        name = f"GConv, g={conv.groups}"
    text = f"{size} {name}"
    if conv.stride[0] > 1:
        text += f", /{conv.stride[0]}"
    if conv.bias is not None:
        text += " +bias"
    return text


def module_attrs_and_label(op: str, module: nn.Module) -> tuple[dict, str]:
    if op == "conv2d":
        return conv_attrs(module), conv_label(module)
    if op == "batch_norm":
        return {"num_features": module.num_features, "eps": module.eps}, "BN"
    if op == "channel_shuffle":
        return {"groups": module.groups}, f"Channel shuffle, g={module.groups}"
    if op in ("avg_pool2d", "max_pool2d"):
        k, s = module.kernel_size, module.stride
        name = "AvgPool" if op == "avg_pool2d" else "MaxPool"
        return {"kernel_size": k, "stride": s, "padding": module.padding}, f"{name} {k}x{k}, /{s}"
    if op == "linear":
        return {"in_features": module.in_features, "out_features": module.out_features,
                "bias": module.bias is not None}, "Linear"
    if op == "flatten":
        return {}, "Flatten"
    if op == "adaptive_avg_pool2d":
        return {"output_size": module.output_size}, "Global avg pool"
    return {}, ACTIVATION_LABELS[op]


FUNCTION_LABELS = {"add": "Add", "mul": "Multiply", "cat": "Concat", "chunk": "Split",
                   "flatten": "Flatten"}


def madds(op: str, module: nn.Module | None, output_shape) -> int:
    """Multiply-adds: out.numel() * (in / groups) * kh * kw for a conv, out.numel() * in_features
    for a linear layer; 0 for every other op (docs/numbers.md, "madds")."""
    if op == "linear":
        return numel(output_shape) * module.in_features
    if op != "conv2d":
        return 0
    kh, kw = module.kernel_size
    return numel(output_shape) * (module.in_channels // module.groups) * kh * kw


def elementwise(op: str, output_shape) -> int:
    return numel(output_shape) if op in ELEMENTWISE else 0


def mac(op: str, input_shapes, output_shape, params: int) -> int:
    """Memory access cost in elements (ShuffleNet V2 Sec. 2): reads + writes + parameters."""
    if op in VIEWS:
        return 0
    return sum(numel(s) for s in input_shapes) + numel(output_shape) + params
