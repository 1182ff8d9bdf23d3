"""/api/blocks/{kind}/sweep: costs against the group count (fixed channels, and fixed multiply-adds)."""

from fastapi import APIRouter, Request, Response

from ..registry import BlockSpec
from ..schemas import Sweep
from ..service.sweep import sweep
from .query import add_block_routes


def _sweep(spec: BlockSpec, values: dict, request: Request, response: Response) -> Sweep:
    return sweep(spec.kind, values)


def block_routes() -> APIRouter:
    routes = APIRouter()
    add_block_routes(routes, "/sweep", _sweep, response_model=Sweep)
    return routes
