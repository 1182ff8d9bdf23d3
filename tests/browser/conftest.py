"""Shared fixtures for the browser tests: a live server, headless Chromium, console errors, screenshots.

Fixtures (use them by name in any tests/browser/test_*.py):
- `server_url`: base URL of a uvicorn server running the app in a background thread (session scope).
- `browser`: a Playwright Chromium browser (Debian's /usr/bin/chromium, headless; session scope).
- `page`: a fresh page (viewport 1280 x 900) in its own context, closed after the test.
- `console_errors`: list that collects console errors and uncaught page errors of `page`.
- `screenshot(page, name)`: saves test-artifacts/<name>.png and returns its path.
- `quick_measure`: instant, deterministic guideline measurements (each table's rows slower down the table);
  `busy_measure`: the same, with each table's second row measured while the server was busy;
  `refused_measure`: every guideline measurement refused with a 422.
- `fake_latency`: block latency and reparameterization measurements answered in the browser, instantly, as
  the server words them (`quality`, `comparison`); its `.requests` lists the URLs asked for, its
  `.settings` (disturbed, attempts, measurable) shape the next answers.
"""

import os
import re
import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: install Debian's 'chromium' package to run the browser tests"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def server_url():
    """The app served by uvicorn on a free 127.0.0.1 port, in a daemon thread."""
    import uvicorn

    from blockscope.main import app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


@pytest.fixture
def console_errors(page):
    """Console errors and uncaught exceptions of `page`, in order (attach before navigating)."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}")
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    return errors


@pytest.fixture(scope="session")
def screenshot():
    """`screenshot(page, name)` saves test-artifacts/<name>.png (full page) and returns the path."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(pg, name: str, full_page: bool = True) -> Path:
        path = ARTIFACTS / f"{name}.png"
        pg.screenshot(path=str(path), full_page=full_page)
        return path

    return take



def fake_quality(median_us: float, disturbed: bool = False, attempts: int = 1) -> dict:
    """A measurement's `quality` as the server reports it (docs/numbers.md, "Measured latency")."""
    return {"disturbed": disturbed, "other_cpu_share": 0.4 if disturbed else 0.01, "spread": 0.05,
            "ci95_us": [median_us * 0.97, median_us * 1.03], "attempts": attempts}


def _fake_measured(report: dict, disturbed: tuple[str, ...] = ()) -> dict:
    """`report` (unmeasured) as if measured on "test CPU": each row 1 ms slower than the one before;
    the rows labelled in `disturbed` measured while the server was busy."""
    rows = report["rows"]
    for i, row in enumerate(rows):
        m = 1000.0 * (1 + i)

        def quality(median, label=row["label"]):
            return fake_quality(median, disturbed=label in disturbed, attempts=2 if label in disturbed else 1)
        row["measured"] = {"median_us": m, "p25_us": m * 0.95, "p75_us": m * 1.05,
                           "quality": quality(m),
                           "batches_per_s": 1e6 / m, "images_per_s": report["batch"] * 1e6 / m,
                           "machine": "test server", "device": report["device"], "device_label": "test CPU",
                           "threads": 2,
                           "warmup": 1, "repeats": 3, "cached": False, "measured_at": "2026-01-01T00:00:00Z"}
        row["relative_speed"]["measured"] = 1000.0 / m
    report.update(measured=True, device_label="test CPU", threads=2)
    # the verdict as the server draws it from these rows (blockscope/service/guidelines.py)
    from blockscope.schemas import GuidelineRow
    from blockscope.service.guidelines import ordering
    report["ordering"] = ordering([GuidelineRow.model_validate(r) for r in rows]).model_dump(mode="json")
    return report


def _is_guideline_measurement(url: str) -> bool:
    return "/api/guidelines/g" in url and "measure=true" in url


@pytest.fixture
def quick_measure(page):
    """Instant, deterministic guideline measurements, answered in the browser: each table's rows slower
    down the table (the counts and the paper's figures come from the server, `measure=false`).
    Installed on `page`; call it with another page or browser context to install it there too."""
    def answer(route):
        response = route.fetch(url=route.request.url.replace("measure=true", "measure=false"))
        route.fulfill(response=response, json=_fake_measured(response.json()))

    def install(target):
        target.route(_is_guideline_measurement, answer)

    install(page)
    return install


@pytest.fixture
def busy_measure(page):
    """As `quick_measure`, with the second row of every table measured while the server was busy."""
    def answer(route):
        response = route.fetch(url=route.request.url.replace("measure=true", "measure=false"))
        report = response.json()
        route.fulfill(response=response, json=_fake_measured(report, disturbed=(report["rows"][1]["label"],)))

    page.route(_is_guideline_measurement, answer)


def fake_latency_report(analysis: dict, median_us: float = 1500.0, disturbed: bool = False,
                        attempts: int = 1) -> dict:
    """A LatencyReport for `analysis`, every op an equal share of `median_us`."""
    nodes = [n for n in analysis["nodes"] if n["op"] != "input"]
    each = median_us / len(nodes)
    by_op: dict[str, float] = {}
    for n in nodes:
        by_op[n["op"]] = by_op.get(n["op"], 0) + 1 / len(nodes)
    return {"kind": analysis["kind"], "config": analysis["config"], "device": "cpu",
            "machine": "test server", "device_label": "test CPU", "torch": "test", "threads": 2,
            "cores": [0, 1], "dtype": "float32",
            "warmup": 2, "repeats": 50,
            "samples": 50, "total": {"median_us": median_us, "p25_us": median_us * 0.95,
                                     "p75_us": median_us * 1.05},
            "quality": fake_quality(median_us, disturbed, attempts),
            "nodes": [{"id": n["id"], "op": n["op"], "median_us": each, "p25_us": each * 0.9,
                       "p75_us": each * 1.1, "share": 1 / len(nodes)} for n in nodes],
            "sum_of_nodes_us": median_us, "share_by_op": by_op, "cached": False, "load_average": 3.5,
            "measured_at": "2026-01-01T00:00:00Z", "duration_s": 0.5}


MEASUREMENT_PARAMS = {"device", "threads", "warmup", "repeats", "fresh"}


def _analysed_url(latency_url: str) -> str:
    """The analysis of the block a latency URL measures (which takes no measurement parameters)."""
    parts = urlsplit(latency_url.replace("/latency?", "?", 1))
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in MEASUREMENT_PARAMS]
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.fixture
def fake_latency(page):
    """Latency (and reparameterization) measurements answered in the browser from the real analyses."""
    fake = SimpleNamespace(requests=[], settings={"disturbed": True, "attempts": 3, "measurable": False})

    def latency(route):
        url = route.request.url
        fake.requests.append(url)
        analysis = route.fetch(url=_analysed_url(url)).json()
        route.fulfill(json=fake_latency_report(analysis, disturbed=fake.settings["disturbed"],
                                               attempts=fake.settings["attempts"]))

    def reparam(route):
        url = route.request.url
        fake.requests.append(url)
        report = route.fetch(url=url.replace("measure=true", "measure=false")).json()
        before = fake_latency_report(report["before"], 1500.0, fake.settings["disturbed"],
                                     fake.settings["attempts"])
        after = fake_latency_report(report["after"], 1400.0)
        measurable = fake.settings["measurable"]
        ci = [1.04, 1.10] if measurable else [0.97, 1.12]
        report["latency"] = {"before": before, "after": after, "speedup": 1500 / 1400,
                             "comparison": {"of": ["before", "after"], "value": 1500 / 1400, "ci95": ci,
                                            "measurable": measurable}}
        route.fulfill(json=report)

    page.route(re.compile(r"/api/blocks/[a-z0-9_]+/latency\?"), latency)
    page.route(re.compile(r"/api/blocks/[a-z0-9_]+/reparam\?.*measure=true"), reparam)
    return fake


@pytest.fixture
def refused_measure(page):
    """Every guideline measurement refused with a 422 that names `batch`, as FastAPI words it."""
    detail = [{"loc": ["query", "batch"], "msg": "too big for this test", "type": "value_error"}]
    page.route(_is_guideline_measurement, lambda route: route.fulfill(status=422, json={"detail": detail}))
