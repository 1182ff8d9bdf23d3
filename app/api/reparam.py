"""/api/blocks/{kind}/reparam: training-time and deploy-time forms of a block, proven equivalent."""

import inspect
import json
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from ..registry import BlockSpec
from ..service import blocks as blocks_service
from ..service import reparam as service
from .blocks import cacheable
from .query import add_block_routes

router = APIRouter()

KW = inspect.Parameter.KEYWORD_ONLY
EXTRA = [
    inspect.Parameter("measure", KW, default=False, annotation=Annotated[bool, Query(
        description="Also measure the latency of both forms on this server (not cacheable).")]),
    inspect.Parameter("device", KW, default="cpu", annotation=Annotated[str, Query(
        description='Device to measure on with measure=true: "cpu" or "cuda:0" (see /api/devices).')]),
    inspect.Parameter("threads", KW, default=None, annotation=Annotated[int | None, Query(
        ge=1, le=256, description="CPU threads for measure=true (default: the server's setting).")]),
]


def _reparam(spec: BlockSpec, values: dict, request: Request, measure: bool, device: str,
             threads: int | None) -> Response:
    if not measure:
        result = service.report(spec.kind, values)
        return cacheable(result.body, result.etag, request)
    data = service.report_with_latency(spec.kind, values, device=device, threads=threads)
    # latency depends on this machine and this moment
    return Response(json.dumps(data, separators=(",", ":")), media_type="application/json",
                    headers={"Cache-Control": "no-store"})


add_block_routes(router, "/reparam", _reparam, extra=EXTRA)


@router.get("/api/blocks/{kind}/reparam", include_in_schema=False)
def unknown_block(kind: str):
    blocks_service.get_spec(kind)  # raises NotFound naming the kinds
