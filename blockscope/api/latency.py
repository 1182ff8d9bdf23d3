"""/api/blocks/{kind}/latency and /api/devices: measured on this machine, so never cached downstream."""

from fastapi import APIRouter, Request, Response

from ..registry import BlockSpec
from ..schemas import Device, LatencyReport, MeasuringState
from ..service.latency import devices, latency_report, queue_state
from .caching import cache_control
from .disconnect import unless_disconnected
from .query import TimingOptions, add_block_routes

router = APIRouter()


async def _latency(spec: BlockSpec, values: dict, request: Request, response: Response,
                   timing: TimingOptions) -> LatencyReport:
    response.headers["Cache-Control"] = cache_control(now=True)
    return await unless_disconnected(request, lambda cancel: latency_report(
        spec.kind, values, device=timing.device, threads=timing.threads, warmup=timing.warmup,
        repeats=timing.repeats, fresh=timing.fresh, cancel=cancel))


def block_routes() -> APIRouter:
    routes = APIRouter()
    add_block_routes(routes, "/latency", _latency, options=TimingOptions, response_model=LatencyReport)
    return routes


@router.get("/api/devices", tags=["latency"], summary="Devices this server can measure latency on")
def list_devices(response: Response) -> list[Device]:
    response.headers["Cache-Control"] = cache_control(now=True)
    return devices()


@router.get("/api/measuring", tags=["latency"], summary="The measuring process and its queues")
def measuring_state(response: Response) -> MeasuringState:
    response.headers["Cache-Control"] = cache_control(now=True)
    return MeasuringState(**queue_state())
