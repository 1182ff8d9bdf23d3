"""Measured latency as a service: which devices there are, what a request may ask, and the jobs it
sends to the measuring process (`blockscope.measuring`), which alone runs real tensors.

Everything known before a job runs is checked here, on the meta-device analysis: the parameters,
the memory the job needs, and the work of every op (for the measuring process's duration estimate).
"""

import threading
from collections.abc import Mapping

from torch import nn

from .. import measuring
from ..analysis.estimate import work_of
from ..analysis.graph import analyse_graph
from ..analysis.latency import meta_copy
from ..analysis.memory import bytes_needed
from ..config import get_settings
from ..errors import InvalidParameter

# the devices are the measuring process's; the routes and other services ask for them here
from ..measuring.devices import DEFAULT_THREADS, MAX_THREADS, device_label, devices  # noqa: F401
from ..measuring.forms import BlockForm, Form, ModuleForm
from ..measuring.jobs import Timing
from ..measuring.results import TimingResult
from ..registry import blame_size
from ..schemas import ConfigValue, Graph, LatencyReport, Measurement, Speedup
from . import blocks, roofline
from .limits import check_memory


def check_device(device: str) -> str:
    """The canonical name of `device` ("cuda" means "cuda:0"), or a 422 naming the devices."""
    name = (device or "").strip().lower()
    if name == "cuda":
        name = "cuda:0"
    names = [d.name for d in devices()]
    if name not in names:
        raise InvalidParameter("device", f"unknown device {device!r}; this server can measure on: "
                                         f"{', '.join(names)}", device)
    return name


def check_counts(threads: int | None, warmup: int | None, repeats: int | None, device: str) -> int | None:
    """The thread count the measurement runs with (None on a GPU, where it is not ours to set)."""
    if threads is not None and not 1 <= threads <= MAX_THREADS:
        raise InvalidParameter("threads", f"must be between 1 and {MAX_THREADS} (this server's CPUs)",
                               threads)
    limits = get_settings()
    if warmup is not None and not 0 <= warmup <= limits.max_warmup:
        raise InvalidParameter("warmup", f"must be between 0 and {limits.max_warmup}", warmup)
    if repeats is not None and not 1 <= repeats <= limits.max_repeats:
        raise InvalidParameter("repeats", f"must be between 1 and {limits.max_repeats}", repeats)
    if device != "cpu":
        # torch.set_num_threads is not ours to touch for a GPU: with OpenMP it sets the calling
        # thread's count and the count threads started later begin with, whatever the device
        return None
    return threads


# --- jobs ------------------------------------------------------------------------------------------

def timing_job(forms: dict[str, tuple[Form, Graph | None]], input_shape: list[int], *, seed: int,
               device: str, threads: int | None, warmup: int | None, repeats: int | None, per_node: bool,
               size: tuple[str, object]) -> Timing:
    """A Timing job for `forms` (name -> (form, its analysis)), its memory checked here first.

    `size` is the parameter (and value) a refusal for size names. A form without an analysis (a
    module the analysis cannot trace) is neither estimated nor counted against the memory budget.
    """
    device = check_device(device)
    threads = check_counts(threads, warmup, repeats, device)
    graphs = [graph for _, graph in forms.values() if graph is not None]
    need = sum(bytes_needed(graph, every_activation=per_node) for graph in graphs)
    for graph in graphs:
        check_memory(graph, "measuring this block", size[0], size[1], every_activation=per_node)
    if need > get_settings().max_memory_mb * 2**20:
        raise InvalidParameter(size[0], "measuring these forms side by side needs more memory than this "
                                        "server allows one job; make the batch, the input or the channels "
                                        "smaller", size[1])
    return Timing(forms=tuple((name, form) for name, (form, _) in forms.items()),
                  input_shape=tuple(input_shape), seed=seed, device=device, threads=threads, warmup=warmup,
                  repeats=repeats, per_node=per_node,
                  work=tuple(work_of(graph) for graph in graphs) if len(graphs) == len(forms) else (),
                  memory_bytes=need, size=size)


def run(job: Timing, *, fresh: bool = False, cancel: threading.Event | None = None
        ) -> tuple[dict[str, Measurement], Speedup | None]:
    """Submit a Timing job: each form's measurement, and the first form's speed over the second's."""
    answer: TimingResult = measuring.submit(job, fresh=fresh, cancel=cancel)
    return answer.forms, answer.ratio


def measure(key: str, module: nn.Module, input_shape: list[int], *, device: str = "cpu",
            threads: int | None = None, warmup: int | None = None, repeats: int | None = None,
            per_node: bool = True, seed: int = 0, graph: Graph | None = None) -> Measurement:
    """Latency of an arbitrary `module` (named `key`) on a seeded random input of `input_shape`.

    The module travels to the measuring process whole; the blocks and guideline rows of the
    server name their modules instead (see `timing_job`). `graph`, the module's analysis when the
    caller has it, spares a meta-device copy for the estimate.
    """
    if graph is None:
        try:
            graph = analyse_graph(meta_copy(module), input_shape)
        except Exception:  # a module the analysis cannot trace: the timed pass alone guards it
            graph = None
    job = timing_job({"module": (ModuleForm(key, module), graph)}, input_shape, seed=seed, device=device,
                     threads=threads, warmup=warmup, repeats=repeats, per_node=per_node,
                     size=blame_size(input_shape[0], ("height", input_shape[2])))
    reports, _ = run(job)
    return reports["module"]


def latency_report(kind: str, values: Mapping[str, ConfigValue | None], *, device: str = "cpu",
                   threads: int | None = None, warmup: int | None = None, repeats: int | None = None,
                   fresh: bool = False,
                   cancel: threading.Event | None = None) -> LatencyReport:
    """The latency report of a block: analysis checks first, then the measurement."""
    config = blocks.resolve(kind, values)
    analysis = blocks.analyse_resolved(config).data  # 404/422 for bad kinds, parameters and sizes
    job = timing_job({"block": (BlockForm(config), analysis)}, analysis.input_shape,
                     seed=config["seed"], device=device, threads=threads, warmup=warmup, repeats=repeats,
                     per_node=True, size=config.size_param)
    reports, _ = run(job, fresh=fresh, cancel=cancel)
    # placed here, per answer: a measurement served from the measuring process's cache gets it too
    return roofline.with_roofline(LatencyReport(kind=kind, config=analysis.config, **dict(reports["block"])),
                                  analysis, cancel)


def queue_state() -> dict:
    """What the measuring queue holds now, per device."""
    return measuring.state()
