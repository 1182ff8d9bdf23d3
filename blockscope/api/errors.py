"""Service errors as HTTP answers: 422 in FastAPI's shape, 404 naming what exists, 429 and 503 with
Retry-After."""

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from ..errors import Busy, Cancelled, InvalidParameter, MeasurementFailed, MeasurerUnavailable, NotFound
from .disconnect import NotForHead

CLIENT_CLOSED = 499  # the client went away before the answer (nobody reads it)


def install(app: FastAPI) -> None:
    @app.exception_handler(InvalidParameter)
    def invalid(request: Request, exc: InvalidParameter):
        detail = [{"loc": ["query", exc.param], "msg": exc.message, "type": "value_error",
                   "input": exc.value}]
        return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=422)

    @app.exception_handler(NotFound)
    def not_found(request: Request, exc: NotFound):
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(MeasurerUnavailable)
    def unavailable(request: Request, exc: MeasurerUnavailable):
        return JSONResponse({"detail": str(exc)}, status_code=503,
                            headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(MeasurementFailed)
    def failed(request: Request, exc: MeasurementFailed):
        return JSONResponse({"detail": str(exc)}, status_code=500)

    @app.exception_handler(Cancelled)
    def cancelled(request: Request, exc: Cancelled):
        return JSONResponse({"detail": "the request was withdrawn"}, status_code=CLIENT_CLOSED)

    @app.exception_handler(NotForHead)
    def not_for_head(request: Request, exc: NotForHead):
        return Response(status_code=405, headers={"Allow": "GET"})

    @app.exception_handler(Busy)
    def busy(request: Request, exc: Busy):
        return JSONResponse({"detail": str(exc)}, status_code=429,
                            headers={"Retry-After": str(exc.retry_after)})
