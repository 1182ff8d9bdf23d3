"""/api/blocks/{kind}/sweep: costs against the group count (fixed channels, and fixed multiply-adds);
/api/blocks/{kind}/fixed-madds: ShuffleNet V2's G2 from a g = 1 block (the explorer's switch)."""

from fastapi import APIRouter, Request, Response

from ..registry import BlockSpec
from ..schemas import FixedMaddsSeries, Sweep
from ..service.blocks import Cached
from ..service.sweep import fixed_madds, no_group_parameter, nothing_to_widen, sweep
from .caching import cacheable
from .query import add_block_routes


def _sweep(spec: BlockSpec, values: dict, request: Request, response: Response) -> Response:
    result = Cached.of(sweep(spec.kind, values))  # a pure function of the URL, like an analysis
    return cacheable(result.body, result.etag, request)


def _fixed_madds(spec: BlockSpec, values: dict, request: Request, response: Response) -> Response:
    result = Cached.of(fixed_madds(spec.kind, values))
    return cacheable(result.body, result.etag, request)


def _no_group_parameter(kind: str) -> None:
    raise no_group_parameter(kind)


def _nothing_to_widen(kind: str) -> None:
    raise nothing_to_widen(kind)


def block_routes() -> APIRouter:
    """Routes only for the kinds they make sense for; any other kind is a 404 that names those."""
    routes = APIRouter()
    add_block_routes(routes, "/sweep", _sweep, response_model=Sweep,
                     only=lambda spec: bool(spec.group_param), missing=_no_group_parameter)
    add_block_routes(routes, "/fixed-madds", _fixed_madds, response_model=FixedMaddsSeries,
                     only=lambda spec: bool(spec.widen), missing=_nothing_to_widen)
    return routes
