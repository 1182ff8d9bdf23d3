"""What every HTML page shares: templates, static files (Plotly from an installed package), the CSP,
and what every response gets on its way out (security headers, HEAD, compression)."""

import gzip
import hashlib
import json
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import plotly
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import get_settings
from .caching import REVALIDATE

PACKAGE = Path(__file__).resolve().parents[1]  # templates and static files ship inside the package
STATIC = PACKAGE / "static"
templates = Jinja2Templates(directory=PACKAGE / "templates")
PLOTLY_FULL_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

IMMUTABLE = "public, max-age=31536000, immutable"
# unversioned static files: REVALIDATE (kept, but checked by ETag before each use: they change on upgrade)


def _static_version() -> str:
    """A hash of every static file: it names the versioned URL prefix, so a browser or proxy may keep
    what it fetched for a year and an upgrade still reaches every reader at once."""
    digest = hashlib.blake2b(digest_size=6)
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(STATIC).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


STATIC_VERSION = _static_version()
ASSETS = f"/static/v/{STATIC_VERSION}"


@dataclass(frozen=True)
class PlotlyBundle:
    """The Plotly the pages load: its file and its versioned URL (a new version is a new URL)."""

    path: Path
    url: str
    partial: bool  # only the cartesian trace types (bar, scatter, heatmap, ...), a third the size


# Plotly's cartesian bundle from npm (package.json), where it is installed: node_modules in a
# checkout, or share/blockscope/node_modules under the Python environment's prefix (the Docker image).
PLOTLY_PARTIAL = "plotly.js-cartesian-dist-min"
NODE_MODULES = (PACKAGE.parent / "node_modules", Path(sys.prefix) / "share" / "blockscope" / "node_modules")


def plotly_bundle(places: tuple[Path, ...] = NODE_MODULES) -> PlotlyBundle:
    """The partial bundle where one of `places` holds it, else the full one from the Python package."""
    for place in places:
        package = place / PLOTLY_PARTIAL
        try:
            version = json.loads((package / "package.json").read_text())["version"]
        except (OSError, ValueError, KeyError):
            continue
        path = package / "plotly-cartesian.min.js"
        if path.is_file():
            return PlotlyBundle(path, f"/vendor/plotly-cartesian-{version}.min.js", partial=True)
    return PlotlyBundle(PLOTLY_FULL_JS, f"/vendor/plotly-{plotly.__version__}.min.js", partial=False)


PLOTLY = plotly_bundle()  # read by install(): a script may set it first (scripts/page_weight.py)
PLOTLY_JS = PLOTLY.path  # what the pages load
PLOTLY_URL = PLOTLY.url


def asset(path: str) -> str:
    """The versioned URL of a static file (ES modules import each other by relative paths, so a
    page's whole module graph shares the prefix)."""
    return f"{ASSETS}/{path}"


templates.env.globals.update(asset=asset)


class _Static(StaticFiles):
    """Static files with a cache policy: immutable under the versioned prefix, revalidated without it."""

    def __init__(self, cache_control: str, **kwargs):
        super().__init__(**kwargs)
        self.cache_control = cache_control

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = self.cache_control
        return response


class _Gzipped:
    """A large file compressed once, on first request (Plotly: 1.5 MB partial or 4.8 MB full, about
    a third of that gzipped)."""

    def __init__(self, path: Path):
        self.path = path
        self._body: bytes | None = None
        self._lock = threading.Lock()

    def body(self) -> bytes:
        with self._lock:
            if self._body is None:
                self._body = gzip.compress(self.path.read_bytes(), compresslevel=6, mtime=0)
            return self._body


_plotly_gz: dict[Path, _Gzipped] = {}


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
    app.mount(ASSETS, _Static(IMMUTABLE, directory=STATIC), name="assets")
    app.mount("/static", _Static(REVALIDATE, directory=STATIC), name="static")

    bundle = PLOTLY
    templates.env.globals["plotly_url"] = bundle.url
    for path in (bundle.path, PLOTLY_FULL_JS):
        _plotly_gz.setdefault(path, _Gzipped(path))

    def plotly_js(request: Request, path: Path, cache_control: str) -> Response:
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(_plotly_gz[path].body(), media_type="text/javascript",
                            headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding",
                                     "Cache-Control": cache_control})
        return FileResponse(path, media_type="text/javascript",
                            headers={"Cache-Control": cache_control, "Vary": "Accept-Encoding"})

    @app.get(bundle.url, include_in_schema=False)
    def plotly_versioned(request: Request) -> Response:
        return plotly_js(request, bundle.path, IMMUTABLE)

    # The full bundle (every trace type) at its short URL, for pages outside BlockScope's own.
    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_latest(request: Request) -> Response:
        return plotly_js(request, PLOTLY_FULL_JS, "public, max-age=86400")


def outermost(app: ASGIApp) -> ASGIApp:
    """What wraps the whole app, error pages included (FastAPI answers an unhandled exception outside
    its own middleware): security headers, HEAD answered as GET, and compression."""
    headers = {"Content-Security-Policy": content_security_policy(), "X-Content-Type-Options": "nosniff",
               "Referrer-Policy": "same-origin"}
    return SecurityHeaders(HeadAsGet(GZipMiddleware(app, minimum_size=1024, compresslevel=6)), headers)


HEAD = "blockscope.head"  # in a request's scope: it came as HEAD


class HeadAsGet:
    """HEAD on any GET route: the GET's status and headers, no body (RFC 9110, 9.3.2)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        # a route that runs real tensors (a measurement, a check) refuses it: see unless_disconnected
        await self.app({**scope, "method": "GET", HEAD: True}, receive, headers_only)


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
