"""/healthz: is the server up."""

from fastapi import APIRouter, Response

from ..schemas import Health
from .caching import NO_STORE

router = APIRouter()


@router.get("/healthz", tags=["health"], summary="The server is up")
async def healthz(response: Response) -> Health:
    # async: answered on the event loop, never queued behind requests holding worker threads
    response.headers["Cache-Control"] = NO_STORE  # whether it is up now
    return Health(status="ok")
