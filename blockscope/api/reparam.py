"""/api/blocks/{kind}/reparam: training-time and deploy-time forms of a block (at once, from the meta
device); /api/blocks/{kind}/reparam/equivalence: the proof that they compute the same function (run
by the measuring process, once per configuration)."""

from fastapi import APIRouter, Request, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from ..registry import BlockSpec
from ..schemas import ReparamEquivalence, ReparamReport
from ..service.reparam import equivalence, report, report_with_latency
from .caching import cache_control, cacheable
from .disconnect import unless_disconnected
from .query import TimingOptions, add_block_routes


class ReparamOptions(TimingOptions):
    """The measurement parameters (as /api/blocks/{kind}/latency takes them) are used only with measure."""
    measure: bool = Field(False, description="Also measure the latency of both forms on this server, as "
                                             "/api/blocks/{kind}/latency does (the answer is then not "
                                             "cacheable).")


async def _reparam(spec: BlockSpec, values: dict, request: Request, response: Response,
                   options: ReparamOptions) -> Response | ReparamReport:
    if not options.measure:
        result = await run_in_threadpool(report, spec.kind, values)
        if result.data.equivalence == "pending":  # the same URL answers "checked" once it is known
            return Response(result.body, media_type="application/json",
                            headers={"Cache-Control": cache_control(now=True)})
        return cacheable(result.body, result.etag, request)
    # latency depends on this machine and this moment
    response.headers["Cache-Control"] = cache_control(now=True)
    return await unless_disconnected(request, lambda cancel: report_with_latency(
        spec.kind, values, device=options.device, threads=options.threads, warmup=options.warmup,
        repeats=options.repeats, fresh=options.fresh, cancel=cancel))


async def _equivalence(spec: BlockSpec, values: dict, request: Request, response: Response) -> Response:
    result = await unless_disconnected(request, lambda cancel: equivalence(spec.kind, values, cancel))
    return cacheable(result.body, result.etag, request)


def block_routes() -> APIRouter:
    routes = APIRouter()
    add_block_routes(routes, "/reparam/equivalence", _equivalence, response_model=ReparamEquivalence)
    add_block_routes(routes, "/reparam", _reparam, options=ReparamOptions, response_model=ReparamReport)
    return routes
