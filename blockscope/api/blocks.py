"""/api/blocks, /api/blocks/{kind} and /api/shuffle: the catalogue and the analyses."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from ..registry import BLOCKS, BlockSpec
from ..schemas import Analysis, BlockSchema, ShufflePermutation
from ..service.blocks import analyse
from ..service.blocks import shuffle as shuffle_permutation
from .caching import cache_control, cacheable
from .query import DIGITS, add_block_routes

router = APIRouter()


@router.get("/api/blocks", tags=["blocks"], summary="Every block kind with its parameter schema")
def list_blocks(response: Response) -> list[BlockSchema]:
    response.headers["Cache-Control"] = cache_control()
    return [spec.schema() for spec in BLOCKS.values()]


@router.get("/api/shuffle", tags=["blocks"], summary="Channel-shuffle permutation and its inverse")
def shuffle(
    response: Response,
    channels: Annotated[int, Query(ge=1, description="Channels C (at most the server's channel limit)."),
                        DIGITS],
    groups: Annotated[int, Query(ge=1, description="Groups g; must divide C."), DIGITS],
) -> ShufflePermutation:
    response.headers["Cache-Control"] = cache_control()
    return shuffle_permutation(channels, groups)


def _analysis(spec: BlockSpec, values: dict, request: Request, response: Response) -> Response:
    result = analyse(spec.kind, values)
    return cacheable(result.body, result.etag, request)


def block_routes() -> APIRouter:
    """GET /api/blocks/{kind} for every kind (built when the app is, from the settings in force)."""
    routes = APIRouter()
    add_block_routes(routes, "", _analysis, response_model=Analysis)
    return routes
