from fastapi import APIRouter

router = APIRouter()


@router.get("/healthz", tags=["health"])
async def healthz() -> dict:
    # async: answered on the event loop, never queued behind requests holding worker threads
    return {"status": "ok"}
