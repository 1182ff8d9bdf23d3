"""The work the measuring process does: each job a frozen dataclass that is its own cache key and
says, in one place, which cache keeps its results, the memory it holds, how long it holds its device,
and how it runs (`run(ctx)`, returning a typed result from `results`).

A job names the modules it needs (`forms`), never carries them: the measuring process builds them
itself, runs them, and frees them. The web side fills in what it knows from the analysis (the work
of every op, for the duration estimate, and the memory the job needs), so nothing is refused after
device time was spent. The queue (`core`) runs any job through this protocol alone.

Adding a measured feature: a job class here (its fields, `store`, `estimate_s`, `run`), a service
function that builds and submits it, and a route.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

import torch

from ..analysis.estimate import OpWork, Throughput
from ..config import get_settings
from ..registry import BlockConfig, blame_size
from . import ceilings, run
from .forms import BlockForm, Form, NetworkForm
from .results import CeilingsResult, EquivalenceResult, JobResult, OnnxFile, QuantizedResult, TimingResult


class Store(NamedTuple):
    """One of the measuring process's result caches: its name, and the settings of its size and age."""
    name: str
    size_setting: str
    ttl_setting: str | None = None


MEASUREMENTS = Store("latency", "latency_cache", "latency_ttl_s")
PROOFS = Store("equivalences", "reparam_cache")
FILES = Store("exports", "onnx_cache")
CEILINGS = Store("ceilings", "latency_cache", "latency_ttl_s")  # and ceilings.json, kept for days


@dataclass(frozen=True)
class JobContext:
    """What the device's thread hands a job: the device's calibrated throughput, and the test that
    tells a job to stop (nobody waits for it any more)."""
    calibrations: run.Calibrations
    should_stop: Callable[[], bool]


class Job:
    """The protocol every job follows (a frozen dataclass deriving from this class).

    Its equality is its cache key: fields that do not change the answer (`memory_bytes`, `work`)
    are declared `compare=False`.
    """
    store: ClassVar[Store] = MEASUREMENTS
    device: str
    threads: int | None  # the CPU threads it runs with (None: the measuring process's own)
    memory_bytes: int  # real tensors held while it runs, checked against the server-wide budget

    @property
    def timed(self) -> bool:
        """Whether it times anything: a job that does not, and is short, runs ahead of measurements."""
        return False

    @property
    def label(self) -> str:
        """What the measurements log calls it."""
        return type(self).__name__

    def estimate_s(self, throughput: Throughput | None) -> float:
        """How long it should hold its device (`throughput`: the device's, None until calibrated)."""
        raise NotImplementedError

    def refuse_early(self, throughput: Throughput | None) -> None:
        """Raise InvalidParameter now, before it is queued, for what could never fit the budget."""

    def run(self, ctx: JobContext) -> JobResult:
        raise NotImplementedError


def _forward_s(work: tuple[tuple[OpWork, ...], ...], throughput: Throughput | None) -> float | None:
    """The longest estimated forward pass of the forms (None when nothing is known)."""
    if throughput is None or not work:
        return None
    return max(throughput.forward_s(w) for w in work)


@dataclass(frozen=True)
class Timing(Job):
    """Time one or more forms on one input: end to end, and with `per_node` op by op.

    Several forms are timed in rounds, each round calling every form once, so that the machine's
    ups and downs touch them alike and their ratio (e.g. a speedup) gets an honest interval.
    """
    forms: tuple[tuple[str, Form], ...]
    input_shape: tuple[int, ...]
    seed: int
    device: str
    threads: int | None
    warmup: int | None
    repeats: int | None
    per_node: bool
    work: tuple[tuple[OpWork, ...], ...] = field(compare=False)  # per form, for the estimate
    memory_bytes: int = field(compare=False, default=0)
    # what a refusal for size names (the service knows: a guideline's row names its width multiplier)
    size: tuple[str, object] | None = field(compare=False, default=None)

    @property
    def timed(self) -> bool:
        return True

    @property
    def label(self) -> str:  # several forms name themselves: "Timing(a, b in rounds)"
        names = ", ".join(name for name, _ in self.forms)
        return "Timing" if len(self.forms) == 1 else f"Timing({names} in rounds)"

    @property
    def blamed(self) -> tuple[str, object]:
        """The parameter a refusal for size names, and its value."""
        return self.size or blame_size(self.input_shape[0], ("height", self.input_shape[2]))

    def input(self) -> torch.Tensor:
        return torch.randn(list(self.input_shape), generator=torch.Generator().manual_seed(self.seed))

    def estimate_s(self, throughput: Throughput | None) -> float:
        forward = _forward_s(self.work, throughput)
        if forward is None:
            return 1.0
        return run.timing_estimate_s(self, forward)

    def refuse_early(self, throughput: Throughput | None) -> None:
        forward = _forward_s(self.work, throughput)
        if forward is not None:
            run.refuse_over_budget(self, forward, run.ESTIMATE_SLACK)

    def run(self, ctx: JobContext) -> TimingResult:
        return run.run_timing(self, ctx.calibrations, ctx.should_stop)


@dataclass(frozen=True)
class Equivalence(Job):
    """Deploy a form (a block, or a whole network) and check it: both forms run on a seeded input,
    the largest difference of their outputs, what was fused into what, and for a block with
    branches (RepVGG) the merged kernel. The deployed form's graph is the web side's, from the meta
    device."""
    store: ClassVar[Store] = PROOFS
    form: BlockForm | NetworkForm
    input_shape: tuple[int, ...]
    seed: int
    memory_bytes: int = field(compare=False, default=0)
    device: str = "cpu"
    threads: int | None = None
    work: tuple[tuple[OpWork, ...], ...] = field(compare=False, default=())

    def estimate_s(self, throughput: Throughput | None) -> float:
        forward = _forward_s(self.work, throughput)
        return 1.0 if forward is None else forward * 4

    def run(self, ctx: JobContext) -> EquivalenceResult:
        return run.run_equivalence(self, ctx.should_stop)


@dataclass(frozen=True)
class Export(Job):
    """Build a form and export it to ONNX with the input fixed at `input_shape`: the file.

    The exporter traces the module on fake tensors (nothing is computed on an input), so its time
    grows with the number of ops, not with the input's size.
    """
    store: ClassVar[Store] = FILES
    form: Form
    input_shape: tuple[int, ...]
    filename: str = field(compare=False, default="model.onnx")  # follows from the form and shape
    memory_bytes: int = field(compare=False, default=0)
    device: str = "cpu"
    threads: int | None = None
    work: tuple[tuple[OpWork, ...], ...] = field(compare=False, default=())

    def estimate_s(self, throughput: Throughput | None) -> float:
        return run.EXPORT_BASE_S + run.EXPORT_OP_S * sum(len(w) for w in self.work)

    def run(self, ctx: JobContext) -> OnnxFile:
        return run.run_export(self, ctx.should_stop)


@dataclass(frozen=True)
class QuantizedActivations(Job):
    """The six activations as 8-bit integer functions in ONNX Runtime at input scale and zero point:
    their kernels and curves, and with `measure` float32 and int8 timed on `size` elements in
    alternating rounds (blockscope/analysis/quantization.py)."""
    scale: float
    zero_point: int
    size: int
    seed: int
    device: str
    threads: int | None
    measure: bool
    memory_bytes: int = field(compare=False, default=0)

    FORMS: ClassVar[int] = 12  # six activations, float32 and int8

    @property
    def timed(self) -> bool:
        return self.measure

    def estimate_s(self, throughput: Throughput | None) -> float:
        return 0.5 + (2 * get_settings().measure_target_s * self.FORMS if self.measure else 0)

    def quantize(self, threads: int | None
                 ) -> tuple[dict, dict[str, Callable[[], object]], dict[str, Callable[[int], dict]]]:
        """The report, and with `measure` the calls to time (ONNX Runtime is imported only here);
        nothing to profile node by node."""
        from ..analysis import quantization
        return quantization.activations_job(self.scale, self.zero_point, self.size, self.seed, self.device,
                                            threads, self.measure)

    def run(self, ctx: JobContext) -> QuantizedResult:
        return run.run_quantized(self, ctx.should_stop)


@dataclass(frozen=True)
class QuantizedBlock(Job):
    """A block kind's config with hard and with smooth activations, each statically quantized on
    `calibration` seeded inputs: output errors, kernels, and with `measure` float32 and int8 timed."""
    config: BlockConfig
    calibration: int
    device: str
    threads: int | None
    measure: bool
    memory_bytes: int = field(compare=False, default=0)

    @property
    def timed(self) -> bool:
        return self.measure

    FORMS: ClassVar[int] = 4  # hard and smooth, float32 and int8

    def estimate_s(self, throughput: Throughput | None) -> float:
        # the timed rounds, then each form's profiled runs (run.profile_runs keeps them to this share)
        timed = self.FORMS * get_settings().measure_target_s * (1 + run.PROFILE_SHARE)
        return 3.0 + (timed if self.measure else 0)

    def quantize(self, threads: int | None
                 ) -> tuple[dict, dict[str, Callable[[], object]], dict[str, Callable[[int], dict]]]:
        """The report, and with `measure` the calls to time and each form's profiler, `runs` -> its
        node profile (ONNX Runtime is imported only here)."""
        from ..analysis import quantization
        return quantization.block_job(self.config.spec.seeded(self.config), self.config.input_shape,
                                      self.config["seed"], self.config, self.calibration, self.device,
                                      threads, self.measure)

    def run(self, ctx: JobContext) -> QuantizedResult:
        return run.run_quantized(self, ctx.should_stop)


@dataclass(frozen=True)
class Ceilings(Job):
    """The device's ceilings at a thread count (peak compute, bandwidth by working set, call
    overhead): the ones kept in the runtime folder while fresh, else measured now
    (`blockscope.measuring.ceilings`). `refresh` measures again whatever their age; it does not
    change the answer's key, so a refreshed answer is what the next request gets."""
    store: ClassVar[Store] = CEILINGS
    device: str
    threads: int | None
    refresh: bool = field(compare=False, default=False)
    sizes: ceilings.Sizes = ceilings.DEFAULT_SIZES
    memory_bytes: int = field(compare=False, default=0)

    def __post_init__(self):
        if not self.memory_bytes:
            object.__setattr__(self, "memory_bytes", ceilings.memory_bytes(self.sizes, self.device))

    @property
    def timed(self) -> bool:
        """Only when it will measure: answering the stored ceilings is a short job, run ahead of
        measurements rather than behind them."""
        return self.refresh or self._measures()

    def _count(self) -> int | None:
        return (self.threads or run.DEFAULT_THREADS) if self.device == "cpu" else None

    def _measures(self) -> bool:
        store = ceilings.CeilingsFile()
        return ceilings.needs_measuring(store.load(store.key(self.device, self._count(), self.sizes)))

    def estimate_s(self, throughput: Throughput | None) -> float:
        # a ceiling times about `target_s` each: compute, conv, two call costs and every working set
        if not self.refresh and not self._measures():
            return 0.01
        sets = len(ceilings.working_sets(self.sizes, torch.device(self.device)))
        return 1.0 + self.sizes.target_s * (4 + sets) * 1.5

    def run(self, ctx: JobContext) -> CeilingsResult:
        count = self._count()
        with run.threads(count):
            found = ceilings.ceilings(self.device, count, self.sizes, refresh=self.refresh,
                                      should_stop=ctx.should_stop)
        return CeilingsResult(ceilings=found)
