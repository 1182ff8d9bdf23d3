"""ONNX files of blocks (and, through `blockscope.service.networks`, of whole networks): checked here, built
and exported by the measuring process (`blockscope.measuring`), which alone runs real modules.

An export builds the module for real (seeded weights), optionally deploys it (`form=deploy`: every
Conv+BN folded, RepVGG's branches merged), and hands it to PyTorch's exporter: an `Export` job,
queued with the measurements, run one job at a time and its file cached by the measuring process.
Before the job is sent, the memory it needs (the weights, the deployed copy, the ONNX model and its
bytes) is checked against the server's limit on the meta-device analysis.
"""

import threading
from collections.abc import Mapping

from .. import measuring
from ..analysis.estimate import work_of
from ..analysis.memory import bytes_needed
from ..analysis.ops import ELEMENT_SIZE
from ..config import get_settings
from ..errors import InvalidParameter
from ..measuring.forms import BlockForm, Form
from ..measuring.jobs import Export, Job
from ..measuring.results import JobResult, OnnxFile
from ..schemas import ConfigValue, Graph
from .admission import WaitingLine
from .blocks import analyse_resolved, resolve
from .limits import check_memory

FORMS = ("train", "deploy")
# Weights held besides the module's own while exporting: the deployed copy, the ONNX model's
# initializers and the serialised file.
EXPORT_COPIES = 3


# Requests of this web worker waiting for an export or a network equivalence check: a few may wait
# (the measuring process runs them one at a time, with the measurements), one more is answered 429.
waiting = WaitingLine("ONNX exports and network equivalence checks", "export_max_waiting", typical_s=3.0)


def submit(job: Job, cancel: threading.Event | None = None) -> JobResult:
    """The result of an export or a network equivalence check, once admitted to the waiting line."""
    with waiting.admit():
        return measuring.submit(job, cancel=cancel)


def check_form(form: str) -> str:
    if form not in FORMS:
        raise InvalidParameter("form", f"form={form!r} is not allowed; choose one of {', '.join(FORMS)} "
                                       "(deploy: BatchNorm folded, RepVGG branches merged)", form)
    return form


def check_export_memory(graph: Graph, what: str, param: str, value) -> None:
    check_memory(graph, f"exporting {what} to ONNX (its weights, a deployed copy, the ONNX model and its "
                        "file)", param, value, every_activation=False, extra_weight_copies=EXPORT_COPIES)


def export(filename: str, form: Form, graph: Graph, shape: list[int],
           cancel: threading.Event | None = None) -> OnnxFile:
    """`form` exported on an input of `shape` (`graph`: its analysis; call only after the limits
    were checked). The measuring process keeps the last `onnx_cache` files."""
    job = Export(form, tuple(shape), filename, work=(work_of(graph),),
                 memory_bytes=bytes_needed(graph, every_activation=False, extra_weight_copies=EXPORT_COPIES))
    return submit(job, cancel)


def block_onnx(kind: str, values: Mapping[str, ConfigValue | None], form: str = "train",
               cancel: threading.Event | None = None) -> OnnxFile:
    """The ONNX file of one block at these query values, seeded by its `seed`."""
    check_form(form)
    config = resolve(kind, values)
    spec = config.spec
    analysis = analyse_resolved(config).data  # 404 and 422s first, nothing real built yet
    param, _ = config.size_param
    if (1 + EXPORT_COPIES) * analysis.totals.params * ELEMENT_SIZE > get_settings().max_memory_mb * 2**20 / 2:
        param = spec.params[0].name  # the weights alone are most of it: a smaller input would not help
    check_export_memory(analysis, "this block", param, config[param])
    changed = [f"{k}{v}" for k, v in config.as_dict().items() if v != spec.defaults()[k]]
    filename = "-".join([kind, *changed, form]) + ".onnx"
    return export(filename, BlockForm(config, deployed=form == "deploy"), analysis, config.input_shape,
                  cancel)
