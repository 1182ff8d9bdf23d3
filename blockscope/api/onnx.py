"""/api/blocks/{kind}/onnx: any block as an ONNX file (whole networks: /api/networks/{name}/onnx)."""

import inspect
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from ..registry import BlockSpec
from ..service.export import FORMS, block_onnx
from .disconnect import unless_disconnected
from .networks import onnx_response
from .query import add_block_routes

EXTRA = [inspect.Parameter("form", inspect.Parameter.KEYWORD_ONLY, default="train", annotation=Annotated[
    str, Query(description="`train`: the block as built; `deploy`: its deploy-time form (Conv+BN folded, "
                           "RepVGG's branches merged).", json_schema_extra={"enum": list(FORMS)})])]


async def _onnx(spec: BlockSpec, values: dict, request: Request, response: Response, form: str) -> Response:
    file = await unless_disconnected(request, lambda cancel: block_onnx(spec.kind, values, form, cancel))
    return onnx_response(file)


def block_routes() -> APIRouter:
    routes = APIRouter()
    # A file, not JSON: left out of the OpenAPI schema (documented in docs/api.md).
    add_block_routes(routes, "/onnx", _onnx, extra=EXTRA, include_in_schema=False)
    return routes
