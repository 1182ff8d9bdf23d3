"""/api/blocks/{kind}/onnx: any block as an ONNX file (whole networks: /api/networks/{name}/onnx)."""

from fastapi import APIRouter, Request, Response

from ..registry import BlockSpec
from ..service.export import block_onnx
from .disconnect import unless_disconnected
from .files import ONNX_ROUTE, OnnxForm, onnx_response
from .query import add_block_routes


async def _onnx(spec: BlockSpec, values: dict, request: Request, response: Response,
                options: OnnxForm) -> Response:
    file = await unless_disconnected(request, lambda cancel: block_onnx(spec.kind, values, options.form,
                                                                        cancel))
    return onnx_response(file)


def block_routes() -> APIRouter:
    routes = APIRouter()
    add_block_routes(routes, "/onnx", _onnx, options=OnnxForm, **ONNX_ROUTE)
    return routes
