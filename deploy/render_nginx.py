"""Render deploy/nginx.conf.template into an nginx configuration for BlockScope.

    python deploy/render_nginx.py --prefix DIR --upstream unix:DIR/web-1.sock [--set NAME=VALUE ...] [-o FILE]
    python deploy/render_nginx.py --compose -o deploy/nginx-compose.conf

Every @NAME@ of the template is one entry of VALUES below (with its default and what it sets);
`--set NAME=VALUE` overrides one, the tests use it for short timeouts. Standard library only: the
same file renders the configuration of compose.yaml, where BlockScope is not installed beside it.
"""

import argparse
import os
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
COMPOSE_OUTPUT = Path(__file__).resolve().parent / "nginx-compose.conf"

# name: (default, what it sets). A default of None must be given (or is derived, see render()).
VALUES: dict[str, tuple[str | None, str]] = {
    "LISTEN": ("127.0.0.1:8080", "address:port nginx listens on"),
    "UPSTREAM_SERVERS": (None, "the web workers, one `server ...;` line each (from --upstream)"),
    "PREFIX": (None, "folder for nginx's temporary files and the cache"),
    "PID": (None, "nginx's pid file (default: PREFIX/nginx.pid)"),
    "USER": ("", "a `user ...;` line when the master runs as root, else empty"),
    "ERROR_LOG": ("stderr", "error log: a file, or stderr"),
    "ACCESS_LOG": ("off", "access log file, or off"),
    "WORKER_PROCESSES": ("auto", "nginx worker processes (auto: one per core)"),
    "WORKER_CONNECTIONS": ("4096", "connections per nginx worker, clients and upstreams together"),
    "WORKER_RLIMIT_NOFILE": ("8192", "open files per nginx worker"),
    "CLIENT_HEADER_TIMEOUT": ("10s", "time a client has to send its whole request header"),
    "CLIENT_BODY_TIMEOUT": ("10s", "longest pause between two reads of a request body"),
    "SEND_TIMEOUT": ("30s", "longest pause between two writes to a client"),
    "KEEPALIVE_TIMEOUT": ("20s", "how long an idle kept-alive client connection stays open"),
    "LIMIT_CONN_PER_ADDRESS": ("1024", "requests in progress at once from one client address"),
    "PROXY_READ_TIMEOUT": (None, "longest wait for a worker's answer (default: from the measuring "
                                 "settings, see proxy_read_timeout())"),
    "CACHE_MAX_SIZE": ("1g", "disk the response cache may use"),
    "CACHE_INACTIVE": ("2h", "an unused cache entry is dropped after this long"),
    "CACHE_FALLBACK": ("10m", "how long an analysis answered without Cache-Control is kept"),
    "STATIC_FALLBACK": ("1m", "how long a page asset answered without Cache-Control is kept"),
}

PLACEHOLDER = re.compile(r"@([A-Z_]+)@")


def proxy_read_timeout() -> str:
    """A measurement's longest wait for its answer: every job the queue may hold before it, each up
    to the time budget, then its own; plus a margin for the work around the timed calls. Read
    from BlockScope's settings when it is importable here, else from the same environment
    variables (with BlockScope's defaults)."""
    try:
        from blockscope.config import Settings
        settings = Settings()
        budget, queue = settings.measure_budget_s, settings.max_queue
    except ImportError:
        budget = float(os.environ.get("BLOCKSCOPE_MEASURE_BUDGET_S", "10"))
        queue = int(os.environ.get("BLOCKSCOPE_MAX_QUEUE", "8"))
    return f"{int((queue + 1) * budget) + 30}s"


def upstream_lines(upstreams: list[str]) -> str:
    if not upstreams:
        raise ValueError("at least one upstream (a web worker's address) is needed")
    return "\n".join(f"        server {address} max_fails=3 fail_timeout=5s;" for address in upstreams)


def render(upstreams: list[str], prefix: str, template: str | None = None, **overrides: str) -> str:
    """The configuration for web workers at `upstreams` (`unix:/path` or `host:port`), with
    temporary files and the cache under `prefix`; `overrides` set any other VALUES entry."""
    unknown = set(overrides) - set(VALUES)
    if unknown:
        raise ValueError(f"unknown template values: {', '.join(sorted(unknown))}")
    values = {name: default for name, (default, _) in VALUES.items()}
    values.update(UPSTREAM_SERVERS=upstream_lines(upstreams), PREFIX=prefix.rstrip("/") or "/")
    values["PID"] = f"{values['PREFIX']}/nginx.pid"
    values["PROXY_READ_TIMEOUT"] = proxy_read_timeout()
    values.update({k: str(v) for k, v in overrides.items()})
    access_log = values["ACCESS_LOG"]
    if access_log != "off":
        values["ACCESS_LOG"] = f"{access_log} blockscope buffer=32k flush=2s"
    text = template if template is not None else TEMPLATE.read_text()

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in values or values[name] is None:
            raise ValueError(f"the template names @{name}@, which has no value")
        return values[name]

    return PLACEHOLDER.sub(fill, text)


def compose() -> str:
    """The configuration compose.yaml mounts into the official nginx image: the app service's
    workers on app:8000, the image's own folders, logs to the container's output."""
    return render(["app:8000"], "/var/cache/nginx", LISTEN="8080", PID="/tmp/nginx.pid",
                  USER="user nginx;", ERROR_LOG="stderr", ACCESS_LOG="/dev/stdout",
                  PROXY_READ_TIMEOUT="120s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", action="append", default=[],
                        help="a web worker: unix:/path/to.sock or host:port (repeat for each)")
    parser.add_argument("--prefix", help="folder for nginx's temporary files and the cache")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="any template value: " + ", ".join(VALUES))
    parser.add_argument("--compose", action="store_true", help="the configuration of compose.yaml")
    parser.add_argument("-o", "--output", help="write here instead of standard output")
    args = parser.parse_args(argv)
    if args.compose:
        text = compose()
    else:
        if not args.prefix:
            parser.error("--prefix is required (or --compose)")
        overrides = {}
        for item in args.set:
            name, sep, value = item.partition("=")
            if not sep:
                parser.error(f"--set takes NAME=VALUE, not {item!r}")
            overrides[name] = value
        try:
            text = render(args.upstream, args.prefix, **overrides)
        except ValueError as exc:
            parser.error(str(exc))
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
