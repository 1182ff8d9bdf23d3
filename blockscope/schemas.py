"""The shapes of everything the server answers: one pydantic model per JSON document.

The analysis builds these models, the routes declare them as `response_model`s (so `/openapi.json`
documents every answer), and the frontend reads the same field names. Counts are defined in
`docs/numbers.md`.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ConfigValue = int | bool | str
Shape = list[int]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- the graph analysis ----------------------------------------------------------------------------

class Node(Model):
    """One op of the block with its output shape and its own counts."""
    id: str
    op: str = Field(description="What the op does: conv2d, batch_norm, relu, add, cat, chunk, ...")
    label: str = Field(description="A short label for a diagram box, e.g. `3x3 GConv, g=4`.")
    module: str = Field(description="Path of the submodule the op belongs to ('' for the block itself).")
    attrs: dict[str, Any] = Field(description="The op's settings (a conv's channels, kernel, stride, "
                                              "groups).")
    inputs: list[str] = Field(description="Ids of the nodes whose outputs this op reads.")
    input_shapes: list[Shape]
    output_shape: Shape
    params: int
    madds: int = Field(description="Multiply-adds.")
    mac: int = Field(description="MAC (memory access cost): elements read and written, plus weights.")
    elementwise: int = Field(description="Elements produced by elementwise work (BN, activations, adds, "
                                         "pooling).")


class Edge(Model):
    source: str
    target: str
    shape: Shape = Field(description="Shape of the tensor carried from source to target.")


class Permutation(Model):
    """A channel shuffle: output channel i reads input channel `permutation[i]`."""
    node: str
    channels: int
    groups: int
    permutation: list[int]


class Totals(Model):
    params: int = Field(description="Trainable parameters (BatchNorm running statistics excluded).")
    madds: int = Field(description="Multiply-adds, batch included.")
    mac: int = Field(description="MAC (memory access cost) in elements.")
    mac_bytes: int = Field(description="MAC in bytes at float32.")
    elementwise: int = Field(description="Elements produced by elementwise ops.")


class Graph(Model):
    """The analysis of a module on an input shape: its ops, the tensors between them, their counts."""
    input_shape: Shape
    output_shape: Shape
    output_node: str
    nodes: list[Node]
    edges: list[Edge]
    permutations: list[Permutation]
    totals: Totals


class LessonReference(Model):
    """What a lesson's sentences compare the block with, and its totals."""
    label: str = Field(description="How the page names it: `groups=1`, `deployed form`, `3x3 standard conv`.")
    config: dict[str, ConfigValue] | None = Field(
        description="Its configuration when it is another block (the same kind at g = 1, a standard "
                    "convolution); null for the block's own deploy-time form.")
    same: bool = Field(description="The block on screen is the reference itself (e.g. it is at g = 1).")
    totals: Totals


class Lesson(Model):
    """What the block teaches (blockscope/lessons.py), in sentences filled in from this analysis."""
    claim: str = Field(description="The claim the block teaches, in one sentence.")
    source: str = Field(description="Where the claim comes from (paper and section).")
    sentences: list[str] = Field(description="The lesson with this configuration's numbers; every "
                                             "direction word (rose, fell, unchanged) computed from them.")
    reference: LessonReference | None = Field(description="What the sentences compare with; null when "
                                                          "they describe the block alone.")


class Analysis(Graph):
    """A block kind's graph at one configuration (every parameter filled in)."""
    kind: str
    config: dict[str, ConfigValue]
    lesson: Lesson | None = Field(None, description="The kind's lesson at this configuration (null for "
                                                    "the deploy-time form in a reparameterization report).")


# --- the block catalogue ---------------------------------------------------------------------------

class ParamSchema(Model):
    name: str
    type: Literal["integer", "boolean", "string"]
    default: ConfigValue
    min: int | None
    max: int | None
    choices: list[ConfigValue] | None
    help: str


class Preset(Model):
    """A published setting of a block (a row of a paper's table)."""
    label: str
    values: dict[str, ConfigValue]
    source: str


class BlockSchema(Model):
    kind: str
    title: str
    paper: str
    summary: str
    formula: str
    group_param: str | None = Field(description="The parameter a group-count slider or sweep moves.")
    params: list[ParamSchema]
    views: list[str] = Field(description="The page views that mean something for this kind, in page order.")
    group_divides: dict[str, int] = Field(
        description="The group count must divide each of these channel parameters divided by the factor "
                    "given (ShuffleNet V1's out_channels: 4, its bottleneck being out_channels / 4).")
    widen: list[str] = Field(description="The channel parameters that widen with the group count when "
                                         "multiply-adds are held fixed (ShuffleNet V2's G2); empty: none.")
    presets: list[Preset] = Field(description="Published settings, one click each.")


class ShufflePermutation(Model):
    channels: int
    groups: int
    permutation: list[int]
    inverse: list[int]


class SweepPoint(Model):
    g: int
    params: int
    madds: int
    mac: int
    elementwise: int
    channels: dict[str, int] | None = Field(None, description="The widened channels (fixed multiply-adds).")
    madds_deviation: float | None = Field(None, description="madds / target_madds - 1 (fixed multiply-adds).")


class FixedMadds(Model):
    target_madds: int
    points: list[SweepPoint]
    reference: dict[str, int] | None = Field(None, description="The channels at g = 1 whose multiply-adds "
                                                               "are held (target_madds).")
    tolerance: float | None = Field(None, description="Largest |madds_deviation| of a point.")


class FixedMaddsSeries(FixedMadds):
    """The group counts at which multiply-adds can be held near a g = 1 block's."""
    kind: str
    param: str


class Sweep(Model):
    kind: str
    param: str
    current: int
    config: dict[str, ConfigValue]
    fixed_channels: list[SweepPoint]
    fixed_madds: FixedMadds


# --- measured latency ------------------------------------------------------------------------------

class Timing(Model):
    median_us: float
    p25_us: float
    p75_us: float


class Quality(Model):
    """How far to trust a measured figure (docs/numbers.md, "Measured latency")."""
    disturbed: bool = Field(description="Other work used the measuring cores, or the samples spread "
                                        "widely: the figure may be too high.")
    other_cpu_share: float | None = Field(description="Share of the measuring cores' time that other "
                                                      "processes used while measuring (None: unknown).")
    spread: float = Field(description="Interquartile range of the end-to-end samples over their median.")
    ci95_us: list[float] = Field(description="95% interval of the end-to-end median (bootstrap).")
    attempts: int = Field(description="Measurements taken: a disturbed one is repeated within the budget.")


# --- the roofline (docs/numbers.md, "Roofline") ----------------------------------------------------

class Interval(Model):
    """A measured ceiling: the median of its samples and the 95% interval of that median."""
    value: float
    ci95: list[float] = Field(description="95% interval of the median (bootstrap over samples).")


class Bandwidth(Model):
    """Memory bandwidth measured with working sets of one size (a copy: bytes read plus written)."""
    working_set_bytes: int
    gbs: float = Field(description="Bytes read plus written per second, in GB/s (10^9), the call's fixed "
                                   "cost taken out.")
    ci95: list[float]
    level: str = Field(description="Where a working set of this size lives: L1, L2, L3 or DRAM (from the "
                                   "cache sizes the system reports; 'memory' on a GPU).")


class TheoreticalPeak(Model):
    """The peak the datasheet arithmetic gives: cores x vector lanes x 2 (FMA) x FMA units x clock."""
    gflops: float
    cores: int
    lanes: int = Field(description="float32 lanes of the widest vector unit the CPU reports (AVX-512: 16).")
    fma_units: int
    ghz: float
    assumed: list[str] = Field(description="The factors that could not be read from the system and were "
                                           "assumed (named), so the figure is only as good as they are.")


class DeviceCeilings(Model):
    """One device's measured ceilings at one thread count (the roofs of the roofline)."""
    device: str
    device_label: str
    threads: int | None
    compute_gflops: Interval = Field(description="Peak fp32 rate of a large matrix multiply, GFLOP/s.")
    family_gflops: dict[str, Interval] = Field(
        description="Peak rates of the op families the blocks use where they differ from the matrix "
                    "multiply's (conv2d: a dense 3x3 convolution), GFLOP/s.")
    bandwidth_gbs: list[Bandwidth] = Field(description="Bandwidth by working-set size, smallest first.")
    call_overhead_us: Interval = Field(description="The fixed cost of one op call (a ReLU on one element).")
    ridge_flop_per_byte: float = Field(description="The compute roof (the highest of compute_gflops and "
                                                   "family_gflops) over the largest working set's "
                                                   "bandwidth: the intensity where DRAM-bound turns "
                                                   "compute-bound.")
    theoretical: TheoreticalPeak | None = Field(description="The datasheet peak, where it can be read.")
    measured_at: str
    torch: str
    method: str = Field(description="How each ceiling was measured, in words.")
    quality: Quality
    age_s: float = Field(description="Seconds since they were measured.")
    stale: bool = Field(description="Older than the settings allow, or measured with another torch: "
                                    "measured again on the next request that may wait for it.")


class MachineReport(Model):
    """This server's measured ceilings, per device and thread count."""
    machine: str
    devices: list[DeviceCeilings]


class Reorder(Model):
    """A layout conversion the library ran around a node (oneDNN's verbose log)."""
    tensor: str = Field(description="What was converted: 'input', 'output' or 'weights'.")
    shape: str
    src_layout: str
    dst_layout: str
    time_us: float = Field(description="Its time in the one profiled call (oneDNN's own clock).")


class KernelInfo(Model):
    """What actually ran for a node, from one profiled call after the timed ones."""
    aten: list[str] = Field(description="The ATen ops that did the work, outermost first, e.g. "
                                        "aten::conv2d ... aten::mkldnn_convolution.")
    impl: str | None = Field(description="The library's implementation: oneDNN's (jit:avx512_core, "
                                         "brg_conv_fwd:avx2, ref, ...) or the GPU kernel names.")
    layout: str | None = Field(description="The activation layout the kernel computed in (oneDNN: "
                                           "abcd is NCHW, aBcd16b blocks channels by 16).")
    reorders: list[Reorder]
    reorder_us: float = Field(description="Sum of the reorders' times.")
    effective_channels: dict[str, int] | None = Field(
        description="Channels as the blocked layout computes them (in, out), when padding adds some.")
    effective_madds: int | None = Field(description="Multiply-adds at the effective channels.")
    effective_bytes: int | None = Field(description="Bytes at the effective channels.")


class Roofline(Model):
    """A node (or a whole forward pass) placed on the device's roofline."""
    flops: int = Field(description="2 x multiply-adds plus the elementwise work.")
    bytes: int = Field(description="MAC x the element size (4 at float32).")
    intensity: float = Field(description="flops / bytes, FLOP per byte.")
    achieved_gflops: float = Field(description="flops over the median time, GFLOP/s.")
    achieved_gflops_ci: list[float] = Field(description="flops over the 75th and 25th percentile times.")
    achieved_gbs: float = Field(description="bytes over the median time, GB/s.")
    roof_gbs: float = Field(description="The bandwidth roof used: the one measured at this working set.")
    level: str = Field(description="Where this working set lives (L1, L2, L3, DRAM).")
    attainable_gflops: float = Field(description="min(compute peak, intensity x roof_gbs).")
    fraction_of_roof: float = Field(description="achieved_gflops / attainable_gflops.")
    roof_time_us: float = Field(description="max(flops / compute peak, bytes / roof_gbs): the time the "
                                            "roofs allow.")
    bound: Literal["compute", "memory", "overhead"] = Field(
        description="overhead when the call's fixed cost is at least the roof time; otherwise memory "
                    "when intensity is below the ridge at this working set, else compute.")
    kernel: KernelInfo | None = None


class NodeTiming(Timing):
    id: str
    op: str
    share: float = Field(description="This op's median over the sum of every op's median.")
    kernel: KernelInfo | None = Field(None, description="What ran (measured with per-node timing).")
    roofline: Roofline | None = Field(None, description="The node on the device's roofline.")


class Device(Model):
    name: str
    label: str
    threads: int | None = None
    max_threads: int | None = None
    memory: int | None = None


class Speedup(Model):
    """The speed of one form over another, timed in alternating rounds."""
    of: list[str] = Field(description="The two forms compared: value = median(of[0]) / median(of[1]).")
    value: float | None
    ci95: list[float | None] = Field(description="95% interval of the ratio (bootstrap over rounds); "
                                                 "None for a side with no bound.")
    measurable: bool = Field(description="False when the interval contains 1: no measurable difference.")


class DeviceQueue(Model):
    jobs: int = Field(description="Measurements queued or running.")
    waiting: int = Field(description="Requests waiting for them (identical requests share one).")
    expected_wait_s: float = Field(description="Estimated seconds until the device is free.")


class MeasuringState(Model):
    """The measuring process: its id, the memory its running jobs hold, and each device's queue."""
    pid: int
    memory_in_use: int = Field(description="Bytes of weights and activations held by running jobs.")
    devices: dict[str, DeviceQueue]


MACHINE = Field(description="The server that measured (BLOCKSCOPE_MACHINE_NAME, else its host name).")


class TimedOnDevice(Model):
    """One end-to-end timing of a module on one device, and how far to trust it."""
    machine: str = MACHINE
    device: str
    device_label: str
    torch: str
    threads: int | None
    cores: list[int] | None = Field(None, description="The CPU cores the measuring process ran on.")
    dtype: str
    warmup: int
    repeats: int
    samples: int = Field(description="End-to-end samples taken (the figures are their median and "
                                     "quartiles).")
    total: Timing
    quality: Quality
    cached: bool
    load_average: float | None
    measured_at: str
    duration_s: float


class RooflineSummary(Model):
    """The whole forward pass on the roofline, the roofs it was placed against, and what they say."""
    whole: Roofline
    ceilings: DeviceCeilings
    by_bound: dict[str, float] = Field(description="Share of the node time per bound.")
    sentences: list[str] = Field(description="Which node dominates and why, computed from these figures.")


class Measurement(TimedOnDevice):
    """Latency of a module on one device: end to end and, when asked, op by op."""
    nodes: list[NodeTiming] | None = None
    sum_of_nodes_us: float | None = None
    share_by_op: dict[str, float] | None = None
    roofline: RooflineSummary | None = Field(None, description="With per-node timing: the pass and its "
                                                               "nodes on the device's roofline.")


class LatencyReport(Measurement):
    kind: str
    config: dict[str, ConfigValue]


# --- reparameterization ----------------------------------------------------------------------------

class KernelPart(Model):
    weight: list[list[list[list[float]]]]
    bias: list[float]


class KernelSlice(Model):
    out_channels: list[int]
    in_channels_per_group: list[int]


class KernelView(Model):
    """RepVGG's merged 3x3 kernel and each branch's share of it (a slice of large blocks)."""
    shape: list[int]
    groups: int
    slice: KernelSlice
    truncated: bool
    fused: KernelPart
    branches: dict[str, KernelPart | None]


class ReparamLatency(Model):
    before: LatencyReport
    after: LatencyReport
    speedup: float | None = Field(description="before's median over after's.")
    comparison: Speedup = Field(description="The speedup with its 95% interval (forms timed in rounds).")


class ReparamReport(Model):
    kind: str
    config: dict[str, ConfigValue]
    before: Analysis
    after: Analysis
    fused: list[str]
    # "checked": both forms were run on a seeded input (max_abs_diff and the kernel are known);
    # "pending": the forms are known from the meta device, and /reparam/equivalence runs the check
    equivalence: Literal["checked", "pending"] = "checked"
    max_abs_diff: float | None
    kernel: KernelView | None
    latency: ReparamLatency | None = None


class ReparamEquivalence(Model):
    """Both forms run on one seeded input by the measuring process: the proof that they agree."""
    kind: str
    config: dict[str, ConfigValue]
    max_abs_diff: float
    fused: list[str]
    kernel: KernelView | None


# --- the guideline lab -----------------------------------------------------------------------------

class LastGuidelineMeasurement(Model):
    """The last measured report of one experiment with these settings, or null when there is none."""
    guideline: str
    report: "GuidelineReport | None"


class GuidelineSummary(Model):
    name: str
    title: str
    rule: str
    table: str
    rows: list[str]


class UnitNode(Model):
    id: str
    op: str
    label: str
    output_shape: Shape
    attrs: dict[str, Any]


class UnitEdge(Model):
    source: str
    target: str


class UnitDiagram(Model):
    nodes: list[UnitNode]
    edges: list[UnitEdge]


class PaperFigures(Model):
    gpu: float | None
    arm: float | None
    gpu_unit: str
    arm_unit: str
    arm_config: dict[str, int] | None


class RowMeasurement(Timing):
    quality: Quality
    nodes: list[NodeTiming] | None = Field(None, description="Every op of the row's network timed alone, "
                                                             "with its kernel and its roofline dot "
                                                             "(null: timed end to end only).")
    roofline: RooflineSummary | None = Field(None, description="The row's network on the device's roofline.")
    batches_per_s: float
    images_per_s: float
    machine: str = MACHINE
    device: str
    device_label: str
    threads: int | None
    warmup: int
    repeats: int
    cached: bool
    measured_at: str


class RelativeSpeed(Model):
    measured: float | None
    paper_gpu: float | None
    paper_arm: float | None


class GuidelineRow(Model):
    label: str
    config: dict[str, ConfigValue]
    input_shape: Shape
    params: int
    madds: int
    mac: int
    mac_bytes: int
    elementwise: int
    unit: UnitDiagram
    measured: RowMeasurement | None
    paper: PaperFigures
    mac_lower_bound: float | None = Field(description="The smallest MAC these multiply-adds allow (G1).")
    relative_speed: RelativeSpeed


class ReversedPair(Model):
    paper_faster: str
    measured_faster: str
    by: float = Field(description="How much faster the measured winner is, as a fraction.")
    within_noise: bool = Field(description="The 95% intervals of the two medians overlap: not a reversal "
                                           "this measurement can tell.")


class ClosePair(Model):
    """Two rows whose medians' 95% intervals overlap: their order is not known here."""
    paper_faster: str
    paper_slower: str


GuidelineVerdict = Literal["reproduced", "not_reproduced", "too_noisy"]


class Ordering(Model):
    """Whether this server ranks the rows as the paper's GPU figures do, pair by pair (data only:
    the page words it)."""
    reference: Literal["paper_gpu"]
    paper: list[str] | None = Field(description="Row labels, fastest first, by the paper's figures.")
    measured: list[str] | None = Field(description="Row labels, fastest first, as measured here.")
    pairs: int
    agreeing_pairs: int
    reversed: list[ReversedPair]
    reproduces: bool | None = Field(description="True for `reproduced`, false for `not_reproduced`, "
                                                "else None.")
    verdict: GuidelineVerdict | None = Field(
        None, description="`reproduced`: every pair in the paper's order with separate 95% intervals; "
                          "`not_reproduced`: some pair reversed with separate intervals; `too_noisy`: a row "
                          "measured while disturbed, or no clear reversal but some pair too close to call. "
                          "None when not measured or the paper has no figures.")
    disturbed: list[str] = Field(default_factory=list, description="Rows measured while disturbed.")
    close: list[ClosePair] = Field(default_factory=list, description="Pairs whose 95% intervals overlap.")


class StoredGuideline(Model):
    """What this server keeps as the experiment's last measurement once this run is done."""
    replaced: bool = Field(description="This run became the stored result. False: it was disturbed or too "
                                       "noisy to judge, and a clean earlier run stays stored.")
    measured_at: str = Field(description="When the stored result was measured.")
    verdict: GuidelineVerdict | None = Field(description="The stored result's verdict.")


class GuidelineReport(Model):
    guideline: str
    title: str
    rule: str
    paper: str
    table: str
    height: int
    width: int
    depth: int
    width_multiplier: int
    batch: int
    device: str
    device_label: str
    threads: int | None
    measured: bool
    decisions: list[str]
    paper_notes: list[str]
    derivation: str | None
    units: dict[str, str]
    madds_spread: float = Field(description="Largest over smallest row multiply-adds, minus one.")
    rows: list[GuidelineRow]
    ordering: Ordering
    stored: StoredGuideline | None = Field(None, description="Only with measure=true: whether this run "
                                                             "replaced the stored last measurement.")
    explanation: list[str] = Field(default_factory=list, description="Why the rows' times come out as "
                                                                     "they do, from their ops' roofline "
                                                                     "dots: which ops dominate, what "
                                                                     "ran, which bound (measured rows).")


class G2Point(Model):
    groups: int
    channels: int
    madds: int
    mac: int
    madds_deviation: float


class G2Sweep(Model):
    guideline: Literal["g2"]
    channels: int
    batch: int
    groups: int
    height: int
    width: int
    depth: int
    hw: int
    target_madds: int
    formula: str
    selected: G2Point
    points: list[G2Point]


class Health(Model):
    status: Literal["ok"]


# --- whole networks --------------------------------------------------------------------------------

class Counts(Model):
    params: int
    madds: int = Field(description="Multiply-adds, batch included.")
    mac: int = Field(description="MAC (memory access cost) in elements.")
    elementwise: int


class Share(Model):
    """A row's part of the network's total, per count (0 to 1)."""
    params: float
    madds: float
    mac: float


class BlockLink(Model):
    """The explorer block that shows one unit: `/api/blocks/{kind}?<config>` (and `/blocks/{kind}?...`)."""
    kind: str
    config: dict[str, ConfigValue] = Field(description="Every block parameter, with the batch, height and "
                                                       "width of the unit's input.")
    same_counts: bool = Field(description="Whether that analysis gives exactly this unit's counts.")
    note: str | None = Field(description="How the linked block differs from this unit, if at all.")


class NetworkUnit(Counts):
    """`count` identical units of a row; the counts are those of one of them."""
    block: str = Field(description="A block kind of /api/blocks, or a plain layer (conv_bn_act, max_pool, "
                                   "global_avg_pool, linear).")
    title: str
    config: dict[str, ConfigValue | float | None] = Field(description="The unit's constructor arguments.")
    count: int
    input_shape: Shape
    output_shape: Shape
    link: BlockLink | None = Field(description="The explorer block to open for it; null for a plain layer "
                                               "the explorer has no block for (pooling, classifier).")


class RowLatency(Model):
    """A row's part of a measured network: its ops, each timed alone, summed."""
    measured_us: float = Field(description="Sum of the medians of the row's ops, each timed alone on the "
                                           "inputs it received in one real pass.")
    share: float = Field(description="measured_us over the sum of every op's median (the rows sum to 1).")
    roofline: Roofline | None = Field(None, description="The row's ops together on the device's roofline: "
                                                        "their summed counts in measured_us.")


class SumVersusWhole(Model):
    """The ops timed alone, summed, against the whole network end to end: judged only from clean data."""
    ratio: float = Field(description="sum_of_nodes_us over the end-to-end median.")
    sum_band_us: list[float] = Field(description="Every op's p25 summed and every op's p75 summed: a band "
                                                 "around the sum, wider than its 95% interval.")
    verdict: Literal["sum_more", "sum_less", "too_noisy"] = Field(
        description="`too_noisy` when the end-to-end figure is disturbed or the band overlaps its 95% "
                    "interval; else which is larger.")


class NetworkMeasurement(TimedOnDevice):
    """The whole network timed on this server (docs/networks.md, "Measured latency"); `total` is the
    whole network end to end, `quality` how far to trust it."""
    sum_of_nodes_us: float = Field(description="Sum of every op's median, each op timed alone: what the "
                                               "rows' `measured_us` add up to.")
    sum_versus_whole: SumVersusWhole | None = Field(None, description="The sum against the whole, judged.")
    roofline: RooflineSummary | None = Field(None, description="The network and its ops on the device's "
                                                               "roofline (null: no ceilings here).")


class NetworkRow(Counts):
    """One line of the paper's table, with the counts of all its units together."""
    index: int
    stage: str
    layer: str | None
    operator: str
    kernel: str | None
    expansion: int | None = Field(description="MobileNet V2's t or MobileNet V3's exp size.")
    out_channels: int | None
    se: bool | None
    nl: str | None = Field(description="Nonlinearity as the paper writes it (RE, HS, ReLU6).")
    stride: int | None
    repeats: int
    input_shape: Shape
    output_shape: Shape
    share: Share
    units: list[NetworkUnit]
    measured: RowLatency | None = Field(None, description="Only with measure=true.")


class NetworkColumn(Model):
    field: str = Field(description="The row field the column shows (input and output are shapes).")
    heading: str = Field(description="The column's heading in the paper's table.")


class PublishedFigures(Model):
    params: int | None
    madds: int | None
    source: str
    form: Literal["train", "deploy"] = Field(description="The form the figures describe.")
    params_exact: bool = Field(description="`params` is an exact count (torchvision's), not a paper's "
                                           "rounded figure.")


class NetworkSummary(Model):
    name: str
    title: str
    family: str
    paper: str
    table: str
    summary: str
    input_size: int
    classes: int
    published: PublishedFigures
    totals: Totals | None = Field(description="At input_size x input_size, batch 1 (null when the server's "
                                              "limits refuse that size).")


class NetworkAnalysis(Model):
    """A whole network as its paper's table, every row counted and linked to its blocks."""
    name: str
    title: str
    family: str
    paper: str
    table: str
    summary: str
    columns: list[NetworkColumn]
    notes: list[str]
    published: PublishedFigures
    batch: int
    height: int
    width: int
    input_shape: Shape
    output_shape: Shape
    totals: Totals
    stages: list[str]
    rows: list[NetworkRow]
    measured: NetworkMeasurement | None = Field(None, description="Only with measure=true: the network "
                                                                  "timed on this server.")


class RowForms(Model):
    index: int
    before: Counts
    after: Counts


class Equivalence(Model):
    """The two forms run on one random input with randomised BatchNorm statistics."""
    input_shape: Shape
    seed: int
    max_abs_diff: float
    max_rel_diff: float = Field(description="max |y_train - y_deploy| over max |y_train|.")


class NetworkFormsLatency(Model):
    """The training-time and deployed networks timed end to end in alternating rounds."""
    before: Measurement
    after: Measurement
    comparison: Speedup = Field(description="before's median over after's, with its 95% interval.")


class NetworkReparam(Model):
    """A network's training-time form against its deployed form (every Conv+BN folded, RepVGG's
    branches merged)."""
    name: str
    batch: int
    height: int
    width: int
    before: Totals
    after: Totals
    fused: int = Field(description="How many merges were made (Conv+BN folds and RepVGG branch merges).")
    rows: list[RowForms]
    equivalence: Equivalence | None = Field(description="Only with equivalence=true, on a small input.")
    latency: NetworkFormsLatency | None = Field(None, description="Only with measure=true: both forms "
                                                                 "timed end to end, in rounds.")



# --- int8 quantization (ONNX Runtime) -------------------------------------------------------------

class QuantParams(Model):
    scale: float = Field(description="Real value of one integer step.")
    zero_point: int = Field(description="The integer that stands for 0.0.")
    dtype: str = Field(description="The 8-bit integer type (uint8: codes 0 to 255).")
    range: list[float] = Field(description="The real values the codes span: scale · (code − zero_point).")


class PaperClaim(Model):
    source: str
    claim: str = Field(description="What the paper says, in our words.")


class QuantEngine(Model):
    device: str
    available: bool
    engine: str = Field(description="The runtime that quantizes and runs the int8 forms.")
    provider: str | None = Field(description="Its execution provider on this device (None: none here).")
    reason: str | None = Field(None, description="Why int8 cannot run on this device, where it cannot.")


class QuantTiming(Model):
    """One form (float32 or int8) timed end to end in ONNX Runtime, in rounds with the other forms."""
    machine: str = MACHINE
    device: str
    threads: int | None
    cores: list[int] | None = None
    warmup: int
    repeats: int
    samples: int
    total: Timing
    quality: Quality
    cached: bool
    load_average: float | None
    measured_at: str
    duration_s: float


class ActivationCurve(Model):
    x: list[float] = Field(description="Inputs over the input's representable range, 8 per integer step.")
    float32: list[float] = Field(description="The float32 function at x.")
    int8: list[float] = Field(description="The 8-bit integer function at x: x quantized, the engine's "
                                          "integer output, dequantized.")


class ActivationQuant(Model):
    name: str
    title: str
    output: QuantParams
    ops: list[str] = Field(description="The graph ONNX Runtime really runs, after its optimizer.")
    integer_kernels: list[str]
    float_ops: list[str] = Field(description="Ops that compute in float between dequantize and quantize.")
    native: bool = Field(description="True when the function runs on integer kernels only.")
    closed_form_share: float = Field(description="Share of the 256 input codes where the engine's output "
                                                 "equals the closed form (docs/quantization.md).")
    max_error_steps: float = Field(description="Largest |int8 − float32| over the input range, in output "
                                               "steps.")
    mean_error_steps: float
    bound_steps: float = Field(description="The stated bound on that error, in output steps.")
    curve: ActivationCurve
    table: list[int] = Field(description="The integer output for every input code, in order.")
    latency: dict[str, QuantTiming] | None = Field(None, description="`float32` and `int8`, when measured.")
    int8_speedup: Speedup | None = Field(None, description="float32 median over int8 median: above 1, "
                                                           "int8 is faster.")


QuantSpeedVerdict = Literal["agrees", "disagrees", "too_noisy"]


class QuantVerdict(Model):
    """The paper's claim held against this server's measurement."""
    hard: str
    smooth: str
    speedup: Speedup | None = Field(description="int8 smooth median over int8 hard median: above 1, the hard "
                                                "function is faster.")
    speed: QuantSpeedVerdict | None = Field(
        description="`agrees` or `disagrees` only from clean data (neither int8 timing disturbed, the "
                    "ratio's 95% interval excludes 1); else `too_noisy`. None when not measured.")
    hard_error_steps: list[float] = Field(description="The hard function's max and mean error, output steps.")
    smooth_error_steps: list[float]
    error: Literal["agrees", "disagrees", "mixed"] = Field(
        description="`agrees` when the hard function's error is at most the smooth one's in both mean and "
                    "maximum, `disagrees` when in neither, `mixed` when in one (`error_statistics` says "
                    "which).")
    error_statistics: dict[str, bool] = Field(
        default_factory=dict, description="`mean` and `max`: whether the hard function's error is at most "
                                          "the smooth one's by that statistic.")
    hard_native: bool
    smooth_native: bool
    text: str


class ActivationQuantReport(Model):
    device: str
    engine: QuantEngine
    engines: list[QuantEngine] = Field(description="Every device this server measures on.")
    bits: int
    input: QuantParams
    size: int
    measured: bool
    activations: list[ActivationQuant]
    verdicts: list[QuantVerdict]
    paper: PaperClaim


QuantNodeClass = Literal["integer", "convert", "layout", "float"]


class QuantNode(Model):
    """One node of a graph as ONNX Runtime ran it, from its profiler (docs/quantization.md, "Node by
    node")."""
    model_config = ConfigDict(frozen=True, populate_by_name=True)
    name: str = Field(description="The node's name in the optimized graph.")
    op_type: str
    node_class: QuantNodeClass = Field(
        alias="class", description="`integer`: computes on 8-bit integers (QLinearConv, QLinearMul, ...); "
                                   "`convert`: QuantizeLinear, DequantizeLinear or DynamicQuantizeLinear; "
                                   "`layout`: only moves data (Transpose, ReorderInput, ...); `float`: "
                                   "computes in float, which in the int8 graph is a fallback.")
    provider: str | None = Field(description="The execution provider that ran it.")
    median_us: float = Field(description="Median of its durations over the profiled runs, µs.")
    share: float = Field(description="median_us over the sum of every node's median_us.")


class QuantProfile(Model):
    """One form of a block (float32 or int8) node by node: ONNX Runtime's profiler, run after the
    timed rounds in a session of its own."""
    form: Literal["float32", "int8"]
    runs: int = Field(description="Profiled runs the medians are taken over (after a warm one).")
    sum_us: float = Field(description="Sum of the nodes' medians, µs.")
    nodes: list[QuantNode] = Field(description="In the order they ran.")
    us_by_class: dict[str, float] = Field(description="Sum of the nodes' medians per class, µs.")
    share_by_class: dict[str, float] = Field(description="us_by_class over sum_us (they add up to 1).")
    count_by_class: dict[str, int]


class QuantBlockProfile(Model):
    """A variant's float32 and int8 graphs, profiled node by node."""
    float32: QuantProfile
    int8: QuantProfile


class QuantBlockVariant(Model):
    name: str = Field(description="`hard` (hard-swish, hard-sigmoid) or `smooth` (swish, sigmoid).")
    activations: list[str]
    configured: bool = Field(description="True for the variant that is the block as configured.")
    max_abs_error: float = Field(description="Largest |int8 − float32| of the output on the seeded input.")
    rel_error: float = Field(description="max_abs_error over the largest |float32 output|.")
    rms_rel_error: float
    float_engine_vs_pytorch: float = Field(description="The float32 ONNX model against PyTorch (max |diff|).")
    integer_kernels: dict[str, int]
    float_ops: dict[str, int]
    native: bool
    latency: dict[str, QuantTiming] | None = None
    int8_speedup: Speedup | None = None
    profile: QuantBlockProfile | None = Field(
        None, description="With measure=true: both graphs node by node (None for a block too slow to "
                          "profile).")
    int8_text: str | None = Field(None, description="Whether int8 is faster than float32 here and why, "
                                                    "in words from the timings and the profile; no "
                                                    "direction unless the timings are clean and the "
                                                    "speedup's 95% interval excludes 1.")


class BlockQuantReport(Model):
    kind: str
    config: dict[str, ConfigValue]
    device: str
    engine: QuantEngine
    engines: list[QuantEngine]
    scheme: str
    calibration: int
    input_shape: list[int]
    measured: bool
    variants: list[QuantBlockVariant]
    hard_over_smooth: Speedup | None = Field(None, description="int8 smooth median over int8 hard median.")
    speed: QuantSpeedVerdict | None = Field(None, description="The paper's claim (hard faster in int8), "
                                                              "judged as QuantVerdict.speed is.")
    paper: PaperClaim


# --- comparison (/api/compare) ---------------------------------------------------------------------

class CompareSide(Model):
    """One side of a comparison: a block kind (as trained or deployed) or a whole network."""
    side: Literal["a", "b"]
    kind: str = Field(description="A block kind of /api/blocks, or `network:NAME` for a whole network.")
    title: str
    form: Literal["train", "deployed"] = Field(description="`deployed`: the block with its BatchNorms folded "
                                                           "and its branches merged (kinds with a "
                                                           "reparameterization only).")
    config: dict[str, ConfigValue] = Field(description="Every parameter of the side, defaults filled in.")
    query: dict[str, ConfigValue] = Field(description="The side's query parameters, without prefix, that "
                                                      "differ from the defaults (plus `form` when deployed).")
    input_shape: Shape
    analysis: Analysis | None = Field(description="A block's analysis, as /api/blocks/{kind} answers it "
                                                  "(the deployed form's for `form=deployed`).")
    network: NetworkAnalysis | None = Field(description="A network's analysis, as /api/networks/{name} "
                                                        "answers it.")
    graph: Graph | None = Field(description="A network's op graph, node by node (a block's is its "
                                            "`analysis`).")


class TotalDiff(Model):
    """One total on both sides: delta = b - a, ratio = a / b (null when b is 0)."""
    a: int
    b: int
    delta: int
    ratio: float | None


class NodePair(Model):
    """Two nodes that play the same part (the same id, or the same op in data-flow order), or a node
    of one side only (the other is null)."""
    a: str | None
    b: str | None
    op_a: str | None
    op_b: str | None
    match: Literal["name", "role"] | None = Field(description="`name`: the same node id on both sides; "
                                                              "`role`: the same op, in data-flow order; "
                                                              "null: one side only.")
    counts: dict[str, TotalDiff | None] = Field(description="params, madds, mac and elementwise of the pair "
                                                            "(a node of one side only: its counts, 0 on the "
                                                            "other side).")
    latency_us: dict[str, float | None] | None = Field(None, description="With measure=true: each node's "
                                                                        "median, timed alone (µs).")


class CompareLatency(Model):
    """Both sides timed by the measuring process in one job, in alternating rounds."""
    a: Measurement
    b: Measurement
    ratio: float | None = Field(description="a's median over b's: above 1, b is faster.")
    ratio_ci95: list[float | None] = Field(description="95% interval of the ratio (bootstrap over rounds).")
    measurable: bool = Field(description="False when the interval holds 1: no measurable difference.")
    disturbed: bool = Field(description="Either side's figure was disturbed: no verdict is drawn.")
    per_node: bool = Field(description="Every op was also timed alone (false: timing them too would have "
                                       "overrun the time budget, so both sides were timed end to end only).")
    comparison: Speedup
    sentence: str = Field(description="What was measured, in words, from these figures.")


class PresetCheck(Model):
    """A claim about counts, held against the two analyses."""
    metric: str
    ratio: float | None = Field(description="a / b of that total.")
    low: float
    high: float
    holds: bool
    sentence: str


class ComparePresetInfo(Model):
    """One of the course's comparisons: the two sides, the claim they test and its source."""
    name: str
    title: str
    source: str
    claim: str
    query: dict[str, ConfigValue] = Field(description="The /api/compare (and /compare) query of the preset.")
    expect: Literal["a_faster", "b_faster", "same"] | None = Field(
        description="What the claim says about speed on its hardware, if anything.")


class ComparePreset(ComparePresetInfo):
    """The preset the two sides match: the claim, and what this server computed and measured."""
    checks: list[PresetCheck]
    counted: str = Field(description="The counts against the claim, in words.")
    measured: str | None = Field(description="The measurement against the claim, in words (null unless "
                                             "measured).")


class Comparison(Model):
    """Two blocks (or networks) side by side: both analyses, every total's difference, the nodes
    paired, and with measure=true both timed in one job."""
    a: CompareSide
    b: CompareSide
    diff: dict[str, TotalDiff] = Field(description="params, madds, mac, mac_bytes, elementwise, weights "
                                                   "(MAC of the weights) and activations (MAC of the feature "
                                                   "maps).")
    pairs: list[NodePair]
    sentences: list[str] = Field(description="The totals from a to b, in words computed from the numbers.")
    same_input: bool = Field(description="Both sides read an input of the same shape.")
    preset: ComparePreset | None = Field(None, description="The course preset these two sides are, if any.")
    latency: CompareLatency | None = Field(None, description="Only with measure=true.")
