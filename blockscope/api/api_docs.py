"""The interactive API documentation, /docs (Swagger UI) and /redoc (ReDoc), served with no CDN: their
scripts and styles come from the installed `fastapi-offline` package, and the page that starts Swagger
UI is a module of ours, so both run under a CSP that allows them and nothing more."""

from importlib.resources import files

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse

from .web import asset, templates

ASSETS = "/vendor/api-docs"


def content_security_policy() -> str:
    # Swagger UI and ReDoc set inline styles on what they draw; ReDoc's search runs in a worker
    # it creates from a blob. Scripts still come only from this server.
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


router = APIRouter(include_in_schema=False)


def _page(request: Request, name: str) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, {"docs_assets": ASSETS, "asset": asset,
                                                          "openapi_url": request.app.openapi_url})
    response.headers["Content-Security-Policy"] = content_security_policy()
    return response


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request):
    return _page(request, "api_docs.html")


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request):
    return _page(request, "redoc.html")


def install(app: FastAPI) -> None:
    from fastapi.staticfiles import StaticFiles

    app.mount(ASSETS, StaticFiles(directory=str(files("fastapi_offline") / "static")), name="api-docs")
    app.include_router(router)
