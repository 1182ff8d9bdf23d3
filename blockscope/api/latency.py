"""/api/blocks/{kind}/latency and /api/devices: measured on this machine, so never cached downstream."""

import inspect
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from ..registry import BlockSpec
from ..schemas import Device, LatencyReport, MeasuringState
from ..service.latency import devices, latency_report, queue_state
from . import query
from .disconnect import unless_disconnected
from .query import DIGITS, add_block_routes

router = APIRouter()

NO_STORE = "no-store"


def _extra(name: str, default, annotation, help: str, **bounds) -> inspect.Parameter:
    checks = (DIGITS,) if annotation in (int, int | None) else ()
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[annotation, Query(description=help, **bounds), *checks])


def _shared(name: str, default, annotation) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


MEASUREMENT_PARAMS = [
    _shared("device", "cpu", query.Device),
    _shared("threads", None, query.Threads),
    _extra("warmup", None, int | None, "Untimed runs before timing; default adapts to the block.", ge=0),
    _extra("repeats", None, int | None, "Timed runs (each op is timed as often); the report gives their "
                                        "median and quartiles. Default adapts to the block.", ge=1),
    _shared("fresh", False, query.Fresh),
]


async def _latency(spec: BlockSpec, values: dict, request: Request, response: Response, device: str,
                   threads: int | None, warmup: int | None, repeats: int | None,
                   fresh: bool) -> LatencyReport:
    response.headers["Cache-Control"] = NO_STORE
    return await unless_disconnected(request, lambda cancel: latency_report(
        spec.kind, values, device=device, threads=threads, warmup=warmup, repeats=repeats, fresh=fresh,
        cancel=cancel))


def block_routes() -> APIRouter:
    routes = APIRouter()
    add_block_routes(routes, "/latency", _latency, extra=MEASUREMENT_PARAMS, response_model=LatencyReport)
    return routes


@router.get("/api/devices", tags=["latency"], summary="Devices this server can measure latency on")
def list_devices(response: Response) -> list[Device]:
    response.headers["Cache-Control"] = NO_STORE
    return devices()


@router.get("/api/measuring", tags=["latency"], summary="The measuring process and its queues")
def measuring_state(response: Response) -> MeasuringState:
    response.headers["Cache-Control"] = NO_STORE
    return MeasuringState(**queue_state())
