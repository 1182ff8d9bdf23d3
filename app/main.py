"""The ASGI app: `uvicorn app.main:app`."""

from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from . import __version__
from .api import blocks, errors, guidelines, health, latency, pages, reparam, sweep, web
from .errors import InvalidParameter
from .registry import BLOCKS
from .service.blocks import analyse


def _warm_up() -> None:
    """Analyse every kind at its defaults: fills the cache and pays PyTorch's first-use costs."""
    for kind in BLOCKS:
        # a server limit below a default: that kind warms on first use
        with suppress(InvalidParameter):
            analyse(kind, {})


@asynccontextmanager
async def lifespan(app: FastAPI):
    await run_in_threadpool(_warm_up)
    yield


def create_app() -> FastAPI:
    app = FastAPI(
        title="BlockScope",
        version=__version__,
        lifespan=lifespan,
        description="See inside the building blocks of efficient convolutional networks: graph, "
                    "shapes, parameters, multiply-adds, MAC (memory access cost) and measured latency.",
    )
    errors.install(app)
    web.install(app)
    # Per-kind routes are built now, from the settings in force; sub-routes (latency, reparam,
    # sweep) before the catch-all /api/blocks/{kind}.
    for module in (latency, reparam, sweep, blocks):
        app.include_router(module.block_routes())
    for module in (health, latency, blocks, guidelines, pages):
        app.include_router(module.router)
    return app


app = create_app()
