"""/api/blocks/{kind}/latency and /api/devices: measured on this machine, so never cached downstream."""

import inspect
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from ..registry import BlockSpec
from ..schemas import Device, LatencyReport
from ..service.latency import DEFAULT_THREADS, MAX_THREADS, devices, latency_report
from .query import add_block_routes

router = APIRouter()

NO_STORE = "no-store"


def _extra(name: str, default, annotation, help: str, **bounds) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[annotation, Query(description=help, **bounds)])


MEASUREMENT_PARAMS = [
    _extra("device", "cpu", str, "Where to measure: `cpu`, or `cuda:N` when the server has a GPU "
                                 "(see /api/devices)."),
    _extra("threads", DEFAULT_THREADS, int,
           "CPU threads for the measurement (torch.set_num_threads); ignored on a GPU.",
           ge=1, le=MAX_THREADS),
    _extra("warmup", None, int | None, "Untimed runs before timing; default adapts to the block.", ge=0),
    _extra("repeats", None, int | None, "Timed runs (each op is timed as often); the report gives their "
                                        "median and quartiles. Default adapts to the block.", ge=1),
]


def _latency(spec: BlockSpec, values: dict, request: Request, response: Response, device: str,
             threads: int, warmup: int | None, repeats: int | None) -> LatencyReport:
    response.headers["Cache-Control"] = NO_STORE
    return latency_report(spec.kind, values, device=device, threads=threads, warmup=warmup, repeats=repeats)


def block_routes() -> APIRouter:
    routes = APIRouter()
    add_block_routes(routes, "/latency", _latency, extra=MEASUREMENT_PARAMS, response_model=LatencyReport)
    return routes


@router.get("/api/devices", tags=["latency"], summary="Devices this server can measure latency on")
def list_devices(response: Response) -> list[Device]:
    response.headers["Cache-Control"] = NO_STORE
    return devices()
