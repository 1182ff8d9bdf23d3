"""The one cache policy of the JSON API: what a browser or proxy (nginx in a class setup) may keep."""

from fastapi import Request, Response

from ..config import get_settings

# The three answers a route can give about keeping its response.
NO_STORE = "no-store"  # describes this machine now (a measurement, a check still pending): never kept
REVALIDATE = "no-cache"  # the latest of something that changes at any time: kept, but asked again each use


def cache_control(*, now: bool = False, latest: bool = False) -> str:
    """`Cache-Control` for an answer: a pure function of its URL may be kept for the configured age;
    one that depends on this machine now (`now`) may not; the latest of something that a newer one
    may replace at any time (`latest`) is asked for again before each use."""
    if now:
        return NO_STORE
    if latest:
        return REVALIDATE
    return f"public, max-age={get_settings().cache_max_age}"


def cacheable(body: bytes, etag: str, request: Request) -> Response:
    """A JSON answer that is a pure function of its URL, with its ETag (304 when the client has it)."""
    headers = {"ETag": etag, "Cache-Control": cache_control()}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
