"""What each block kind teaches: its claim, the claim's source, what its numbers are compared with,
and the sentences that state the lesson, filled in from an analysis.

Every sentence is computed from the numbers it shows: a change is written "MAC fell 2.2%
(1,241,216 → 1,213,568)", its word (rose, fell, unchanged) and its amount both from the two numbers,
and a contrast ("but", "only") only where the numbers make one. The service attaches the rendered
lesson to each analysis (`service/blocks.py`); tests/test_lessons.py checks every word against the
numbers on random configurations.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

from .registry import BLOCKS, BlockConfig
from .schemas import Analysis, Node
from .wording import direction

# --- words about numbers -----------------------------------------------------------------------------


def n(value: int | float) -> str:
    return f"{value:,}"


def share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def amount(before: float, after: float) -> str:
    """How far `after` is from `before`: a factor past 2 ("4.0×"), else a percentage ("2.2%")."""
    if not before or not after:
        return "100.0%" if before else ""
    ratio = after / before
    if ratio >= 2:
        return f"{ratio:.1f}×"
    if ratio <= 0.5:
        return f"{1 / ratio:.1f}×"
    percent = abs(ratio - 1) * 100
    if percent < 0.01:
        return "less than 0.01%"
    return f"{percent:.2f}%" if percent < 0.1 else f"{percent:.1f}%"


@dataclass(frozen=True)
class Move:
    """One number before and after: "multiply-adds fell 4.0× (115,605,504 → 28,901,376)"."""
    label: str
    before: int
    after: int

    @property
    def word(self) -> str:
        return direction(self.before, self.after)

    @property
    def size(self) -> float:
        """How far it moved, as |log(after / before)| (0: unchanged; inf: from or to zero)."""
        if self.before == self.after:
            return 0.0
        return abs(math.log(self.after / self.before)) if self.before and self.after else math.inf

    def text(self, only: bool = False) -> str:
        if self.word == "unchanged":
            return f"{self.label} unchanged ({n(self.after)})"
        how = amount(self.before, self.after)
        how = f" only {how}" if only else (f" {how}" if how else "")
        return f"{self.label} {self.word}{how} ({n(self.before)} → {n(self.after)})"


def against(lead: Move, follow: Move) -> str:
    """`lead`, then `follow` joined by "but" where it moved the other way or less far ("only")."""
    if lead.word == "unchanged":
        return f"{lead.text()} and {follow.text()}"
    if follow.word != lead.word:
        return f"{lead.text()}, but {follow.text()}"
    if follow.size < lead.size:
        return f"{lead.text()}, but {follow.text(only=True)}"
    return f"{lead.text()} and {follow.text()}"


def listed(moves: list[Move]) -> str:
    texts = [m.text() for m in moves]
    return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]


# --- what an analysis holds ----------------------------------------------------------------------------


def weights(a: Analysis) -> int:
    """MAC of the weights: each op reads its parameters once."""
    return sum(node.params for node in a.nodes)


def activations(a: Analysis) -> int:
    """MAC of the feature maps each op reads and writes."""
    return a.totals.mac - weights(a)


def ops(a: Analysis) -> int:
    return sum(node.op != "input" for node in a.nodes)


def node(a: Analysis, node_id: str) -> Node | None:
    return next((x for x in a.nodes if x.id == node_id), None)


def convs(a: Analysis) -> list[Node]:
    return [x for x in a.nodes if x.op == "conv2d"]


def kernel(conv: Node) -> int:
    k = conv.attrs["kernel_size"]
    return k[0] if isinstance(k, list | tuple) else k


def pointwise(a: Analysis) -> list[Node]:
    return [c for c in convs(a) if kernel(c) == 1]


def elements(shape: list[int]) -> int:
    return math.prod(shape)


def totals_moves(a: Analysis, ref: Analysis, before_is_ref: bool = True) -> dict[str, Move]:
    """The four totals (and ops, weights, activations) from `ref` to `a` (or `a` to `ref`)."""
    pairs = {"parameters": (ref.totals.params, a.totals.params),
             "multiply-adds": (ref.totals.madds, a.totals.madds),
             "MAC": (ref.totals.mac, a.totals.mac),
             "elementwise work": (ref.totals.elementwise, a.totals.elementwise),
             "ops": (ops(ref), ops(a)),
             "weights": (weights(ref), weights(a)),
             "activations": (activations(ref), activations(a))}
    return {label: Move(label, *(pair if before_is_ref else pair[::-1])) for label, pair in pairs.items()}


# --- the catalogue -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """What a lesson compares the block with: another block (`config`), or its own deploy-time form."""
    label: str
    config: BlockConfig | None = None

    @property
    def deployed(self) -> bool:
        return self.config is None


Render = Callable[[Analysis, Analysis | None, BlockConfig], list[str]]


@dataclass(frozen=True)
class LessonSpec:
    claim: str
    source: str
    sentences: Render
    # what the sentences compare with at a configuration (None: the block alone)
    reference: Callable[[BlockConfig], Reference | None] = lambda config: None


def at_one(param: str) -> Callable[[BlockConfig], Reference]:
    """The same block with its group count at 1."""
    return lambda config: Reference(f"{param}=1", config.replace(**{param: 1}))


def deployed(config: BlockConfig) -> Reference:
    return Reference("deployed form")


def standard_conv(config: BlockConfig) -> Reference:
    """A standard convolution (conv-bn-relu) with the block's channels, kernel and stride."""
    k = config["kernel_size"]
    values = {"in_channels": config["in_channels"], "out_channels": config["out_channels"],
              "kernel_size": k, "stride": config["stride"],
              **{name: config[name] for name in ("batch", "height", "width", "seed")}}
    return Reference(f"{k}x{k} standard conv", BLOCKS["conv"].resolve(values))


def conv_sentences(a: Analysis, ref: Analysis | None, config: BlockConfig) -> list[str]:
    conv = node(a, "conv")
    attrs = conv.attrs
    kernel_weights = kernel(conv) ** 2 * attrs["in_channels"] * attrs["out_channels"] // attrs["groups"]
    used = conv.madds // kernel_weights
    batch, _, ho, wo = conv.output_shape
    return [
        f"Each of the convolution's {n(kernel_weights)} weights is used {n(used)} times, once per output "
        f"position (N·H_out·W_out = {batch}·{ho}·{wo}): {n(conv.madds)} multiply-adds.",
        f"Of the block's MAC ({n(a.totals.mac)}), {share(activations(a), a.totals.mac)} is the feature maps "
        f"each op reads and writes and {share(weights(a), a.totals.mac)} the weights: the blocks that "
        "follow are each measured against this one.",
    ]


def group_sentences(a: Analysis, ref: Analysis | None, config: BlockConfig) -> list[str]:
    p, g = config.spec.group_param, config[config.spec.group_param]
    if ref is None:
        return []
    if ref is a:
        return [
            f"At {p} = 1 every output channel reads every input channel. Of MAC ({n(a.totals.mac)}), the "
            f"weights are {share(weights(a), a.totals.mac)} and the activations (the feature maps each op "
            f"reads and writes) {share(activations(a), a.totals.mac)}: a larger {p} divides the weights and "
            "the multiply-adds by it, never the activations. Move it and compare."]
    moves = totals_moves(a, ref)
    return [
        f"From {p} = 1 to {p} = {g}, {moves['parameters'].text()} and "
        f"{against(moves['multiply-adds'], moves['MAC'])}.",
        f"The activations, {share(activations(ref), ref.totals.mac)} of MAC at {p} = 1, are feature maps "
        f"that grouping does not divide: {moves['activations'].text()}."]


def resnext_sentences(a: Analysis, ref: Analysis | None, config: BlockConfig) -> list[str]:
    g, conv2 = config["cardinality"], node(a, "conv2_conv")
    pointwise_madds = sum(c.madds for c in pointwise(a))
    paths = ("ResNeXt spends what the paths save on width: its Table 2 (Published settings) keeps the "
             "cost about the same while the cardinality grows.")
    if ref is None:
        return [paths]
    if ref is a:
        return [f"At cardinality = 1 the 3x3 convolution is one path over all {conv2.attrs['in_channels']} "
                f"channels and does {share(conv2.madds, a.totals.madds)} of the block's multiply-adds; the "
                f"two 1x1 convolutions do {share(pointwise_madds, a.totals.madds)}.", paths]
    moves = totals_moves(a, ref)
    three = Move("the 3x3's multiply-adds", node(ref, "conv2_conv").madds, conv2.madds)
    return [
        f"From cardinality = 1 to cardinality = {g}, {against(three, moves['multiply-adds'])}: the two 1x1 "
        "convolutions, which the cardinality does not touch, now do "
        f"{share(pointwise_madds, a.totals.madds)} of them. {moves['MAC'].text()}.", paths]


def shuffle_sentences(a: Analysis, ref: Analysis | None, config: BlockConfig) -> list[str]:
    count = elements(a.input_shape)
    mac = a.totals.mac
    sums = f" = 2 × {n(count)}" if mac == 2 * count else ""
    out = [f"A channel shuffle has {n(a.totals.params)} parameters and does {n(a.totals.madds)} "
           f"multiply-adds, yet it reads each of the {n(count)} input elements and writes it again: "
           f"MAC {n(mac)}{sums}."]
    perm = a.permutations[0]
    g, per = perm.groups, perm.channels // perm.groups
    if g == 1 or per == 1:
        out.append(f"With groups = {g} every channel stays where it is, and is still copied.")
    else:
        first = perm.permutation[:g]
        shown = ", ".join(map(str, first if g <= 6 else first[:3])) + ("" if g <= 6 else f", …, {first[-1]}")
        groups = sorted({i // per for i in first})
        each = f"one from each of the {g} groups" if groups == list(range(g)) else f"from groups {groups}"
        out.append(f"With groups = {g}, output channels 0 to {g - 1} read input channels {shown}, {each}: "
                   "every group of the next group convolution sees every group of the last.")
    if ref is not None and ref is not a:
        move = totals_moves(a, ref)["MAC"]
        what = "not the cost" if move.word == "unchanged" else "and the cost"
        out.append(f"The group count changes where each channel goes, {what}: from groups = 1 to groups = "
                   f"{g}, {move.text()}.")
    return out


def shufflenet_v1_sentences(a: Analysis, ref: Analysis | None, config: BlockConfig) -> list[str]:
    g, pw = config["groups"], pointwise(a)
    wider = ("ShuffleNet V1 spends the saving on width: its Table 1 (Published settings) widens the unit "
             "as the groups grow, at about the same multiply-adds.")
    if ref is None:
        return [wider]
    if ref is a:
        pw_madds = sum(c.madds for c in pw)
        return [f"At groups = 1 the two 1x1 convolutions do {share(pw_madds, a.totals.madds)} of the unit's "
                f"multiply-adds ({n(pw_madds)} of {n(a.totals.madds)}). ShuffleNet V1 groups them, and "
                "shuffles the channels between them so that the groups still exchange information.", wider]
    moves = totals_moves(a, ref)
    ones = Move("the 1x1 convolutions' multiply-adds", sum(c.madds for c in pointwise(ref)),
                sum(c.madds for c in pw))
    out = [f"From groups = 1 to groups = {g}, {ones.text()}; the unit's "
           f"{against(moves['multiply-adds'], moves['MAC'])}."]
    shuffle = node(a, "shuffle")
    why = f"Grouping divides the weights: {moves['weights'].text()}"
    if shuffle is not None:
        width = shuffle.output_shape[1]
        why += (f"; the channel shuffle that lets the groups exchange information reads and writes the "
                f"{width}-channel bottleneck (MAC {n(shuffle.mac)}), so {moves['activations'].text()}")
    else:
        why += f"; {moves['activations'].text()}"
    return [*out, why + ".", wider]


def depthwise_sentences(a: Analysis, ref: Analysis | None, config: BlockConfig) -> list[str]:
    dw = node(a, "depthwise_conv")
    dw_mac = sum(x.mac for x in a.nodes if x.module.startswith("depthwise"))
    out = [f"The depthwise {kernel(dw)}x{kernel(dw)} step does {share(dw.madds, a.totals.madds)} of the "
           f"multiply-adds but {share(dw_mac, a.totals.mac)} of MAC: it writes a "
           f"{dw.output_shape[1]}-channel feature map that the pointwise convolution reads again."]
    if ref is None:
        return out
    moves = totals_moves(a, ref)
    k, cin, cout = config["kernel_size"], config["in_channels"], config["out_channels"]
    return [f"Against a {k}x{k} standard convolution from {cin} to {cout} channels (conv-bn-relu), "
            f"{moves['parameters'].text()} and {against(moves['multiply-adds'], moves['MAC'])}.", *out]


def inverted_residual_sentences(a: Analysis, ref: Analysis | None, config: BlockConfig) -> list[str]:
    t, cin, cout = config["expand_ratio"], config["in_channels"], config["out_channels"]
    dw, madds, mac = node(a, "depthwise_conv"), a.totals.madds, a.totals.mac
    hidden = dw.attrs["in_channels"]
    ones = sum(c.madds for c in pointwise(a))
    out = []
    if t > 1:
        # the expanded tensors: written by the expansion and the depthwise stage (by node, not by width:
        # the output may be as wide as the hidden tensor)
        wide = sum(x.mac for x in a.nodes if x.id.startswith(("expand_", "depthwise_")))
        out.append(f"The {cin} input channels widen {t}× to {hidden} inside the block: the depthwise "
                   f"{kernel(dw)}x{kernel(dw)} convolution filters the wide tensor for only "
                   f"{share(dw.madds, madds)} of the multiply-adds, the two 1x1 convolutions do "
                   f"{share(ones, madds)}.")
        end = (f"only the thinner {cout}-channel end is passed on" if cout < hidden else
               f"the {cout}-channel end passed on is {'as wide as' if cout == hidden else 'wider than'} "
               "they are")
        out.append(f"The ops that write the {hidden}-channel tensors make {share(wide, mac)} of MAC: the "
                   f"expanded tensors stay inside, and {end}.")
    else:
        out.append(f"With expand_ratio = 1 there is no expansion: the depthwise convolution filters the "
                   f"{cin} input channels and does {share(dw.madds, madds)} of the multiply-adds.")
    after = [x.op for x in a.nodes if x.inputs == ["project_bn"]]
    linear = not any(op in ("relu", "relu6", "hardswish") for op in after)
    projection = ("The projection back has no activation after its BatchNorm (a linear bottleneck)"
                  if linear else "The projection back ends in an activation")
    shortcut = node(a, "add") is not None
    out.append(projection + ("; the shortcut adds the input to it." if shortcut else
                             "; there is no shortcut (the stride or the widths differ)."))
    return out


def se_sentences(a: Analysis, ref: Analysis | None, config: BlockConfig) -> list[str]:
    pool, mul = node(a, "avgpool"), node(a, "mul")
    madds, mac, count = a.totals.madds, a.totals.mac, elements(a.input_shape)
    ratio = mac / madds
    times = f"{ratio:,.0f}×" if ratio >= 10 else f"{ratio:.1f}×"
    # "yet" only where MAC does exceed the multiply-adds; else the plain comparison
    versus = (f"yet MAC is {n(mac)}, {times} the multiply-adds" if mac > madds else
              f"and MAC is {n(mac)}, {share(mac, madds)} of the multiply-adds")
    out = [f"The gate has {n(a.totals.params)} parameters and does {n(madds)} multiply-adds (two 1x1 "
           f"convolutions on a {config['in_channels']}-channel vector), {versus}: the pooling reads all "
           f"{n(count)} input elements, and the reweighting reads them again and writes them."]
    # pooling and reweighting do no multiply-adds: "almost free" only where they are most of MAC
    mostly = pool.mac + mul.mac > mac / 2
    out.append(f"Pooling and reweighting make {share(pool.mac + mul.mac, mac)} of MAC"
               + (": free in multiply-adds, not in memory access." if mostly else "."))
    return out


def flipped_se(config: BlockConfig) -> Reference:
    other = not config["use_se"]
    return Reference(f"use_se={str(other).lower()}", config.replace(use_se=other))


def v3_sentences(a: Analysis, ref: Analysis | None, config: BlockConfig) -> list[str]:
    exp = config["expanded_channels"]
    out = []
    if ref is not None:
        moves = totals_moves(a, ref)
        was, now = str(not config["use_se"]).lower(), str(config["use_se"]).lower()
        what = (f"the squeeze-and-excitation pools the {exp}-channel expanded tensor and reweights it, "
                "reading it twice and writing it once" if config["use_se"] else
                "without squeeze-and-excitation nothing pools or reweights the "
                f"{exp}-channel expanded tensor")
        out.append(f"From use_se = {was} to use_se = {now}, "
                   f"{against(moves['parameters'], moves['multiply-adds'])}, and {moves['MAC'].text()}: "
                   f"{what}.")
    act = config["activation"]
    acts = [x for x in a.nodes if x.op == act and not x.module.startswith("se.")]  # the main path's
    out.append(f"The {len(acts)} {act} activations of the expansion and the depthwise stage produce "
               f"{n(sum(x.elementwise for x in acts))} elements: elementwise work the multiply-adds do not "
               "count.")
    return out


def other_function(config: BlockConfig) -> Reference:
    other = "hardswish" if config["function"] == "silu" else "silu"
    return Reference(f"function={other}", config.replace(function=other))


def activation_sentences(a: Analysis, ref: Analysis | None, config: BlockConfig) -> list[str]:
    fn, count, mac = config["function"], elements(a.input_shape), a.totals.mac
    sums = f" = 2 × {n(count)}" if mac == 2 * count else ""
    out = [f"{fn} reads each of the {n(count)} elements once and writes it once: MAC {n(mac)}{sums}, with "
           f"{n(a.totals.madds)} multiply-adds and {n(a.totals.params)} parameters."]
    if ref is not None:
        moves = totals_moves(a, ref)
        other = ref.config["function"]
        same = moves["MAC"].word == moves["elementwise work"].word == "unchanged"
        swish = {fn, other} == {"silu", "hardswish"}
        cannot = ("swish's exponential from hard-swish's add, clamp and multiply" if swish else
                  f"{other}'s arithmetic from {fn}'s")
        tail = (f": the counts cannot tell {cannot}. Only a measurement shows the difference (Measure "
                "each function)." if same else ".")
        out.append(f"From {other} to {fn}, {moves['MAC'].text()} and "
                   f"{moves['elementwise work'].text()}{tail}")
    return out


def shufflenet_v2_sentences(a: Analysis, ref: Analysis | None, config: BlockConfig) -> list[str]:
    pw = pointwise(a)
    widths = ", ".join(f"{c.attrs['in_channels']} → {c.attrs['out_channels']}" for c in pw)
    equal = all(c.attrs["in_channels"] == c.attrs["out_channels"] for c in pw)
    grouped = [c for c in convs(a) if 1 < c.attrs["groups"] < c.attrs["in_channels"]]
    g1 = (f"Its 1x1 convolutions keep their widths ({widths}): at given multiply-adds, equal input and "
          "output widths give the least MAC (G1)" if equal else
          f"Its 1x1 convolutions change width ({widths}); G1 says equal widths give the least MAC at given "
          "multiply-adds")
    g2 = ("none is a group convolution (G2)." if not grouped else
          f"{len(grouped)} convolution(s) are grouped, against G2.")
    out = [f"{g1}; {g2}"]
    chunk = node(a, "chunk")
    if chunk is not None:
        half = config["in_channels"] - pw[0].attrs["in_channels"]
        out.append(f"At stride 1 the unit splits its {config['in_channels']} channels: {half} pass through "
                   f"untouched and {pw[0].attrs['in_channels']} go through one path of three convolutions "
                   "(G3).")
    free = sum(x.mac for x in a.nodes if x.op != "input" and x.madds == 0)
    out.append(f"Ops with no multiply-adds (BatchNorm, ReLU, the concat and the shuffle) make "
               f"{share(free, a.totals.mac)} of MAC ({n(free)} of {n(a.totals.mac)}): elementwise work and "
               "copies are not free (G4).")
    return out


def deploy_sentences(what: str) -> Render:
    def sentences(a: Analysis, ref: Analysis | None, config: BlockConfig) -> list[str]:
        if ref is None:
            return []
        moves = totals_moves(a, ref, before_is_ref=False)
        ordered = [moves[k] for k in ("ops", "parameters", "multiply-adds", "MAC", "elementwise work")]
        return [f"{what}: {listed(ordered)}.",
                "Both forms compute the same output: Before and after reparameterization shows them side by "
                "side, with the largest difference on a random input."]
    return sentences


LESSONS: dict[str, LessonSpec] = {
    "conv": LessonSpec(
        "A dense convolution uses every weight at every output position; it is the reference every "
        "efficient block is measured against.",
        "ShuffleNet V2 (Ma et al. 2018), Sec. 2 (MAC)", conv_sentences),
    "group_conv": LessonSpec(
        "Groups divide the parameters and the multiply-adds by g, but not the MAC of the feature maps, "
        "so MAC falls more slowly.",
        "ShuffleNet V2 (Ma et al. 2018), Sec. 2, guideline G2", group_sentences, at_one("groups")),
    "resnext_bottleneck": LessonSpec(
        "Splitting the 3x3 convolution into paths makes it cheap, and the saving is spent on width: more "
        "paths at the same cost beat a deeper or wider network.",
        "ResNeXt (Xie et al. 2017), Sec. 3 and Table 2", resnext_sentences, at_one("cardinality")),
    "channel_shuffle": LessonSpec(
        "A channel shuffle does no arithmetic, yet reads and writes every element: it is paid in memory "
        "access, and it is what lets stacked group convolutions exchange information.",
        "ShuffleNet V1 (Zhang et al. 2018), Sec. 3.1; ShuffleNet V2 (Ma et al. 2018), Sec. 2",
        shuffle_sentences, at_one("groups")),
    "shufflenet_v1_unit": LessonSpec(
        "Grouping the 1x1 convolutions cuts the unit's multiply-adds; the channel shuffle between them "
        "keeps the groups talking, at a cost in memory access.",
        "ShuffleNet V1 (Zhang et al. 2018), Sec. 3.2 and Table 1", shufflenet_v1_sentences, at_one("groups")),
    "depthwise_separable": LessonSpec(
        "Splitting a convolution into depthwise and pointwise steps cuts its multiply-adds to 1/N + 1/k², "
        "but not its memory access.",
        "MobileNet V1 (Howard et al. 2017), Sec. 3.1", depthwise_sentences, standard_conv),
    "inverted_residual": LessonSpec(
        "Expand, filter depthwise in the wide space, project back linearly: the wide tensors stay inside "
        "the block, and the thin ends carry the shortcut.",
        "MobileNet V2 (Sandler et al. 2018), Sec. 3.2–3.3", inverted_residual_sentences),
    "squeeze_excitation": LessonSpec(
        "Squeeze-and-excitation costs almost no multiply-adds, but reads the whole feature map twice: "
        "cheap by the multiply-add count, not in memory access.",
        "SENet (Hu et al. 2018), Sec. 3; ShuffleNet V2 (Ma et al. 2018), Sec. 2", se_sentences),
    "mobilenet_v3_bneck": LessonSpec(
        "MobileNet V3 adds squeeze-and-excitation to the inverted residual: few multiply-adds, more "
        "parameters and memory access; hard-swish makes swish cheap.",
        "MobileNet V3 (Howard et al. 2019), Sec. 5.2–5.3", v3_sentences, flipped_se),
    "activation": LessonSpec(
        "Every activation reads and writes each element once, so the counts are the same for all of them; "
        "hard-swish is cheaper than swish in arithmetic per element, which only a measurement shows.",
        "MobileNet V3 (Howard et al. 2019), Sec. 5.2", activation_sentences, other_function),
    "shufflenet_v2_unit": LessonSpec(
        "The ShuffleNet V2 unit follows the four guidelines: equal widths (G1), no group convolutions (G2), "
        "one path (G3), few elementwise ops (G4).",
        "ShuffleNet V2 (Ma et al. 2018), Sec. 2–3", shufflenet_v2_sentences),
    "repvgg_block": LessonSpec(
        "Train with three branches, deploy one 3x3 convolution: the branches and their BatchNorms merge "
        "into one kernel and a bias, and the deployed block computes the same output.",
        "RepVGG (Ding et al. 2021), Sec. 3.3", deploy_sentences(
            "Reparameterized for inference, the branches and their BatchNorms merge into one 3x3 "
            "convolution"),
        deployed),
    "conv_bn": LessonSpec(
        "At inference BatchNorm is a fixed affine map, so it folds into the convolution: the same output, "
        "one op instead of two, no pass of its own over the feature map.",
        "Ioffe & Szegedy 2015, Sec. 3; RepVGG (Ding et al. 2021), Sec. 3.3", deploy_sentences(
            "Folded for inference, the BatchNorm becomes the convolution's weights and bias"), deployed),
}
