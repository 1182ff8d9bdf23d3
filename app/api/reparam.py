"""/api/blocks/{kind}/reparam: training-time and deploy-time forms of a block, proven equivalent."""

import inspect
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from ..registry import BlockSpec
from ..service import reparam as service
from .blocks import cacheable
from .latency import MEASUREMENT_PARAMS
from .query import add_block_routes

router = APIRouter()

EXTRA = [
    inspect.Parameter("measure", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[
        bool, Query(description="Also measure the latency of both forms on this server, as "
                                "/api/blocks/{kind}/latency does (the answer is then not cacheable).")]),
    *MEASUREMENT_PARAMS,  # device, threads, warmup, repeats: used only with measure=true
]


def _reparam(spec: BlockSpec, values: dict, request: Request, measure: bool, device: str,
             threads: int, warmup: int | None, repeats: int | None) -> Response:
    if not measure:
        result = service.report(spec.kind, values)
        return cacheable(result.body, result.etag, request)
    data = service.report_with_latency(spec.kind, values, device=device, threads=threads,
                                       warmup=warmup, repeats=repeats)
    # latency depends on this machine and this moment
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


add_block_routes(router, "/reparam", _reparam, extra=EXTRA)
