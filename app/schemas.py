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

class Position(Model):
    """Where a diagram draws a node: `y` is the longest path from the input, `x` spreads a layer."""
    x: float
    y: int


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
    pos: Position


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


class Analysis(Graph):
    """A block kind's graph at one configuration (every parameter filled in)."""
    kind: str
    config: dict[str, ConfigValue]


# --- the block catalogue ---------------------------------------------------------------------------

class ParamSchema(Model):
    name: str
    type: Literal["integer", "boolean", "string"]
    default: ConfigValue
    min: int | None
    max: int | None
    choices: list[ConfigValue] | None
    help: str


class BlockSchema(Model):
    kind: str
    title: str
    paper: str
    summary: str
    formula: str
    group_param: str | None = Field(description="The parameter a group-count slider or sweep moves.")
    params: list[ParamSchema]


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


class FixedMadds(Model):
    target_madds: int
    points: list[SweepPoint]


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


class NodeTiming(Timing):
    id: str
    op: str
    share: float = Field(description="This op's median over the sum of every op's median.")


class Device(Model):
    name: str
    label: str
    threads: int | None = None
    max_threads: int | None = None
    memory: int | None = None


class Measurement(Model):
    """Latency of a module on one device: end to end and, when asked, op by op."""
    device: str
    device_label: str
    torch: str
    threads: int | None
    dtype: str
    warmup: int
    repeats: int
    total: Timing
    nodes: list[NodeTiming] | None = None
    sum_of_nodes_us: float | None = None
    share_by_op: dict[str, float] | None = None
    cached: bool
    load_average: float | None
    measured_at: str
    duration_s: float


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
    speedup: float | None


class ReparamReport(Model):
    kind: str
    config: dict[str, ConfigValue]
    before: Analysis
    after: Analysis
    max_abs_diff: float
    fused: list[str]
    kernel: KernelView | None
    latency: ReparamLatency | None = None


# --- the guideline lab -----------------------------------------------------------------------------

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
    pos: Position
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
    batches_per_s: float
    images_per_s: float
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
    within_noise: bool = Field(description="The two interquartile ranges overlap.")


class Ordering(Model):
    """Whether this server ranks the rows as the paper's GPU figures do, pair by pair (data only:
    the page words it)."""
    reference: Literal["paper_gpu"]
    paper: list[str] | None = Field(description="Row labels, fastest first, by the paper's figures.")
    measured: list[str] | None = Field(description="Row labels, fastest first, as measured here.")
    pairs: int
    agreeing_pairs: int
    reversed: list[ReversedPair]
    reproduces: bool | None


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
