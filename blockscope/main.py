"""The ASGI app: `uvicorn blockscope.main:app`."""

import os
from collections.abc import Callable, Iterable
from contextlib import asynccontextmanager, suppress

from fastapi import APIRouter, Depends, FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute

from . import __version__
from .api import (
    api_docs,
    blocks,
    compare,
    errors,
    guidelines,
    health,
    latency,
    machine,
    networks,
    onnx,
    pages,
    quantization,
    query,
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


def _check_runtime_folder() -> None:
    """A measuring folder this server cannot use stops it at start-up with the reason, rather than
    failing every Measure press later."""
    if get_settings().measurer == "process":
        try:
            get_settings().runtime_path()
        except RuntimeError as exc:
            raise SystemExit(f"BlockScope cannot start: {exc}") from None


@asynccontextmanager
async def lifespan(app: FastAPI):
    _check_runtime_folder()
    _keep_off_the_measuring_cores()
    await run_in_threadpool(_warm_up)
    freeze_heap()
    yield


class BlockScope(FastAPI):
    def build_middleware_stack(self):
        return web.outermost(super().build_middleware_stack())


def routers() -> list[APIRouter]:
    """Every router of the app, in no particular order (see `most_specific_first`). Per-kind routes
    are built now, from the settings in force."""
    per_kind = (latency, reparam, sweep, onnx, blocks, quantization)
    fixed = (health, latency, machine, blocks, guidelines, networks, quantization, pages)
    return [*(module.block_routes() for module in per_kind), *(module.router for module in fixed),
            compare.routes()]


def _parameters(route: BaseRoute) -> int:
    return getattr(route, "path", "").count("{")


def most_specific_first(routers: Iterable[APIRouter]) -> APIRouter:
    """One router with every route of `routers`, a literal path before any parameterised one it
    overlaps (`/embed/quantization` before `/embed/{kind}`, `/api/blocks/conv` before the
    unknown-kind `/api/blocks/{kind}`), whatever order the routers come in: routes with fewer path
    parameters are tried first (a stable sort, so equals keep their order)."""
    merged = APIRouter()
    routes = [route for router in routers for route in router.routes]
    merged.routes.extend(sorted(routes, key=_parameters))
    return merged


def create_app(routers: Callable[[], Iterable[APIRouter]] = routers) -> FastAPI:
    app = BlockScope(
        title="BlockScope",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # served by api_docs, from an installed package, under a CSP that allows them
        redoc_url=None,
        description="See inside the building blocks of efficient convolutional networks: graph, "
                    "shapes, parameters, multiply-adds, MAC (memory access cost) and measured latency.",
        # a documented route answers 422 naming a query parameter it does not take
        dependencies=[Depends(query.only_known_parameters)],
    )
    errors.install(app)
    web.install(app)
    api_docs.install(app)
    app.include_router(most_specific_first(routers()))
    return app


app = create_app()
