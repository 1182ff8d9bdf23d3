"""The one list of block kinds: title, paper, idea, parameters and builder.

The API, the pages, the forms and the tests all iterate `BLOCKS`; adding a kind is one block file
plus one entry here.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .blocks.layers import seed_weights
from .blocks.mobilenet import DepthwiseSeparable, InvertedResidual, MobileNetV3Bneck
from .blocks.plain import Activation, ConvBlock, ConvBN
from .blocks.repvgg import RepVGGBlock
from .blocks.resnext import ResNeXtBottleneck
from .blocks.shuffle import ChannelShuffleBlock
from .blocks.shufflenet_v1 import ShuffleNetV1Unit
from .blocks.shufflenet_v2 import ShuffleNetV2Unit
from .blocks.squeeze_excitation import SqueezeExcitationBlock
from .config import get_settings
from .errors import InvalidParameter, NotFound
from .schemas import BlockSchema, ConfigValue, ParamSchema, Preset


@dataclass(frozen=True)
class Param:
    """One block parameter. `hi` is a number or the name of a setting (read when used, so the
    server's limits are never frozen at import)."""
    name: str
    type: str  # "integer" | "boolean" | "string"
    preferred: Any  # the default when the server's limit allows it
    help: str
    min: int | None = None
    hi: int | str | None = None
    choices: tuple | None = None

    @property
    def max(self) -> int | None:
        return getattr(get_settings(), self.hi) if isinstance(self.hi, str) else self.hi

    @property
    def default(self) -> Any:
        # A server limit below the preferred default lowers the default with it.
        return self.preferred if self.max is None else min(self.preferred, self.max)

    def check(self, value) -> None:
        """Raise InvalidParameter naming this parameter when `value` is not allowed."""
        if self.choices is not None and value not in self.choices:
            raise InvalidParameter(self.name, f"{self.name}={value!r} is not allowed; choose one of "
                                              f"{', '.join(map(str, self.choices))}", value)
        if self.min is not None and value < self.min:
            raise InvalidParameter(self.name, f"must be at least {self.min}", value)
        limit = self.max
        if limit is not None and value > limit:
            where = " on this server" if isinstance(self.hi, str) else ""
            raise InvalidParameter(self.name, f"must be at most {limit}{where}", value)

    def schema(self) -> ParamSchema:
        return ParamSchema(name=self.name, type=self.type, default=self.default, min=self.min, max=self.max,
                           choices=list(self.choices) if self.choices else None, help=self.help)


def channels(name: str, default: int, help: str) -> Param:
    return integer(name, default, help, 1, "max_channels")


def integer(name: str, default: int, help: str, lo: int, hi: int | str) -> Param:
    return Param(name, "integer", default, help, lo, hi)


def choice(name: str, default, help: str, choices: tuple) -> Param:
    kind = "integer" if isinstance(default, int) else "string"
    return Param(name, kind, default, help, min(choices) if kind == "integer" else None,
                 max(choices) if kind == "integer" else None, choices)


def boolean(name: str, default: bool, help: str) -> Param:
    return Param(name, "boolean", default, help)


IN = "Input channels C_in."
OUT = "Output channels C_out."
STRIDE = choice("stride", 1, "Spatial stride: 2 halves height and width.", (1, 2))
GROUPS_HELP = "Number of groups: each group of C_in/g input channels feeds only its own C_out/g outputs."

# Parameters every block takes.
COMMON = (
    integer("batch", 1, "Batch size N.", 1, "max_batch"),
    integer("height", 56, "Input height H.", 1, "max_spatial"),
    integer("width", 56, "Input width W.", 1, "max_spatial"),
    integer("seed", 0, "Seed for the weights, the BatchNorm statistics and random inputs.", 0, 2**31 - 1),
)


# The explorer's views, in page order (static/js/explorer-views.js draws them; /embed/{kind}?view=…
# picks among them). `compare` is the side-by-side table with a standard convolution.
VIEW_ORDER = ("compare", "formula", "totals", "activation", "diagram", "groups", "shuffle", "table", "chart",
              "sweep", "reparam", "latency", "roofline")
# Views every kind has.
BASE_VIEWS = ("formula", "totals", "diagram", "table", "chart", "latency", "roofline")


def views(*extra: str, lead: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The views of a kind: every kind's, plus `extra`, in page order, except that the views in
    `lead` (the ones its lesson is about) come right after the totals."""
    unknown = set(extra + lead) - set(VIEW_ORDER)
    assert not unknown, f"unknown views {unknown}"
    ordered = [v for v in VIEW_ORDER if (v in BASE_VIEWS or v in extra) and v not in lead]
    at = ordered.index("totals") + 1
    return tuple(ordered[:at] + list(lead) + ordered[at:])


def preset(label: str, source: str, **values) -> Preset:
    return Preset(label=label, values=values, source=source)


# The published tables the presets come from.
G2_TABLE = "ShuffleNet V2, Table 2 (G2): 1x1 convolutions at equal multiply-adds"
RESNEXT_TABLE = "ResNeXt, Table 2: conv2 stage at about the same complexity (cardinality x width per path)"
SHUFFLENET_V1_TABLE = ("ShuffleNet V1, Table 1: Stage 2 output channels at about 140 MFLOPs for each group "
                       "count")


@dataclass(frozen=True)
class BlockConfig(Mapping[str, ConfigValue]):
    """A block kind at validated values: what every cache key, job and memory check of a block uses.

    Its values are kept sorted by name, so two configs are equal (and hash alike) whatever order
    their values came in; it reads as a read-only mapping (`config["groups"]`, `{**config, ...}`).
    Made by `BlockSpec.resolve`, which fills in defaults and checks every value.
    """
    kind: str
    values: tuple[tuple[str, ConfigValue], ...]

    @classmethod
    def of(cls, kind: str, values: Mapping[str, ConfigValue]) -> "BlockConfig":
        """The config of `kind` at `values` as they are (unchecked: `BlockSpec.resolve` checks)."""
        return cls(kind, tuple(sorted(values.items())))

    def __getitem__(self, name: str) -> ConfigValue:
        for key, value in self.values:
            if key == name:
                return value
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self.values)

    def __len__(self) -> int:
        return len(self.values)

    @property
    def spec(self) -> "BlockSpec":
        return BLOCKS[self.kind]

    def as_dict(self) -> dict[str, ConfigValue]:
        """The values in the kind's parameter order (as the API shows them)."""
        return {p.name: self[p.name] for p in self.spec.all_params}

    def replace(self, **changes: ConfigValue) -> "BlockConfig":
        """The same config with `changes` (unchecked)."""
        return BlockConfig.of(self.kind, {**self, **changes})

    @property
    def input_shape(self) -> list[int]:
        return [self["batch"], self["in_channels"], self["height"], self["width"]]

    @property
    def size_param(self) -> tuple[str, int]:
        """The parameter a refusal for size names, and its value (`blame_size`)."""
        return blame_size(self["batch"], ("height", self["height"]))


def blame_size(batch: int, otherwise: tuple[str, int]) -> tuple[str, int]:
    """The parameter to name when a request is too large, and its value: the batch when there is
    one (a smaller batch always helps), else `otherwise` (the input's height, a width multiplier)."""
    return ("batch", batch) if batch > 1 else otherwise


@dataclass(frozen=True)
class BlockSpec:
    kind: str
    title: str
    paper: str
    summary: str
    params: tuple[Param, ...]
    builder: Callable[..., nn.Module]
    # the parameter a "group count" slider or sweep moves, if any
    group_param: str | None = None
    formula: str = ""
    # the views that mean something for this kind (`views(...)`): no "Before and after
    # reparameterization" for a block without BatchNorm, no comparison with a convolution for a
    # block that is not a replacement for one
    views: tuple[str, ...] = BASE_VIEWS
    # the group count must divide each of these channel parameters over its factor
    group_divides: tuple[tuple[str, int], ...] = ()
    # the channel parameters that widen with the group count at fixed multiply-adds (G2)
    widen: tuple[str, ...] = ()
    # published settings (a paper's table), one click each on the page
    presets: tuple[Preset, ...] = ()
    all_params: tuple[Param, ...] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "all_params", self.params + COMMON)

    def defaults(self) -> dict[str, ConfigValue]:
        return {p.name: p.default for p in self.all_params}

    def resolve(self, values: Mapping[str, ConfigValue | None]) -> BlockConfig:
        """The full config at these request values: defaults filled in (for missing or None values),
        every value checked against its parameter (InvalidParameter naming it)."""
        config = {}
        for p in self.all_params:
            value = values.get(p.name)
            if value is None:
                value = p.default
            p.check(value)
            config[p.name] = value
        return BlockConfig.of(self.kind, config)

    def build(self, config: Mapping[str, ConfigValue]) -> nn.Module:
        """Build the block from a full config (block parameters plus the common ones)."""
        return self.builder(**{p.name: config[p.name] for p in self.params})

    def seeded(self, config: BlockConfig) -> nn.Module:
        """A real block on the CPU, in eval mode, with weights and BatchNorm statistics drawn from
        `config["seed"]` (so the same config always gives the same block)."""
        with torch.device("cpu"):
            module = self.build(config)
        return seed_weights(module, config["seed"]).eval()

    def schema(self) -> BlockSchema:
        return BlockSchema(kind=self.kind, title=self.title, paper=self.paper, summary=self.summary,
                           formula=self.formula, group_param=self.group_param,
                           params=[p.schema() for p in self.all_params], views=list(self.views),
                           group_divides=dict(self.group_divides), widen=list(self.widen),
                           presets=list(self.presets))


BLOCK_LIST = [
    BlockSpec(
        "conv", "Standard convolution", "Baseline (conv-bn-relu)",
        "A dense k x k convolution mixes every input channel into every output channel at every "
        "position. It is the reference against which every efficient block is measured.",
        (channels("in_channels", 64, IN), channels("out_channels", 64, OUT),
         choice("kernel_size", 3, "Kernel size k (k x k).", (1, 3, 5, 7)), STRIDE),
        lambda **kw: ConvBlock(**kw),
        formula="params = k^2 C_in C_out; multiply-adds = k^2 C_in C_out H_out W_out",
        views=views("reparam"),
    ),
    BlockSpec(
        "group_conv", "Group convolution", "AlexNet (Krizhevsky et al. 2012); ResNeXt (Xie et al. 2017)",
        "Splitting the channels into g groups that do not talk to each other divides parameters and "
        "multiply-adds by g. ShuffleNet V2's G2 warns that memory access cost does not fall as fast.",
        (channels("in_channels", 64, IN), channels("out_channels", 64, OUT),
         integer("groups", 4, GROUPS_HELP, 1, "max_channels"),
         choice("kernel_size", 3, "Kernel size k (k x k).", (1, 3, 5, 7)), STRIDE),
        lambda **kw: ConvBlock(**kw),
        group_param="groups",
        formula="1x1 case: MAC = hw(c1 + c2) + c1 c2 / g, multiply-adds = hw c1 c2 / g",
        views=views("compare", "groups", "sweep", "reparam"),
        group_divides=(("in_channels", 1), ("out_channels", 1)),
        widen=("in_channels", "out_channels"),
        presets=tuple(preset(f"1x1, c={c}, g={g}", G2_TABLE, in_channels=c, out_channels=c, groups=g,
                             kernel_size=1) for c, g in ((128, 1), (180, 2), (256, 4), (360, 8))),
    ),
    BlockSpec(
        "resnext_bottleneck", "ResNeXt bottleneck", "ResNeXt (Xie et al. 2017)",
        "A bottleneck whose 3x3 convolution is split into many parallel paths (the cardinality), "
        "implemented as one group convolution. More paths at the same cost beat going deeper or wider.",
        (channels("in_channels", 256, IN),
         channels("bottleneck_width", 128, "Width of the grouped 3x3 convolution."),
         integer("cardinality", 32, "Number of paths (groups of the 3x3 convolution).", 1, "max_channels"),
         channels("out_channels", 256, OUT), STRIDE),
        lambda **kw: ResNeXtBottleneck(**kw),
        group_param="cardinality",
        formula="3x3 params = 9 d^2 / cardinality for width d",
        views=views("compare", "groups", "sweep", "reparam"),
        group_divides=(("bottleneck_width", 1),),
        widen=("bottleneck_width",),
        presets=tuple(preset(f"{c}x{d}d", RESNEXT_TABLE, in_channels=256, out_channels=256,
                             cardinality=c, bottleneck_width=c * d)
                      for c, d in ((1, 64), (2, 40), (4, 24), (8, 14), (32, 4))),
    ),
    BlockSpec(
        "channel_shuffle", "Channel shuffle", "ShuffleNet V1 (Zhang et al. 2018)",
        "Stacked group convolutions never let information cross between groups. A channel shuffle "
        "(reshape to g x C/g, transpose, flatten) hands every group a slice of every other group.",
        (channels("in_channels", 16, "Channels C."),
         integer("groups", 4, "Number of groups g; must divide the channels.", 1, "max_channels")),
        lambda **kw: ChannelShuffleBlock(**kw),
        group_param="groups",
        formula="perm[i] = (i mod g) (C/g) + floor(i / g)",
        # the lesson is the permutation and its cost; the cost does not move with g (no sweep)
        views=views(lead=("shuffle",)),
        group_divides=(("in_channels", 1),),
    ),
    BlockSpec(
        "shufflenet_v1_unit", "ShuffleNet V1 unit", "ShuffleNet V1 (Zhang et al. 2018)",
        "A bottleneck whose 1x1 convolutions are grouped, with a channel shuffle between them so the "
        "groups exchange information. Strided units concatenate an average-pooled shortcut.",
        (channels("in_channels", 240, IN), channels("out_channels", 240, OUT),
         integer("groups", 3, GROUPS_HELP, 1, "max_channels"), STRIDE),
        lambda **kw: ShuffleNetV1Unit(**kw),
        group_param="groups",
        formula="bottleneck m = C_out / 4; 1x1 GConv multiply-adds = hw C m / g",
        views=views("compare", "groups", "shuffle", "sweep", "reparam"),
        group_divides=(("in_channels", 1), ("out_channels", 4)),
        widen=("in_channels", "out_channels"),
        presets=tuple(preset(f"g={g}, {c} channels", SHUFFLENET_V1_TABLE, in_channels=c, out_channels=c,
                             groups=g, stride=1)
                      for g, c in ((1, 144), (2, 200), (3, 240), (4, 272), (8, 384))),
    ),
    BlockSpec(
        "depthwise_separable", "Depthwise-separable convolution", "MobileNet V1 (Howard et al. 2017)",
        "A k x k depthwise convolution filters each channel alone, then a 1x1 pointwise convolution "
        "mixes channels. It costs 1/N + 1/k^2 of a standard convolution.",
        (channels("in_channels", 64, IN), channels("out_channels", 128, OUT),
         choice("kernel_size", 3, "Depthwise kernel size k.", (3, 5, 7)), STRIDE),
        lambda **kw: DepthwiseSeparable(**kw),
        formula="cost ratio to a standard conv = 1/N + 1/k^2",
        views=views("compare", "reparam"),
    ),
    BlockSpec(
        "inverted_residual", "Inverted residual with linear bottleneck", "MobileNet V2 (Sandler et al. 2018)",
        "Expand a thin tensor with a 1x1, filter it depthwise in the wide space, and project back "
        "with a linear 1x1 (no ReLU, which would destroy information). The shortcut joins the thin ends.",
        (channels("in_channels", 24, IN), channels("out_channels", 24, OUT),
         integer("expand_ratio", 6, "Expansion factor t: hidden width = t C_in.", 1, 8), STRIDE),
        lambda **kw: InvertedResidual(**kw),
        formula="hidden = t C_in; multiply-adds = hw C_in t (C_in + 9/s^2 + C_out/s^2)",
        views=views("compare", "reparam"),
    ),
    BlockSpec(
        "squeeze_excitation", "Squeeze-and-excitation", "SENet (Hu et al. 2018)",
        "Pool each channel to one number, pass the vector through a small bottleneck MLP, and "
        "reweight the channels with the resulting gate. It adds about 2C^2/r parameters and almost no "
        "multiply-adds.",
        (channels("in_channels", 64, "Channels C."),
         integer("reduction", 16, "Reduction ratio r: the squeeze width is max(1, C // r).", 1, 256),
         choice("gate", "sigmoid", "Gate function (MobileNet V3 uses hardsigmoid).",
                ("sigmoid", "hardsigmoid"))),
        lambda **kw: SqueezeExcitationBlock(**kw),
        formula="extra params = 2 C s + s + C with s = C // r (about 2C^2/r)",
        views=views(),
    ),
    BlockSpec(
        "mobilenet_v3_bneck", "MobileNet V3 bneck", "MobileNet V3 (Howard et al. 2019)",
        "MobileNet V2's inverted residual, with an optional squeeze-and-excitation on the expanded "
        "channels. Its activation is hard-swish, a piecewise-linear swish that is cheap on mobile hardware.",
        (channels("in_channels", 40, IN), channels("expanded_channels", 120, "Expanded (hidden) width."),
         channels("out_channels", 40, OUT),
         choice("kernel_size", 5, "Depthwise kernel size.", (3, 5)), STRIDE,
         boolean("use_se", True, "Add squeeze-and-excitation (squeeze width make_divisible(exp / 4, 8))."),
         choice("activation", "hardswish", "Nonlinearity.", ("relu", "hardswish"))),
        lambda **kw: MobileNetV3Bneck(**kw),
        formula="hardswish(x) = x ReLU6(x + 3) / 6",
        views=views("compare", "reparam"),
    ),
    BlockSpec(
        "activation", "Activation functions and hard-swish", "MobileNet V3 (Howard et al. 2019)",
        "Swish (x sigmoid(x)) improves accuracy but the sigmoid is expensive on mobile hardware. "
        "Hard-swish replaces it with the piecewise-linear ReLU6(x + 3) / 6.",
        (choice("function", "hardswish", "Elementwise function.",
                ("relu", "relu6", "sigmoid", "hardsigmoid", "silu", "hardswish")),
         channels("in_channels", 64, "Channels C.")),
        lambda function, in_channels: Activation(function),
        formula="hardswish(x) = x ReLU6(x + 3) / 6; hardsigmoid(x) = ReLU6(x + 3) / 6",
        views=views("activation"),
    ),
    BlockSpec(
        "shufflenet_v2_unit", "ShuffleNet V2 unit", "ShuffleNet V2 (Ma et al. 2018)",
        "Split the channels in half, pass one half through equal-width 1x1 and depthwise convolutions "
        "and the other through untouched, concatenate and shuffle. It follows G1-G4: equal widths, no "
        "group convs, one path, few elementwise ops.",
        (channels("in_channels", 116, IN), channels("out_channels", 116, OUT), STRIDE),
        lambda **kw: ShuffleNetV2Unit(**kw),
        formula="branch width b = C_out / 2; shuffle with g = 2",
        views=views("compare", "shuffle", "reparam"),
    ),
    BlockSpec(
        "repvgg_block", "RepVGG block", "RepVGG (Ding et al. 2021)",
        "Train with 3x3, 1x1 and identity branches summed, then merge them into a single 3x3 "
        "convolution for inference. The deployed network is a plain stack of 3x3 convs and ReLUs.",
        (channels("in_channels", 64, IN), channels("out_channels", 64, OUT), STRIDE,
         integer("groups", 1, GROUPS_HELP, 1, "max_channels")),
        lambda **kw: RepVGGBlock(**kw),
        group_param="groups",
        formula="deploy params = 9 C_in C_out / g + C_out",
        # the lesson is the merge: before/after right after the totals, no group-count views
        views=views("compare", lead=("reparam",)),
        group_divides=(("in_channels", 1), ("out_channels", 1)),
        widen=("in_channels", "out_channels"),
    ),
    BlockSpec(
        "conv_bn", "Conv+BN fusion", "Inference-time folding (Ioffe & Szegedy 2015; RepVGG)",
        "At inference BatchNorm is a fixed affine map per channel, so it folds into the preceding "
        "convolution's weights and bias. The fused conv computes the same output with one op instead of two.",
        (channels("in_channels", 64, IN), channels("out_channels", 64, OUT),
         choice("kernel_size", 3, "Kernel size k.", (1, 3, 5, 7)), STRIDE,
         integer("groups", 1, GROUPS_HELP, 1, "max_channels")),
        lambda **kw: ConvBN(**kw),
        group_param="groups",
        formula="W' = W gamma / sqrt(var + eps); b' = beta + (b - mean) gamma / sqrt(var + eps)",
        # the lesson is the fold: before/after right after the totals, no group-count views
        views=views(lead=("reparam",)),
        group_divides=(("in_channels", 1), ("out_channels", 1)),
        widen=("in_channels", "out_channels"),
    ),
]

BLOCKS: dict[str, BlockSpec] = {spec.kind: spec for spec in BLOCK_LIST}


def get_spec(kind: str) -> BlockSpec:
    try:
        return BLOCKS[kind]
    except KeyError:
        raise NotFound(f"unknown block kind {kind!r}; known kinds: {', '.join(BLOCKS)}") from None

