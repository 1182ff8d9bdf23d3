"""/api/machine: this server's measured ceilings (peak compute, bandwidth, call overhead), the roofs
every roofline is drawn against. Measured on this machine, so never cached downstream."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from ..schemas import MachineReport
from ..service.latency import MAX_THREADS
from ..service.machine import machine_report
from .caching import cache_control
from .disconnect import unless_disconnected
from .query import DIGITS

router = APIRouter()


class MachineOptions(BaseModel):
    device: str | None = Field(None, description="`cpu` or `cuda:N` (see /api/devices); default: every "
                                                 "device this server measures on.")
    threads: Annotated[int | None, Field(ge=1, le=MAX_THREADS, description="CPU threads the ceilings are "
                                         "measured with; default: the measuring process's own count. "
                                         "Ignored on a GPU."), DIGITS] = None
    refresh: bool = Field(False, description="Measure the ceilings again now (a few seconds per device), "
                                             "whatever their age.")


@router.get("/api/machine", tags=["latency"], summary="This server's measured ceilings (roofline roofs)")
async def machine(request: Request, response: Response,
                  options: Annotated[MachineOptions, Query()]) -> MachineReport:
    response.headers["Cache-Control"] = cache_control(now=True)
    return await unless_disconnected(request, lambda cancel: machine_report(
        options.device, options.threads, refresh=options.refresh, cancel=cancel))
