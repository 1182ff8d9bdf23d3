"""/api/blocks/{kind}/sweep: costs against the group count (fixed channels, and fixed multiply-adds)."""

from fastapi import APIRouter, Request

from ..registry import BlockSpec
from ..service import sweep as service
from .query import add_block_routes

router = APIRouter()


def _sweep(spec: BlockSpec, values: dict, request: Request) -> dict:
    return service.sweep(spec.kind, values)


add_block_routes(router, "/sweep", _sweep)
