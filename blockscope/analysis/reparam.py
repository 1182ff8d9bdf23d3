"""Deploy-time form of a block: branches merged, every Conv+BN folded, and proof that nothing changed.

RepVGG (Ding et al. 2021, Sec. 3.3) merges its branches with `reparameterize()`; every other block
becomes its deploy form by folding each BatchNorm into the convolution that feeds it
(W' = W gamma / sqrt(var + eps), b' = beta + (b - mean) gamma / sqrt(var + eps)). All of it runs on a
deep copy, so the training-time module is never changed.
"""

import copy

import torch
from torch import fx, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .graph import trace

# The kernel view of a large block is cut to this many output and input channels.
KERNEL_SLICE = 8
# Weights held besides a module's own while deploying it: the copy, and transient fused kernels.
DEPLOY_COPIES = 3


def deploy(module: nn.Module) -> tuple[nn.Module, list[str]]:
    """A deploy-time copy of an eval-mode `module`, and what was merged into what.

    First every submodule with a `reparameterize()` verb merges its branches, then every Conv2d whose
    only consumer is a BatchNorm2d absorbs it (the BN becomes `nn.Identity`, which costs nothing).
    """
    if any(m.training for m in module.modules()):
        # BN in training mode normalises by batch statistics, which no fixed conv can reproduce
        raise ValueError("reparameterize an eval() module: fusion uses the BN running statistics")
    deployed = copy.deepcopy(module)
    fused = _merge_branches(deployed)
    fused += fuse_conv_bn(deployed)
    return deployed, fused


def _leaves(module: nn.Module, prefix: str) -> dict[str, nn.Module]:
    return {_join(prefix, name): m for name, m in module.named_modules()
            if not list(m.children()) and (list(m.parameters()) or list(m.buffers()))}


def _join(prefix: str, name: str) -> str:
    return ".".join(part for part in (prefix, name) if part)


@torch.no_grad()
def _merge_branches(module: nn.Module) -> list[str]:
    fused = []
    for path, sub in list(module.named_modules()):
        if not callable(getattr(sub, "reparameterize", None)):
            continue
        before = _leaves(sub, path)
        sub.reparameterize()
        after = _leaves(sub, path)
        removed = [p for p in before if after.get(p) is not before[p]]
        added = [p for p in after if before.get(p) is not after[p]]
        if removed:
            fused.append(f"{' + '.join(removed)} -> {' + '.join(added)}")
    return fused


@torch.no_grad()
def fuse_conv_bn(module: nn.Module) -> list[str]:
    """Fold every BatchNorm2d into the Conv2d feeding it, in place; returns "conv + bn -> conv" lines.

    The pairs are found in the traced data flow, not by module order: a conv qualifies when it is
    called once and its output goes only to the BN, so the fold changes no other consumer.
    """
    gm = trace(module)
    calls: dict[str, int] = {}
    for node in gm.graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1
    fused = []
    for node in gm.graph.nodes:
        pair = _conv_bn_pair(gm, node, calls)
        if pair is None:
            continue
        conv_path, bn_path = pair
        conv, bn = module.get_submodule(conv_path), module.get_submodule(bn_path)
        module.set_submodule(conv_path, fuse_conv_bn_eval(conv, bn))
        module.set_submodule(bn_path, nn.Identity())
        fused.append(f"{conv_path} + {bn_path} -> {conv_path}")
    return fused


def _conv_bn_pair(gm: fx.GraphModule, node: fx.Node, calls: dict[str, int]):
    if node.op != "call_module" or not isinstance(gm.get_submodule(node.target), nn.Conv2d):
        return None
    users = list(node.users)
    if len(users) != 1 or calls[node.target] != 1:
        return None
    user = users[0]
    if (user.op != "call_module" or calls[user.target] != 1 or user.args[:1] != (node,)
            or type(gm.get_submodule(user.target)) is not nn.BatchNorm2d):
        return None
    return node.target, user.target


def random_input(shape: list[int], seed: int) -> torch.Tensor:
    """The float32 input of the equivalence check, drawn from the request's seed."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)


def _rounded(values):
    """Nested lists with float32's ~7 significant digits, not float64's 17, to keep the JSON small."""
    if isinstance(values, torch.Tensor):
        values = values.tolist()
    if isinstance(values, list):
        return [_rounded(v) for v in values]
    return float(f"{values:.7g}")


def kernel_view(block: nn.Module, limit: int = KERNEL_SLICE) -> dict | None:
    """The merged 3x3 kernel of a block with `branch_kernel_bias()` (RepVGG), for a heatmap.

    `weight[o][j]` is the 3x3 kernel from input j of output channel o's group to output channel o, so
    the 1x1 branch lands on `[1][1]` of every cell and the identity on cell `[i][i % (in / groups)]`.
    Large blocks are cut to the first `limit` output channels and first `limit` inputs per group.
    """
    branch_parts = getattr(block, "branch_kernel_bias", None)
    if branch_parts is None:
        return None
    parts = branch_parts()
    kernel, bias = block.equivalent_kernel_bias()
    out_channels, per_group = kernel.shape[:2]
    n_out, n_in = min(limit, out_channels), min(limit, per_group)

    def view(weight, b):
        return {"weight": _rounded(weight[:n_out, :n_in]), "bias": _rounded(b[:n_out])}

    return {
        "shape": list(kernel.shape),
        "groups": block.groups,
        "slice": {"out_channels": [0, n_out], "in_channels_per_group": [0, n_in]},
        "truncated": n_out < out_channels or n_in < per_group,
        "fused": view(kernel, bias),
        # each branch with its BN folded, as a 3x3; a missing branch (no identity at stride 2) is null
        "branches": {name: None if isinstance(w, int) else view(w, b) for name, (w, b) in parts.items()},
    }
