"""/api/blocks, /api/blocks/{kind}, /api/shuffle."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from ..registry import BLOCKS, BlockSpec
from ..service import blocks as service
from ..settings import settings
from .query import add_block_routes

router = APIRouter()


@router.get("/api/blocks", tags=["blocks"], summary="Every block kind with its parameter schema")
def list_blocks() -> list[dict]:
    return [spec.describe() for spec in BLOCKS.values()]


def cacheable(body: bytes, etag: str, request: Request) -> Response:
    """A response that browsers and proxies may keep: analyses are a pure function of the URL."""
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={settings.cache_max_age_s}"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def _analysis(spec: BlockSpec, values: dict, request: Request) -> Response:
    result = service.analyse(spec.kind, values)
    return cacheable(result.body, result.etag, request)


add_block_routes(router, "", _analysis)


@router.get("/api/shuffle", tags=["blocks"], summary="Channel-shuffle permutation and its inverse")
def shuffle(
    channels: Annotated[int, Query(ge=1, le=settings.max_channels, description="Channels C.")],
    groups: Annotated[int, Query(ge=1, le=settings.max_channels, description="Groups g; must divide C.")],
) -> dict:
    return service.shuffle(channels, groups)
