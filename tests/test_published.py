"""Every network of the catalogue, assembled from BlockScope's blocks, reproduces the figures its paper (or
torchvision) publishes, and its counts agree with PyTorch's own: the parameters the module holds and half
the FLOPs `FlopCounterMode` counts.

The published figures are written once, in `blockscope/networks/catalogue.py`, as the papers print them;
the counts here are computed from the blocks, so the two are independent of each other.
"""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from blockscope.analysis.graph import analyse_graph
from blockscope.analysis.meta import on_meta
from blockscope.analysis.reparam import deploy
from blockscope.networks.build import build_network
from blockscope.networks.catalogue import NETWORKS

# How close the multiply-adds come to a paper's rounded figure: within 2% (ShuffleNet V2's Table 5 is the
# farthest, 1.3% off); RepVGG's "1.4 G" has two significant figures.
MADDS_WITHIN = {"repvgg_a0": 0.05}
# A paper's rounded parameter count (RepVGG-A0's 8.30M, deployed), against torchvision's exact ones.
ROUNDED_PARAMS_WITHIN = 0.005


def built(name: str) -> torch.nn.Module:
    """The network in the form its published figures describe (RepVGG's deployed), on the meta device."""
    network = NETWORKS[name]
    with on_meta():
        module = build_network(network)
    return deploy(module)[0] if network.published.form == "deploy" else module


@pytest.mark.parametrize("name", list(NETWORKS))
def test_whole_network_matches_its_published_figures(name):
    published = NETWORKS[name].published
    totals = analyse_graph(built(name), [1, 3, 224, 224]).totals
    if published.params is not None:  # ShuffleNet V1's paper gives none
        if published.params_exact:
            assert totals.params == published.params
        else:
            assert abs(totals.params / published.params - 1) < ROUNDED_PARAMS_WITHIN, totals.params
    assert abs(totals.madds / published.madds - 1) < MADDS_WITHIN.get(name, 0.02), totals.madds


@pytest.mark.parametrize("name", list(NETWORKS))
def test_whole_network_counts_agree_with_pytorch(name):
    module = built(name)
    a = analyse_graph(module, [1, 3, 224, 224])
    assert a.output_shape == [1, 1000]
    assert a.totals.params == sum(p.numel() for p in module.parameters())
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        module(torch.empty(1, 3, 224, 224, device="meta"))
    assert 2 * a.totals.madds == counter.get_total_flops()
