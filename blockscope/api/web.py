"""What every HTML page shares: templates, static files (Plotly from its package), and the CSP."""

import json
from pathlib import Path

import plotly
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import get_settings

PACKAGE = Path(__file__).resolve().parents[1]  # templates and static files ship inside the package
templates = Jinja2Templates(directory=PACKAGE / "templates")
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def page_data(obj) -> str:
    """JSON for a `<script type="application/json">` data block; `<`, `>` and `&` escaped."""
    text = json.dumps(obj, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def content_security_policy() -> str:
    # Plotly sets inline styles on the elements it draws, hence 'unsafe-inline' for styles only.
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {get_settings().frame_ancestors}",
    ])


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=PACKAGE / "static"), name="static")

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    csp = content_security_policy()

    app.add_middleware(SecurityHeaders, headers={"Content-Security-Policy": csp,
                                                 "X-Content-Type-Options": "nosniff",
                                                 "Referrer-Policy": "same-origin"})


class SecurityHeaders:
    """Adds headers to every response that does not set them itself. A plain ASGI middleware: it
    leaves `receive` alone, so a route can still notice that its client went away."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]):
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((k, v) for k, v in self.headers if k not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
