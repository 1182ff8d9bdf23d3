"""The ASGI app: `uvicorn blockscope.main:app`."""

import os
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from . import __version__
from .api import (
    api_docs,
    blocks,
    errors,
    guidelines,
    health,
    latency,
    networks,
    onnx,
    pages,
    quantization,
    reparam,
    sweep,
    web,
)
from .config import get_settings
from .errors import InvalidParameter
from .measuring.allocator import freeze_heap
from .measuring.process import web_cores
from .registry import BLOCKS
from .service.blocks import analyse
from .service.reparam import report as reparam_report


def _warm_up() -> None:
    """Analyse every kind at its defaults, and its deploy-time form: fills the caches and pays
    PyTorch's first-use costs now, not in a reader's request (folding a BN into a convolution on the
    meta device first imports torch._dynamo: a second, holding up every request of this worker)."""
    for kind, spec in BLOCKS.items():
        # a server limit below a default: that kind warms on first use
        with suppress(InvalidParameter):
            analyse(kind, {})
            if "reparam" in spec.views:
                reparam_report(kind, {})


def _keep_off_the_measuring_cores() -> None:
    """With cores to spare the measuring process has its own; this web worker takes the others."""
    if get_settings().measurer == "process":
        cores = web_cores()
        if cores:
            os.sched_setaffinity(0, cores)


@asynccontextmanager
async def lifespan(app: FastAPI):
    _keep_off_the_measuring_cores()
    await run_in_threadpool(_warm_up)
    freeze_heap()
    yield


class BlockScope(FastAPI):
    def build_middleware_stack(self):
        return web.outermost(super().build_middleware_stack())


def create_app() -> FastAPI:
    app = BlockScope(
        title="BlockScope",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # served by api_docs, from an installed package, under a CSP that allows them
        redoc_url=None,
        description="See inside the building blocks of efficient convolutional networks: graph, "
                    "shapes, parameters, multiply-adds, MAC (memory access cost) and measured latency.",
    )
    errors.install(app)
    web.install(app)
    api_docs.install(app)
    # Per-kind routes are built now, from the settings in force; sub-routes (latency, reparam,
    # sweep) before the catch-all /api/blocks/{kind}.
    for module in (latency, reparam, sweep, onnx, blocks):
        app.include_router(module.block_routes())
    # quantization before pages: its /embed/quantization before the catch-all /embed/{kind}
    for module in (health, latency, blocks, guidelines, networks, quantization, pages):
        app.include_router(module.router)
    return app


app = create_app()
