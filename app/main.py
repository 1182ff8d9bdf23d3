"""The ASGI app: `uvicorn app.main:app`."""

from fastapi import FastAPI

from . import __version__
from .api import blocks, errors, guidelines, health, latency, pages, reparam, sweep, web


def create_app() -> FastAPI:
    app = FastAPI(
        title="BlockScope",
        version=__version__,
        description="See inside the building blocks of efficient convolutional networks: graph, "
                    "shapes, parameters, multiply-adds, MAC (memory access cost) and measured latency.",
    )
    errors.install(app)
    web.install(app)
    # Per-kind sub-routes (latency, reparam) before the catch-all /api/blocks/{kind}.
    for module in (health, latency, reparam, sweep, blocks, guidelines, pages):
        app.include_router(module.router)
    return app


app = create_app()
