"""/healthz: is the server up."""

from fastapi import APIRouter

from ..schemas import Health

router = APIRouter()


@router.get("/healthz", tags=["health"], summary="The server is up")
async def healthz() -> Health:
    # async: answered on the event loop, never queued behind requests holding worker threads
    return Health(status="ok")
