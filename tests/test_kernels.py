"""What ran for each node (blockscope/analysis/kernels.py): oneDNN's verbose lines read by hand-checked
values, the channels a blocked layout pads to, and the ATen chain of a real call on this build."""
# ruff: noqa: E501 (oneDNN's lines are kept verbatim, as captured)

import pytest
import torch
from torch import nn

from blockscope.analysis import kernels
from blockscope.analysis.kernels import ConvProblem, channel_block, effective, onednn_info, parse_line
from blockscope.analysis.latency import time_ops

# Captured with torch 2.13 (oneDNN 3.12) on an AVX-512 CPU, F.conv2d under
# torch.backends.mkldnn.verbose(VERBOSE_ON): a 64 -> 64 3x3 conv on 1x64x56x56, no bias.
CONV64 = """\
onednn_verbose,v1,info,oneDNN v3.12.0 (commit 80afa71049cd69a3df32adcccb623b12cd7baa22)
onednn_verbose,v1,info,cpu,runtime:OpenMP,nthr:2
onednn_verbose,v1,primitive,info,template:operation,engine,primitive,implementation,prop_kind,memory_descriptors,attributes,auxiliary,problem_desc,exec_time
onednn_verbose,v1,primitive,exec,cpu,reorder,jit:blk,undef,src:f32::blocked:abcd::f0 dst:f32::blocked:aBcd16b::f0,attr-scratchpad:user,,1x64x56x56,0.23291
onednn_verbose,v1,primitive,exec,cpu,reorder,jit:uni,undef,src:f32::blocked:abcd::f0 dst:f32::blocked:ABcd16b16a::f0,attr-scratchpad:user,,64x64x3x3,0.00878906
onednn_verbose,v1,primitive,exec,cpu,convolution,jit:avx512_core,forward_training,src:f32:a:blocked:aBcd16b::f0 wei:f32:a:blocked:ABcd16b16a::f0 bia:undef::undef::: dst:f32:a:blocked:aBcd16b::f0,attr-scratchpad:user,alg:convolution_direct,mb1_ic64oc64_ih56oh56kh3sh1dh0ph1_iw56ow56kw3sw1dw0pw1,1.23584
onednn_verbose,v1,primitive,exec,cpu,reorder,jit:blk,undef,src:f32::blocked:aBcd16b::f0 dst:f32::blocked:abcd::f0,attr-scratchpad:user,,1x64x56x56,0.193848
""".splitlines()

# A 90 -> 90 1x1 conv on 1x90x28x28, no bias: 90 channels computed as 96 (`p`: padded).
CONV90 = """\
onednn_verbose,v1,primitive,exec,cpu,reorder,jit:uni,undef,src:f32::blocked:abcd::f0 dst:f32:p:blocked:aBcd16b::f0,attr-scratchpad:user,,1x90x28x28,0.045166
onednn_verbose,v1,primitive,exec,cpu,reorder,jit:uni,undef,src:f32::blocked:abcd::f0 dst:f32:p:blocked:ABcd16b16a::f0,attr-scratchpad:user,,90x90x1x1,0.0078125
onednn_verbose,v1,primitive,exec,cpu,convolution,jit_1x1:avx512_core,forward_training,src:f32:ap:blocked:aBcd16b::f0 wei:f32:ap:blocked:ABcd16b16a::f0 bia:undef::undef::: dst:f32:ap:blocked:aBcd16b::f0,attr-scratchpad:user,alg:convolution_direct,mb1_ic90oc90_ih28oh28kh1sh1dh0ph0_iw28ow28kw1sw1dw0pw1,0.0739746
onednn_verbose,v1,primitive,exec,cpu,reorder,jit:uni,undef,src:f32:p:blocked:aBcd16b::f0 dst:f32::blocked:abcd::f0,attr-scratchpad:user,,1x90x28x28,0.032959
""".splitlines()

# A depthwise 3x3 conv, 64 channels (weights written groups x out/g x in/g x kh x kw).
DEPTHWISE = """\
onednn_verbose,v1,primitive,exec,cpu,reorder,jit:blk,undef,src:f32::blocked:abcd::f0 dst:f32::blocked:aBcd16b::f0,attr-scratchpad:user,,1x64x56x56,0.25
onednn_verbose,v1,primitive,exec,cpu,reorder,jit:blk,undef,src:f32::blocked:abcde::f0 dst:f32::blocked:Abcde16a::f0,attr-scratchpad:user,,64x1x1x3x3,0.00195312
onednn_verbose,v1,primitive,exec,cpu,convolution,jit_dw:avx512_core,forward_training,src:f32:a:blocked:aBcd16b::f0 wei:f32:a:blocked:Abcde16a::f0 bia:undef::undef::: dst:f32:a:blocked:aBcd16b::f0,attr-scratchpad:user,alg:convolution_direct,g64mb1_ic64oc64_ih56oh56kh3sh1dh0ph1_iw56ow56kw3sw1dw0pw1,0.273193
onednn_verbose,v1,primitive,exec,cpu,reorder,jit:blk,undef,src:f32::blocked:aBcd16b::f0 dst:f32::blocked:abcd::f0,attr-scratchpad:user,,1x64x56x56,0.243896
""".splitlines()

needs_onednn = pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="no oneDNN in this build")


def test_a_64_channel_3x3_conv_reads_its_primitive_and_its_reorders():
    info = onednn_info(CONV64, inputs=[(1, 64, 56, 56)], output=(1, 64, 56, 56), weight=(64, 64, 3, 3))
    assert info["impl"] == "jit:avx512_core"
    assert info["layout"] == "aBcd16b"
    # the activation goes into the blocked layout and back: two reorders, and the weights' one
    assert [(r.tensor, r.shape, r.src_layout, r.dst_layout) for r in info["reorders"]] == [
        ("input", "1x64x56x56", "abcd", "aBcd16b"),
        ("weights", "64x64x3x3", "abcd", "ABcd16b16a"),
        ("output", "1x64x56x56", "aBcd16b", "abcd")]
    assert [r.time_us for r in info["reorders"]] == [232.91, 8.789, 193.848]
    assert info["reorder_us"] == pytest.approx(232.91 + 8.789 + 193.848)
    assert [r.tensor for r in info["reorders"] if r.tensor != "weights"] == ["input", "output"]
    assert info["effective_channels"] is None  # 64 is a whole number of 16-channel blocks


def test_a_90_channel_1x1_conv_computes_as_96():
    info = onednn_info(CONV90, inputs=[(1, 90, 28, 28)], output=(1, 90, 28, 28), weight=(90, 90, 1, 1))
    assert info["impl"] == "jit_1x1:avx512_core"
    assert info["effective_channels"] == {"in_channels": 96, "out_channels": 96}
    # 28 x 28 x 96 x 96 multiply-adds (the node's 28 x 28 x 90 x 90 = 6,350,400)
    assert info["effective_madds"] == 784 * 96 * 96 == 7_225_344
    # 4 bytes x (input 96 x 784 + output 96 x 784 + weights 96 x 96) (the node's 596,880)
    assert info["effective_bytes"] == 4 * (75_264 + 75_264 + 9_216) == 638_976
    # the input and output have one shape: told apart by running before or after the conv
    assert [r.tensor for r in info["reorders"]] == ["input", "weights", "output"]


def test_the_effective_counts_at_the_real_channels_are_the_nodes_counts():
    problem = ConvProblem.parse("mb1_ic90oc90_ih28oh28kh1sh1dh0ph0_iw28ow28kw1sw1dw0pw1")
    assert problem.counts(90, 90, 1, bias=False) == (6_350_400, 596_880)
    assert problem.counts(90, 90, 1, bias=True) == (6_350_400, 596_880 + 4 * 90)


def test_a_depthwise_conv_names_its_weights_reorder_and_pads_nothing_at_64():
    info = onednn_info(DEPTHWISE, inputs=[(1, 64, 56, 56)], output=(1, 64, 56, 56), weight=(64, 1, 3, 3))
    assert info["impl"] == "jit_dw:avx512_core"
    assert [r.tensor for r in info["reorders"]] == ["input", "weights", "output"]
    assert info["effective_channels"] is None


def test_padding_rules_by_groups():
    # depthwise: the channels, each its own group, up to the block
    dw = ConvProblem.parse("g90mb1_ic90oc90_ih8oh8kh3sh1dh0ph1_iw8ow8kw3sw1dw0pw1")
    channels, madds, _ = effective(dw, 16, 16, bias=False)
    assert channels == {"in_channels": 96, "out_channels": 96}
    assert madds == 8 * 8 * 96 * 9
    # other groups: no claim, however the tensor is blocked (the tag does not say how groups are laid out)
    grouped = ConvProblem.parse("g4mb1_ic64oc80_ih8oh8kh1sh1dh0ph0_iw8ow8kw1sw1dw0pw0")
    assert effective(grouped, 16, 16, bias=False) is None
    resnext = ConvProblem.parse("g32mb1_ic128oc128_ih56oh56kh3sh1dh0ph1_iw56ow56kw3sw1dw0pw1")
    assert effective(resnext, 16, 16, bias=False) is None
    # groups of whole blocks: nothing padded
    assert effective(ConvProblem.parse("g4mb1_ic64oc96_ih28oh28kh3sh1dh0ph1_iw28ow28kw3sw1dw0pw1"), 8, 8,
                     bias=False) is None
    # a plain layout pads nothing
    assert effective(ConvProblem.parse("mb1_ic90oc90_ih8oh8kh1_iw8ow8kw1"), 1, 1, bias=False) is None


@pytest.mark.parametrize(("tag", "block"), [("aBcd16b", 16), ("aBcd8b", 8), ("ABcd16b16a", 16),
                                            ("abcd", 1), ("acdb", 1), ("aBCde8c8b", 8)])
def test_channel_block(tag, block):
    assert channel_block(tag) == block


@pytest.mark.parametrize("line", [
    "", "hello", "onednn_verbose,v1,info,cpu,runtime:OpenMP,nthr:2",
    "onednn_verbose,v1,primitive,exec,cpu,convolution",  # cut short
    "onednn_verbose,v1,primitive,exec,cpu,convolution,jit,fwd,src:f32,attr,alg,mb1_ic3oc3,not-a-number",
    "onednn_verbose,v9,primitive,exec,something,else,entirely,,,,,,,,,",
])
def test_an_unknown_line_gives_no_impl_and_no_exception(line):
    assert parse_line(line) is None or onednn_info([line])["impl"] is not None
    info = onednn_info([line, "garbage,,,", "onednn_verbose,primitive,exec"])
    assert info["impl"] is None or isinstance(info["impl"], str)
    assert kernels.kernel_info([], [line]).reorders == []


def test_a_timestamped_line_reads_the_same():
    line = CONV64[5].replace("onednn_verbose,v1,", "onednn_verbose,1733616000000.5,v1,")
    assert parse_line(line).impl == "jit:avx512_core"


@needs_onednn
def test_the_aten_chain_of_a_conv_reaches_onednn_on_this_cpu():
    conv = nn.Conv2d(90, 90, 1, bias=False).eval()
    x = torch.randn(1, 90, 28, 28)  # large enough for PyTorch to hand it to oneDNN
    relu = nn.ReLU()
    infos = kernels.profile_ops([lambda: conv(x), lambda: relu(x)], torch.device("cpu"),
                                [[(1, 90, 28, 28)], [(1, 90, 28, 28)]], [(90, 90, 1, 1), None])
    conv_info, relu_info = infos
    assert conv_info.aten[0] == "aten::conv2d"
    assert "aten::mkldnn_convolution" in conv_info.aten
    assert not {"aten::empty", "aten::as_strided_", "aten::resize_"} & set(conv_info.aten)
    assert conv_info.impl  # oneDNN named its implementation
    assert conv_info.effective_channels == {"in_channels": 96, "out_channels": 96}  # blocks of 8 or 16
    assert relu_info.aten[0] == "aten::relu" and relu_info.impl is None and relu_info.reorders == []


@needs_onednn
def test_time_ops_fills_every_nodes_kernel():
    block = nn.Sequential(nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
                          nn.ChannelShuffle(2)).eval()
    result = time_ops(block, torch.randn(1, 64, 28, 28), warmup=1, repeats=3)
    by_op = {n["op"]: n["kernel"] for n in result["nodes"]}
    assert set(by_op) == {"conv2d", "batch_norm", "relu", "channel_shuffle"}
    assert "aten::mkldnn_convolution" in by_op["conv2d"].aten
    assert by_op["channel_shuffle"].aten[0] == "aten::channel_shuffle"
    assert by_op["channel_shuffle"].impl is None


def test_verbose_times_are_the_median_over_calls():
    """A reorder's time is its median over the profiled calls, not one (maybe cold) call's."""
    def line(ms: float) -> str:
        return ("onednn_verbose,v1,primitive,exec,cpu,reorder,jit:blk,undef,src:f32::blocked:abcd::f0 "
                f"dst:f32::blocked:aBcd16b::f0,attr-scratchpad:user,,1x64x56x56,{ms}")
    rounds = [[line(4.4)], [line(0.05)], [line(0.07)], [line(0.06)], [line(0.9)]]
    [steadied] = kernels.steady(rounds)
    assert kernels.parse_line(steadied).time_ms == 0.07
    assert steadied.rsplit(",", 1)[0] == line(0).rsplit(",", 1)[0]
    # calls that ran different primitives: the last call's lines as they are
    assert kernels.steady([[line(1.0)], [line(2.0), line(3.0)]]) == [line(2.0), line(3.0)]
    assert kernels.steady([]) == []
