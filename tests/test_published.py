"""The blocks assembled into whole torchvision networks reproduce the published totals."""

import pytest
import torch

from blockscope.analysis.graph import analyse_graph

from . import networks

# (builder, params exactly, multiply-adds approximately at 224 x 224)
PUBLISHED = {
    "mobilenet_v2": (networks.mobilenet_v2, 3_504_872, 300e6),
    "mobilenet_v3_large": (networks.mobilenet_v3_large, 5_483_032, 219e6),
    "shufflenet_v2_x1_0": (networks.shufflenet_v2_x1_0, 2_278_604, 146e6),
    "resnext50_32x4d": (networks.resnext50_32x4d, 25_028_904, None),
}


@pytest.mark.parametrize("name", PUBLISHED)
def test_whole_network_matches_published_figures(name):
    build, params, madds = PUBLISHED[name]
    with torch.device("meta"):
        net = build().eval()
    a = analyse_graph(net, [1, 3, 224, 224]).model_dump()
    assert a["output_shape"] == [1, 1000]
    assert a["totals"]["params"] == params
    if madds is not None:
        assert abs(a["totals"]["madds"] - madds) / madds < 0.02
