"""/api/blocks/{kind}/sweep: costs against the group count (fixed channels, and fixed multiply-adds);
/api/blocks/{kind}/fixed-madds: ShuffleNet V2's G2 from a g = 1 block (the explorer's switch)."""

from fastapi import APIRouter, Request, Response

from ..registry import BlockSpec
from ..schemas import FixedMaddsSeries, Sweep
from ..service.sweep import fixed_madds, sweep
from .query import add_block_routes


def _sweep(spec: BlockSpec, values: dict, request: Request, response: Response) -> Sweep:
    return sweep(spec.kind, values)


def _fixed_madds(spec: BlockSpec, values: dict, request: Request, response: Response) -> FixedMaddsSeries:
    return fixed_madds(spec.kind, values)


def block_routes() -> APIRouter:
    routes = APIRouter()
    add_block_routes(routes, "/sweep", _sweep, response_model=Sweep)
    add_block_routes(routes, "/fixed-madds", _fixed_madds, response_model=FixedMaddsSeries)
    return routes
