"""/api/blocks/{kind}/reparam: training-time and deploy-time forms of a block, proven equivalent."""

import inspect
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from ..registry import BlockSpec
from ..schemas import ReparamReport
from ..service.reparam import report, report_with_latency
from .blocks import cacheable
from .disconnect import unless_disconnected
from .latency import MEASUREMENT_PARAMS, NO_STORE
from .query import add_block_routes

EXTRA = [
    inspect.Parameter("measure", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[
        bool, Query(description="Also measure the latency of both forms on this server, as "
                                "/api/blocks/{kind}/latency does (the answer is then not cacheable).")]),
    *MEASUREMENT_PARAMS,  # device, threads, warmup, repeats: used only with measure=true
]


async def _reparam(spec: BlockSpec, values: dict, request: Request, response: Response, measure: bool,
                   device: str, threads: int | None, warmup: int | None, repeats: int | None,
                   fresh: bool) -> Response | ReparamReport:
    if not measure:
        result = await unless_disconnected(request, lambda cancel: report(spec.kind, values, cancel))
        return cacheable(result.body, result.etag, request)
    # latency depends on this machine and this moment
    response.headers["Cache-Control"] = NO_STORE
    return await unless_disconnected(request, lambda cancel: report_with_latency(
        spec.kind, values, device=device, threads=threads, warmup=warmup, repeats=repeats, fresh=fresh,
        cancel=cancel))


def block_routes() -> APIRouter:
    routes = APIRouter()
    add_block_routes(routes, "/reparam", _reparam, extra=EXTRA, response_model=ReparamReport)
    return routes
