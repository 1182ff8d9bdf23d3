"""RepVGG block (Ding et al. 2021, Sec. 3.3): three branches at training, one 3x3 conv at inference."""

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

from .errors import require, require_divides
from .layers import ConvNormAct


def identity_kernel(channels: int, groups: int, **tensor_kwargs) -> torch.Tensor:
    """The 3x3 grouped kernel of the identity: 1 at [i, i % (channels / groups), 1, 1] (Sec. 3.3).

    Output channel i of a grouped conv sees only its group's `channels / groups` inputs, and input
    channel i sits at index i % (channels / groups) within its group.
    """
    per_group = channels // groups
    kernel = torch.zeros(channels, per_group, 3, 3, **tensor_kwargs)
    index = torch.arange(channels, device=kernel.device)
    kernel[index, index % per_group, 1, 1] = 1.0
    return kernel


def _fuse_branch(branch: nn.Module | None, in_channels: int, groups: int):
    """Kernel (as 3x3) and bias of one branch with its BN folded in; a missing branch gives 0, 0.

    Uses the BN's running statistics: the result equals the branch in eval mode only.
    """
    if branch is None:
        return 0, 0
    if isinstance(branch, ConvNormAct):
        conv, bn = branch.conv, branch.bn
        kernel = conv.weight
    else:
        bn = branch  # identity branch: a bare BN
        stats = bn.running_var
        kernel = identity_kernel(in_channels, groups, dtype=stats.dtype, device=stats.device)
    weight, bias = fuse_conv_bn_weights(kernel, None, bn.running_mean, bn.running_var, bn.eps,
                                        bn.weight, bn.bias)
    if weight.shape[-1] == 1:
        # the 1x1 kernel lands on the centre of the 3x3 (its padding 0 matches the 3x3's padding 1)
        weight = nn.functional.pad(weight, [1, 1, 1, 1])
    return weight.detach(), bias.detach()


class RepVGGBlock(nn.Module):
    BRANCHES = ("rbr_dense", "rbr_1x1", "rbr_identity")

    def __init__(self, in_channels=64, out_channels=64, stride=1, groups=1):
        super().__init__()
        require(stride in (1, 2), "stride", "stride must be 1 or 2")
        require_divides(groups, in_channels, "groups", "in_channels")
        require_divides(groups, out_channels, "groups", "out_channels")
        # 3x3 conv-bn branch
        self.rbr_dense = ConvNormAct(in_channels, out_channels, 3, stride, groups, act=None)
        # 1x1 conv-bn branch (padding 0)
        self.rbr_1x1 = ConvNormAct(in_channels, out_channels, 1, stride, groups, act=None)
        # identity branch: a bare BN, only when the shapes allow it
        self.rbr_identity = (nn.BatchNorm2d(in_channels)
                             if stride == 1 and in_channels == out_channels else None)
        self.relu = nn.ReLU()

    @property
    def groups(self) -> int:
        """The group count of both convolutions (of the merged one once reparameterized)."""
        return (getattr(self, "rbr_reparam", None) or self.rbr_dense.conv).groups

    def forward(self, x):
        if hasattr(self, "rbr_reparam"):
            return self.relu(self.rbr_reparam(x))
        out = self.rbr_dense(x) + self.rbr_1x1(x)
        if self.rbr_identity is not None:
            out = out + self.rbr_identity(x)
        return self.relu(out)

    def branch_kernel_bias(self) -> dict[str, tuple]:
        """Each branch as a 3x3 kernel and bias with its BN folded in; a missing branch is (0, 0)."""
        conv = self.rbr_dense.conv  # channels read off the layers: the block keeps no copy of its own
        return {name: _fuse_branch(getattr(self, name), conv.in_channels, conv.groups)
                for name in self.BRANCHES}

    def equivalent_kernel_bias(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The single 3x3 kernel and bias equal to the three branches (the official code's
        `get_equivalent_kernel_bias`)."""
        parts = self.branch_kernel_bias().values()
        kernel = sum(k for k, _ in parts)
        bias = sum(b for _, b in parts)
        return kernel, bias

    @torch.no_grad()
    def reparameterize(self) -> None:
        """Replace the branches with one 3x3 conv with bias, in place (call on a copy to keep both).

        Equal to the eval-mode block: the BNs fold in with their running statistics.
        """
        if hasattr(self, "rbr_reparam"):
            return
        kernel, bias = self.equivalent_kernel_bias()
        conv = self.rbr_dense.conv
        self.rbr_reparam = nn.Conv2d(conv.in_channels, conv.out_channels, 3, conv.stride, 1,
                                     groups=conv.groups, bias=True, device=kernel.device,
                                     dtype=kernel.dtype)
        self.rbr_reparam.weight.copy_(kernel)
        self.rbr_reparam.bias.copy_(bias)
        self.rbr_reparam.train(self.training)
        for name in self.BRANCHES:
            delattr(self, name)
