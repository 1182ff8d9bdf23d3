"""/api/blocks/{kind}/reparam: training-time and deploy-time forms of a block (at once, from the meta
device); /api/blocks/{kind}/reparam/equivalence: the proof that they compute the same function (run
by the measuring process, once per configuration)."""

import inspect
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from ..registry import BlockSpec
from ..schemas import ReparamEquivalence, ReparamReport
from ..service.reparam import equivalence, report, report_with_latency
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
        result = await run_in_threadpool(report, spec.kind, values)
        if result.data.equivalence == "pending":  # the same URL answers "checked" once it is known
            return Response(result.body, media_type="application/json", headers={"Cache-Control": NO_STORE})
        return cacheable(result.body, result.etag, request)
    # latency depends on this machine and this moment
    response.headers["Cache-Control"] = NO_STORE
    return await unless_disconnected(request, lambda cancel: report_with_latency(
        spec.kind, values, device=device, threads=threads, warmup=warmup, repeats=repeats, fresh=fresh,
        cancel=cancel))


async def _equivalence(spec: BlockSpec, values: dict, request: Request, response: Response) -> Response:
    result = await unless_disconnected(request, lambda cancel: equivalence(spec.kind, values, cancel))
    return cacheable(result.body, result.etag, request)


def block_routes() -> APIRouter:
    routes = APIRouter()
    add_block_routes(routes, "/reparam/equivalence", _equivalence, response_model=ReparamEquivalence)
    add_block_routes(routes, "/reparam", _reparam, extra=EXTRA, response_model=ReparamReport)
    return routes
