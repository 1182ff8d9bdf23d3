"""Channel shuffle (ShuffleNet V1, Sec. 3.1): reshape (g, C/g), transpose, flatten."""

from torch import nn

from .errors import require, require_divides


def shuffle_permutation(channels: int, groups: int) -> list[int]:
    """perm[i] is the input channel that lands at output channel i: out[:, i] = x[:, perm[i]]."""
    require(groups >= 1, "groups", "groups must be at least 1")
    require_divides(groups, channels, "groups", "channels")
    per_group = channels // groups
    return [(i % groups) * per_group + i // groups for i in range(channels)]


def inverse_permutation(permutation: list[int]) -> list[int]:
    inverse = [0] * len(permutation)
    for out_index, in_index in enumerate(permutation):
        inverse[in_index] = out_index
    return inverse


class ChannelShuffleBlock(nn.Sequential):
    """Just the shuffle, so its permutation and its memory traffic can be looked at alone."""

    def __init__(self, in_channels=16, groups=4):
        require_divides(groups, in_channels, "groups", "in_channels")
        super().__init__()
        self.shuffle = nn.ChannelShuffle(groups)
