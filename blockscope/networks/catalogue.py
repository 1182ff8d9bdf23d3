"""The one list of whole networks, each written as its paper's architecture table.

Every network is a list of rows, one per line of the paper's table. A row names the operator as the
paper prints it, the table's columns (expansion, output channels, SE, nonlinearity, stride, repeats)
and the units it is built from: a block kind of `blockscope/registry.py` or a plain layer of
`blockscope/networks/build.py`, with its arguments and how many times it repeats. A line whose first unit
differs from the rest (a strided first bottleneck) holds two units, so every unit is one exact
configuration of a block. The API, the pages and the tests all iterate `NETWORKS`.
"""

from dataclasses import dataclass, field
from typing import Any

RELU, RELU6, HSWISH = "relu", "relu6", "hardswish"
NL_LABELS = {RELU: "RE", HSWISH: "HS", RELU6: "ReLU6"}


@dataclass(frozen=True)
class Unit:
    """`count` identical units of one row: a registry kind or a plain layer, and its arguments."""
    block: str
    config: dict[str, Any]
    count: int = 1


@dataclass(frozen=True)
class Row:
    """One line of the paper's table. `None` in a column prints as the paper's dash."""
    operator: str
    units: tuple[Unit, ...]
    stage: str  # the stage the diagram draws this row in ("stem", "stage 2", "head")
    layer: str | None = None  # the "Layer" / "stage" column of the ShuffleNet, ResNeXt, RepVGG tables
    kernel: str | None = None  # the "KSize" column of the ShuffleNet tables
    expansion: int | None = None  # MobileNet V2's t, MobileNet V3's "exp size"
    out: int | None = None
    se: bool | None = None
    nl: str | None = None
    stride: int | None = None

    @property
    def repeats(self) -> int:
        return sum(u.count for u in self.units)


@dataclass(frozen=True)
class Published:
    """The figures a paper (or torchvision, for exact parameter counts) gives for the network."""
    params: int | None
    madds: int | None
    source: str
    form: str = "train"  # the form the figures describe: "train", or "deploy" (RepVGG)
    params_exact: bool = True  # torchvision's exact count, or a paper's rounded one


@dataclass(frozen=True)
class Network:
    name: str
    title: str
    family: str
    paper: str
    table: str  # which table of the paper the rows reproduce
    columns: tuple[tuple[str, str], ...]  # (row field, the paper's heading), in the paper's order
    rows: tuple[Row, ...]
    published: Published
    notes: tuple[str, ...] = ()
    input_size: int = 224
    classes: int = 1000
    summary: str = ""
    stages: tuple[str, ...] = field(init=False)

    def __post_init__(self):
        stages = []
        for row in self.rows:
            if row.stage not in stages:
                stages.append(row.stage)
        object.__setattr__(self, "stages", tuple(stages))


# --- small constructors ----------------------------------------------------------------------------

def conv(in_channels: int, out_channels: int, kernel_size: int, stride: int, act: str = RELU) -> Unit:
    """conv-BN-activation; with ReLU it is exactly the registry's `conv` block."""
    if act == RELU:
        return Unit("conv", dict(in_channels=in_channels, out_channels=out_channels,
                                 kernel_size=kernel_size, stride=stride))
    return Unit("conv_bn_act", dict(in_channels=in_channels, out_channels=out_channels,
                                    kernel_size=kernel_size, stride=stride, act=act))


def max_pool() -> Unit:
    return Unit("max_pool", dict(kernel_size=3, stride=2, padding=1))


def global_pool() -> Unit:
    return Unit("global_avg_pool", {})


def linear(in_features: int, out_features: int, *, bias: bool = True, act: str | None = None,
           dropout: float = 0.0) -> Unit:
    return Unit("linear", dict(in_features=in_features, out_features=out_features, bias=bias, act=act,
                               dropout=dropout))


def repeated(kind: str, first: dict, rest: dict, n: int) -> tuple[Unit, ...]:
    """A first unit and `n - 1` repeats of another configuration (the strided first block)."""
    units = (Unit(kind, first),)
    return units + ((Unit(kind, rest, n - 1),) if n > 1 else ())


# --- MobileNet V2 (Sandler et al. 2018, Table 2) ---------------------------------------------------

MOBILENET_V2_SETTINGS = [  # t, c, n, s
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
MOBILENET_V2_STAGES = ["stage 1", "stage 2", "stage 3", "stage 4", "stage 4", "stage 5", "stage 5"]


def _mobilenet_v2() -> tuple[Row, ...]:
    rows = [Row("conv2d", (conv(3, 32, 3, 2, RELU6),), "stem", out=32, stride=2, nl=RELU6)]
    c = 32
    for (t, out, n, s), stage in zip(MOBILENET_V2_SETTINGS, MOBILENET_V2_STAGES, strict=True):
        first = dict(in_channels=c, out_channels=out, expand_ratio=t, stride=s)
        rest = dict(in_channels=out, out_channels=out, expand_ratio=t, stride=1)
        rows.append(Row("bottleneck", repeated("inverted_residual", first, rest, n), stage, expansion=t,
                        out=out, stride=s))
        c = out
    rows += [
        Row("conv2d 1x1", (conv(320, 1280, 1, 1, RELU6),), "head", out=1280, stride=1, nl=RELU6),
        Row("avgpool 7x7", (global_pool(),), "head"),
        Row("conv2d 1x1", (linear(1280, 1000, dropout=0.2),), "head", out=1000),
    ]
    return tuple(rows)


# --- MobileNet V3 (Howard et al. 2019, Tables 1 and 2; torchvision's configuration) -----------------

# kernel, exp size, #out, SE, NL, s; the stage each bneck is drawn in
MOBILENET_V3_LARGE = [
    (3, 16, 16, False, RELU, 1, "stage 1"), (3, 64, 24, False, RELU, 2, "stage 2"),
    (3, 72, 24, False, RELU, 1, "stage 2"), (5, 72, 40, True, RELU, 2, "stage 3"),
    (5, 120, 40, True, RELU, 1, "stage 3"), (5, 120, 40, True, RELU, 1, "stage 3"),
    (3, 240, 80, False, HSWISH, 2, "stage 4"), (3, 200, 80, False, HSWISH, 1, "stage 4"),
    (3, 184, 80, False, HSWISH, 1, "stage 4"), (3, 184, 80, False, HSWISH, 1, "stage 4"),
    (3, 480, 112, True, HSWISH, 1, "stage 4"), (3, 672, 112, True, HSWISH, 1, "stage 4"),
    (5, 672, 160, True, HSWISH, 2, "stage 5"), (5, 960, 160, True, HSWISH, 1, "stage 5"),
    (5, 960, 160, True, HSWISH, 1, "stage 5"),
]
MOBILENET_V3_SMALL = [
    (3, 16, 16, True, RELU, 2, "stage 1"), (3, 72, 24, False, RELU, 2, "stage 2"),
    (3, 88, 24, False, RELU, 1, "stage 2"), (5, 96, 40, True, HSWISH, 2, "stage 3"),
    (5, 240, 40, True, HSWISH, 1, "stage 3"), (5, 240, 40, True, HSWISH, 1, "stage 3"),
    (5, 120, 48, True, HSWISH, 1, "stage 3"), (5, 144, 48, True, HSWISH, 1, "stage 3"),
    (5, 288, 96, True, HSWISH, 2, "stage 4"), (5, 576, 96, True, HSWISH, 1, "stage 4"),
    (5, 576, 96, True, HSWISH, 1, "stage 4"),
]


def _mobilenet_v3(settings, last_conv: int, hidden: int) -> tuple[Row, ...]:
    rows = [Row("conv2d, 3x3", (conv(3, 16, 3, 2, HSWISH),), "stem", out=16, se=False, nl=HSWISH, stride=2)]
    c = 16
    for k, exp, out, se, nl, s, stage in settings:
        unit = Unit("mobilenet_v3_bneck", dict(in_channels=c, expanded_channels=exp, out_channels=out,
                                               kernel_size=k, stride=s, use_se=se, activation=nl))
        rows.append(Row(f"bneck, {k}x{k}", (unit,), stage, expansion=exp, out=out, se=se, nl=nl, stride=s))
        c = out
    rows += [
        Row("conv2d, 1x1", (conv(c, last_conv, 1, 1, HSWISH),), "head", out=last_conv, se=False, nl=HSWISH,
            stride=1),
        Row("pool, 7x7", (global_pool(),), "head", stride=1),
        Row("conv2d 1x1, NBN", (linear(last_conv, hidden, act=HSWISH),), "head", out=hidden, se=False,
            nl=HSWISH, stride=1),
        Row("conv2d 1x1, NBN", (linear(hidden, 1000, dropout=0.2),), "head", out=1000, se=False, stride=1),
    ]
    return tuple(rows)


# --- ShuffleNet V2 (Ma et al. 2018, Table 5) and V1 (Zhang et al. 2018, Table 1) ------------------

SHUFFLENET_V2_WIDTHS = {  # stage 2, 3, 4 and conv5 output channels
    "0_5": (48, 96, 192, 1024), "1_0": (116, 232, 464, 1024), "1_5": (176, 352, 704, 1024),
    "2_0": (244, 488, 976, 2048),
}
SHUFFLENET_V2_PAPER = {"0_5": (41, 1.4), "1_0": (146, 2.3), "1_5": (299, 3.5), "2_0": (591, 7.4)}  # MFLOPs, M
SHUFFLENET_V2_PARAMS = {"0_5": 1_366_792, "1_0": 2_278_604, "1_5": 3_503_624, "2_0": 7_393_996}
SHUFFLENET_V1_WIDTHS = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960), 4: (272, 544, 1088),
                        8: (384, 768, 1536)}
SHUFFLENET_V1_COMPLEXITY = {1: 143, 2: 140, 3: 137, 4: 133, 8: 137}  # MFLOPs, Table 1
SHUFFLE_REPEATS = (4, 8, 4)
SHUFFLE_COLUMNS = (("layer", "Layer"), ("output", "Output size"), ("kernel", "KSize"), ("stride", "Stride"),
                   ("repeats", "Repeat"), ("out", "Output channels"))


def _shuffle_stem() -> list[Row]:
    return [Row("conv 3x3", (conv(3, 24, 3, 2),), "stem", layer="Conv1", kernel="3×3", stride=2, out=24),
            Row("max pool 3x3", (max_pool(),), "stem", layer="MaxPool", kernel="3×3", stride=2)]


def _shuffle_stages(kind: str, widths, extra: dict, first_extra=None) -> list[Row]:
    rows, c = [], 24
    for i, (repeats, out) in enumerate(zip(SHUFFLE_REPEATS, widths, strict=True)):
        layer, stage = f"Stage{i + 2}", f"stage {i + 2}"
        first = dict(in_channels=c, out_channels=out, **extra, stride=2)
        if i == 0 and first_extra:
            first.update(first_extra)
        rest = dict(in_channels=out, out_channels=out, **extra, stride=1)
        rows += [Row("unit, stride 2", (Unit(kind, first),), stage, layer=layer, stride=2, out=out),
                 Row("unit", (Unit(kind, rest, repeats - 1),), stage, layer=layer, stride=1, out=out)]
        c = out
    return rows


def _shufflenet_v2(width: str) -> tuple[Row, ...]:
    *stages, last = SHUFFLENET_V2_WIDTHS[width]
    return tuple(_shuffle_stem() + _shuffle_stages("shufflenet_v2_unit", stages, {}) + [
        Row("conv 1x1", (conv(stages[-1], last, 1, 1),), "head", layer="Conv5", kernel="1×1", stride=1,
            out=last),
        Row("global pool", (global_pool(),), "head", layer="GlobalPool", kernel="7×7"),
        Row("fc", (linear(last, 1000),), "head", layer="FC", out=1000),
    ])


def _shufflenet_v1(groups: int) -> tuple[Row, ...]:
    widths = SHUFFLENET_V1_WIDTHS[groups]
    # the paper's Stage2 starts with an ungrouped 1x1 (nothing to say with g = 1, where none is grouped)
    first = {"group_first_conv": False} if groups > 1 else None
    stages = _shuffle_stages("shufflenet_v1_unit", widths, {"groups": groups}, first)
    return tuple(_shuffle_stem() + stages + [
        Row("global pool", (global_pool(),), "head", layer="GlobalPool", kernel="7×7"),
        Row("fc", (linear(widths[-1], 1000, bias=False),), "head", layer="FC", out=1000),
    ])


# --- ResNeXt-50 32x4d (Xie et al. 2017, Table 1) ----------------------------------------------------

def _resnext50() -> tuple[Row, ...]:
    rows = [Row("7×7, 64, stride 2", (conv(3, 64, 7, 2),), "stem", layer="conv1", out=64, stride=2),
            Row("3×3 max pool, stride 2", (max_pool(),), "stem", layer="conv2", stride=2)]
    c = 64
    for i, (width, n, stride) in enumerate([(128, 3, 1), (256, 4, 2), (512, 6, 2), (1024, 3, 2)]):
        out = width * 2
        first = dict(in_channels=c, bottleneck_width=width, cardinality=32, out_channels=out, stride=stride)
        rest = dict(in_channels=out, bottleneck_width=width, cardinality=32, out_channels=out, stride=1)
        rows.append(Row(f"1×1, {width} → 3×3, {width}, C=32 → 1×1, {out}",
                        repeated("resnext_bottleneck", first, rest, n), f"stage {i + 2}",
                        layer=f"conv{i + 2}", out=out, stride=stride))
        c = out
    rows += [Row("global average pool", (global_pool(),), "head"),
             Row("1000-d fc, softmax", (linear(2048, 1000),), "head", out=1000)]
    return tuple(rows)


# --- RepVGG-A0 (Ding et al. 2021, Tables 2 and 3: a = 0.75, b = 2.5) --------------------------------

REPVGG_A0 = [(1, 48), (2, 48), (4, 96), (14, 192), (1, 1280)]  # layers, width: min(64, 64a), 64a, ... 512b


def _repvgg_a0() -> tuple[Row, ...]:
    rows, c = [], 3
    for i, (n, width) in enumerate(REPVGG_A0):
        first = dict(in_channels=c, out_channels=width, stride=2, groups=1)
        rest = dict(in_channels=width, out_channels=width, stride=1, groups=1)
        rows.append(Row("RepVGG block (3×3 + 1×1 + identity)", repeated("repvgg_block", first, rest, n),
                        f"stage {i + 1}", layer=f"Stage {i + 1}", out=width, stride=2))
        c = width
    rows += [Row("global average pool", (global_pool(),), "head"),
             Row("fc", (linear(1280, 1000),), "head", out=1000)]
    return tuple(rows)


# --- the catalogue ---------------------------------------------------------------------------------

V2_COLUMNS = (("input", "Input"), ("operator", "Operator"), ("expansion", "t"), ("out", "c"),
              ("repeats", "n"), ("stride", "s"))
V3_COLUMNS = (("input", "Input"), ("operator", "Operator"), ("expansion", "exp size"), ("out", "#out"),
              ("se", "SE"), ("nl", "NL"), ("stride", "s"))
RESNEXT_COLUMNS = (("layer", "stage"), ("output", "output"), ("operator", "ResNeXt-50 (32×4d)"),
                   ("repeats", "×"))
REPVGG_COLUMNS = (("layer", "Stage"), ("output", "Output size"), ("operator", "Layer"), ("repeats", "Layers"),
                  ("out", "Width"), ("stride", "First stride"))

CLASSIFIER_NOTE = ("The table's last \"conv2d 1x1\" rows are fully connected layers here, as in torchvision; "
                   "on the pooled 1×1 input they have exactly the same parameters and multiply-adds.")
STEM_NOTE = ("Conv rows ending in {act} link to the explorer's standard convolution, which ends in ReLU: the "
             "counts are identical, only the activation's name differs.")

MOBILENET_V2 = Network(
    "mobilenet_v2", "MobileNet V2 (1.0, 224)", "MobileNet", "Sandler et al. 2018, MobileNetV2: Inverted "
    "Residuals and Linear Bottlenecks", "Table 2", V2_COLUMNS, _mobilenet_v2(),
    Published(3_504_872, 300_000_000, "parameters: torchvision's mobilenet_v2 (exact); multiply-adds: the "
                                      "paper's Table 4 (300M)"),
    notes=(
        "Built as torchvision's mobilenet_v2: every bottleneck is the explorer's inverted residual; a line "
        "with n > 1 is its first unit (with the line's stride s and new width c) plus n - 1 stride-1 "
        "repeats, each with its own link.",
        CLASSIFIER_NOTE + " Dropout (0.2) before it does nothing at inference.",
        STEM_NOTE.format(act="ReLU6"),
    ),
    summary="Inverted residuals with linear bottlenecks: expand 6x, filter depthwise, project back linearly.",
)


def _v3(name: str, title: str, table: str, settings, last_conv: int, hidden: int, published: Published,
        extra_notes: tuple[str, ...]) -> Network:
    return Network(
        name, title, "MobileNet", "Howard et al. 2019, Searching for MobileNetV3", table, V3_COLUMNS,
        _mobilenet_v3(settings, last_conv, hidden), published,
        notes=(f"torchvision's configuration of {title}, the explorer's MobileNet V3 bneck in every row.",
               *extra_notes,
               "Every SE block squeezes to make_divisible(exp / 4, 8) channels (torchvision), not exactly a "
               "quarter: 24 for the 72-channel bneck where a quarter would be 18.",
               CLASSIFIER_NOTE + " Dropout (0.2) sits before the last one.",
               STEM_NOTE.format(act="hard-swish")),
        summary="The bneck (inverted residual + squeeze-and-excitation) with hard-swish, found by search.",
    )


MOBILENET_V3_LARGE_NET = _v3(
    "mobilenet_v3_large", "MobileNet V3-Large", "Table 1", MOBILENET_V3_LARGE, 960, 1280,
    Published(5_483_032, 219_000_000, "parameters: torchvision's mobilenet_v3_large (exact); multiply-adds: "
                                      "the paper's Table 3 (219M)"),
    ("torchvision follows Table 1 line for line.",))
MOBILENET_V3_SMALL_NET = _v3(
    "mobilenet_v3_small", "MobileNet V3-Small", "Table 2", MOBILENET_V3_SMALL, 576, 1024,
    Published(2_542_856, 56_000_000, "parameters: torchvision's mobilenet_v3_small (exact); multiply-adds: "
                                     "the paper's Table 3 (56M)"),
    ("Table 2 marks SE on the \"conv2d, 1x1\" line with 576 outputs; torchvision has no SE there, and "
     "neither does this table.",))


def _shufflenet_v2_net(width: str) -> Network:
    mflops, weights = SHUFFLENET_V2_PAPER[width]
    scale = width.replace("_", ".")
    return Network(
        f"shufflenet_v2_x{width}", f"ShuffleNet V2 {scale}×", "ShuffleNet V2",
        "Ma et al. 2018, ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design",
        "Table 5", SHUFFLE_COLUMNS, _shufflenet_v2(width),
        Published(SHUFFLENET_V2_PARAMS[width], mflops * 1_000_000,
                  f"parameters: torchvision's shufflenet_v2_x{width} (exact; the paper's Table 5 says "
                  f"{weights}M); multiply-adds: Table 5's FLOPs ({mflops}M)"),
        notes=("torchvision's configuration: each stage is one stride-2 unit and its stride-1 repeats, the "
               "explorer's ShuffleNet V2 unit throughout.",
               "Table 5 counts FLOPs as multiply-adds and rounds them; the paper does not say what it "
               "leaves out, and our exact counts (which include the classifier) land within 1.5% of it."),
        summary="Channel split, equal-width branches, no group convolution, concat and shuffle (G1 to G4).",
    )


def _shufflenet_v1_net(groups: int) -> Network:
    return Network(
        f"shufflenet_v1_g{groups}", f"ShuffleNet V1 1× (g = {groups})", "ShuffleNet V1", "Zhang et al. 2018, "
        "ShuffleNet: An Extremely Efficient Convolutional Neural Network for Mobile Devices", "Table 1",
        SHUFFLE_COLUMNS, _shufflenet_v1(groups),
        Published(None, SHUFFLENET_V1_COMPLEXITY[groups] * 1_000_000,
                  f"multiply-adds: Table 1's complexity for g = {groups} ({SHUFFLENET_V1_COMPLEXITY[groups]} "
                  "MFLOPs); the paper gives no parameter count"),
        notes=("As the official code: the explorer's ShuffleNet V1 unit with bottleneck width = output / 4; "
               "a stride-2 unit concatenates a 3×3 average-pooled shortcut; the classifier has no bias.",
               "The first unit of Stage2 does not group its first 1x1 conv (its input has only 24 channels, "
               "Sec. 3.3). The explorer's unit always groups it, so that unit's link shows a slightly "
               "smaller block: the row says by how much.",
               "With g = 1 there is nothing to shuffle: the units have no channel shuffle."),
        summary="Pointwise group convolutions with a channel shuffle between them.",
    )


RESNEXT50 = Network(
    "resnext50_32x4d", "ResNeXt-50 (32×4d)", "ResNeXt", "Xie et al. 2017, Aggregated Residual "
    "Transformations for Deep Neural Networks", "Table 1", RESNEXT_COLUMNS, _resnext50(),
    Published(25_028_904, 4_230_000_000, "parameters: torchvision's resnext50_32x4d (exact; Table 1 says "
                                         "25.0 × 10^6); multiply-adds: torchvision's 4.23 GFLOPS (Table 1 "
                                         "rounds to 4.2 × 10^9)"),
    notes=("torchvision's configuration: the stride of a stage sits on the grouped 3×3 conv of its first "
           "block, and the first block of each stage has a 1×1 projection shortcut; each line is that "
           "first block plus its repeats.",
           "The softmax is not part of the model (torchvision returns logits) and costs nothing here."),
    summary="Bottlenecks whose 3×3 conv is split into 32 parallel paths (a group convolution).",
)

REPVGG_A0_NET = Network(
    "repvgg_a0", "RepVGG-A0", "RepVGG", "Ding et al. 2021, RepVGG: Making VGG-style ConvNets Great Again",
    "Table 2", REPVGG_COLUMNS, _repvgg_a0(),
    Published(8_300_000, 1_400_000_000, "the paper's results table, for the deployed RepVGG-A0: 8.30M "
                                        "parameters and 1.4 G FLOPs (multiply-adds)", form="deploy",
              params_exact=False),
    notes=("Stages of 1, 2, 4, 14 and 1 RepVGG blocks with widths min(64, 64a), 64a, 128a, 256a and 512b "
           "(a = 0.75, b = 2.5), stride 2 in the first block of each stage, as the official code.",
           "The table and the links show the training-time form (three branches per block); the deployed "
           "form merges each block into one 3×3 conv with bias. The paper's 8.30M parameters are the "
           "deployed form's.",
           "The first block of a stage has no identity branch (its stride is 2)."),
    summary="Train with 3×3, 1×1 and identity branches, deploy a plain stack of 3×3 convs and ReLUs.",
)

NETWORK_LIST = [
    MOBILENET_V2, MOBILENET_V3_LARGE_NET, MOBILENET_V3_SMALL_NET,
    *(_shufflenet_v2_net(w) for w in SHUFFLENET_V2_WIDTHS),
    *(_shufflenet_v1_net(g) for g in SHUFFLENET_V1_WIDTHS),
    RESNEXT50, REPVGG_A0_NET,
]

NETWORKS: dict[str, Network] = {n.name: n for n in NETWORK_LIST}
