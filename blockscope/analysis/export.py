"""A module as an ONNX file, through PyTorch's exporter (`torch.onnx.export`, TorchDynamo-based, onnxscript).

The exporter traces the module with `torch.export` on fake tensors: nothing is computed on the
example input, only its shape and dtype are used, and the file has that input shape fixed.
"""

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from .graph import _TRACE_LOCK

OPSET = 18
INPUT_NAME, OUTPUT_NAME = "input", "output"
# The exporter logs a warning per missing optional library (torchvision's ops) on every export.
_NOISY_LOGGERS = ("torch.onnx", "torch.export", "torch._export", "onnxscript", "onnx_ir")


@contextmanager
def _quiet() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in _NOISY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def to_onnx(module: nn.Module, input_shape: list[int]) -> bytes:
    """The serialised ONNX model of an eval-mode `module` on a float32 input of `input_shape`.

    `torch.export` patches `nn.Module` process-wide while it traces, as `torch.fx` does for the
    analysis: exports hold the same lock, one trace at a time.
    """
    import onnxscript.optimizer  # the exporter's own dependency, loaded with the first export

    example = torch.zeros(input_shape, dtype=torch.float32)
    with _TRACE_LOCK, _quiet():
        program = torch.onnx.export(module, (example,), dynamo=True, opset_version=OPSET, verbose=False,
                                    input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], report=False,
                                    optimize=False)
        # Fold what only depends on the fixed shapes (the exporter's Shape/Expand/CastLike helpers), but
        # run none of the optimizer's rewrites: they would fuse Conv+BN, and the training-time file must
        # show its BatchNorms.
        onnxscript.optimizer.fold_constants(program.model)
        onnxscript.optimizer.remove_unused_nodes(program.model)
    return program.model_proto.SerializeToString()
